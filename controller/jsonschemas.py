"""JSON Schema validation that reads `pattern` as the API server does (pure).

Python's `$` also matches before a final newline, Go's (the API server's) only at the end, so
with jsonschema's default `re.search` the CLI and meta.yaml accepted `week1\\n` where
`kubectl apply` refuses it. Every exlib validator is built here, with `$` read as the end.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError


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
