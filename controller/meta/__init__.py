"""meta.yaml parsing, validation and version handling (pure: no database, no network)."""

from controller.meta.model import FILE_LIST_FIELDS, Dependency, ExampleMeta, Issue
from controller.meta.parse import (
    IDENTIFIER_RE,
    LEGACY_KEYS,
    check_file_lists,
    load_schema,
    parse_meta,
)
from controller.meta.versions import (
    Constraint,
    VersionError,
    newest_matching,
    normalise_version,
    parse_constraint,
    version_key,
)

__all__ = [
    "FILE_LIST_FIELDS",
    "IDENTIFIER_RE",
    "LEGACY_KEYS",
    "Constraint",
    "Dependency",
    "ExampleMeta",
    "Issue",
    "VersionError",
    "check_file_lists",
    "load_schema",
    "newest_matching",
    "normalise_version",
    "parse_constraint",
    "parse_meta",
    "version_key",
]
