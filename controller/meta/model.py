"""Value types shared by the meta.yaml parser and its callers (sync, course deploy, CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]

#: The four file-list fields of `properties`, in the order they are reported.
FILE_LIST_FIELDS: tuple[str, ...] = (
    "studentSubmissionFiles",
    "additionalFiles",
    "testFiles",
    "studentTemplates",
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding about a meta.yaml, phrased for the lecturer who has to fix it.

    Errors stop the example from being synced; warnings are reported but the example syncs.
    """

    severity: Severity
    file: str
    field: str
    message: str
    line: int | None = None

    @property
    def is_error(self) -> bool:
        """True for findings that block the sync (saves callers comparing strings)."""
        return self.severity == "error"

    def __str__(self) -> str:
        """`file:line: field: message`, leaving out the parts that are unknown."""
        location = self.file
        if self.line is not None:
            location = f"{location}:{self.line}" if location else f"line {self.line}"
        parts = [p for p in (location, self.field) if p]
        parts.append(self.message)
        return ": ".join(parts)


@dataclass(frozen=True, slots=True)
class Dependency:
    """A `testDependencies` entry: another example's identifier plus an optional constraint."""

    identifier: str
    constraint: str | None  # None = any version; else the constraint text as written


@dataclass(frozen=True, slots=True)
class ExampleMeta:
    """The parsed, validated meta.yaml of one example, in the shape the rest of exlib needs."""

    identifier: str
    version_raw: str | None
    version: str | None
    title: str
    description: str
    language: str | None
    tags: tuple[str, ...]
    dependencies: tuple[Dependency, ...]
    student_submission_files: tuple[str, ...]
    additional_files: tuple[str, ...]
    test_files: tuple[str, ...]
    student_templates: tuple[str, ...]
    data: dict[str, Any]
    #: dotted field path -> 1-based line in meta.yaml, so later checks can point at the line.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def file_lists(self) -> dict[str, tuple[str, ...]]:
        """The four file lists keyed by their meta.yaml field name (as used in Issue.field)."""
        return {
            "studentSubmissionFiles": self.student_submission_files,
            "additionalFiles": self.additional_files,
            "testFiles": self.test_files,
            "studentTemplates": self.student_templates,
        }
