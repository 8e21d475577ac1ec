"""Where a version's objects live in the library's bucket (DESIGN §4), in one place: the sync
writes them, the course pass and `exlib gc` read them, all through these names.

    repositories/{repository_id}/{example_id}/{digest}/   the version's prefix
        files.pack             a small version's files (meta.yaml included), concatenated in
                               the order of the version's file list: its only copy of them
        meta.yaml              a large version's meta.yaml
        files/<path>           a large version's every other file
        metadata.json          written last: without it the version is incomplete

A small version (at most PACK_MAX_BYTES) is two objects: a course pass reads it with one
request instead of one per file (a cold deploy of 200 assignments was ~1,200 GETs), and a
sync stores half the objects and bytes it stored with a pack beside the files. The pack
carries no names or sizes: the version's file list (metadata.json, and the `files` column of
its row) says which bytes are which file and their sha256, so reading it needs no parsing
and writing it costs a join. A larger version keeps one object per file: its per-request
cost is small against its bytes, and its pack would have to be held in memory whole.
Versions synced before small versions were packed only have their files (some a pack too);
readers fall back to the files.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from controller.library.digest import sha256
from controller.meta.names import META_FILE

ROOT = "repositories/"
METADATA = "metadata.json"
PACK = "files.pack"
#: Versions whose files add up to at most this many bytes are stored as a pack.
PACK_MAX_BYTES = 4 * 1024 * 1024

FileEntry = Mapping[str, Any]  # {path, mode, size, sha256}: a version's file list entry


def version_prefix(repository_id: uuid.UUID, example_id: uuid.UUID, digest: str) -> str:
    """The version's prefix (the trailing slash matters: `v1` must never match `v10`)."""
    return f"{ROOT}{repository_id}/{example_id}/{digest}/"


def prefix_of(key: str) -> str | None:
    """The version prefix of an object key; None for keys of another layout."""
    parts = key.split("/", 4)
    if len(parts) < 5 or parts[0] != ROOT.rstrip("/") or not all(parts[1:4]):
        return None
    return "/".join(parts[:4]) + "/"


def file_key(prefix: str, path: str) -> str:
    """The object holding the file at `path` (relative to the example) of a large version,
    or of a small one synced before small versions were packed."""
    return prefix + (META_FILE if path == META_FILE else f"files/{path}")


def metadata_key(prefix: str) -> str:
    """The version's metadata.json (what the course pass and `exlib examples` read)."""
    return prefix + METADATA


def pack_key(prefix: str) -> str:
    """A small version's files in one object, so a course pass reads it with one GET."""
    return prefix + PACK


def packed(files: Iterable[FileEntry]) -> bool:
    """Whether a version with this file list is stored as a pack (or, synced before small
    versions were packed, may instead have one object per file)."""
    return sum(int(f["size"]) for f in files) <= PACK_MAX_BYTES


def version_keys(prefix: str, files: Sequence[FileEntry]) -> set[str]:
    """Every object a complete version stored now has."""
    if packed(files):
        return {pack_key(prefix), metadata_key(prefix)}
    return {file_key(prefix, f["path"]) for f in files} | {metadata_key(prefix)}


def pack(contents: Iterable[bytes]) -> bytes:
    """The pack of a version: its files' bytes, in the order of its file list."""
    return b"".join(contents)


class BadPack(ValueError):
    """A pack that does not hold the version's files (the message says how)."""


def unpack(data: bytes, files: Sequence[FileEntry]) -> Iterator[tuple[str, int, bytes]]:
    """(path, mode, bytes) of each file in a pack. The whole pack is checked against the
    file list's sizes and sha256 before the first file is given, so a damaged pack raises
    BadPack before anything was read from it."""
    view = memoryview(data)
    spans: list[tuple[str, int, int, int]] = []
    at = 0
    for f in files:
        size = int(f["size"])
        if at + size > len(data) or sha256(view[at:at + size]) != f["sha256"]:
            raise BadPack(f"{f['path']} in the pack does not match its recorded sha256")
        spans.append((f["path"], int(f["mode"], 8), at, size))
        at += size
    if at != len(data):
        raise BadPack(f"the pack holds {len(data) - at} bytes more than the version's files")
    return ((path, mode, bytes(view[start:start + size])) for path, mode, start, size in spans)
