"""Kill points: the real process is SIGKILLed at each step boundary of a pass, then restarted.

Each case must end where an uninterrupted pass ends: no second commit, no false
"customised", no lecturer commit lost, no half-written version served, no orphan directory,
and a status (and `Deployed` event) that tells the truth. The `None` case is the
uninterrupted pass the others are held to. See docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.course.apply import apply_course
from controller.library import layout
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store.git import Credentials
from controller.store.objects import object_store
from controller.testing import killpoints
from tests.conftest import Stack, unique
from tests.integration.library_support import exlib
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    condition,
    start_operator,
    wait_for,
)
from tests.integration.test_operator_e2e import (
    edit_file,
    manifests,
    push_tree,
    remote_head,
    sample_files,
)

HELLO_META = "examples/basics/hello-world/meta.yaml"


def armed(point: str) -> dict[str, str]:
    """The environment that arms `point` in a child of this process (and nowhere else)."""
    return {killpoints.ENV: f"{point}@{os.getpid()}"}


def first_parents(url: str, token: str, n: int) -> list[pygit2.Commit]:
    """The newest `n` commits of main, following first parents."""
    creds = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", token))
    with tempfile.TemporaryDirectory() as tmp:
        repo = pygit2.clone_repository(url, tmp, bare=True, callbacks=creds)
        out, commit = [], repo.head.peel(pygit2.Commit)
        while commit is not None and len(out) < n:
            out.append(commit)
            commit = commit.parents[0] if commit.parents else None
        return out


def die(proc: subprocess.Popen[bytes] | Operator, what: str) -> None:
    """Wait (bounded) for a process armed with a kill point to SIGKILL itself."""
    popen = proc.proc if isinstance(proc, Operator) else proc
    try:
        code = popen.wait(180)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()
        tail = proc.output()[-3000:] if isinstance(proc, Operator) else ""
        raise AssertionError(f"{what}: the kill point was never reached\n{tail}") from None
    assert code == -9, f"{what}: exited with {code}, not by SIGKILL"


@pytest.fixture
def course_env(stack: Stack, kubectl: Kubectl, settings: Settings,
               tmp_path: Path) -> Iterator[dict[str, Any]]:
    """`update_pending`, and afterwards the objects deleted and its operators stopped."""
    env = update_pending(stack, kubectl, settings, tmp_path)
    yield env
    kubectl("delete", "coursestructures,examplerepositories", "--all", "--timeout=60s",
            check=False)
    for op in env["operators"]:
        op.stop()


def update_pending(stack: Stack, kubectl: Kubectl, settings: Settings,
                   tmp_path: Path) -> dict[str, Any]:
    """A course deployed once at hello-world 1.0 (in-process), then customised by a
    lecturer, with hello-world 1.1 pushed to the examples repository: the next operator pass
    has an update to deploy, and nothing else to do first. Its objects are not applied yet;
    operators started on it go into its `operators` list."""
    urls = {k: stack.devstack("git-create", unique(f"{k}-"))
            for k in ("examples", "assignments", "template")}
    push_tree(urls["examples"], stack.git_token, sample_files(), "examples")
    docs = manifests(stack, urls["examples"], urls["assignments"], urls["template"])
    docs[2]["spec"]["contents"][0]["contents"][0]["version"] = "^1.0"
    creds = Credentials(token=stack.git_token, username="oauth2")
    sync_repository(settings, SourceSpec("git", urls["examples"], path="examples",
                                         credentials=creds),
                    name="basics", namespace=kubectl.namespace)
    apply_course(settings, docs[2]["spec"], name="prog1", namespace=kubectl.namespace,
                 credentials=creds)
    edit_file(urls["assignments"], stack.git_token, "README.md", b"# Programming 1\n")
    edit_file(urls["assignments"], stack.git_token, "week1/variables/notes.md",
              b"lecturer's notes\n")
    files = sample_files()
    files[HELLO_META] = files[HELLO_META].replace(b'version: "1.0"', b'version: "1.1"')
    files["examples/basics/hello-world/hello.py"] += b"# clearer greeting\n"
    files["examples/basics/hello-world/studentTemplates/hello.py"] += b"# greet the world\n"
    push_tree(urls["examples"], stack.git_token, files, "hello-world 1.1")
    env = {**stack.env, "DATABASE_URL": settings.database_url,
           "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    return {"urls": urls, "docs": docs, "env": env, "operators": [],
            "lecturer": remote_head(urls["assignments"], stack.git_token),
            "template": remote_head(urls["template"], stack.git_token)}


def _row(database_url: str, path: str) -> dict[str, Any]:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT c.deployment_state, c.is_customized, c.deployed_commit, v.tag "
            "FROM course_content c LEFT JOIN example_version v ON v.id = c.example_version_id "
            "WHERE c.path = CAST(:p AS ltree) AND c.archived_at IS NULL"), {"p": path}).one()
    engine.dispose()
    return dict(row._mapping)


@pytest.mark.parametrize("point", [None, killpoints.COURSE_AFTER_PUSH,
                                   killpoints.COURSE_AFTER_ROWS,
                                   killpoints.COURSE_AFTER_TEMPLATE])
def test_course_pass_killed_at_a_step_boundary_converges(
        point: str | None, stack: Stack, kubectl: Kubectl, database_url: str,
        course_env: dict[str, Any], tmp_path: Path) -> None:
    env, ops = course_env["env"], course_env["operators"]
    kubectl.apply(*course_env["docs"])
    first = start_operator({**env, **(armed(point) if point else {})}, kubectl.namespace,
                           tmp_path / "first.log")
    ops.append(first)
    if point:
        die(first, point)
        ops.append(start_operator(env, kubectl.namespace, tmp_path / "second.log"))
    assert_update_converged(stack, kubectl, database_url, course_env, ops[-1])


def assert_update_converged(stack: Stack, kubectl: Kubectl, database_url: str,
                            course_env: dict[str, Any], op: Operator) -> dict[str, Any]:
    """Wait (bounded) for `course_env`'s update to be deployed, then check it ended where an
    uninterrupted pass ends; returns the course object as first seen Ready."""
    urls, token = course_env["urls"], stack.git_token

    def settled() -> dict[str, Any] | None:
        obj = kubectl.get("course", "prog1")
        status, ready = obj.get("status") or {}, condition(obj, "Ready")
        heads = (remote_head(urls["assignments"], token), remote_head(urls["template"], token))
        done = ready and ready["status"] == "True" and heads == (
            (status.get("assignments") or {}).get("commit"),
            (status.get("studentTemplate") or {}).get("commit"))
        return obj if done and heads[0] != course_env["lecturer"] else None

    obj = wait_for("the course to deploy hello-world 1.1", settled, timeout=180, operator=op)
    head, lecturer, *_ = first_parents(urls["assignments"], token, 3)
    # one exlib commit on top of the lecturer's, whose files are all still there
    assert str(lecturer.id) == course_env["lecturer"]
    assert head.message.startswith("exlib:")
    assert "README.md" in head.tree and "week1/variables/notes.md" in head.tree
    # the student template moved by exactly one commit
    template = first_parents(urls["template"], token, 2)
    assert str(template[1].id) == course_env["template"]
    # the update is deployed, not mistaken for a customisation; the lecturer's one is kept
    hello = _row(database_url, "week1.hello_world")
    assert (hello["tag"], hello["deployment_state"], hello["is_customized"]) == (
        "1.1.0", "Deployed", False)
    assert hello["deployed_commit"] == str(head.id)
    assert _row(database_url, "week1.variables")["is_customized"] is True
    counts = obj["status"]["counts"]
    assert (counts["deployed"], counts["customized"], counts["failed"]) == (3, 1, 0)
    # the commit that landed is announced once, whichever process pushed it

    def deployed() -> list[dict[str, Any]]:
        return [e for e in kubectl.events("prog1")
                if e["reason"] == "Deployed" and str(head.id)[:12] in e["message"]]

    wait_for(f"a Deployed event for {str(head.id)[:12]}", deployed, timeout=30, operator=op)
    assert len(deployed()) == 1
    return obj


def _sync(env: dict[str, str], url: str) -> subprocess.CompletedProcess[str]:
    return exlib("sync", "--name", "basics", "--git", url, "--path", "examples", "-o", "json",
                 env=env)


@pytest.mark.parametrize("point", [killpoints.SYNC_BEFORE_METADATA,
                                   killpoints.SYNC_BEFORE_ROWS])
def test_sync_killed_at_a_step_boundary_converges(
        point: str, stack: Stack, settings: Settings, database_url: str,
        git_repo: str) -> None:
    push_tree(git_repo, stack.git_token, sample_files(), "examples")
    env = {**stack.env, "DATABASE_URL": database_url,
           "EXLIB_CACHE_DIR": str(settings.cache_dir)}
    killed = _sync({**env, **armed(point)}, git_repo)
    assert killed.returncode == -9, killed.stderr
    assert "test hook" in killed.stderr  # the loud warning at start
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM example_version")).scalar() == 0
    listed = exlib("examples", "list", "-o", "json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []

    again = _sync(env, git_repo)
    assert again.returncode == 0, again.stderr
    with engine.connect() as conn:
        repo_id, = conn.execute(sa.text("SELECT id FROM example_repository")).one()
        versions = conn.execute(sa.text(
            "SELECT storage_prefix, files FROM example_version")).all()
    engine.dispose()
    assert len(versions) == 3
    # every object belongs to a served version, and every served version is complete
    stored = {o.key for o in object_store(settings).list(f"repositories/{repo_id}/")}
    expected = {key for prefix, files in versions for key in layout.version_keys(prefix, files)}
    assert stored == expected
