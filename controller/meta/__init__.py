"""meta.yaml parsing, validation and version handling (pure: no database, no network)."""

from controller.meta.model import FILE_LIST_FIELDS, Dependency, ExampleMeta, Issue
from controller.meta.names import is_identifier, version_label
from controller.meta.parse import (
    LEGACY_KEYS,
    check_file_lists,
    load_schema,
    parse_meta,
)
from controller.meta.semver import (
    Constraint,
    VersionError,
    newest_matching,
    normalise_version,
    parse_constraint,
    version_key,
)

__all__ = [
    "FILE_LIST_FIELDS",
    "LEGACY_KEYS",
    "Constraint",
    "Dependency",
    "ExampleMeta",
    "Issue",
    "VersionError",
    "check_file_lists",
    "is_identifier",
    "load_schema",
    "newest_matching",
    "normalise_version",
    "parse_constraint",
    "parse_meta",
    "version_key",
    "version_label",
]
