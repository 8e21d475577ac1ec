"""The result of a sync, in the `exlib sync -o json` shape (issue 3) and for the operator."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("new", "changed", "unchanged", "invalid", "archived")
LIVE = ("new", "changed", "unchanged")  # valid and served after the sync


@dataclass(frozen=True, slots=True)
class ExampleReport:
    identifier: str | None
    directory: str
    id: str | None
    status: str
    version: str | None
    digest: str | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    repository_id: uuid.UUID
    name: str
    namespace: str
    revision: str
    started_at: datetime
    finished_at: datetime
    examples: list[ExampleReport]
    uploaded_versions: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # per imported tag
    #: Versions of the repository's examples stored in the database after the sync
    #: (every version ever published, archived examples' included).
    versions: int = 0

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
        counts = dict.fromkeys(("total", *STATUSES), 0)
        for e in self.examples:
            counts[e.status] += 1
            counts["total"] += e.status != "archived"
        return counts

    @property
    def invalid(self) -> list[ExampleReport]:
        return [e for e in self.examples if e.status == "invalid"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": {"id": str(self.repository_id), "name": self.name,
                           "namespace": self.namespace, "revision": self.revision,
                           "digest": self.digest, "versions": self.versions},
            "counts": self.counts,
            "uploaded": {"versions": self.uploaded_versions, "files": self.uploaded_files,
                         "bytes": self.uploaded_bytes},
            "history": self.history,
            "examples": [asdict(e) for e in self.examples],
        }
