"""Spec checks the operator makes before any pass: schema and credentials in URLs."""

from __future__ import annotations

from controller.operator.inputs import spec_errors


def test_token_in_a_git_url_is_refused_without_echoing_it() -> None:
    errors = spec_errors("example-repository.schema.json",
                         {"git": {"url": "https://oauth2:s3cret@git.example.edu/x.git"}})
    assert errors == ["spec.git.url: contains a password or token; remove it from the URL and "
                      "put it in the Secret named by secretRef"]
    assert "s3cret" not in errors[0]


def test_schema_errors_name_the_field() -> None:
    errors = spec_errors("example-repository.schema.json",
                         {"git": {"url": "https://git.example.edu/x.git"}, "interval": "often"})
    assert len(errors) == 1 and errors[0].startswith("spec.interval: 'often' does not match")
    assert spec_errors("example-repository.schema.json",
                       {"git": {"url": "https://user@git.example.edu/x.git"}}) == []
