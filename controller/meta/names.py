"""Identifiers and version labels: how exlib names an example and a stored version (pure).

One home for both rules (DESIGN §2, §4). meta.yaml, the CourseStructure spec, the sync
planner, the deployed meta.yaml and the CLI check and show names only through here. The
identifier pattern is read from the meta.yaml schema, so the schema, and with it every
editor that validates meta.yaml, can never disagree with the code.
"""

from __future__ import annotations

import re

from controller import jsonschemas

#: DESIGN §2: identifiers are taken verbatim and must match this (the schema's pattern).
IDENTIFIER_PATTERN: str = (
    jsonschemas.load(jsonschemas.EXAMPLE_META)["$defs"]["identifier"]["pattern"])
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
#: The identifier rule in words, for every message that refuses one.
IDENTIFIER_RULE = "use only letters, digits, `.`, `_` and `-`, starting with a letter or digit"

#: The file that makes a directory an example, and that every deployed directory keeps.
META_FILE = "meta.yaml"

#: A version named by its content: `sha256:` and a prefix of the digest (at least 4 hex).
DIGEST_PREFIX = "sha256:"
_DIGEST_REF = re.compile(r"sha256:[0-9a-f]{4,64}")
#: How many hex digits of a digest are shown: enough to tell versions apart by eye.
SHORT_DIGEST = 12


def is_identifier(value: object) -> bool:
    """Whether `value` is a valid example identifier (the whole text, no trailing newline)."""
    return isinstance(value, str) and _IDENTIFIER.fullmatch(value) is not None


def is_digest_ref(value: str) -> bool:
    """Whether `value` is a well-formed `sha256:<prefix>` version reference."""
    return _DIGEST_REF.fullmatch(value) is not None


def short_digest(digest: str | None) -> str:
    """The first SHORT_DIGEST hex digits of a digest (empty for none)."""
    return (digest or "")[:SHORT_DIGEST]


def version_label(tag: str | None, digest: str | None) -> str:
    """How a version is shown and written: its tag, else `sha256:` and its short digest, so
    an untagged version still names exactly one stored version."""
    return tag or f"{DIGEST_PREFIX}{short_digest(digest)}"
