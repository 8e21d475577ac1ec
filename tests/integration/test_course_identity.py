# ruff: noqa: F811  (fixtures imported from the deploy and e2e modules are parameters here)
"""A course's identity follows its CourseStructure (docs/courses.md): a changed
`spec.course.path` moves the course — same ids, same directories, no second live course —
and a path held by another CourseStructure's course is refused. Real PostgreSQL, MinIO, Git.
"""

from __future__ import annotations

import copy
import json
import uuid

import pytest
import sqlalchemy as sa

from controller.cli import main as cli_main
from controller.course.apply import apply_course, archive_course
from controller.course.errors import SpecError
from controller.store.db import upgrade
from tests.conftest import Stack, unique
from tests.integration.operator_harness import Kubectl, Operator, wait_condition
from tests.integration.test_course_deploy import (  # noqa: F401
    EXAMPLES,
    Env,
    env,
    live_rows,
    seed,
    write_examples,
    write_manifest,
)
from tests.integration.test_operator_e2e import manifests


def with_path(spec: dict, path: str, family: str = "prog") -> dict:
    moved = copy.deepcopy(spec)
    moved["course"]["path"] = path
    moved["course"]["family"]["path"] = family
    return moved


def courses(env: Env) -> list[tuple[str, bool]]:
    """(path, live) of every course row."""
    return sorted((r.path, r.archived_at is None)
                  for r in env.sql("SELECT path, archived_at FROM course"))


def test_cli_path_change_moves_the_course_keeping_ids_and_directories(
        env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec, repo, _ = seed(env, template=False)
    manifest = env.cli_manifest(monkeypatch, spec)

    def cli(*args: str, course_spec: dict) -> tuple[int, str, str]:
        write_manifest(manifest, course_spec)
        code = cli_main([*args, "-f", str(manifest), "-o", "json"])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = cli("apply", course_spec=spec)
    assert code == 0, err
    first = json.loads(out)
    before = {path: row.id for path, row in live_rows(env).items()}
    commits = env.remote(repo).commits()

    moved = with_path(spec, "py102", family="prog2")
    code, out, err = cli("plan", course_spec=moved)
    assert code == 0, err
    planned = json.loads(out)
    assert planned["actions"] == [{"action": "move-course", "path": "uni.prog2.py102",
                                   "id": first["course"]["id"], "from": "uni.prog.py101"}]
    assert courses(env) == [("uni.prog.py101", True)]  # plan changes nothing

    code, out, err = cli("apply", course_spec=moved)
    assert code == 0, err
    applied = json.loads(out)
    assert applied["course"] == {"id": first["course"]["id"], "path": "uni.prog2.py102"}
    assert [a["action"] for a in applied["actions"]] == ["move-course"]
    assert {c["state"] for c in applied["contents"] if c["kind"] == "assignment"} == {
        "Deployed"}
    assert {path: row.id for path, row in live_rows(env).items()} == before
    assert courses(env) == [("uni.prog2.py102", True)]  # one course, never two
    assert env.remote(repo).commits() == commits  # the directories did not change
    assert cli_main(["status", "uni.prog2.py102", "-o", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["contents"]) == 5
    assert cli_main(["status", "uni.prog.py101"]) == 1
    capsys.readouterr()
    for owner in ("py101", "default/py101"):  # the CourseStructure finds its moved course
        assert cli_main(["status", owner, "-o", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["course"] == "uni.prog2.py102"

    code, out, err = cli("apply", course_spec=moved)
    assert (code, json.loads(out)["actions"]) == (0, [])  # settled

    code, out, err = cli("apply", course_spec=spec)  # and back: still the same course
    assert code == 0, err
    assert json.loads(out)["course"]["id"] == first["course"]["id"]
    assert courses(env) == [("uni.prog.py101", True)]


def test_path_of_another_course_structures_course_is_refused(env: Env) -> None:
    spec, _repo, _ = seed(env, template=False)
    env.apply(spec, name="first")
    other = copy.deepcopy(spec)
    other["assignments"]["url"] = env.repo()
    env.apply(with_path(other, "py202"), name="second")
    before = live_rows(env)
    with pytest.raises(SpecError) as err:
        env.apply(other, name="second")  # second asks for first's path
    assert str(err.value.problems[0]) == (
        "course: path: course uni.prog.py101 is managed by CourseStructure default/first; "
        "course paths are unique, so choose another path (or delete that CourseStructure "
        "first)")
    assert courses(env) == [("uni.prog.py101", True), ("uni.prog.py202", True)]
    assert live_rows(env) == before


def test_deleted_course_structure_recreated_at_another_path_starts_a_new_course(
        env: Env) -> None:
    spec, _repo, _ = seed(env, template=False)
    old = env.apply(spec)
    archive_course(env.settings, spec, namespace="default", name="py101")
    assert courses(env) == [("uni.prog.py101", False)]
    fresh = copy.deepcopy(with_path(spec, "py103"))
    fresh["assignments"]["url"] = env.repo()
    new = env.apply(fresh)
    assert new.course_id != old.course_id  # the deleted one keeps its path and history
    assert courses(env) == [("uni.prog.py101", False), ("uni.prog.py103", True)]
    with pytest.raises(SpecError, match="archived when it was deleted"):
        env.apply(spec)  # back to the old path, while the new course is live
    again = env.apply(with_path(spec, "py103") | {"assignments": fresh["assignments"]})
    assert again.course_id == new.course_id and again.actions == ()


def test_operator_moves_the_course_when_its_path_changes(
        stack: Stack, kubectl: Kubectl, operator: Operator, course_setup: dict[str, str],
        database_url: str) -> None:
    docs = manifests(stack, course_setup["examples"], course_setup["assignments"],
                     course_setup["template"])
    kubectl.apply(*docs)
    first = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    course = docs[2]
    course["spec"]["course"]["path"] = unique("uni.prog1.moved")
    kubectl.apply(course)
    moved = wait_condition(kubectl, "course", "prog1", "Ready", "True", operator)
    assert moved["status"]["courseId"] == first["status"]["courseId"]
    assert moved["status"]["assignments"] == first["status"]["assignments"]  # no commit
    assert moved["status"]["counts"] == first["status"]["counts"]
    assert moved["status"]["counts"]["failed"] == 0
    assert "CourseMoved" in {e["reason"] for e in kubectl.events("prog1")}
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, path::text FROM course")).all()
    engine.dispose()
    assert [(str(i), p) for i, p in rows] == [(first["status"]["courseId"],
                                               course["spec"]["course"]["path"])]


def test_migration_keeps_the_newest_of_two_live_courses_of_one_course_structure(
        database_url: str) -> None:
    """Databases made before migration 0004 may hold two live courses for one
    CourseStructure (a changed path): the most recently updated stays live, the other is
    archived with its contents, and the database refuses a second live course from then on."""
    upgrade(database_url, "0003")
    engine = sa.create_engine(database_url)
    ids = {"old": uuid.uuid4(), "new": uuid.uuid4()}
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organization (id, path, created_at) "
                             "VALUES (:o, 'uni', now())"), {"o": (org := uuid.uuid4())})
        conn.execute(sa.text("INSERT INTO course_family (id, organization_id, path, created_at) "
                             "VALUES (:f, :o, 'uni.prog', now())"),
                     {"f": (family := uuid.uuid4()), "o": org})
        for age, (key, course_id) in enumerate(ids.items()):
            conn.execute(sa.text(
                "INSERT INTO course (id, course_family_id, path, title, namespace, name, "
                "assignments_url, assignments_branch, assignments_path, created_at, updated_at) "
                "VALUES (:c, :f, :p, 't', 'default', 'py101', 'u', 'main', '', now(), "
                "now() - make_interval(days => :age))"),
                {"c": course_id, "f": family, "p": f"uni.prog.{key}", "age": 1 - age})
            conn.execute(sa.text(
                "INSERT INTO course_content_type (id, course_id, slug, kind_id) "
                "VALUES (:t, :c, 'unit', 'unit')"), {"t": (ctype := uuid.uuid4()), "c": course_id})
            conn.execute(sa.text(
                "INSERT INTO course_content (id, course_id, spec_id, path, "
                "course_content_type_id, title, position, properties, is_customized, "
                "deployment_state, created_at, updated_at) VALUES (:i, :c, 'week1', 'week1', :t, "
                "'Week 1', 0, '{}', false, 'Deployed', now(), now())"),
                {"i": uuid.uuid4(), "c": course_id, "t": ctype})
    upgrade(database_url)
    with engine.connect() as conn:
        courses = {r.path: r.archived_at for r in conn.execute(sa.text(
            "SELECT path::text, archived_at FROM course"))}
        contents = {r.path: (r.archived_at, r.deployment_state) for r in conn.execute(sa.text(
            "SELECT c.path::text, x.archived_at, x.deployment_state FROM course_content x "
            "JOIN course c ON c.id = x.course_id"))}
    assert courses["uni.prog.new"] is None and courses["uni.prog.old"] is not None
    assert contents["uni.prog.new"] == (None, "Deployed")
    assert contents["uni.prog.old"][0] is not None and contents["uni.prog.old"][1] == "Archived"
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE course SET archived_at = NULL WHERE path = 'uni.prog.old'"))
    engine.dispose()


def test_status_takes_the_course_path_or_its_course_structure(
        env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`exlib status` finds a course by its path or by `[namespace/]name` of its
    CourseStructure; a name in two namespaces, an unknown one and a malformed argument are
    each answered in words, never with a database error."""
    spec, _repo, _ = seed(env, template=False)
    env.apply(spec)  # default/py101 at uni.prog.py101
    env.sync(write_examples(env.tmp / "lib-other", EXAMPLES), namespace="other")
    other = with_path(spec, "py202")
    other["assignments"]["url"] = env.repo()
    apply_course(env.settings, other, name="py101", namespace="other", credentials=env.creds)
    env.cli_manifest(monkeypatch, spec)  # the CLI's environment

    def status(reference: str) -> tuple[int, str, str]:
        code = cli_main(["status", reference, "-o", "json"])
        out = capsys.readouterr()
        return code, out.out, out.err

    for reference, path, owner in (("uni.prog.py101", "uni.prog.py101", "default/py101"),
                                   ("default/py101", "uni.prog.py101", "default/py101"),
                                   ("other/py101", "uni.prog.py202", "other/py101")):
        code, out, err = status(reference)
        assert code == 0, err
        shown = json.loads(out)
        assert (shown["course"], shown["courseStructure"]) == (path, owner)
        assert len(shown["contents"]) == 5

    refused = {
        "py101": "CourseStructures named py101 are in several namespaces: default/py101 "
                 "(course uni.prog.py101), other/py101 (course uni.prog.py202); give "
                 "namespace/name or the course path",
        "polyglot-101": "no CourseStructure named polyglot-101 has a course: it has not "
                        "deployed yet, or it was deleted",
        "uni.prog.py999": "no course at path uni.prog.py999, and no CourseStructure named "
                          "uni.prog.py999 has a course",
        "nobody/py101": "no CourseStructure nobody/py101 has a course",
        "Polyglot 101": "`Polyglot 101` is neither a course path (the label `Polyglot 101` may "
                        "only hold lowercase letters",
        "a/b/c": "`a/b/c` is not a course: a CourseStructure is written namespace/name, with "
                 "one `/`",
        "Default/py101": "`Default/py101` is not namespace/name: `Default` is not a namespace "
                         "name",
        "default/Py101": "`default/Py101` is not namespace/name: `Py101` is not a "
                         "CourseStructure name",
        "": "no course given: give the course path",
    }
    for reference, message in refused.items():
        code, out, err = status(reference)
        assert (code, out) == (1, ""), reference
        assert message in " ".join(err.split()), (reference, err)
        assert "Database" not in err and "syntax" not in err
