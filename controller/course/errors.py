"""Errors of a course pass, split the way the operator reports them.

`SpecError` means the CourseStructure itself is wrong (the lecturer must fix it; retrying does
not help). The others mean the pass could not run (a server or credential problem); the
operator maps each to its status condition and retries with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with the spec: where (node location and path), which field, what."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else (
            f"{self.where}: {self.message}")


class CourseError(RuntimeError):
    """Base of every error a course pass raises on purpose."""


class SpecError(CourseError):
    """The spec is invalid; `problems` lists every finding, not just the first."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"the CourseStructure spec has {len(self.problems)} problem(s):\n{lines}")


class FetchFailed(CourseError):
    """A Git repository (assignments or student template) could not be fetched."""


class CommitFailed(CourseError):
    """The pass's commit could not be pushed (rejected too often, refused, unreachable)."""


class StorageFailed(CourseError):
    """Example files could not be read from object storage."""


class PassRunning(CourseError):
    """Another pass of the course (`exlib apply` or the operator) held its lock too long."""


class DatabaseFailed(CourseError):
    """The database could not be read or written."""


class ProviderFailed(CourseError):
    """The Git hosting provider refused or failed (spec.provider): its projects could not be
    ensured. `reason` is the status reason: `MissingScope` when the token lacks a
    permission, else `ProviderFailed` (a timeout shows as `Timeout` through its cause)."""

    def __init__(self, message: str, reason: str = "ProviderFailed") -> None:
        super().__init__(message)
        self.reason = reason
