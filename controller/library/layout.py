"""Where a version's objects live in the library's bucket (DESIGN §4), in one place: the sync
writes them, the course pass and `exlib gc` read them, all through these names.

    repositories/{repository_id}/{example_id}/{digest}/   the version's prefix
        meta.yaml              the example's meta.yaml as written
        files/<path>           every other file
        files.pack             small versions: every file (meta.yaml included) once more,
                               concatenated in the order of the version's file list
        metadata.json          written last: without it the version is incomplete

The pack exists so that a course pass reads a version with one request instead of one per
file (a cold deploy of 200 assignments was ~1,200 GETs). It carries no names or sizes: the
version's file list (metadata.json, and the `files` column of its row) says which bytes are
which file and their sha256, so reading it needs no parsing and writing it costs a join.
Only versions of at most PACK_MAX_BYTES get one: a larger version's per-request cost is small
against its bytes, and its pack would have to be held in memory to be written and read.
Versions synced before packs existed have none; readers fall back to the files.
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
#: Versions whose files add up to at most this many bytes get a pack.
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
    """The object holding the file at `path` (relative to the example)."""
    return prefix + (META_FILE if path == META_FILE else f"files/{path}")


def metadata_key(prefix: str) -> str:
    """The version's metadata.json (what the course pass and `exlib examples` read)."""
    return prefix + METADATA


def pack_key(prefix: str) -> str:
    """The version's files in one object, so a cold course pass reads it with one GET."""
    return prefix + PACK


def has_pack(files: Iterable[FileEntry]) -> bool:
    """Whether a version with this file list gets (or, synced before packs, may lack) a pack."""
    return sum(int(f["size"]) for f in files) <= PACK_MAX_BYTES


def version_keys(prefix: str, files: Sequence[FileEntry]) -> set[str]:
    """Every object a complete version stored now has."""
    keys = {file_key(prefix, f["path"]) for f in files} | {metadata_key(prefix)}
    return keys | {pack_key(prefix)} if has_pack(files) else keys


def pack(contents: Iterable[bytes]) -> bytes:
    """The pack of a version: its files' bytes, in the order of its file list."""
    return b"".join(contents)


class BadPack(ValueError):
    """A pack that does not hold the version's files (the message says how)."""


def unpack(data: bytes, files: Sequence[FileEntry]) -> Iterator[tuple[str, int, bytes]]:
    """(path, mode, bytes) of each file in a pack. The whole pack is checked against the
    file list's sizes and sha256 before the first file is given, so a damaged pack raises
    BadPack before anything was read from it (the reader then reads the files)."""
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
