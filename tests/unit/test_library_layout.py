"""The library's object layout (pure): keys, and the pack that is a small version's only copy
of its files (a course pass reads it in one request)."""

from __future__ import annotations

import uuid

import pytest

from controller.library import layout
from controller.library.digest import FileRecord, sha256

REPO, EXAMPLE = uuid.UUID(int=1), uuid.UUID(int=2)
PREFIX = layout.version_prefix(REPO, EXAMPLE, "d" * 64)
FILES = {"meta.yaml": b"slug: x\n", "main.py": b"print(1)\n", "empty.txt": b"",
         "sub/link": b"../main.py"}


def entries(files: dict[str, bytes]) -> list[dict]:
    return [FileRecord(p, 0o120000 if p.endswith("link") else 0o100644, len(d),
                       sha256(d)).as_json() for p, d in files.items()]


def test_a_small_version_is_its_pack_and_metadata() -> None:
    assert layout.version_keys(PREFIX, entries(FILES)) == {
        PREFIX + "files.pack", PREFIX + "metadata.json"}


def test_a_large_version_is_one_object_per_file_and_metadata() -> None:
    assert PREFIX.endswith("/") and layout.prefix_of(layout.file_key(PREFIX, "a/b.py")) == PREFIX
    assert layout.file_key(PREFIX, "meta.yaml") == PREFIX + "meta.yaml"
    assert layout.file_key(PREFIX, "a/meta.yaml") == PREFIX + "files/a/meta.yaml"
    large = {**FILES, "data.bin": b"\0" * layout.PACK_MAX_BYTES}
    assert layout.version_keys(PREFIX, entries(large)) == {
        PREFIX + "meta.yaml", PREFIX + "files/main.py", PREFIX + "files/empty.txt",
        PREFIX + "files/sub/link", PREFIX + "files/data.bin", PREFIX + "metadata.json"}


def test_a_pack_gives_back_every_file_with_its_mode() -> None:
    packed = layout.pack(FILES.values())
    assert list(layout.unpack(packed, entries(FILES))) == [
        ("meta.yaml", 0o100644, b"slug: x\n"), ("main.py", 0o100644, b"print(1)\n"),
        ("empty.txt", 0o100644, b""), ("sub/link", 0o120000, b"../main.py")]


@pytest.mark.parametrize("damage", [lambda b: b[:-1], lambda b: b + b"x",
                                    lambda b: b.replace(b"print", b"PRINT")])
def test_a_damaged_pack_is_refused_before_any_file_is_given(damage) -> None:
    with pytest.raises(layout.BadPack):
        layout.unpack(damage(layout.pack(FILES.values())), entries(FILES))


def test_only_small_versions_are_packed() -> None:
    assert layout.packed([{"size": layout.PACK_MAX_BYTES}])
    assert not layout.packed([{"size": layout.PACK_MAX_BYTES}, {"size": 1}])
