"""Defaults come from the schemas (the CRDs document them), never restated in Python."""

from __future__ import annotations

from controller import jsonschemas
from controller.course.spec import parse_spec
from controller.tenancy import Visibility
from controller.timeouts import DEFAULT_INTERVAL, DEFAULT_TIMEOUT, parse_duration

MINIMAL = {
    "course": {"organization": {"path": "org"}, "family": {"path": "prog"}, "path": "py101",
               "title": "Python"},
    "assignments": {"url": "https://git.example.edu/org/py101.git"},
    "contentTypes": [{"slug": "week", "kind": "unit"}],
}


def test_a_spec_without_optional_fields_gets_the_course_schema_defaults() -> None:
    spec = parse_spec(MINIMAL)
    schema = jsonschemas.load(jsonschemas.COURSE_STRUCTURE)["properties"]
    assert spec.update_strategy == schema["updateStrategy"]["default"] == "keep"
    assert spec.interval == schema["interval"]["default"] == "5m"
    assert spec.assignments.branch == schema["assignments"]["properties"]["branch"]["default"]
    assert spec.prune is schema["prune"]["default"] and spec.suspend is schema["suspend"]["default"]
    assert spec.timeout == DEFAULT_TIMEOUT == parse_duration(schema["timeout"]["default"], 0)


def test_both_resources_share_the_timeout_and_interval_defaults() -> None:
    repo = jsonschemas.load(jsonschemas.EXAMPLE_REPOSITORY)["properties"]
    course = jsonschemas.load(jsonschemas.COURSE_STRUCTURE)["properties"]
    assert repo["timeout"]["default"] == course["timeout"]["default"]
    assert repo["interval"]["default"] == course["interval"]["default"]
    assert DEFAULT_INTERVAL == 300.0 and DEFAULT_TIMEOUT == 60.0


def test_a_repository_is_private_unless_its_spec_says_otherwise() -> None:
    assert Visibility().kind == "private" == jsonschemas.default(
        jsonschemas.EXAMPLE_REPOSITORY, "visibility")


def test_load_returns_a_copy_the_caller_may_change() -> None:
    jsonschemas.load(jsonschemas.EXAMPLE_META)["properties"].clear()
    assert jsonschemas.load(jsonschemas.EXAMPLE_META)["properties"]
