"""Local directory source, for `exlib validate`, `exlib sync DIR` and tests."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from controller.library.errors import SourceUnreachable
from controller.library.source import (
    DIR_MODE,
    EXEC_MODE,
    FILE_MODE,
    LINK_MODE,
    Entry,
    Snapshot,
    SourceSpec,
)


def _mode(st: os.stat_result) -> int:
    if stat.S_ISLNK(st.st_mode):
        return LINK_MODE
    if stat.S_ISDIR(st.st_mode):
        return DIR_MODE
    if stat.S_ISREG(st.st_mode):
        return EXEC_MODE if st.st_mode & 0o111 else FILE_MODE
    return 0


class DirSnapshot(Snapshot):
    """Handles are absolute paths. There is no cheap fingerprint: every sync reads the files
    (the digest still makes unchanged examples cost no upload)."""

    def __init__(self, spec: SourceSpec) -> None:
        root = Path(spec.url).expanduser().resolve() / spec.path.strip("/")
        if not root.is_dir():
            raise SourceUnreachable(f"{root} is not a directory")
        self.root = root
        self.root_name = root.name
        self.revision = "dir:" + hashlib.sha256(str(root).encode()).hexdigest()[:16]

    def children(self, handle: Any) -> list[Entry]:
        # A checkout's own `.git` directory is Git's metadata, not content: Git never
        # commits it, so the same tree from a Git source has no such entry either.
        with os.scandir(handle) as it:
            found = [Entry(e.name, _mode(e.stat(follow_symlinks=False)), Path(e.path))
                     for e in it if e.name != ".git"]
        return sorted(found, key=lambda e: e.name)

    def fingerprint(self, handle: Any) -> None:
        return None

    def size(self, handle: Any) -> int:
        return handle.lstat().st_size

    def read(self, handle: Any) -> bytes:
        return os.readlink(handle).encode() if handle.is_symlink() else handle.read_bytes()
