"""Identifiers and version labels have one definition, the one the schemas use."""

from __future__ import annotations

import pytest

from controller import jsonschemas
from controller.meta.names import (
    IDENTIFIER_PATTERN,
    is_digest_ref,
    is_identifier,
    version_label,
)


def test_the_identifier_rule_is_the_schemas_pattern() -> None:
    meta = jsonschemas.load(jsonschemas.EXAMPLE_META)
    course = jsonschemas.load(jsonschemas.COURSE_STRUCTURE)
    assert meta["$defs"]["identifier"]["pattern"] == IDENTIFIER_PATTERN
    slug = course["properties"]["contentTypes"]["items"]["properties"]["slug"]["pattern"]
    assert slug == IDENTIFIER_PATTERN


@pytest.mark.parametrize("name", ["hello", "itpcp.pgph.c.hello_world", "A-1", "9lives"])
def test_identifiers_that_are_valid(name: str) -> None:
    assert is_identifier(name)


@pytest.mark.parametrize("name", ["", "-x", ".x", "a b", "a/b", "hello\n", None, 3])
def test_identifiers_that_are_not(name: object) -> None:
    assert not is_identifier(name)


def test_a_version_is_shown_by_its_tag_else_by_a_short_digest() -> None:
    assert version_label("1.2.0", "ab" * 32) == "1.2.0"
    assert version_label(None, "ab" * 32) == "sha256:" + "ab" * 6


@pytest.mark.parametrize(("ref", "ok"), [("sha256:abcd", True), ("sha256:abc", False),
                                         ("sha256:ABCD", False), ("sha256:" + "a" * 64, True),
                                         ("sha256:abcd\n", False)])
def test_digest_references(ref: str, ok: bool) -> None:
    assert is_digest_ref(ref) is ok


def test_every_message_names_a_field_the_same_way() -> None:
    from controller.jsonschemas import field_path
    assert field_path(("properties", "testFiles", 0)) == "properties.testFiles[0]"
    assert field_path(["spec", "git", "url"]) == "spec.git.url"
    assert field_path([]) == "" and field_path(["contents", 0, "contents", 2]) == \
        "contents[0].contents[2]"
