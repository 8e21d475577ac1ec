"""The result of a sync, in the `exlib sync -o json` shape (issue 3) and for the operator."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("new", "changed", "unchanged", "invalid", "archived")


@dataclass(frozen=True)
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
                           "namespace": self.namespace, "revision": self.revision},
            "counts": self.counts,
            "uploaded": {"versions": self.uploaded_versions, "files": self.uploaded_files,
                         "bytes": self.uploaded_bytes},
            "history": self.history,
            "examples": [asdict(e) for e in self.examples],
        }
