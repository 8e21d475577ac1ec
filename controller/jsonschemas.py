"""The JSON Schemas shipped in `controller/schemas/`: loading, defaults, validators (pure).

The schemas are the one source of truth for the spec fields, their patterns and their
defaults: the CRDs are generated from them, the operator and the CLI validate with them, and
Python code reads a default here instead of restating it. They ship as package data, so an
installed exlib finds them without the repository checkout.

Python's `$` also matches before a final newline, Go's (the API server's) only at the end, so
with jsonschema's default `re.search` the CLI and meta.yaml accepted `week1\\n` where
`kubectl apply` refuses it. Every exlib validator is built here, with `$` read as the end.
`fast_check` answers only valid/invalid, compiled to Python code by fastjsonschema (which
reads `$` the same way): about ten times faster on the valid data most files hold.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import ValidationError

#: File names of the schemas (in `controller/schemas/`).
EXAMPLE_META = "example-meta.schema.json"
EXAMPLE_REPOSITORY = "example-repository.schema.json"
COURSE_STRUCTURE = "course-structure.schema.json"


@functools.cache
def _parsed(name: str) -> dict[str, Any]:
    text = resources.files("controller").joinpath("schemas", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load(name: str) -> dict[str, Any]:
    """The schema `name` (e.g. `EXAMPLE_META`), a fresh copy the caller may change."""
    return copy.deepcopy(_parsed(name))


def default(name: str, *fields: str) -> Any:
    """The schema's `default` of the field at `fields` (`"assignments", "branch"`), so the
    code applies the default the CRD documents; KeyError when the schema sets none."""
    node = _parsed(name)
    for f in fields:
        node = node["properties"][f]
    return node["default"]


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """`pattern` with a final `$` meaning the end of the text only (`\\Z`)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any
             ) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def validator(schema: dict[str, Any]) -> Any:
    """A validator for `schema` (its own draft), patterns matched as Go matches them."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return jsonschema.validators.extend(cls, {"pattern": _pattern})(schema)


def fast_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """Whether data is valid against `schema` (draft 7 keywords), without messages: callers
    ask `validator` for the errors when this says invalid. Defaults are not filled in and
    formats not asserted, as `validator` does neither."""
    check = fastjsonschema.compile(schema, use_default=False, use_formats=False,
                                   detailed_exceptions=False)

    def valid(data: Any) -> bool:
        try:
            check(data)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


def field_path(parts: Iterable[str | int]) -> str:
    """`("properties", "testFiles", 0)` -> `properties.testFiles[0]`: how every message names
    a field, whether of meta.yaml, a CourseStructure or a resource's spec."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out
