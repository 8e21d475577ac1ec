"""An ExampleRepository's title, description and organization are stored with the repository
and shown by `exlib examples list` (table and `-o json`); the real operator, kube-apiserver,
PostgreSQL, MinIO and Git server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Stack
from tests.integration.library_support import exlib
from tests.integration.operator_harness import Kubectl, Operator, wait_condition


def repository(url: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "exlib.dev/v1alpha1", "kind": "ExampleRepository",
            "metadata": {"name": "basics"},
            "spec": {"git": {"url": url, "ref": {"branch": "main"}, "path": "examples",
                             "secretRef": {"name": "git"}}, "interval": "1h", **spec}}


def listed(env: dict[str, str]) -> list[dict[str, Any]]:
    res = exlib("examples", "list", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def about(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(r["repository"], r["repository_title"], r["repository_description"],
             r["organization"]) for r in rows}


def test_title_description_and_organization_are_stored_and_listed(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str],
        database_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "cli"),
           "COLUMNS": "300"}
    kubectl.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git"},
                   "stringData": {"username": "oauth2", "token": stack.git_token}},
                  repository(course_setup["examples"], title="Python basics",
                             description="Introductory Python assignments",
                             organization="tugraz"))
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    rows = listed(env)
    assert len(rows) == 3
    assert about(rows) == {("basics", "Python basics", "Introductory Python assignments",
                            "tugraz")}
    table = exlib("examples", "list", env=env).stdout
    assert "basics (Python basics)" in table and "tugraz" in table

    # an `exlib sync` of the same repository says nothing about them: they are kept
    synced = exlib("sync", "--name", "basics", "--namespace", kubectl.namespace, "--git",
                   course_setup["examples"], "--path", "examples", "-o", "json",
                   env={**env, "EXLIB_GIT_TOKEN": stack.git_token})
    assert synced.returncode == 0, synced.stderr
    assert about(listed(env)) == {("basics", "Python basics",
                                   "Introductory Python assignments", "tugraz")}

    # the spec is the truth: a field taken out of it is taken out of the library
    kubectl.apply(repository(course_setup["examples"], organization="tugraz.cs"))
    wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    assert about(listed(env)) == {("basics", None, None, "tugraz.cs")}

    # an organization that is no path is refused (by the CRD, else by the operator: the
    # shared test stack may hold another checkout's CRD), and the library keeps what it has
    refused = kubectl("apply", "-f", "-", check=False, input=json.dumps(
        repository(course_setup["examples"], organization="TU Graz")))
    if refused.returncode == 0:
        stalled = wait_condition(kubectl, "exrepo", "basics", "Ready", "False", operator)
        refused_by = next(c["message"] for c in stalled["status"]["conditions"]
                          if c["type"] == "Ready")
    else:
        refused_by = refused.stderr
    assert "spec.organization" in refused_by
    assert about(listed(env)) == {("basics", None, None, "tugraz.cs")}
