"""S3/MinIO source: one listing of bucket/prefix, grouped into directories by key.

Revision = sha256 of the sorted key -> etag index (as Flux does for buckets); a directory's
fingerprint is the same digest over the keys below it, so unchanged examples are skipped
without downloading anything.
"""

from __future__ import annotations

import hashlib
from typing import Any

from controller.library.errors import AuthenticationFailed, SourceUnreachable
from controller.library.source import DIR_MODE, FILE_MODE, Entry, Snapshot, SourceSpec
from controller.store.objects import ObjectStore, ObjectStoreDenied, ObjectStoreError


def _store(spec: SourceSpec) -> ObjectStore:
    return ObjectStore(spec.url, spec.s3_credentials.access_key,
                       spec.s3_credentials.secret_key, spec.bucket or "",
                       secure=not spec.insecure, region=spec.region, timeout=spec.timeout)


def _fail(spec: SourceSpec, err: ObjectStoreError) -> SourceUnreachable:
    if isinstance(err, ObjectStoreDenied):
        return AuthenticationFailed(f"{spec.describe()}: {err}")
    return SourceUnreachable(f"{spec.describe()}: {err}")


def _index(spec: SourceSpec, store: ObjectStore) -> dict[str, tuple[str, int]]:
    """Relative key -> (etag, size) for every object below the prefix."""
    prefix = spec.path.strip("/") + "/" if spec.path.strip("/") else ""
    try:
        return {o.key[len(prefix):]: (o.etag, o.size) for o in store.list(prefix)
                if not o.key.endswith("/")}
    except ObjectStoreError as err:
        raise _fail(spec, err) from err


def _digest(items: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for key, etag in items:
        h.update(f"{key}\0{etag}\n".encode())
    return h.hexdigest()


def s3_revision(spec: SourceSpec) -> str:
    """The S3 source's revision: a digest of its keys and ETags, without reading an object."""
    return "etags:" + _digest(sorted((k, e) for k, (e, _) in _index(spec, _store(spec)).items()))


class S3Snapshot(Snapshot):
    """Handles: a directory is its relative path with a trailing '/', a file its relative key."""

    def __init__(self, spec: SourceSpec) -> None:
        self._spec = spec
        self._store = _store(spec)
        self._prefix = spec.path.strip("/") + "/" if spec.path.strip("/") else ""
        self._index = _index(spec, self._store)
        self.revision = "etags:" + _digest(sorted((k, e) for k, (e, _) in self._index.items()))
        # Directory -> its entries by handle: a key `a` and keys below `a/` give a file and a
        # directory of the same name, both listed (the scan reports the clash).
        self._dirs: dict[str, dict[str, Entry]] = {"": {}}
        for key in self._index:
            parts = key.split("/")
            for depth in range(len(parts)):
                parent = "".join(p + "/" for p in parts[:depth])
                name = parts[depth]
                if depth == len(parts) - 1:
                    self._dirs.setdefault(parent, {})[key] = Entry(name, FILE_MODE, key)
                else:
                    child = parent + name + "/"
                    self._dirs.setdefault(parent, {})[child] = Entry(name, DIR_MODE, child)
                    self._dirs.setdefault(child, {})
        self._fingerprints = self._dir_fingerprints()
        self.root = ""
        self.root_name = spec.path.strip("/").rsplit("/", 1)[-1] or (spec.bucket or "")

    def children(self, handle: Any) -> list[Entry]:
        return sorted(self._dirs[handle].values(), key=lambda e: e.name)

    def _dir_fingerprints(self) -> dict[str, str]:
        """Every directory's etag digest in one pass over the sorted index."""
        hashes = {d: hashlib.sha256() for d in self._dirs}
        for key in sorted(self._index):
            etag = self._index[key][0]
            parts = key.split("/")
            for depth in range(len(parts)):
                parent = "".join(p + "/" for p in parts[:depth])
                hashes[parent].update(f"{key[len(parent):]}\0{etag}\n".encode())
        return {d: h.hexdigest() for d, h in hashes.items()}

    def fingerprint(self, handle: Any) -> str:
        return self._fingerprints[handle]

    def size(self, handle: Any) -> int:
        return self._index[handle][1]

    def read(self, handle: Any) -> bytes:
        try:
            return self._store.get(self._prefix + handle)
        except KeyError:
            raise SourceUnreachable(
                f"{self._spec.describe()}: {handle} disappeared during the sync") from None
        except ObjectStoreError as err:
            raise _fail(self._spec, err) from err
