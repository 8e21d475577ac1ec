"""Version normalisation, ordering and dependency-constraint resolution."""

from __future__ import annotations

import pytest

from controller.meta import (
    Constraint,
    VersionError,
    newest_matching,
    normalise_version,
    parse_constraint,
    version_key,
)

AVAILABLE = [
    "0.1.0",
    "0.2.0",
    "0.2.5",
    "0.3.0",
    "1.0.0",
    "1.2.0",
    "1.2.7",
    "1.3.0",
    "1.9.0",
    "1.10.0",
    "2.0.0-rc1",
    "2.0.0",
    "2.1.0",
    "3.0.0-beta.2",
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1.10", "1.10.0"),
        ("1.0.1", "1.0.1"),
        ("v1.2", "1.2.0"),
        ("V3", "3.0.0"),
        (" 2.0.0 ", "2.0.0"),
        ("1.2.3-rc1", "1.2.3-rc1"),
        ("1.2-rc.1", "1.2.0-rc.1"),
        ("1.2.3+build.5", "1.2.3+build.5"),
        ("0.0.0", "0.0.0"),
    ],
)
def test_normalise_version(raw: str, expected: str) -> None:
    assert normalise_version(raw) == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("", "empty"),
        ("abc", "MAJOR.MINOR.PATCH"),
        ("1.0.0.1", "at most three"),
        ("1.01", "leading zero"),
        ("1.2.3rc1", "`1.2.3-rc1`"),
        ("1..2", "MAJOR.MINOR.PATCH"),
        ("<eb_py_version>", "MAJOR.MINOR.PATCH"),
        ("-1", "MAJOR.MINOR.PATCH"),
    ],
)
def test_normalise_version_rejects_garbage_with_clear_message(raw: str, words: str) -> None:
    with pytest.raises(VersionError) as info:
        normalise_version(raw)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_version_key_orders_by_semver_not_text() -> None:
    shuffled = ["1.10.0", "1.9.0", "1.0.0", "1.0.0-rc.10", "1.0.0-rc.2", "1.0.0-alpha", "0.9.0"]
    assert sorted(shuffled, key=version_key) == [
        "0.9.0",
        "1.0.0-alpha",
        "1.0.0-rc.2",
        "1.0.0-rc.10",
        "1.0.0",
        "1.9.0",
        "1.10.0",
    ]


def test_version_key_accepts_short_forms() -> None:
    assert version_key("1.10") > version_key("1.9")
    assert version_key("1") == version_key("1.0.0")


@pytest.mark.parametrize(
    ("text", "allowed", "refused"),
    [
        ("^1.2", ["1.2.0", "1.2.7", "1.10.0"], ["1.1.9", "2.0.0", "1.3.0-rc1"]),
        ("^0.2", ["0.2.0", "0.2.5"], ["0.3.0", "0.1.9", "1.0.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4", "0.1.0"]),
        ("^1", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.0"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.0"]),
        ("~1", ["1.0.0", "1.9.0"], ["2.0.0"]),
        ("~1.2.3", ["1.2.3", "1.2.9"], ["1.2.2", "1.3.0"]),
        (">=1.0", ["1.0.0", "5.0.0"], ["0.9.9"]),
        (">1", ["1.0.1", "2.0.0"], ["1.0.0"]),
        ("<2", ["1.99.0", "0.1.0"], ["2.0.0", "2.0.0-rc1"]),
        ("<=1.2", ["1.2.0", "1.0.0"], ["1.2.1"]),
        ("1.0", ["1.0.0"], ["1.0.1", "1.1.0"]),
        ("==1.2.3", ["1.2.3"], ["1.2.4"]),
        ("=1.2.3", ["1.2.3"], ["1.2.4"]),
        ("!=1.2.3", ["1.2.4"], ["1.2.3"]),
        (">=1.0,<2", ["1.0.0", "1.10.0"], ["2.0.0", "0.9.0"]),
        (">= 1.0, < 2", ["1.5.0"], ["2.0.0"]),
        (">=1.0 <2", ["1.5.0"], ["2.0.0"]),
        ("1.x", ["1.0.0", "1.9.0"], ["2.0.0"]),
        ("1.2.*", ["1.2.0", "1.2.9"], ["1.3.0"]),
        ("1.2.3-rc1", ["1.2.3-rc1"], ["1.2.3", "1.2.3-rc2"]),
        (">=2.0.0-rc1", ["2.0.0-rc1", "2.0.0", "2.0.0-rc2"], ["1.9.0"]),
    ],
)
def test_constraint_semantics(text: str, allowed: list[str], refused: list[str]) -> None:
    constraint = parse_constraint(text)
    assert constraint.text == text
    for version in allowed:
        assert constraint.allows(version), f"{text} should allow {version}"
    for version in refused:
        assert not constraint.allows(version), f"{text} should refuse {version}"


@pytest.mark.parametrize("text", [None, "", "*", "  "])
def test_any_version(text: str | None) -> None:
    constraint = parse_constraint(text)
    assert constraint.is_any
    assert constraint.allows("0.0.1") and constraint.allows("99.0.0")
    assert not constraint.allows("2.0.0-rc1")  # pre-releases need to be asked for
    assert newest_matching(constraint, AVAILABLE) == "2.1.0"


@pytest.mark.parametrize(
    ("text", "newest"),
    [
        ("^1.2", "1.10.0"),
        ("~1.2", "1.2.7"),
        ("^0.2", "0.2.5"),
        (">=1.0,<2", "1.10.0"),
        ("<2", "1.10.0"),
        (">=1.0", "2.1.0"),
        ("1.0", "1.0.0"),
        ("2.0.0-rc1", "2.0.0-rc1"),
        (">=3.0.0-beta.1", "3.0.0-beta.2"),
        ("^4", None),
    ],
)
def test_newest_matching_picks_newest_by_semver(text: str, newest: str | None) -> None:
    assert newest_matching(parse_constraint(text), AVAILABLE) == newest


def test_newest_matching_ignores_input_order_and_bad_versions() -> None:
    versions = ["1.9.0", "not-a-version", "1.10.0", "1.2.0"]
    assert newest_matching(parse_constraint("^1"), versions) == "1.10.0"
    assert newest_matching(parse_constraint("^1"), list(reversed(versions))) == "1.10.0"
    assert newest_matching(parse_constraint("^1"), []) is None


def test_newest_matching_accepts_a_generator() -> None:
    assert newest_matching(parse_constraint("~1.2"), (v for v in AVAILABLE)) == "1.2.7"


@pytest.mark.parametrize(
    "text",
    ["banana", ">>1", "^", ">=1.0,,<2", ">=1.0,", "1.0.0.0", "^1.2.3.4", "1 || 2", "~>1.0", "=>1"],
)
def test_garbage_constraint_raises_version_error(text: str) -> None:
    with pytest.raises(VersionError) as info:
        parse_constraint(text)
    assert text.strip() in str(info.value) or "||" in str(info.value)


def test_constraint_constructed_directly_is_parsed() -> None:
    assert Constraint("^1.2").allows("1.5.0")
    assert not Constraint("^1.2").allows("2.0.0")
    with pytest.raises(VersionError):
        Constraint("nonsense")


def test_constraint_equality_is_by_text() -> None:
    assert parse_constraint("^1.2") == Constraint("^1.2")
    assert parse_constraint("^1.2") != Constraint("~1.2")
