"""What a course's status says when a step after the push fails, and while a repository's
source is unreachable (the real operator, kube-apiserver, PostgreSQL, MinIO and Git)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Stack
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    condition,
    wait_condition,
    wait_for,
)
from tests.integration.test_operator_e2e import manifests, push_tree, remote_head


def server_repo(stack: Stack, url: str) -> Path:
    """The bare repository behind `url` on the stack's Git server."""
    state = json.loads((Path(stack.env["EXLIB_DEVSTACK_DIR"]) / "stack.json").read_text())
    return Path(state["git"]["root"]) / url.rsplit("/", 1)[1]


def refuse_pushes(repo: Path, refuse: bool) -> None:
    """A pre-receive hook on the server that refuses every push (or none)."""
    hook = repo / "hooks" / "pre-receive"
    if refuse:
        hook.write_text("#!/bin/sh\necho 'pushes are closed for maintenance' >&2\nexit 1\n")
        hook.chmod(0o755)
    else:
        hook.unlink()


def test_template_push_failure_shows_the_assignments_that_landed(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str]) -> None:
    refuse_pushes(server_repo(stack, course_setup["template"]), True)
    kubectl.apply(*manifests(stack, course_setup["examples"], course_setup["assignments"],
                             course_setup["template"]))
    obj = wait_condition(kubectl, "course", "prog1", "StudentTemplateReady", "False", operator,
                         timeout=120)
    head = remote_head(course_setup["assignments"], stack.git_token)
    status = obj["status"]
    assert head and status["assignments"]["commit"] == head
    assert status["counts"]["deployed"] == 3
    ready = condition(obj, "Ready")
    assert ready["status"] == "False"
    assert "student template" in ready["message"] and head[:12] in ready["message"]
    assert "studentTemplate" in ready["message"]  # what to check
    deployed = [e for e in kubectl.events("prog1") if e["reason"] == "Deployed"]
    assert len(deployed) == 1 and head[:12] in deployed[0]["message"]
    assert remote_head(course_setup["template"], stack.git_token) is None

    refuse_pushes(server_repo(stack, course_setup["template"]), False)
    kubectl("annotate", "--overwrite", "course", "prog1", "exlib.dev/requestedAt=open")
    obj = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    assert condition(obj, "StudentTemplateReady") is None
    assert obj["status"]["studentTemplate"]["commit"] == remote_head(course_setup["template"],
                                                                     stack.git_token)
    assert remote_head(course_setup["assignments"], stack.git_token) == head  # no second commit


def test_blocked_contents_make_ready_false_naming_them(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str]) -> None:
    push_tree(course_setup["assignments"], stack.git_token,
              {"week1/hello_world/mine.py": b"print('not from the library')\n"}, "lecturer")
    kubectl.apply(*manifests(stack, course_setup["examples"], course_setup["assignments"],
                             course_setup["template"]))
    obj = wait_condition(kubectl, "course", "prog1", "ContentBlocked", "True", operator)
    ready = condition(obj, "Ready")
    assert ready["status"] == "False" and "week1.hello_world" in ready["message"]
    assert obj["status"]["counts"]["failed"] == 1
    assert obj["status"]["counts"]["deployed"] == 2


def test_course_goes_on_with_library_versions_while_its_repository_is_unreachable(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    functions = docs[2]["spec"]["contents"].pop()  # week2 comes later
    kubectl.apply(*docs)
    synced = wait_condition(kubectl, "exrepo", "basics", "Ready", "True", operator)
    artifact = synced["status"]["artifact"]
    wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)

    docs[1]["spec"]["git"]["url"] = f"http://127.0.0.1:{free_port()}/gone.git"
    kubectl.apply(docs[1])
    repo = wait_condition(kubectl, "exrepo", "basics", "FetchFailed", "True", operator)
    assert condition(repo, "Ready")["status"] == "False"
    assert repo["status"]["artifact"] == artifact  # the last good artifact stays

    docs[2]["spec"]["contents"].append(functions)  # only needs a version in the library
    kubectl.apply(docs[2])
    course = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    assert course["status"]["counts"]["deployed"] == 3
    assert f"as last synced from {kubectl.namespace}/basics" in condition(course, "Ready")[
        "message"]
    assert course["status"]["repositories"][f"{kubectl.namespace}/basics"] == (
        artifact["revision"])
    wait_for("the repository to stay unready", lambda: condition(
        kubectl.get("exrepo", "basics"), "Ready")["status"] == "False", operator=operator)


def test_a_repository_that_never_synced_holds_the_course_back(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str]) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    docs[1]["spec"]["git"]["url"] = f"http://127.0.0.1:{free_port()}/gone.git"
    kubectl.apply(*docs)
    course = wait_condition(kubectl, "course", "prog1", "DependencyNotReady", "True", operator)
    assert "has not synced yet" in condition(course, "DependencyNotReady")["message"]
    assert remote_head(course_setup["assignments"], stack.git_token) is None


def free_port() -> int:
    """A local port nothing listens on (a Git server that is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
