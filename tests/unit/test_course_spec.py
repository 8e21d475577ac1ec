"""CourseStructure spec: manifests, defaults, and every rule naming node and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.course.errors import SpecError
from controller.course.spec import load_manifest, parse_spec

DATA = Path(__file__).resolve().parents[1] / "data" / "courses"

BASE = {
    "course": {"organization": {"path": "org"}, "family": {"path": "prog"}, "path": "py101",
               "title": "Python 101"},
    "assignments": {"url": "http://git.example/assignments.git"},
    "exampleRepositories": ["lib", "other/shared"],
    "contentTypes": [{"slug": "week", "kind": "unit"},
                     {"slug": "assignment", "kind": "assignment"}],
}


def spec(contents: list[dict], **extra: object) -> dict:
    return {**BASE, **extra, "contents": contents}


def problems(contents: list[dict]) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(spec(contents), namespace="ns")
    return [str(p) for p in err.value.problems]


def test_manifest_or_bare_spec_and_version_kept_as_written() -> None:
    text = """
apiVersion: exlib.dev/v1alpha1
kind: CourseStructure
metadata: {name: py101, namespace: teach}
spec:
  course: {organization: {path: org}, family: {path: prog}, path: py101, title: P}
  assignments: {url: http://x/a.git}
  contentTypes: [{slug: a, kind: assignment}]
  contents:
  - {path: hello, type: a, example: hello-world, version: 1.10}
"""
    manifest = load_manifest(text)
    assert (manifest.name, manifest.namespace) == ("py101", "teach")
    course = parse_spec(manifest.spec)
    assert course.nodes[0].version == "1.10"
    assert load_manifest("course: {}").spec == {"course": {}}


def test_paths_ids_defaults_and_qualified_examples() -> None:
    course = parse_spec(spec([
        {"path": "week1", "type": "week", "id": "w1", "contents": [
            {"path": "hello_world", "type": "assignment", "example": "hello-world"},
            {"path": "week1.vars", "type": "assignment",
             "example": {"repository": "lib", "identifier": "variables-basics"},
             "properties": {"maxSubmissions": 5}, "updateStrategy": "merge"},
        ]},
        {"path": "week2", "type": "week", "updateStrategy": "overwrite", "position": 7,
         "contents": [{"path": "fn", "type": "assignment",
                       "example": {"id": "8B9C4A52-0000-4000-8000-000000000001"}}]},
    ]), namespace="ns")
    by_path = {n.path: n for n in course.nodes}
    assert course.path == "org.prog.py101"
    assert course.repositories == ("ns/lib", "other/shared")
    assert by_path["week1.hello_world"].id == "w1.hello_world"
    assert by_path["week1.vars"].example.repository == "ns/lib"
    assert by_path["week1.vars"].update_strategy == "merge"
    assert by_path["week1.vars"].properties == {"maxSubmissions": 5}
    assert by_path["week1.vars"].position == 2.0
    assert by_path["week2"].position == 7.0
    assert by_path["week2.fn"].update_strategy == "overwrite"
    assert by_path["week2.fn"].example.id == "8b9c4a52-0000-4000-8000-000000000001"
    assert course.nodes[0].path == "week1"


def test_every_problem_is_listed_with_node_and_field() -> None:
    found = problems([
        {"path": "week1", "type": "week", "example": "x", "contents": [
            {"path": "Bad-Label", "type": "assignment"},
            {"path": "a", "type": "nope"},
            {"path": "d", "type": "assignment", "example": "x", "version": "^^1",
             "contents": [{"path": "c", "type": "assignment"}]},
            {"path": "other.e", "type": "assignment"},
        ]},
        {"path": "week1", "type": "week"},
        {"path": "week3.x", "type": "assignment"},
        {"path": "week4", "type": "week", "id": "week1"},
        {"path": "week5", "type": "week", "version": "1.0"},
    ])
    expected = [
        "contents[0].contents[0] (week1.Bad-Label): path:",
        "contents[0] (week1): example: only assignments name an example",
        "contents[0].contents[1] (week1.a): type: unknown content type `nope`",
        "contents[0].contents[2] (week1.d): contents: an assignment cannot have child nodes",
        "contents[0].contents[2] (week1.d): version: version constraint `^^1`",
        "contents[0].contents[2].contents[0] (week1.d.c): path: parent `week1.d` is an assignment",
        "contents[0].contents[3] (other.e): path: `other.e` does not extend",
        "contents[1] (week1): path: duplicate path `week1`",
        "contents[2] (week3.x): path: parent `week3` of `week3.x` is not in the tree",
        "contents[3] (week4): id: duplicate id `week1`",
        "contents[4] (week5): version: a version needs an assignment",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in found), (text, found)
    assert len(found) == len(expected)


def test_schema_rejects_unknown_fields_and_bad_enums() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(spec([{"path": "w", "type": "week", "exampel": "x"}],
                        updateStrategy="sometimes"))
    text = str(err.value)
    assert "'exampel' was unexpected" in text and "contents[0] (w)" in text
    assert "updateStrategy" in text


def test_bad_example_reference_and_digest_version() -> None:
    found = problems([
        {"path": "a", "type": "assignment", "example": {"identifier": "x"}},
        {"path": "b", "type": "assignment", "example": "x", "version": "sha256:XYZ"},
    ])
    assert found[0].startswith("contents[0] (a): example:")
    assert found[1].startswith("contents[1] (b): version: `sha256:XYZ`")


def test_python_beginner_manifest_parses() -> None:
    manifest = load_manifest((DATA / "python-beginner.yaml").read_text())
    course = parse_spec(manifest.spec, namespace=manifest.namespace or "default")
    units = [n for n in course.nodes if n.kind == "unit"]
    assignments = [n for n in course.nodes if n.kind == "assignment"]
    assert (len(units), len(assignments)) == (3, 21)
    assert "week_1.math_constants" in {n.path for n in assignments}
    assert all(n.properties.get("maxGroupSize") == 1 for n in assignments)


PROVIDER = {"kind": "gitea", "url": "https://gitea.example.edu/", "owner": "prog1",
            "secretRef": {"name": "gitea-token"}}


def spec_problems(**extra: object) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec({**BASE, "contents": [], **extra}, namespace="ns")
    return [str(p) for p in err.value.problems]


def test_provider_projects_instead_of_urls() -> None:
    course = parse_spec({**BASE, "contents": [], "provider": {**PROVIDER, "visibility": "public"},
                         "assignments": {"project": "prog1-assignments", "branch": "ws26"},
                         "studentTemplate": {"project": "prog1-template"},
                         "updateStrategy": "review"})
    assert course.provider is not None
    assert (course.provider.kind, course.provider.url, course.provider.owner,
            course.provider.secret_ref, course.provider.visibility) == (
        "gitea", "https://gitea.example.edu", "prog1", "gitea-token", "public")
    assert (course.assignments.project, course.assignments.url, course.assignments.branch) == (
        "prog1-assignments", "", "ws26")
    assert course.student_template and course.student_template.project == "prog1-template"
    assert course.update_strategy == "review"
    assert list(course.targets) == ["assignments", "studentTemplate"]
    # a provider with plain URLs works too (requests are opened where the URL is its project)
    plain = parse_spec({**BASE, "contents": [], "provider": {**PROVIDER, "kind": "gitlab",
                                                            "owner": "tugraz/prog1"}})
    assert plain.provider and plain.provider.visibility == "private"
    assert plain.assignments.project is None


@pytest.mark.parametrize(("extra", "expected"), [
    ({"assignments": {"project": "p"}},
     "spec: assignments.project: names project `p`, but spec.provider is not set"),
    ({"assignments": {"url": "https://git.example/a.git", "project": "p"}, "provider": PROVIDER},
     "spec: assignments: gives both `url` and `project`; give exactly one"),
    ({"studentTemplate": {"branch": "main"}},
     "spec: studentTemplate: gives neither `url` nor `project`; give exactly one"),
    ({"assignments": {"project": "p.git"}, "provider": PROVIDER},
     "spec: assignments.project: `p.git` ends in `.git`"),
    ({"assignments": {"project": "-p"}, "provider": PROVIDER}, "spec: assignments.project:"),
    ({"assignments": {"project": "same"}, "studentTemplate": {"project": "Same"},
      "provider": PROVIDER},
     "spec: studentTemplate.project: is the same project as assignments.project"),
    ({"provider": {**PROVIDER, "owner": "tugraz/prog1"}},
     "spec: provider.owner: `tugraz/prog1` has a `/`, but a Gitea owner is one"),
    ({"provider": {**PROVIDER, "owner": "a//b", "kind": "gitlab"}}, "spec: provider.owner:"),
    ({"provider": {**PROVIDER, "kind": "github"}}, "spec: provider.kind: 'github' is not one"),
    ({"provider": {**PROVIDER, "url": "https://root:s3cret@gitea.example.edu"}},
     "spec: provider.url: `https://***@gitea.example.edu` contains a password or token"),
    ({"provider": {**PROVIDER, "url": "https://gitea.example.edu/?private_token=x"}},
     "spec: provider.url: `https://gitea.example.edu/` has a query or fragment"),
    ({"provider": {**PROVIDER, "url": "ssh://git@gitea.example.edu/x"}},
     "spec: provider.url: `ssh://***@gitea.example.edu/x` is not a provider address"),
    ({"provider": {**PROVIDER, "url": "file:///srv/gitea"}},
     "spec: provider.url: `file:///srv/gitea` is not a provider address"),
    ({"provider": {k: v for k, v in PROVIDER.items() if k != "secretRef"}},
     "spec: provider: 'secretRef' is a required property"),
    ({"provider": {**PROVIDER, "visibility": "internal"}}, "spec: provider.visibility:"),
    ({"updateStrategy": "reviewed"}, "spec: updateStrategy: 'reviewed' is not one of"),
])
def test_bad_provider_input_names_the_field(extra: dict, expected: str) -> None:
    found = spec_problems(**extra)
    assert any(p.startswith(expected) for p in found), (expected, found)
    assert not any("s3cret" in p for p in found)  # a credential is never echoed


def test_node_review_strategy() -> None:
    course = parse_spec(spec([{"path": "a", "type": "assignment", "example": "x",
                               "updateStrategy": "review"}]))
    assert course.nodes[0].update_strategy == "review"
