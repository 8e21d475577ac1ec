"""Content digests (DESIGN §4): identical content gives the same digest from any source."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file of an example: path relative to the example directory, normalised mode."""

    path: str
    mode: int
    size: int
    sha256: str
    handle: Any = field(default=None, compare=False, repr=False)  # where the source keeps it

    def as_json(self) -> dict[str, Any]:
        """The file list entry of metadata.json and of the version row."""
        return {"path": self.path, "mode": f"{self.mode:o}", "size": self.size,
                "sha256": self.sha256}


def sha256(data: bytes | memoryview) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def version_digest(files: Iterable[FileRecord]) -> str:
    """sha256 over `path NUL mode(octal) NUL sha256 LF` of every file, sorted by path."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\0{f.mode:o}\0{f.sha256}\n".encode())
    return h.hexdigest()


def fingerprint(raw: str | None, *parts: object) -> str | None:
    """Combine a source's directory identity with everything else that shapes the scan
    (directory, ignore rules, size limit), so a skipped example is truly unchanged."""
    if raw is None:
        return None
    return sha256("\0".join([raw, *map(str, parts)]).encode())
