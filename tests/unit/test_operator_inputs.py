"""Spec checks the operator makes before any pass: schema and credentials in URLs."""

from __future__ import annotations

from controller.operator.inputs import spec_errors


def test_token_in_a_git_url_is_refused_without_echoing_it() -> None:
    errors = spec_errors("example-repository.schema.json",
                         {"git": {"url": "https://oauth2:s3cret@git.example.edu/x.git"}})
    assert len(errors) == 1 and errors[0].startswith(
        "spec.git.url: `https://***@git.example.edu/x.git` contains a password or token")
    assert "s3cret" not in errors[0] and "Secret named by secretRef" in errors[0]


def test_every_git_url_of_a_course_is_checked() -> None:
    spec = {"assignments": {"url": "/var/cache/exlib/git/victim.git"},
            "studentTemplate": {"url": "https://tok@git.example.edu/t.git\n"}}
    errors = [e for e in spec_errors("course-structure.schema.json", spec) if ".url" in e]
    assert errors[0].startswith("spec.assignments.url: `/var/cache/exlib/git/victim.git` is a "
                                "local path")
    assert errors[1].startswith("spec.studentTemplate.url: `https://***@git.example.edu/t.git")
    assert len(errors) == 2


def test_schema_errors_name_the_field() -> None:
    errors = spec_errors("example-repository.schema.json",
                         {"git": {"url": "https://git.example.edu/x.git"}, "interval": "often"})
    assert len(errors) == 1 and errors[0].startswith("spec.interval: 'often' does not match")
    assert spec_errors("example-repository.schema.json",
                       {"git": {"url": "git@git.example.edu:x.git"}}) == []


def test_a_timeout_libgit2_and_postgresql_cannot_hold_is_refused() -> None:
    """Both keep timeouts as 32-bit milliseconds (24.8 days): `9999999h` made libgit2 raise
    `invalid timeout` (or wrap to no timeout at all) and PostgreSQL refuse the connection."""
    url = {"git": {"url": "https://git.example.edu/x.git"}}
    for bad in ("9999999h", "0s"):
        errors = spec_errors("example-repository.schema.json", {**url, "timeout": bad})
        assert len(errors) == 1 and errors[0].startswith("spec.timeout: ") and "24h" in errors[0]
    assert spec_errors("example-repository.schema.json", {**url, "timeout": "24h"}) == []


def test_an_organization_that_is_no_ltree_path_is_refused() -> None:
    """It becomes an organization row's path, like a course's organization."""
    url = {"git": {"url": "https://git.example.edu/x.git"}}
    errors = spec_errors("example-repository.schema.json", {**url, "organization": "TU Graz"})
    assert len(errors) == 1 and errors[0].startswith("spec.organization: 'TU Graz' does not "
                                                     "match")
    assert spec_errors("example-repository.schema.json",
                       {**url, "organization": "tugraz.cs", "title": "Python basics",
                        "description": "Introductory Python assignments"}) == []
