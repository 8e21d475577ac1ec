"""The result of a sync, in the `exlib sync -o json` shape (issue 3) and for the operator."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from controller.phases import Phases


class SyncStatus(StrEnum):
    """What a sync did with one example: the values `exlib sync -o json`, the operator's
    counts and the planner share."""

    NEW = "new"  # first valid version stored
    CHANGED = "changed"  # a new version stored (or an archived example is back)
    UNCHANGED = "unchanged"  # same content as the latest version
    INVALID = "invalid"  # errors: reported, the last good version stays
    ARCHIVED = "archived"  # gone from the source: archived, its versions kept


#: Valid and served after the sync.
LIVE = frozenset({SyncStatus.NEW, SyncStatus.CHANGED, SyncStatus.UNCHANGED})


@dataclass(frozen=True, slots=True)
class ExampleReport:
    """One example's line of a sync report (`examples[]` of `exlib sync -o json`)."""

    identifier: str | None
    directory: str
    id: str | None
    status: SyncStatus
    version: str | None
    digest: str | None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`examples[]` of `exlib sync -o json`, the stored sync result)."""
        return {**asdict(self), "errors": list(self.errors), "warnings": list(self.warnings)}


@dataclass
class SyncReport:
    """What one sync of a repository did: the CLI prints it, the operator writes its status."""

    repository_id: uuid.UUID
    name: str
    namespace: str
    revision: str
    started_at: datetime
    finished_at: datetime
    examples: list[ExampleReport]
    uploaded_versions: int = 0
    uploaded_objects: int = 0  # objects stored: packs, files of large versions, metadata.json
    uploaded_bytes: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # per imported tag
    #: Versions of the repository's examples stored in the database after the sync
    #: (every version ever published, archived examples' included).
    versions: int = 0
    #: Seconds per phase of the sync (`controller.phases`), filled in as it runs.
    phases: Phases = field(default_factory=Phases, compare=False, repr=False)

    @property
    def digest(self) -> str:
        """Content identity of the library at this revision: sha256 over the sorted lines
        `identifier:version-digest` (each ending in a newline) of the examples that are valid
        and not archived after the sync. Same content, same digest, whatever the source."""
        h = hashlib.sha256()
        for line in sorted(f"{e.identifier}:{e.digest}\n" for e in self.examples
                           if e.status in LIVE and e.identifier and e.digest):
            h.update(line.encode())
        return h.hexdigest()

    @property
    def counts(self) -> dict[str, int]:
        """Examples per status (plain string keys), and `total` of those not archived."""
        counts = dict.fromkeys(("total", *(s.value for s in SyncStatus)), 0)
        for e in self.examples:
            counts[e.status.value] += 1
            counts["total"] += e.status != SyncStatus.ARCHIVED
        return counts

    @property
    def invalid(self) -> list[ExampleReport]:
        """The examples this sync found invalid."""
        return [e for e in self.examples if e.status == SyncStatus.INVALID]

    def to_dict(self) -> dict[str, Any]:
        """The `exlib sync -o json` form."""
        return {
            "repository": {"id": str(self.repository_id), "name": self.name,
                           "namespace": self.namespace, "revision": self.revision,
                           "digest": self.digest, "versions": self.versions},
            "counts": self.counts,
            "uploaded": {"versions": self.uploaded_versions, "objects": self.uploaded_objects,
                         "bytes": self.uploaded_bytes},
            "history": self.history,
            "phases": dict(self.phases.seconds),
            "examples": [e.to_dict() for e in self.examples],
        }
