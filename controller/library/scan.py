"""Find example directories in a snapshot and read one into files, digest, meta and issues.

Discovery walks directories only; an example whose fingerprint is already known (unchanged)
is not descended into, so a no-op sync reads no blob and walks no example tree. Reading
hashes each file; its bytes are dropped, or handed to the caller for upload.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pathspec

from controller.library.digest import FileRecord, fingerprint, sha256, version_digest
from controller.library.source import DIR_MODE, LINK_MODE, Snapshot
from controller.meta import ExampleMeta, Issue, check_file_lists, parse_meta

META = "meta.yaml"


class Ignore:
    """gitignore-syntax patterns, matched against paths relative to the source root."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.digest = sha256("\n".join(patterns).encode())
        self._empty = not patterns

    def __call__(self, path: str, is_dir: bool) -> bool:
        if self._empty:
            return False
        return self._spec.match_file(path + "/" if is_dir else path)


@dataclass(frozen=True, slots=True)
class Found:
    """An example directory as discovered; `inside` is the enclosing example, if any."""

    directory: str  # relative to the source root, '.' for the root itself
    handle: Any
    tree_id: str | None  # the source's raw directory identity (Git tree id, etag digest)
    fingerprint: str | None
    inside: str | None = None


@dataclass(slots=True)
class Scanned:
    """A read example: meta is None when meta.yaml could not be parsed."""

    found: Found
    meta: ExampleMeta | None
    files: list[FileRecord]
    digest: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.meta is not None and not any(i.is_error for i in self.issues)


def _join(base: str, name: str) -> str:
    return name if base in ("", ".") else f"{base}/{name}"


def discover(snapshot: Snapshot, ignore: Ignore, limit: int,
             is_known: Callable[[str], bool] = lambda _fp: False) -> Iterator[Found]:
    """Every directory below the root holding a meta.yaml, at any depth, in path order."""

    def visit(handle: Any, rel: str, inside: str | None) -> Iterator[Found]:
        entries = [e for e in snapshot.children(handle)
                   if not ignore(_join(rel, e.name), e.mode == DIR_MODE)]
        if any(e.name == META and e.mode not in (DIR_MODE, 0) for e in entries):
            directory = rel or "."
            raw = snapshot.fingerprint(handle)
            fp = fingerprint(raw, directory, ignore.digest, limit)
            yield Found(directory, handle, raw, fp, inside)
            if fp is not None and inside is None and is_known(fp):
                return
            inside = inside or directory
        for e in entries:
            if e.mode == DIR_MODE:
                yield from visit(e.handle, _join(rel, e.name), inside)

    yield from visit(snapshot.root, "", None)


def read_example(snapshot: Snapshot, found: Found, ignore: Ignore, limit: int,
                 blobs: dict[str, bytes] | None = None) -> Scanned:
    """Hash every file of the example and parse its meta.yaml; problems become issues.

    With `blobs`, the bytes read are kept there (relative path -> bytes) so the caller can
    upload exactly what was hashed without reading it again; otherwise they are dropped.
    """
    meta_file = _join(found.directory, META)
    issues: list[Issue] = []
    files: list[FileRecord] = []
    meta_text = b""

    def error(path: str, message: str) -> None:
        issues.append(Issue("error", _join(found.directory, path), "", message))

    if found.inside is not None:
        error(META, f"this example lies inside the example `{found.inside}`; examples cannot "
                    "be nested: move one of them")

    def walk(handle: Any, rel: str) -> None:
        nonlocal meta_text
        for e in snapshot.children(handle):
            path = _join(rel, e.name)
            if ignore(_join(found.directory, path), e.mode == DIR_MODE):
                continue
            if e.mode == DIR_MODE:
                if any(c.name == META for c in snapshot.children(e.handle)):
                    error(path, f"`{path}/` contains another meta.yaml; examples cannot be "
                                "nested: move it out of this example")
                else:
                    walk(e.handle, path)
                continue
            if e.mode == 0:
                issues.append(Issue("warning", _join(found.directory, path), "",
                                    "not a regular file (a submodule?); it is skipped"))
                continue
            size = snapshot.size(e.handle)
            if size > limit:
                error(path, f"the file has {size} bytes, more than the limit of {limit}; "
                            "remove it, add it to the repository's ignore patterns, or raise "
                            "EXLIB_MAX_FILE_BYTES")
                continue
            data = snapshot.read(e.handle)
            if e.mode == LINK_MODE:
                target = data.decode(errors="replace")
                inner = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
                if target.startswith("/") or inner == ".." or inner.startswith("../"):
                    error(path, f"symlink to `{target}` points outside the example; copy the "
                                "file into the example instead")
                    continue
            elif path == META:
                meta_text = data
            files.append(FileRecord(path, e.mode, len(data), sha256(data), e.handle))
            if blobs is not None:
                blobs[path] = data

    walk(found.handle, "")
    name = snapshot.root_name if found.directory == "." else found.directory.rsplit("/", 1)[-1]
    meta, meta_issues = parse_meta(meta_text, file=meta_file, directory_name=name)
    issues[:0] = meta_issues
    if meta is not None:
        issues += check_file_lists(meta, {f.path for f in files}, file=meta_file)
    return Scanned(found, meta, files, version_digest(files), issues)
