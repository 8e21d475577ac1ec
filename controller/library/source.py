"""What to sync (`SourceSpec`) and the uniform read-only view every source gives (`Snapshot`).

A snapshot is a tree of directories and files addressed by opaque source handles (Git object
ids, S3 keys, filesystem paths), so scanning and sync do not care where the bytes come from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from controller.store.credentials import Credentials, S3Credentials
from controller.timeouts import DEFAULT_TIMEOUT

SourceKind = Literal["git", "s3", "dir"]
DIR_MODE, FILE_MODE, EXEC_MODE, LINK_MODE = 0o040000, 0o100644, 0o100755, 0o120000


@dataclass(frozen=True)
class SourceSpec:
    """Where examples come from.

    git: `url`, `ref` (branch, tag or commit; None = the remote's default branch), `path`.
    s3:  `url` = endpoint (`host:port`), `bucket`, `path` = key prefix, `insecure`, `region`.
    dir: `url` = a local directory (tests, `exlib validate`, `exlib sync DIR`).
    `ignore` holds gitignore-syntax patterns, relative to `path`.
    `timeout` bounds each network step of a sync, in seconds (spec.timeout).
    """

    kind: SourceKind
    url: str
    ref: str | None = None
    path: str = ""
    bucket: str | None = None
    region: str | None = None
    insecure: bool = False
    ignore: tuple[str, ...] = ()
    credentials: Credentials = field(default_factory=Credentials)
    s3_credentials: S3Credentials = field(default_factory=S3Credentials)
    timeout: float = DEFAULT_TIMEOUT

    def describe(self) -> str:
        """Human form for messages and the repository row (never includes credentials)."""
        if self.kind == "s3":
            return f"s3://{self.url}/{self.bucket}/{self.path}".rstrip("/")
        return self.url


@dataclass(frozen=True, slots=True)
class Entry:
    """One child of a snapshot directory."""

    name: str
    mode: int  # DIR_MODE, FILE_MODE, EXEC_MODE, LINK_MODE, or 0 for anything else
    handle: Any


class Snapshot(ABC):
    """A fixed revision of a source; `root` is the directory holding the examples."""

    revision: str
    root: Any
    root_name: str  # directory name of `root`, the identifier of last resort for a root example

    @abstractmethod
    def children(self, handle: Any) -> list[Entry]:
        """The entries of a directory, in name order."""

    @abstractmethod
    def fingerprint(self, handle: Any) -> str | None:
        """A cheap identity of a directory's whole content (Git tree id, S3 etag index)."""

    @abstractmethod
    def size(self, handle: Any) -> int:
        """A file's size, without reading it where the source allows."""

    @abstractmethod
    def read(self, handle: Any) -> bytes:
        """A file's bytes (for a symlink: its target)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the snapshot holds open."""
