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
        Raises IncompleteVersion when the version's metadata.json is missing (never served),
        and StorageUnavailable when MinIO cannot be read.
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
from controller.meta.names import DIGEST_PREFIX, short_digest
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

    A small version comes from its pack, one request (`layout`); a large one, one synced
    before packs existed, or one whose pack is damaged, file by file, one file in memory
    at a time.
    """
    if isinstance(store, Settings):
        store = object_store(store)
    with storage_errors_as(StorageUnavailable):
        packed = _from_pack(store, version)
        if packed is not None:
            yield from packed
            return
        prefix = version.storage_prefix
        try:
            metadata = json.loads(store.get(layout.metadata_key(prefix)))
        except KeyError:
            raise IncompleteVersion(f"version {short_digest(version.digest)} has no "
                                    f"metadata.json under {prefix}; run a sync to complete "
                                    "it") from None
        for f in metadata["files"]:
            key = layout.file_key(prefix, f["path"])
            try:
                data = store.get(key)
            except KeyError:
                raise IncompleteVersion(f"{key} is missing; run a sync to complete "
                                        "the version") from None
            if sha256(data) != f["sha256"]:
                raise IncompleteVersion(f"{key} does not match its recorded sha256")
            yield f["path"], int(f["mode"], 8), data
            del data


def _from_pack(store: ObjectStore, version: ExampleVersion
               ) -> Iterator[tuple[str, int, bytes]] | None:
    """The version's files from its pack, checked; None when it has no usable pack."""
    if not layout.has_pack(version.files):
        return None
    try:
        return layout.unpack(store.get(layout.pack_key(version.storage_prefix)), version.files)
    except (KeyError, layout.BadPack):
        return None  # synced before packs existed, or damaged: the files are the truth


def load_version_files(store: ObjectStore | Settings, version: ExampleVersion
                       ) -> dict[str, tuple[int, bytes]]:
    """Every file of a small version at once (tests, tools); see `version_files`."""
    return {path: (mode, data) for path, mode, data in version_files(store, version)}
