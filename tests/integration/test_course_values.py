"""Course values Git or the database cannot hold are refused before anything is pushed, and a
pass whose rows fail after a push leaves nothing the next pass cannot heal.

Against the real stack: PostgreSQL (ltree), the Git server, and for the CRD and operator
cases the kube-apiserver and the operator process.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from controller.cli import main as cli_main
from controller.course.apply import Step
from controller.course.errors import DatabaseFailed, SpecError
from controller.store.db import make_engine
from tests.conftest import Stack, unique
from tests.integration import test_course_deploy as deploy_tests
from tests.integration.operator_harness import Kubectl, Operator, condition, wait_condition
from tests.integration.test_course_deploy import Env, live_rows, seed
from tests.integration.test_operator_e2e import manifests, remote_head

# The deploy tests' fixture, shared rather than copied (operator ones are in conftest.py).
env = deploy_tests.env

LONG = "x" * 300


def execute(env: Env, *statements: str) -> None:
    engine = make_engine(env.settings.database_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def add_assignment(spec: dict, path: str, example: str = "hello-world") -> dict:
    spec = copy.deepcopy(spec)
    spec["contents"][1]["contents"].append({"path": path, "type": "assignment",
                                            "example": example})
    return spec


def test_a_label_the_database_cannot_hold_is_refused_before_any_push(env: Env) -> None:
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    remote = env.remote(repo)
    commits, rows = remote.commits(), live_rows(env)
    with pytest.raises(SpecError) as err:
        env.apply(add_assignment(spec, LONG))
    message = str(err.value)
    assert "contents[1].contents[1] (week2.xxxx" in message and ": path: " in message
    assert "300 characters" in message and "255" in message
    assert remote.commits() == commits  # the assignments branch did not move
    assert live_rows(env) == rows


@pytest.mark.parametrize("bad", ["..", ".git", "x/../../y"])
def test_assignments_path_outside_the_repository_is_refused_by_the_cli(
        env: Env, bad: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    spec, repo, _ = seed(env, template=False)
    spec["assignments"]["path"] = bad
    manifest = env.cli_manifest(monkeypatch, spec)
    assert cli_main(["apply", "-f", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "assignments.path" in err and f"`{bad}`" in err
    assert ".git" in err if bad == ".git" else "`..`" in err
    assert "Traceback" not in err and "GitError" not in err
    assert env.remote(repo).commits() == []


def test_rows_the_database_refuses_stop_the_pass_before_the_push(env: Env) -> None:
    """Whatever the database refuses (here a trigger standing in for any constraint), the
    pass stops before the push: the branch never holds directories without rows."""
    spec, repo, _ = seed(env, template=False)
    execute(env, """
        CREATE FUNCTION refuse_extra() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.path = 'week2.extra' THEN RAISE EXCEPTION 'refused by the test'; END IF;
          RETURN NEW;
        END $$""",
            "CREATE TRIGGER refuse_extra BEFORE INSERT OR UPDATE ON course_content "
            "FOR EACH ROW EXECUTE FUNCTION refuse_extra()")
    env.apply(spec)
    remote = env.remote(repo)
    commits = remote.commits()
    with pytest.raises(DatabaseFailed, match="refused by the test"):
        env.apply(add_assignment(spec, "extra"))
    assert remote.commits() == commits
    assert "week2/extra/main.py" not in remote.files()

    execute(env, "DROP TRIGGER refuse_extra ON course_content")
    report = env.apply(add_assignment(spec, "extra"))
    assert report.assignments.changed
    assert "week2/extra/main.py" in remote.files()
    assert live_rows(env)["week2.extra"].deployment_state == "Deployed"


def test_rows_failing_after_the_push_are_healed_by_the_next_pass(env: Env) -> None:
    """The database fails after the push (the rows, written before it, are refused when the
    pass commits them — a deferred trigger, once): the lecturer then renames the node. The
    next pass removes the directory the failed pass left, which no row and no node holds."""
    spec, repo, _ = seed(env, template=False)
    execute(env, "CREATE SEQUENCE extra_commits", """
        CREATE FUNCTION fail_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.path = 'week2.extra' AND nextval('extra_commits') = 1 THEN
            RAISE EXCEPTION 'connection lost (simulated)';
          END IF;
          RETURN NEW;
        END $$""",
            "CREATE CONSTRAINT TRIGGER fail_first_commit AFTER INSERT ON course_content "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_first_commit()")
    env.apply(spec)
    remote = env.remote(repo)
    failed = env.apply(add_assignment(spec, "extra"))  # the push landed: a report says so
    assert failed.assignments.changed and failed.failed is not None
    assert failed.failed.step == Step.RECORD and isinstance(failed.failed.error, DatabaseFailed)
    assert "week2/extra/main.py" in remote.files()  # pushed, but no row was written
    assert "week2.extra" not in live_rows(env)

    renamed = add_assignment(spec, "renamed")
    report = env.apply(renamed)
    files = remote.files()
    assert "week2/renamed/main.py" in files
    assert not any(f.startswith("week2/extra/") for f in files)  # the orphan is gone
    assert any(a.path == "week2.extra" for a in report.actions)
    assert "week2.extra" not in live_rows(env)
    assert env.apply(renamed).actions == ()  # settled


def test_a_lecturers_directory_is_never_taken_for_an_orphan(env: Env) -> None:
    """Only what exlib itself pushed is cleaned up: a lecturer's own directory stays."""
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    remote = env.remote(repo)
    remote.push_change({"week2/notes/README.md": "mine\n"})
    env.apply(add_assignment(spec, "extra"))
    assert remote.files()["week2/notes/README.md"] == b"mine\n"


# ----------------------------------------------------------------- kube-apiserver, operator


def course_doc(stack: Stack, setup: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = manifests(stack, setup["examples"], setup["assignments"],
                                    setup["template"])[2]
    doc["metadata"]["name"] = unique("values-")
    return doc


@pytest.mark.parametrize("field, value", [
    ("assignments.path", ".git"),
    ("assignments.path", "x/../../y"),
    ("assignments.path", ".."),
    ("contents[0].path", LONG),
    ("course.path", LONG),
])
def test_the_crd_refuses_what_its_schema_can_say(stack: Stack, kubectl: Kubectl,
                                                 course_setup: dict[str, str], field: str,
                                                 value: str) -> None:
    doc = course_doc(stack, course_setup)
    spec = doc["spec"]
    if field == "assignments.path":
        spec["assignments"]["path"] = value
    elif field == "course.path":
        spec["course"]["path"] = value
    else:
        spec["contents"][0]["path"] = value
    result = kubectl("apply", "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert result.returncode != 0, result.stdout
    assert f"spec.{field}" in result.stderr, result.stderr


def test_a_path_deeper_than_the_database_indexes_stalls_the_course(
        stack: Stack, kubectl: Kubectl, operator: Operator,
        course_setup: dict[str, str]) -> None:
    """The CRD cannot see a whole path's depth; the operator refuses it before any push."""
    doc = course_doc(stack, course_setup)
    deep: list[dict[str, Any]] = [{"path": "leaf", "type": "exercise",
                                   "example": "hello-world"}]
    for i in range(16):
        deep = [{"path": f"u{i}", "type": "week", "contents": deep}]
    doc["spec"]["contents"] = deep
    kubectl.apply(doc)
    obj = wait_condition(kubectl, "course", doc["metadata"]["name"], "Stalled", "True",
                         operator)
    ready = condition(obj, "Ready")
    assert ready and ready["status"] == "False"
    assert "17 levels" in ready["message"] and "at most 16" in ready["message"]
    assert remote_head(course_setup["assignments"], stack.git_token) is None

