"""Course values the database or Git cannot hold are refused by the spec parser (and, where a
JSON Schema can say it, by the CRD), naming the node and the field, before anything is written.
"""

from __future__ import annotations

import json
import re

import pytest

from controller import jsonschemas
from controller.course import paths
from controller.course.errors import SpecError
from controller.course.spec import load_manifest, parse_spec

#: The documented limits (docs/limits.md).
MAX_LABEL, MAX_PATH, MAX_LEVELS, MAX_DIRECTORY = 255, 255, 16, 1024
MAX_NODES, MAX_PROPERTIES_BYTES = 5000, 64 * 1024

SCHEMA = jsonschemas.load(jsonschemas.COURSE_STRUCTURE)

BASE = {
    "course": {"organization": {"path": "org"}, "family": {"path": "prog"}, "path": "py101",
               "title": "Python 101"},
    "assignments": {"url": "http://git.example/assignments.git"},
    "contentTypes": [{"slug": "week", "kind": "unit"},
                     {"slug": "assignment", "kind": "assignment"}],
}


def spec(contents: list[dict], **extra: object) -> dict:
    return {**BASE, **extra, "contents": contents}


def problems(value: dict) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(value, namespace="ns")
    return [str(p) for p in err.value.problems]


def assignment(path: str, **extra: object) -> dict:
    return {"path": path, "type": "assignment", "example": "hello", **extra}


# ------------------------------------------------------------------------ ltree labels


def test_a_label_of_255_characters_is_fine_and_256_is_refused_with_node_and_field() -> None:
    ok = "a" * MAX_LABEL
    course = parse_spec(spec([assignment(ok)]))
    assert course.nodes[0].path == ok
    found = problems(spec([{"path": "week1", "type": "week",
                            "contents": [assignment("b" * 300)]}]))
    assert len(found) == 1, found
    assert found[0].startswith("contents[0].contents[0] (week1.bbbb")
    assert ": path: " in found[0]
    assert "300 characters" in found[0] and "255" in found[0]


@pytest.mark.parametrize("field", ["organization", "family", "course"])
def test_course_path_labels_are_checked_too(field: str) -> None:
    value = json.loads(json.dumps(spec([])))
    place = value["course"] if field == "course" else value["course"][field]
    place["path"] = "x" * 300
    found = problems(value)
    where = "course.path" if field == "course" else f"course.{field}.path"
    assert any(where in p and "255" in p for p in found), found


def test_a_path_longer_or_deeper_than_the_database_can_index_is_refused() -> None:
    long_labels = ["l" * 100 + str(i) for i in range(3)]  # 3 labels: > 255 characters
    tree: list[dict] = [assignment(long_labels[-1])]
    for label in reversed(long_labels[:-1]):
        tree = [{"path": label, "type": "week", "contents": tree}]
    found = problems(spec(tree))
    assert any(": path: " in p and str(MAX_PATH) in p for p in found), found

    deep: list[dict] = [assignment("leaf")]
    for i in range(MAX_LEVELS):
        deep = [{"path": f"u{i}", "type": "week", "contents": deep}]
    found = problems(spec(deep))
    assert any(f"at most {MAX_LEVELS} levels" in p for p in found), found


def test_bad_label_characters_are_explained() -> None:
    found = problems(spec([assignment("Week-1")]))
    assert found[0].startswith("contents[0] (Week-1): path: ")
    assert "lowercase letters, digits and `_`" in found[0]


# ------------------------------------------------------------------------ directories


@pytest.mark.parametrize("bad, why", [
    ("..", "`..`"),
    (".", "`.`"),
    (".git", "`.git`"),
    ("x/.GIT/hooks", "`.git`"),
    (".git.", "`.git`"),  # NTFS drops trailing dots: libgit2 refuses it in a tree
    ("x/.GiT../y", "`.git`"),
    ("x/../../y", "`..`"),
    ("a//b", "empty"),
    ("/abs", "relative"),
    ("courses/", "empty"),
    ("a\\b", "letters, digits"),
    ("a\x01b", "letters, digits"),
    ("x" * 1100, "1024"),
    ("a/" + "s" * 256, "at most 255"),
])
def test_assignments_path_must_stay_inside_the_repository(bad: str, why: str) -> None:
    found = problems(spec([], assignments={"url": "http://git.example/a.git", "path": bad}))
    assert len(found) == 1, found
    assert found[0].startswith("spec: assignments.path: "), found
    assert why in found[0], found


@pytest.mark.parametrize("good", ["", "courses/py101", ".github/x", "a/...", ".gitignore-dir",
                                  ".gi", ".g", "x.git", "_build/2024-ws"])
def test_ordinary_assignments_paths_are_accepted(good: str) -> None:
    course = parse_spec(spec([], assignments={"url": "http://git.example/a.git",
                                              "path": good}))
    assert course.assignments.path == good


SAMPLES = ["", "a", "..", ".", ".git", ".GiT", ".gitx", ".gi", ".g", ".x", "..x", "...",
           "a/b", "a/../b", "a/./b", "a/.git", "a/.git/b", "/a", "a/", "a//b", "a b", "a\\b",
           "ok/.Git", "ok/.gitt", "-x", "_", "a.b/c-d", ".git.", ".git..", "a/.GiT./b",
           ".git.x", ".git..x", ".git-"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_schema_pattern_and_the_python_rule_agree(sample: str) -> None:
    """The CRD enforces the same directory rule as the planner (kubectl apply refuses)."""
    assert (re.search(paths.DIRECTORY_PATTERN, sample) is not None) == (
        paths.directory_problem(sample) is None), sample


def test_the_schema_carries_the_rules() -> None:
    props = SCHEMA["properties"]
    assert props["assignments"]["properties"]["path"]["pattern"] == paths.DIRECTORY_PATTERN
    assert props["assignments"]["properties"]["path"]["maxLength"] == MAX_DIRECTORY
    for place in (props["course"]["properties"], props["contents"]["items"]["properties"],
                  props["course"]["properties"]["family"]["properties"],
                  props["course"]["properties"]["organization"]["properties"]):
        assert place["path"]["pattern"] == paths.LTREE_PATTERN
        assert place["path"]["maxLength"] == MAX_PATH


# ------------------------------------------------------------------------ counts and sizes


def test_too_many_nodes_are_refused() -> None:
    units = [{"path": f"u{i}", "type": "week"} for i in range(MAX_NODES + 1)]
    found = problems(spec(units))
    assert len(found) == 1 and f"at most {MAX_NODES}" in found[0], found


def test_large_properties_are_refused_naming_the_node() -> None:
    big = {"notes": "x" * (MAX_PROPERTIES_BYTES + 1)}
    found = problems(spec([assignment("hello", properties=big)]))
    assert found == [f"contents[0] (hello): properties: {found[0].split(': ', 2)[2]}"]
    assert "KiB" in found[0]


def test_deeply_nested_json_from_the_api_server_is_refused_without_recursing() -> None:
    """The operator gets the spec as JSON, not YAML: the same bounds apply."""
    deep: dict = {}
    for _ in range(5000):
        deep = {"d": deep}
    found = problems(spec([assignment("hello", properties=deep)]))
    assert len(found) == 1 and found[0].startswith("contents[0] (hello): properties"), found
    assert "nested" in found[0]


@pytest.mark.parametrize("value, field", [
    ({"title": "a\x00b"}, "title"),
    ({"properties": {"k": "a\x00b"}}, "properties.k"),
    ({"properties": {"k": float("nan")}}, "properties.k"),
    ({"properties": {"k": "\ud800"}}, "properties.k"),
    ({"position": float("inf")}, "position"),
])
def test_values_postgresql_cannot_store_are_refused(value: dict, field: str) -> None:
    found = problems(spec([assignment("hello", **value)]))
    assert len(found) == 1 and found[0].startswith(f"contents[0] (hello): {field}: "), found


def test_an_over_long_id_is_refused() -> None:
    found = problems(spec([assignment("hello", id="i" * 300)]))
    assert len(found) == 1 and found[0].startswith("contents[0] (hello): id: "), found


def test_yaml_manifest_with_a_long_label_names_the_node() -> None:
    text = f"""
course: {{organization: {{path: org}}, family: {{path: f}}, path: c, title: C}}
assignments: {{url: http://x/a.git, path: ../elsewhere}}
contentTypes: [{{slug: a, kind: assignment}}]
contents:
- {{path: {"z" * 300}, type: a, example: hello}}
"""
    found = problems(load_manifest(text).spec)
    assert any(p.startswith("spec: assignments.path: ") for p in found), found
    assert any(p.startswith("contents[0] (zzz") and "255" in p for p in found), found


@pytest.mark.parametrize("where", ["content path", "assignments.path", "branch", "course path",
                                   "example"])
def test_a_trailing_newline_is_refused_as_the_api_server_refuses_it(where: str) -> None:
    """Python's `$` matches before a final newline, Go's (the API server's) does not: `exlib
    apply -f` must refuse `week1\\n` as `kubectl apply` does, not hand it to PostgreSQL."""
    value = {
        "content path": spec([assignment("week1\n")]),
        "assignments.path": spec([], assignments={"url": "http://git.example/a.git",
                                                  "path": "courses\n"}),
        "branch": spec([], assignments={"url": "http://git.example/a.git", "branch": "main\n"}),
        "course path": {**spec([]), "course": {**BASE["course"], "path": "c\n"}},
        "example": spec([{**assignment("w"), "example": "hello\n"}]),
    }[where]
    assert problems(value)


def test_a_timeout_longer_than_a_day_is_refused() -> None:
    found = problems({**spec([]), "timeout": "9999999h"})
    assert len(found) == 1 and "timeout" in found[0] and "24h" in found[0]
