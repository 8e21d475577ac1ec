"""Course deployment against the real stack: PostgreSQL, MinIO and the Git server.

Each test syncs a small library from a local directory, applies CourseStructure specs and
looks at what a lecturer would see: rows in the database, files and commits on the
assignments branch, the student template.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from controller.cli import main as cli_main
from controller.config import Settings
from controller.course.apply import apply_course, archive_course, course_status
from controller.course.errors import SpecError
from controller.course.spec import load_manifest
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store import git
from controller.store.db import make_engine
from tests.conftest import SHARED_DATA, Stack, unique

DATA = Path(__file__).resolve().parents[1] / "data" / "courses"
DSP = SHARED_DATA / "data-science-python" / "examples" / "python"

HELLO_META = """slug: hello-world
version: {version}
title: Hello World
properties:
  studentSubmissionFiles: [main.py]
  testFiles: [test_main.py]
  studentTemplates: [studentTemplates/main.py]
"""
EXAMPLES: dict[str, dict[str, str]] = {
    "hello-world": {
        "meta.yaml": HELLO_META.format(version="1.0.0"),
        "main.py": "print('Hello, World!')  # reference solution\n",
        "test_main.py": "def test_hello(): assert True  # hidden test\n",
        "localTests/test_more.py": "SECRET_LOCAL_TEST = 1\n",
        "reference/main.py": "SECRET_REFERENCE = 1\n",
        "studentTemplates/main.py": ("# BEGIN SOLUTION\nprint('Hello, World!')\n"
                                     "# END SOLUTION\n# print a greeting here\n"),
        "content/index.md": "# Hello World\nPrint a greeting.\n",
        "content/mediaFiles/hello.txt": "media\n",
    },
    "variables-basics": {
        "meta.yaml": ("slug: variables-basics\nversion: 1.0.0\ntitle: Variables\nproperties:\n"
                      "  studentSubmissionFiles: [variables.py]\n"
                      "  testFiles: [test_variables.py]\n"),
        "variables.py": "x = 1\n",
        "test_variables.py": "def test_x(): assert True\n",
    },
    "functions-intro": {
        "meta.yaml": ("slug: functions-intro\nversion: 1.0.0\ntitle: Functions\nproperties:\n"
                      "  studentSubmissionFiles: [functions.py]\n"
                      "  testFiles: [test_functions.py]\n"
                      "  testDependencies:\n  - slug: variables-basics\n    version: ^1.0\n"),
        "functions.py": "def double(x):\n    return 2 * x\n",
        "test_functions.py": "def test_double(): assert True\n",
    },
}


def write_examples(root: Path, examples: dict[str, dict[str, str]]) -> Path:
    for name, files in examples.items():
        for rel, text in files.items():
            path = root / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


@dataclass
class Env:
    stack: Stack
    settings: Settings
    tmp: Path
    creds: git.Credentials

    def sync(self, directory: Path, name: str = "lib", namespace: str = "default") -> None:
        report = sync_repository(self.settings, SourceSpec("dir", str(directory)), name=name,
                                 namespace=namespace)
        assert not report.invalid, report.invalid

    def repo(self) -> str:
        return self.stack.devstack("git-create", unique("course-"))

    def apply(self, spec: dict, name: str = "py101", **kw: object):
        return apply_course(self.settings, spec, name=name, namespace="default",
                            credentials=self.creds, **kw)

    def sql(self, query: str, **params: object) -> list[sa.Row]:
        engine = make_engine(self.settings.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.text(query), params))
        finally:
            engine.dispose()

    def remote(self, url: str) -> Remote:
        return Remote(url, self.creds, self.tmp / unique("reader-"))

    def cli_manifest(self, monkeypatch: pytest.MonkeyPatch, spec: dict) -> Path:
        """`spec` as the course manifest file `exlib -f` reads, with the environment the CLI
        reads pointed at this stack, database and cache."""
        for key, value in self.stack.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DATABASE_URL", self.settings.database_url)
        monkeypatch.setenv("EXLIB_CACHE_DIR", str(self.settings.cache_dir))
        return write_manifest(self.tmp / "course.yaml", spec)


def write_manifest(path: Path, spec: dict) -> Path:
    """A CourseStructure manifest (py101 in `default`) holding `spec`, written to `path`."""
    path.write_text(yaml.safe_dump({"apiVersion": "exlib.dev/v1alpha1", "kind": "CourseStructure",
                                    "metadata": {"name": "py101", "namespace": "default"},
                                    "spec": spec}))
    return path


class Remote:
    """What anyone cloning the repository sees (its own cache, like a lecturer's clone)."""

    def __init__(self, url: str, creds: git.Credentials, cache: Path) -> None:
        self.url, self.creds, self.cache = url, creds, cache
        self.repo = git.open_cache(cache, url, "reader")

    def head(self):
        return git.fetch_branch(self.repo, self.url, "main", self.creds, cache_dir=self.cache)

    def files(self) -> dict[str, bytes]:
        head = self.head()
        if head is None:
            return {}
        return {p: git.read_blob(self.repo, e.id) for p, e in git.walk(self.repo, head.tree)}

    def commits(self) -> list[str]:
        head = self.head()
        return [] if head is None else [str(c.id) for c in self.repo.walk(head.id)]

    def tree_id(self, path: str) -> str | None:
        head = self.head()
        return git.entry_id(self.repo, head.tree if head else None, path)

    def push_change(self, changes: dict[str, str | None], message: str = "lecturer edit") -> str:
        """Commit and push like a lecturer: write (or delete, None) files on main."""
        head = self.head()
        editor = git.TreeEditor(self.repo, head.tree if head else None)
        for path, text in changes.items():
            if text is None:
                editor.take(path)
            else:
                editor.put(path, str(self.repo.create_blob(text.encode())), 0o100644)
        commit = git.commit_tree(self.repo, editor.write(), str(head.id) if head else None,
                                 message)
        git.push_branch(self.repo, self.url, "main", commit, self.creds, cache_dir=self.cache)
        return commit


@pytest.fixture
def env(stack: Stack, settings: Settings, tmp_path: Path) -> Env:
    return Env(stack, settings, tmp_path, git.Credentials(token=stack.git_token))


def course(assignments: str, contents: list[dict], template: str | None = None,
           path: str = "py101", repos: tuple[str, ...] = ("lib",)) -> dict:
    spec = {
        "course": {"organization": {"path": "uni", "title": "University"},
                   "family": {"path": "prog", "title": "Programming"}, "path": path,
                   "title": "Python 101"},
        "exampleRepositories": list(repos),
        "assignments": {"url": assignments},
        "contentTypes": [{"slug": "week", "kind": "unit", "title": "Week"},
                         {"slug": "assignment", "kind": "assignment", "title": "Assignment"}],
        "contents": contents,
    }
    if template:
        spec["studentTemplate"] = {"url": template}
    return spec


SEED = [
    {"path": "week1", "type": "week", "title": "Week 1: Introduction", "contents": [
        {"path": "hello_world", "type": "assignment", "example": "hello-world",
         "version": "^1.0", "properties": {"maxSubmissions": 5, "maxTestRuns": 10}},
        {"path": "variables", "type": "assignment", "example": "variables-basics",
         "version": "^1.0"},
    ]},
    {"path": "week2", "type": "week", "title": "Week 2: Functions", "contents": [
        {"path": "functions", "type": "assignment", "example": "functions-intro"},
    ]},
]


def seed(env: Env, template: bool = True) -> tuple[dict, str, str | None]:
    env.sync(write_examples(env.tmp / "lib", EXAMPLES))
    repo, tpl = env.repo(), env.repo() if template else None
    return course(repo, copy.deepcopy(SEED), tpl), repo, tpl


def live_rows(env: Env) -> dict[str, sa.Row]:
    return {r.path: r for r in env.sql(
        "SELECT id, path, spec_id, deployed_tree, is_customized, deployment_state, "
        "updated_at, example_version_id FROM course_content WHERE archived_at IS NULL")}


def test_seed_scenario_end_to_end(env: Env) -> None:
    spec, repo, tpl = seed(env)
    report = env.apply(spec)
    assert report.assignments.changed and report.student_template.changed
    rows = live_rows(env)
    assert set(rows) == {"week1", "week1.hello_world", "week1.variables", "week2",
                         "week2.functions"}
    assert env.sql("SELECT nlevel(path) AS n FROM course_content WHERE path <@ 'week1'"
                   " ORDER BY n")[-1].n == 2  # a real ltree
    remote = env.remote(repo)
    assert len(remote.commits()) == 1
    files = remote.files()
    assert files["week1/hello_world/main.py"].startswith(b"print('Hello")
    assert "week2/functions/.dependencies/variables-basics/variables.py" in files
    meta = yaml.safe_load(files["week2/functions/meta.yaml"])
    dep_id = env.sql("SELECT id FROM example WHERE identifier = 'variables-basics'")[0].id
    assert meta["properties"]["testDependencies"] == [
        {"identifier": "variables-basics", "id": str(dep_id), "version": "1.0.0"}]
    hello_meta = yaml.safe_load(files["week1/hello_world/meta.yaml"])
    assert hello_meta["properties"]["maxSubmissions"] == 5
    for path in ("week1.hello_world", "week1.variables", "week2.functions"):
        assert rows[path].deployed_tree == remote.tree_id(path.replace(".", "/"))
        assert rows[path].deployment_state == "Deployed"
    history = env.sql("SELECT action FROM deployment_history")
    assert sorted(r.action for r in history).count("deploy") == 3

    template = env.remote(tpl).files()
    assert sorted(template) == [
        "week1/hello_world/README.md", "week1/hello_world/main.py",
        "week1/hello_world/mediaFiles/hello.txt", "week1/variables/variables.py",
        "week2/functions/functions.py"]
    assert template["week1/hello_world/main.py"] == b"# print a greeting here\n"
    assert template["week2/functions/functions.py"] == b""  # no template: empty, not solution
    everything = b"".join(template.values())
    for secret in (b"SECRET", b"Hello, World!", b"assert", b"BEGIN SOLUTION", b"return 2"):
        assert secret not in everything

    again = env.apply(spec)
    assert (again.actions, again.assignments.changed, again.student_template.changed) == (
        (), False, False)
    assert len(remote.commits()) == 1 and len(env.remote(tpl).commits()) == 1
    assert live_rows(env) == rows  # not one row touched (updated_at included)
    assert len(env.sql("SELECT id FROM deployment_history")) == len(history)


def test_same_example_in_two_courses_and_twice_in_one(env: Env) -> None:
    env.sync(write_examples(env.tmp / "lib", EXAMPLES))
    twice = [{"path": "week1", "type": "week", "contents": [
        {"path": "hello_world", "type": "assignment", "example": "hello-world"}]},
        {"path": "week2", "type": "week", "contents": [
            {"path": "hello_again", "type": "assignment", "example": "hello-world",
             "properties": {"maxSubmissions": 1}}]}]
    repo_a, repo_b = env.repo(), env.repo()
    a = env.apply(course(repo_a, twice, path="course_a"), name="a")
    b = env.apply(course(repo_b, twice[:1], path="course_b"), name="b")
    assert a.course_id != b.course_id
    files_a, files_b = env.remote(repo_a).files(), env.remote(repo_b).files()
    assert files_a["week1/hello_world/main.py"] == files_a["week2/hello_again/main.py"]
    assert files_b["week1/hello_world/main.py"] == files_a["week1/hello_world/main.py"]
    versions = env.sql("SELECT DISTINCT example_version_id FROM course_content "
                       "WHERE example_version_id IS NOT NULL")
    assert len(versions) == 1  # one stored version, three deployments
    assert yaml.safe_load(files_a["week2/hello_again/meta.yaml"])["properties"][
        "maxSubmissions"] == 1


def test_move_assignment_and_unit_keep_ids_files_and_customisation(env: Env) -> None:
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    before = live_rows(env)
    remote = env.remote(repo)
    remote.push_change({"week1/hello_world/main.py": "print('Servus!')  # lecturer\n",
                        "week1/NOTES.md": "unit notes\n"})
    moved = copy.deepcopy(spec)
    week1, week2 = moved["contents"]
    hello = week1["contents"].pop(0)
    hello["id"] = "week1.hello_world"
    week2["contents"].append(hello)  # week1.hello_world -> week2.hello_world
    week1.update(path="week_1", id="week1")  # unit move: week1 -> week_1 with its subtree
    report = env.apply(moved)
    moves = {(a.from_path, a.path) for a in report.actions if a.op == "move"}
    assert moves == {("week1.hello_world", "week2.hello_world"), ("week1", "week_1"),
                     ("week1.variables", "week_1.variables")}
    after = live_rows(env)
    assert after["week2.hello_world"].id == before["week1.hello_world"].id
    assert after["week_1"].id == before["week1"].id
    assert after["week_1.variables"].id == before["week1.variables"].id
    assert after["week2.hello_world"].is_customized
    files = remote.files()
    assert files["week2/hello_world/main.py"] == b"print('Servus!')  # lecturer\n"
    assert files["week_1/NOTES.md"] == b"unit notes\n"
    assert "week_1/variables/variables.py" in files
    assert not any(p.startswith("week1/") for p in files)
    assert len(remote.commits()) == 3  # deploy, lecturer, one commit for all moves
    assert env.apply(moved).actions == ()


def test_removed_node_is_archived_and_its_directory_removed(env: Env) -> None:
    spec, repo, tpl = seed(env)
    env.apply(spec)
    row_id = live_rows(env)["week2.functions"].id
    smaller = copy.deepcopy(spec)
    smaller["contents"][1]["contents"] = []
    report = env.apply(smaller)
    assert [(str(a.op), a.path) for a in report.actions][:2] == [
        ("archive", "week2.functions"), ("remove-directory", "week2.functions")]
    archived = env.sql("SELECT archived_at, deployment_state FROM course_content WHERE id = :i",
                       i=row_id)[0]
    assert archived.archived_at is not None and archived.deployment_state == "Archived"
    assert "week2.functions" not in live_rows(env) and "week2" in live_rows(env)
    assert not any(p.startswith("week2/") for p in env.remote(repo).files())
    assert not any(p.startswith("week2/") for p in env.remote(tpl).files())
    restored = env.apply(spec)  # putting it back restores the same row
    assert live_rows(env)["week2.functions"].id == row_id
    assert {str(a.op) for a in restored.actions} >= {"restore", "deploy"}


def test_deleted_course_archives_its_rows(env: Env) -> None:
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    assert archive_course(env.settings, spec, namespace="default", name="py101") == 5
    assert live_rows(env) == {}
    assert "week1/hello_world/main.py" in env.remote(repo).files()  # Git keeps everything


def test_lecturer_commit_pushed_between_plan_and_push_is_kept(env: Env) -> None:
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    lecturer = env.remote(repo)
    grown = copy.deepcopy(spec)
    grown["contents"][1]["contents"].append(
        {"path": "hello_again", "type": "assignment", "example": "hello-world"})
    raced: list[str] = []

    def race(message: str) -> None:
        if message.startswith("pushing") and not raced:
            raced.append(lecturer.push_change({"LECTURER.md": "my course notes\n"}))

    report = env.apply(grown, progress=race)
    files = env.remote(repo).files()
    assert files["LECTURER.md"] == b"my course notes\n"
    assert "week2/hello_again/main.py" in files
    commits = env.remote(repo).commits()
    assert commits[0] == report.assignments.commit and commits[1] == raced[0]


def test_customised_directory_is_not_overwritten_but_clean_one_updates(env: Env) -> None:
    spec, repo, _ = seed(env, template=False)
    env.apply(spec)
    remote = env.remote(repo)
    remote.push_change({"week1/hello_world/main.py": "print('customised')\n"})
    newer = copy.deepcopy(EXAMPLES)
    newer["hello-world"]["meta.yaml"] = HELLO_META.format(version="1.1.0")
    newer["hello-world"]["main.py"] = "print('Hello v1.1')\n"
    newer["variables-basics"]["meta.yaml"] = newer["variables-basics"]["meta.yaml"].replace(
        "1.0.0", "1.1.0")
    newer["variables-basics"]["variables.py"] = "x = 2\n"
    env.sync(write_examples(env.tmp / "lib2", newer))
    report = env.apply(spec)
    ops = {a.path: str(a.op) for a in report.actions}
    assert ops == {"week1.hello_world": "keep", "week1.variables": "update",
                   "week2.functions": "update"}  # functions vendors variables ^1.0 -> 1.1.0
    files = remote.files()
    assert files["week1/hello_world/main.py"] == b"print('customised')\n"
    assert files["week1/variables/variables.py"] == b"x = 2\n"
    states = {r["path"]: r for r in course_status(env.settings, "uni.prog.py101").contents}
    assert states["week1.hello_world"]["state"] == "UpdateAvailable"
    assert states["week1.hello_world"]["version"] == "1.0.0"
    assert states["week1.hello_world"]["updateAvailable"] and states[
        "week1.hello_world"]["customized"]
    assert states["week1.variables"]["version"] == "1.1.0"
    assert env.apply(spec).actions == ()


def test_spec_problems_name_node_and_field(env: Env) -> None:
    env.sync(write_examples(env.tmp / "lib", EXAMPLES))
    env.sync(write_examples(env.tmp / "other", {"hello-world": EXAMPLES["hello-world"]}),
             name="other")
    spec = course(env.repo(), [{"path": "w", "type": "week", "contents": [
        {"path": "a", "type": "assignment", "example": "no-such-example"},
        {"path": "b", "type": "assignment", "example": "hello-world"},
        {"path": "c", "type": "assignment", "example": "variables-basics", "version": "^7"},
    ]}], repos=("lib", "other"))
    with pytest.raises(SpecError) as err:
        env.apply(spec)
    text = [str(p) for p in err.value.problems]
    assert text[0].startswith("contents[0].contents[0] (w.a): example: no example")
    assert text[1].startswith("contents[0].contents[1] (w.b): example: example `hello-world` "
                              "is ambiguous")
    assert text[2].startswith("contents[0].contents[2] (w.c): version: no version of "
                              "variables-basics matches `^7`")
    assert env.sql("SELECT id FROM course") == []  # nothing written


def test_python_beginner_course(env: Env) -> None:
    env.sync(DSP, name="data-science-python", namespace="courses")
    manifest = load_manifest((DATA / "python-beginner.yaml").read_text())
    repo, tpl = env.repo(), env.repo()
    manifest.spec["assignments"] = {"url": repo}
    manifest.spec["studentTemplate"] = {"url": tpl}
    run: Callable[[], object] = lambda: apply_course(  # noqa: E731
        env.settings, manifest.spec, name="python-beginner", namespace="courses",
        credentials=env.creds)
    report = run()
    assert len(live_rows(env)) == 24
    files = env.remote(repo).files()
    dirs = {p.rsplit("/", 1)[0] for p in files if p.endswith("/meta.yaml")}
    assert len(dirs) == 21 and "week_1/math_constants" in dirs
    assert len(env.remote(repo).commits()) == 1
    template = env.remote(tpl).files()
    for d in dirs:
        name = d.rsplit("/", 1)[1]
        source = DSP / f"itpcp.pgph.py.{name}" / "content"
        assert template[f"{d}/README_de.md"] == (source / "index_de.md").read_bytes()
        assert template[f"{d}/README_en.md"] == (source / "index_en.md").read_bytes()
    assert not any("/studentTemplates/" in p for p in template)  # copied to the top level
    assert report.counts["deployed"] == 21
    again = run()
    assert again.actions == () and not again.assignments.changed
    assert not again.student_template.changed


def test_cli_plan_apply_status(env: Env, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    spec, repo, _ = seed(env, template=False)
    manifest = env.cli_manifest(monkeypatch, spec)
    assert cli_main(["plan", "-f", str(manifest), "-o", "json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["dryRun"] and planned["assignments"]["changed"]
    assert env.remote(repo).commits() == [] and env.sql("SELECT id FROM course") == []
    assert cli_main(["apply", "-f", str(manifest), "-o", "json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert set(applied) >= {"course", "assignments", "studentTemplate", "actions", "contents"}
    assert applied["assignments"]["commit"] == env.remote(repo).commits()[0]
    entry = next(c for c in applied["contents"] if c["path"] == "week2.functions")
    assert set(entry) >= {"path", "id", "example", "version", "digest", "state", "message"}
    assert uuid.UUID(entry["id"]) and entry["state"] == "Deployed"
    assert cli_main(["status", "uni.prog.py101", "-o", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [c["path"] for c in status["contents"]][:2] == ["week1", "week1.hello_world"]
    bad = env.tmp / "bad.yaml"
    bad.write_text("course: {}\n")
    assert cli_main(["apply", "-f", str(bad)]) == 2
    assert "spec: course: 'organization' is a required property" in capsys.readouterr().err
