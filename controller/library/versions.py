"""Reading the library back: pick a stored version and load its files (course deployment).

    resolve_version(session, example_id, spec) -> ExampleVersion
    pick_version(example, versions, spec) -> ExampleVersion  (the same, over loaded rows)
        spec: None or "latest" = the example's latest version; a tag ("1.0" = exactly 1.0.0);
        a range ("^1.0", "~1.2", ">=1.0,<2") = the newest matching tag by semver;
        "sha256:<prefix>" = the version whose digest starts with the prefix.
        Raises VersionNotFound (message lists what exists) when nothing or several match.
    version_files(store_or_settings, version) -> iterator of (relative path, mode, bytes)
    load_version_files(store_or_settings, version) -> {relative path: (mode, bytes)}
        Includes meta.yaml; mode 0o120000 means a symlink whose bytes are the target.
        Raises IncompleteVersion when an object of the version is missing or damaged (the
        message says what to do), and StorageUnavailable when MinIO cannot be read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from controller.config import Settings
from controller.library import layout
from controller.library.digest import sha256
from controller.library.errors import IncompleteVersion, StorageUnavailable, VersionNotFound
from controller.meta import VersionError, newest_matching, normalise_version, parse_constraint
from controller.meta.names import DIGEST_PREFIX, version_label
from controller.store.db.library import Example, ExampleVersion
from controller.store.objects import ObjectStore, object_store, storage_errors_as


def resolve_version(session: Session, example_id: uuid.UUID, spec: str | None
                    ) -> ExampleVersion:
    """The stored version of an example that `spec` names (`pick_version` over its stored
    versions; the module docstring says what a spec may be)."""
    example = session.get(Example, example_id)
    if example is None:
        raise VersionNotFound(f"example {example_id} does not exist")
    return pick_version(example, session.scalars(
        sa.select(ExampleVersion).filter_by(example_id=example_id)).all(), spec)


def pick_version(example: Example, versions: Sequence[ExampleVersion], spec: str | None
                 ) -> ExampleVersion:
    """The version of `example` that `spec` names, among its `versions` (all of them, loaded
    by the caller: a course pass loads the versions of all its examples in one query)."""
    spec = (spec or "latest").strip()
    if spec == "latest":
        latest = next((v for v in versions if v.id == example.latest_version_id), None)
        if latest is None:
            raise VersionNotFound(f"example {example.identifier} has no valid version yet")
        return latest
    if spec.startswith(DIGEST_PREFIX):
        prefix = spec.removeprefix(DIGEST_PREFIX).lower()
        hits = [v for v in versions if v.digest.startswith(prefix)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise VersionNotFound(f"several versions of {example.identifier} match {spec}; "
                                  "give more digest characters")
        raise VersionNotFound(f"no version of {example.identifier} has digest {spec}")
    tags = {v.tag: v for v in versions if v.tag}
    try:
        exact = tags.get(normalise_version(spec))
    except VersionError:
        exact = None
    if exact is not None:
        return exact
    try:
        best = newest_matching(parse_constraint(spec), tags)
    except VersionError as err:
        raise VersionNotFound(f"version `{spec}` of {example.identifier}: {err}") from err
    if best is None:
        shown = ", ".join(sorted(tags)) or "none"
        raise VersionNotFound(f"no version of {example.identifier} matches `{spec}` (tagged "
                              f"versions: {shown}); use a tag, a range, `latest` or "
                              "`sha256:<digest prefix>`")
    return tags[best]


def version_files(store: ObjectStore | Settings, version: ExampleVersion
                  ) -> Iterator[tuple[str, int, bytes]]:
    """(relative path, mode, bytes) of each file of a stored version, checked against its
    recorded sha256.

    A small version comes from its pack, one request (`layout`); a large one, or a small one
    synced before small versions were packed, file by file, one file in memory at a time.
    """
    if isinstance(store, Settings):
        store = object_store(store)
    prefix = version.storage_prefix
    with storage_errors_as(StorageUnavailable):
        lost_pack: tuple[str, str] | None = None
        if layout.packed(version.files):
            key = layout.pack_key(prefix)
            try:
                files = layout.unpack(store.get(key), version.files)
            except KeyError:
                lost_pack = key, "is missing"
            except layout.BadPack as err:
                lost_pack = key, f"does not hold the version's files ({err})"
            else:
                yield from files
                return
        key = layout.metadata_key(prefix)
        try:
            metadata = json.loads(store.get(key))
        except KeyError:
            raise _lost(version, None, key, "is missing") from None
        for f in metadata["files"]:
            key = layout.file_key(prefix, f["path"])
            try:
                data = store.get(key)
            except KeyError:
                # a pack is the only copy of a small version's files, unless it was synced
                # before small versions were packed: then the files are here
                raise _lost(version, metadata["identifier"],
                            *(lost_pack or (key, "is missing"))) from None
            if sha256(data) != f["sha256"]:
                raise _lost(version, metadata["identifier"], key,
                            "does not match its recorded sha256")
            yield f["path"], int(f["mode"], 8), data
            del data


def _lost(version: ExampleVersion, identifier: str | None, key: str, problem: str
          ) -> IncompleteVersion:
    """An object of a served version is gone or damaged (only by hand or a storage fault:
    gc never removes a referenced version's objects). A sync cannot store it again (it skips
    unchanged examples, and a published version is immutable), so say what can."""
    which = version_label(version.tag, version.digest)
    of = f" of {identifier}" if identifier else ""
    return IncompleteVersion(
        f"version {which}{of} cannot be read: the library's object {key} {problem}. A sync "
        "does not store a published version again: restore that object from a backup of "
        "the library's bucket, or publish the example anew (change its `version` in "
        "meta.yaml and sync) and deploy that version")


def load_version_files(store: ObjectStore | Settings, version: ExampleVersion
                       ) -> dict[str, tuple[int, bytes]]:
    """Every file of a small version at once (tests, tools); see `version_files`."""
    return {path: (mode, data) for path, mode, data in version_files(store, version)}
