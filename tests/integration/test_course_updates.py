"""Updates of deployed examples against the real stack (DESIGN §6 `version`, §7.5; issue 6).

The library publishes a new version of `calc`; a lecturer may have customised the deployed
directory. Each test looks at what the lecturer sees: the assignments branch, the update
branch, the student template and the rows. Lecturer edits are made the way a lecturer makes
them: commits pushed to the course repository from their own clone.

The matrix (strategy x customised x clean/conflicting) is `test_update_matrix`; the cases
around it (deleted and added files, binary files, a racing push, the conflict branch merged
by hand, version semantics, `exlib plan`) have their own tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pygit2
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from controller.cli import main as cli_main
from controller.cli import output
from controller.config import Settings
from controller.course.apply import ApplyReport, course_status, plan_course
from controller.store import git
from controller.store.db import course as course_tables
from controller.store.db import make_engine, upgrade
from controller.store.db.base import Base
from tests.conftest import Stack, unique
from tests.integration.test_course_deploy import Env, Remote, course

COURSE = "uni.prog.py101"
NODE = "week1.calc"
DIR = "week1/calc"
BRANCH = f"exlib/update/{COURSE}/{NODE}"

CALC_META = """slug: calc
version: {version}
title: Calculator
properties:
  studentSubmissionFiles: [calc.py]
  testFiles: [test_calc.py]
  studentTemplates: [studentTemplates/calc.py]
"""
INDEX = ("# Calculator\n\nWrite a small calculator.\n\nIt adds numbers.\n\n"
         "## Task\n\n{task}\n")
TASK_V1 = "Implement `add`."
TASK_V11 = "Implement `add` and `sub`."
TITLE_LECTURER = "# Calculator (winter term, lecturer)"
TASK_LECTURER = "Implement `add` (the lecturer's wording)."

Files = dict[str, bytes]


def calc(version: str = "1.0.0", *, task: str = TASK_V1, code: str = "",
         data: bytes = b"\x00BIN 1.0\x00", test: str = "def test_add(): assert True\n",
         extra: Mapping[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> Files:
    """The `calc` example at a version; later versions change the task line (bottom of
    content/index.md), and whatever the arguments say."""
    files = {
        "meta.yaml": CALC_META.format(version=version).encode(),
        "calc.py": (b"def add(a, b):\n    return a + b  # reference solution\n"
                    + code.encode()),
        "test_calc.py": test.encode(),
        "studentTemplates/calc.py": (b"def add(a, b):\n    # BEGIN SOLUTION\n    return a + b\n"
                                     b"    # END SOLUTION\n    pass\n"),
        "content/index.md": INDEX.format(task=task).encode(),
        "notes.md": b"Notes nobody changes.\n",
        "data.bin": data,
    }
    files.update(extra or {})
    for path in drop:
        files.pop(path)
    return files


V11 = {"task": TASK_V11, "extra": {"hints.md": b"Hint: `sub` is like `add`.\n"}}


class Lecturer(Remote):
    """A lecturer's clone: commits on any branch, merges the update branch, binary files."""

    def tip(self, branch: str) -> pygit2.Commit | None:
        return git.fetch_branch(self.repo, self.url, branch, self.creds, cache_dir=self.cache)

    def files_at(self, commit: pygit2.Commit, under: str = "") -> Files:
        tree = git.subtree(self.repo, commit.tree, under) if under else commit.tree
        return {p: git.read_blob(self.repo, e.id) for p, e in git.walk(self.repo, tree)}

    def dir_files(self, branch: str = "main") -> Files:
        head = self.tip(branch)
        assert head is not None
        return self.files_at(head, DIR)

    def commit(self, parent: pygit2.Commit, changes: Mapping[str, bytes | str | None],
               message: str = "lecturer edit", merge: str | None = None) -> str:
        editor = git.TreeEditor(self.repo, parent.tree)
        for path, data in changes.items():
            if data is None:
                editor.take(path)
            else:
                blob = data.encode() if isinstance(data, str) else data
                editor.put(path, str(self.repo.create_blob(blob)), 0o100644)
        sig = pygit2.Signature("Lecturer", "lecturer@uni.example")
        parents = [parent.id] + ([pygit2.Oid(hex=merge)] if merge else [])
        return str(self.repo.create_commit(None, sig, sig, message,
                                           pygit2.Oid(hex=editor.write()), parents))

    def push_to(self, branch: str, commit: str) -> None:
        git.push_branch(self.repo, self.url, branch, commit, self.creds, cache_dir=self.cache)

    def edit(self, changes: Mapping[str, bytes | str | None], message: str = "lecturer edit"
             ) -> str:
        """Commit on main and push (paths relative to the assignment's directory)."""
        head = self.tip("main")
        assert head is not None
        commit = self.commit(head, {f"{DIR}/{p}": d for p, d in changes.items()}, message)
        self.push_to("main", commit)
        return commit

    def branches(self) -> dict[str, str]:
        refs = git.ls_remote(self.repo, self.url, self.creds, cache_dir=self.cache)
        return {k.removeprefix("refs/heads/"): v for k, v in refs.items()
                if k.startswith("refs/heads/")}


@pytest.fixture
def env(stack: Stack, settings: Settings, tmp_path: Path) -> Env:
    return Env(stack, settings, tmp_path, git.Credentials(token=stack.git_token))


def publish(env: Env, **examples: Files) -> None:
    """Sync the library repository `lib` at a new revision holding exactly `examples`."""
    root = env.tmp / unique("lib-")
    for name, files in examples.items():
        for rel, data in files.items():
            path = root / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    env.sync(root)


def calc_course(env: Env, nodes: list[dict], template: bool = True
                ) -> tuple[dict, Lecturer, Lecturer | None]:
    repo = env.repo()
    tpl = env.repo() if template else None
    spec = course(repo, [{"path": "week1", "type": "week", "contents": nodes}], tpl)
    lecturer = Lecturer(repo, env.creds, env.tmp / unique("lecturer-"))
    return spec, lecturer, (Lecturer(tpl, env.creds, env.tmp / unique("tpl-")) if tpl else None)


def node(label: str = "calc", **kw: object) -> dict:
    return {"path": label, "type": "assignment", "example": "calc", **kw}


def row(env: Env, path: str = NODE) -> sa.Row:
    return env.sql(
        "SELECT c.*, v.tag, p.tag AS pending_tag FROM course_content c "
        "LEFT JOIN example_version v ON v.id = c.example_version_id "
        "LEFT JOIN example_version p ON p.id = c.pending_version_id "
        "WHERE c.path = :p AND c.archived_at IS NULL", p=path)[0]


def ops(report: ApplyReport) -> dict[str, str]:
    return {a.path: str(a.op) for a in report.actions if a.op != "student-template"}


def entry(report: ApplyReport, path: str = NODE) -> dict:
    return next(c for c in report.contents if c["path"] == path)


def readme(template: Lecturer, label: str = "calc") -> str:
    return template.files()[f"week1/{label}/README.md"].decode()


def index(files: Files) -> str:
    return files["content/index.md"].decode()


def assert_idle(env: Env, spec: dict, lecturer: Lecturer) -> None:
    """A further pass changes nothing: no action, no commit, no branch pushed again, no row
    written, no history."""
    def state() -> tuple[object, ...]:
        return (lecturer.commits(), lecturer.branches(),
                env.sql("SELECT * FROM course_content ORDER BY id"),
                len(env.sql("SELECT id FROM deployment_history")))

    before = state()
    again = env.apply(spec)
    assert ops(again) == {} and not again.assignments.changed
    assert state() == before


# ------------------------------------------------------------------ the matrix

CELLS = [  # strategy, customised, lecturer's edit overlaps the library's change
    ("keep", False, False), ("keep", True, False),
    ("overwrite", False, False), ("overwrite", True, False),
    ("merge", False, False), ("merge", True, False), ("merge", True, True),
]


@pytest.mark.parametrize(("strategy", "customised", "overlapping"), CELLS,
                         ids=["keep-plain", "keep-customised", "overwrite-plain",
                              "overwrite-customised", "merge-plain", "merge-clean",
                              "merge-conflict"])
def test_update_matrix(env: Env, strategy: str, customised: bool, overlapping: bool) -> None:
    publish(env, calc=calc())
    spec, lecturer, template = calc_course(env, [node(version="^1.0", updateStrategy=strategy)])
    env.apply(spec)
    v1 = lecturer.dir_files()
    edit = TASK_LECTURER if overlapping else None
    if customised:
        text = index(v1).replace(TASK_V1, edit) if edit else index(v1).replace(
            "# Calculator\n", TITLE_LECTURER + "\n")
        lecturer_commit = lecturer.edit({"content/index.md": text})
    publish(env, calc=calc("1.1.0", **V11))
    report = env.apply(spec)
    files = lecturer.dir_files()
    state = row(env)
    assert template is not None
    if not customised:  # every strategy replaces an untouched directory
        assert ops(report) == {NODE: "update"}
        assert TASK_V11 in index(files) and "hints.md" in files
        assert (state.tag, state.deployment_state, state.is_customized) == (
            "1.1.0", "Deployed", False)
        assert state.deployed_tree == lecturer.tree_id(DIR)
        assert TASK_V11 in readme(template)
    elif strategy == "keep":
        assert ops(report) == {NODE: "keep"}
        assert files == lecturer.files_at(lecturer.repo[lecturer_commit], DIR)  # untouched
        assert TITLE_LECTURER in index(files) and "hints.md" not in files
        assert (state.tag, state.pending_tag, state.deployment_state) == (
            "1.0.0", "1.1.0", "UpdateAvailable")
        assert entry(report)["availableVersion"] == "1.1.0"
        assert report.counts["updateAvailable"] == 1
        assert TITLE_LECTURER in readme(template) and TASK_V11 not in readme(template)
    elif strategy == "overwrite":
        assert ops(report) == {NODE: "update"}
        detail = report.actions[0].detail
        assert "replaces the customised directory" in detail
        assert "content/index.md (changed)" in detail  # what the event names
        assert TITLE_LECTURER not in index(files) and TASK_V11 in index(files)
        assert (state.tag, state.is_customized) == ("1.1.0", False)
        history = lecturer.commits()
        assert history[1] == lecturer_commit  # the customisation stays in Git history
        old = lecturer.files_at(lecturer.repo[lecturer_commit], DIR)
        assert TITLE_LECTURER in index(old)
        assert TITLE_LECTURER not in readme(template) and TASK_V11 in readme(template)
    elif not overlapping:  # merge, clean
        assert ops(report) == {NODE: "merge"}
        assert TITLE_LECTURER in index(files) and TASK_V11 in index(files)
        assert files["hints.md"] == b"Hint: `sub` is like `add`.\n"  # the library's new file
        assert (state.tag, state.deployment_state, state.is_customized) == (
            "1.1.0", "Customized", True)
        assert state.deployed_tree != lecturer.tree_id(DIR)
        assert state.pending_version_id is None and state.update_branch is None
        assert report.assignments.changed and len(lecturer.commits()) == 3
        assert TITLE_LECTURER in readme(template) and TASK_V11 in readme(template)
        # deployed_tree is the new version's pristine tree (the next merge's base): the same
        # tree a fresh deployment of 1.1.0 gets in another course.
        other, _, _ = calc_course(env, [node(version="^1.0")], template=False)
        other["course"]["path"] = "py102"
        env.apply(other, name="py102")
        fresh = env.sql("SELECT c.deployed_tree FROM course_content c JOIN course k "
                        "ON k.id = c.course_id WHERE k.path = 'uni.prog.py102' "
                        "AND c.path = :p", p=NODE)[0]
        assert state.deployed_tree == fresh.deployed_tree
    else:  # merge, conflicting
        assert ops(report) == {NODE: "conflict"}
        assert not report.assignments.changed
        assert lecturer.commits()[0] == lecturer_commit  # nothing on the branch for the node
        assert TASK_LECTURER in index(files) and "hints.md" not in files
        assert (state.tag, state.pending_tag, state.deployment_state) == (
            "1.0.0", "1.1.0", "UpdateConflict")
        message = entry(report)["message"]
        assert "content/index.md (changed by the lecturer and in the library)" in message
        assert BRANCH in message and entry(report)["updateBranch"] == BRANCH
        assert report.counts["conflicts"] == 1
        tip = lecturer.tip(BRANCH)
        assert tip is not None and str(tip.id) == state.update_commit
        assert str(tip.parents[0].id) == lecturer_commit  # based on the current head
        proposed = lecturer.files_at(tip, DIR)
        text = index(proposed)
        assert f"<<<<<<< lecturer: content/index.md\n{TASK_LECTURER}\n=======\n{TASK_V11}\n"\
               ">>>>>>> library calc 1.1.0: content/index.md\n" in text
        assert "hints.md" in proposed  # the clean parts of the merge are on the branch too
        assert TASK_LECTURER in readme(template) and TASK_V11 not in readme(template)
    assert_idle(env, spec, lecturer)


# ------------------------------------------------------------------ merge details


def test_merge_keeps_deleted_file_deleted_and_adds_library_file(env: Env) -> None:
    publish(env, calc=calc())
    spec, lecturer, template = calc_course(env, [node(updateStrategy="merge", version="^1.0")])
    env.apply(spec)
    lecturer.edit({"notes.md": None, "calc.py": (
        "# lecturer: keep it simple\ndef add(a, b):\n    return a + b  # reference solution\n")})
    publish(env, calc=calc("1.1.0", code="\n\ndef sub(a, b):\n    return a - b\n", **V11))
    report = env.apply(spec)
    assert ops(report) == {NODE: "merge"}
    assert "notes.md (deleted)" in report.actions[0].detail
    files = lecturer.dir_files()
    assert "notes.md" not in files  # the lecturer's deletion stands
    assert files["hints.md"].startswith(b"Hint")  # the library's addition appears
    code = files["calc.py"].decode()
    assert code.startswith("# lecturer: keep it simple\n") and "def sub(a, b)" in code
    assert row(env).is_customized and row(env).tag == "1.1.0"
    assert TASK_V11 in readme(template)
    assert_idle(env, spec, lecturer)


def test_binary_changed_on_both_sides_and_delete_vs_modify_conflict(env: Env) -> None:
    publish(env, calc=calc())
    spec, lecturer, _ = calc_course(env, [node(updateStrategy="merge")], template=False)
    env.apply(spec)
    head = lecturer.edit({"data.bin": b"\x00BIN lecturer\x00", "test_calc.py": None})
    publish(env, calc=calc("1.1.0", data=b"\x00BIN 1.1\x00",
                           test="def test_add(): assert add(1, 2) == 3\n"))
    spec["contents"][0]["contents"][0]["version"] = "1.1.0"  # a changed desired version
    report = env.apply(spec)
    assert ops(report) == {NODE: "conflict"}
    message = entry(report)["message"]
    assert "data.bin (binary, changed by the lecturer and in the library)" in message
    assert "test_calc.py (deleted by the lecturer, changed in the library)" in message
    assert lecturer.commits()[0] == head
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    proposed = lecturer.files_at(tip, DIR)
    assert proposed["data.bin"] == b"\x00BIN lecturer\x00"  # the lecturer's bytes stay
    assert proposed["data.library.bin"] == b"\x00BIN 1.1\x00"  # the library's beside them
    assert proposed["test_calc.py"].startswith(b"def test_add(): assert add")
    assert "test_calc.py" not in lecturer.dir_files()
    assert_idle(env, spec, lecturer)


def test_lecturer_push_racing_a_merge_is_kept(env: Env) -> None:
    publish(env, calc=calc())
    spec, lecturer, template = calc_course(env, [node(updateStrategy="merge")])
    env.apply(spec)
    text = index(lecturer.dir_files()).replace("# Calculator\n", TITLE_LECTURER + "\n")
    first = lecturer.edit({"content/index.md": text})
    publish(env, calc=calc("1.1.0", **V11))
    spec["contents"][0]["contents"][0]["version"] = "latest"
    raced: list[str] = []

    def race(message: str) -> None:
        if message.startswith("pushing") and not raced:
            racing = text.replace("It adds numbers.", "It adds numbers (raced edit).")
            raced.append(lecturer.edit({"content/index.md": racing}, "racing edit"))

    report = env.apply(spec, progress=race)
    assert ops(report) == {NODE: "merge"} and raced
    commits = lecturer.commits()
    assert commits[0] == report.assignments.commit and commits[1:3] == [raced[0], first]
    final = index(lecturer.dir_files())
    for line in (TITLE_LECTURER, "It adds numbers (raced edit).", TASK_V11):
        assert line in final  # both lecturer commits and the library's change
    assert "(raced edit)" in readme(template)
    assert_idle(env, spec, lecturer)


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_conflict_branch_merged_by_hand_is_recognised(env: Env, how: str) -> None:
    publish(env, calc=calc())
    spec, lecturer, template = calc_course(env, [node(updateStrategy="merge",
                                                      version="^1.0")])
    env.apply(spec)
    text = index(lecturer.dir_files()).replace(TASK_V1, TASK_LECTURER)
    lecturer.edit({"content/index.md": text})
    publish(env, calc=calc("1.1.0", **V11))
    assert ops(env.apply(spec)) == {NODE: "conflict"}
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    proposed = lecturer.files_at(tip, DIR)
    assert b"<<<<<<<" in proposed["content/index.md"]
    resolution = "Implement `add` and `sub` (the lecturer's wording)."
    resolved = text.replace(TASK_LECTURER, resolution)
    fixed = lecturer.commit(tip, {f"{DIR}/content/index.md": resolved}, "resolve the update")
    main = lecturer.tip("main")
    assert main is not None
    if how == "merge":  # merge the resolved branch into main (a merge commit)
        merged = lecturer.commit(main, {f"{DIR}/{p}": d for p, d in lecturer.files_at(
            lecturer.repo[fixed], DIR).items()}, f"Merge {BRANCH}", merge=fixed)
    else:  # push the resolution to the branch, then squash it onto main (no ancestry)
        lecturer.push_to(BRANCH, fixed)
        merged = lecturer.commit(main, {f"{DIR}/{p}": d for p, d in lecturer.files_at(
            lecturer.repo[fixed], DIR).items()}, "Squashed update")
    lecturer.push_to("main", merged)

    report = env.apply(spec)
    assert [str(a.op) for a in report.actions if a.op != "student-template"] == [
        "resolved", "delete-update-branch"]  # recorded, and the merged branch deleted
    assert BRANCH not in lecturer.branches()
    assert not report.assignments.changed  # recorded, nothing rewritten
    state = row(env)
    assert (state.tag, state.deployment_state, state.is_customized) == (
        "1.1.0", "Customized", True)
    assert state.update_branch is None and state.pending_version_id is None
    files = lecturer.dir_files()
    assert resolution in index(files) and "hints.md" in files
    assert resolution in readme(template)
    assert_idle(env, spec, lecturer)
    # The base of the next merge is 1.1.0 as published: a 1.2.0 that only touches calc.py
    # merges cleanly and keeps the lecturer's resolution.
    publish(env, calc=calc("1.2.0", code="\n\ndef sub(a, b):\n    return a - b\n", **V11))
    report = env.apply(spec)
    assert ops(report) == {NODE: "merge"}
    files = lecturer.dir_files()
    assert resolution in index(files) and b"def sub" in files["calc.py"]
    assert row(env).tag == "1.2.0"


def test_unresolved_conflict_follows_a_newer_version_on_the_same_branch(env: Env) -> None:
    publish(env, calc=calc())
    spec, lecturer, _ = calc_course(env, [node(updateStrategy="merge")], template=False)
    env.apply(spec)
    text = index(lecturer.dir_files()).replace(TASK_V1, TASK_LECTURER)
    lecturer.edit({"content/index.md": text})
    publish(env, calc=calc("1.1.0", **V11))
    spec["contents"][0]["contents"][0]["version"] = "latest"
    env.apply(spec)
    first = lecturer.tip(BRANCH)
    publish(env, calc=calc("1.2.0", task="Implement `add`, `sub` and `mul`."))
    report = env.apply(spec)
    assert ops(report) == {NODE: "conflict"}
    assert "calc 1.2.0" in entry(report)["message"] and row(env).pending_tag == "1.2.0"
    second = lecturer.tip(BRANCH)
    assert first is not None and second is not None and second.id != first.id
    assert first.id in [p.id for p in second.parents]  # fast-forward, never forced
    assert b"library calc 1.2.0" in lecturer.files_at(second, DIR)["content/index.md"]
    assert_idle(env, spec, lecturer)
    # deleted on the server without being merged: the next pass pushes it again, quietly
    git.push(lecturer.repo, lecturer.url, [f":refs/heads/{BRANCH}"], env.creds,
             cache_dir=lecturer.cache)
    assert BRANCH not in lecturer.branches()
    history = len(env.sql("SELECT id FROM deployment_history"))
    report = env.apply(spec)
    assert ops(report) == {} and BRANCH in lecturer.branches()
    again = lecturer.tip(BRANCH)
    assert again is not None and lecturer.files_at(again, DIR) == lecturer.files_at(second, DIR)
    assert row(env).update_commit == str(again.id)
    assert len(env.sql("SELECT id FROM deployment_history")) == history
    assert_idle(env, spec, lecturer)


# ------------------------------------------------------------------ version semantics


def test_version_semantics_latest_range_omitted_tag_and_digest(env: Env) -> None:
    publish(env, calc=calc())
    digest = env.sql("SELECT digest FROM example_version WHERE tag = '1.0.0'")[0].digest
    nodes = [node("latest", version="latest"), node("ranged", version="^1.0"),
             node("pinned"), node("exact", version="1.0"),
             node("digest", version=f"sha256:{digest[:10]}")]
    spec, lecturer, _ = calc_course(env, nodes, template=False)
    env.apply(spec)

    def versions() -> dict[str, str]:
        return {r["path"].removeprefix("week1."): r["version"]
                for r in course_status(env.settings, COURSE).contents if r["kind"] == "assignment"}

    assert set(versions().values()) == {"1.0.0"}
    publish(env, calc=calc("1.1.0", **V11))
    report = env.apply(spec)
    assert ops(report) == {"week1.latest": "update", "week1.ranged": "update"}
    assert versions() == {"latest": "1.1.0", "ranged": "1.1.0", "pinned": "1.0.0",
                          "exact": "1.0.0", "digest": "1.0.0"}
    publish(env, calc=calc("2.0.0", task="Implement a parser."))
    env.apply(spec)
    assert versions()["latest"] == "2.0.0" and versions()["ranged"] == "1.1.0"
    # `latest` follows the repository's tracked revision, not the highest tag
    publish(env, calc=calc("1.0.1", task="Implement `add` (fixed)."))
    env.apply(spec)
    assert versions() == {"latest": "1.0.1", "ranged": "1.1.0", "pinned": "1.0.0",
                          "exact": "1.0.0", "digest": "1.0.0"}
    status = {r["path"]: r for r in course_status(env.settings, COURSE).contents}
    assert status["week1.pinned"]["desiredVersion"] is None  # pinned where first deployed
    # a changed desired version is an update
    week = spec["contents"][0]["contents"]
    week[3]["version"] = "1.1"
    assert ops(env.apply(spec)) == {"week1.exact": "update"}
    assert versions()["exact"] == "1.1.0"
    # an omitted version survives removal and return of its node; a new one takes latest
    removed = week.pop(2)
    env.apply(spec)
    week.insert(2, removed)
    week.append(node("newcomer"))
    env.apply(spec)
    assert versions()["pinned"] == "1.0.0" and versions()["newcomer"] == "1.0.1"
    files = lecturer.files()
    assert "week1/pinned/content/index.md" in files
    assert TASK_V1.encode() in files["week1/pinned/content/index.md"]


# ------------------------------------------------------------------ plan, status, schema


def test_plan_shows_each_update_without_doing_it(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    publish(env, calc=calc())
    nodes = [node("plain", updateStrategy="keep"), node("kept", updateStrategy="keep"),
             node("merged", updateStrategy="merge"),
             node("conflicting", updateStrategy="merge"),
             node("overwritten", updateStrategy="overwrite")]
    for n in nodes:
        n["version"] = "^1.0"
    spec, lecturer, _ = calc_course(env, nodes, template=False)
    env.apply(spec)
    main = lecturer.tip("main")
    assert main is not None
    base = index(lecturer.files_at(main, "week1/plain"))
    title = base.replace("# Calculator\n", TITLE_LECTURER + "\n")
    head = lecturer.commit(main, {
        "week1/kept/content/index.md": title, "week1/merged/content/index.md": title,
        "week1/overwritten/content/index.md": title,
        "week1/conflicting/content/index.md": base.replace(TASK_V1, TASK_LECTURER)})
    lecturer.push_to("main", head)
    publish(env, calc=calc("1.1.0", **V11))
    rows_before = env.sql("SELECT * FROM course_content ORDER BY path")
    planned = plan_course(env.settings, spec, name="py101", namespace="default",
                          credentials=env.creds)
    expected = {"week1.plain": "update", "week1.kept": "keep", "week1.merged": "merge",
                "week1.conflicting": "conflict", "week1.overwritten": "update"}
    assert ops(planned) == expected
    assert planned.dry_run and planned.assignments.changed
    assert lecturer.commits()[0] == head and BRANCH not in lecturer.branches()
    assert not any(b.startswith("exlib/") for b in lecturer.branches())  # nothing pushed
    assert env.sql("SELECT * FROM course_content ORDER BY path") == rows_before
    assert entry(planned, "week1.conflicting")["state"] == "UpdateConflict"
    assert planned.counts["conflicts"] == 1 and planned.counts["updateAvailable"] == 1

    manifest = env.cli_manifest(monkeypatch, spec)
    assert cli_main(["plan", "-f", str(manifest), "-o", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert {a["path"]: a["action"] for a in cli["actions"]} == expected
    assert cli_main(["apply", "-f", str(manifest), "-o", "json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert {a["path"]: a["action"] for a in applied["actions"]
            if a["action"] != "student-template"} == expected
    assert applied["counts"]["conflicts"] == 1 and applied["counts"]["updateAvailable"] == 1
    tip = lecturer.tip(f"exlib/update/{COURSE}/week1.conflicting")
    assert tip is not None and str(tip.parents[0].id) == applied["assignments"]["commit"]
    assert cli_main(["status", COURSE, "-o", "json"]) == 0
    status = {c["path"]: c for c in json.loads(capsys.readouterr().out)["contents"]}
    kept, conflicting = status["week1.kept"], status["week1.conflicting"]
    assert (kept["version"], kept["desiredVersion"], kept["availableVersion"],
            kept["customized"], kept["state"]) == ("1.0.0", "^1.0", "1.1.0", True,
                                                   "UpdateAvailable")
    assert conflicting["updateBranch"] == f"exlib/update/{COURSE}/week1.conflicting"
    assert conflicting["updateAvailable"] and conflicting["state"] == "UpdateConflict"
    assert status["week1.merged"]["state"] == "Customized"
    assert status["week1.merged"]["version"] == "1.1.0"
    monkeypatch.setattr(output.stdout, "width", 300)  # no folded cells
    assert cli_main(["status", COURSE]) == 0
    table = capsys.readouterr().out
    for word in ("available", "outcome", "UpdateConflict", "UpdateAvailable", "^1.0",
                 "updating to calc 1.1.0 conflicts in content/index.md"):
        assert word in table


def test_migrations_match_the_models(database_url: str) -> None:
    """Migration 0003 (and all before it) and the models describe the same schema."""
    upgrade(database_url)
    assert {"course_content", "example_version"} <= set(Base.metadata.tables)
    assert course_tables.CourseContent.pending_version_id is not None
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
