"""Which directories count as left by a failed pass: read from exlib's own commit trailers,
back from the head to the last commit whose rows were written, for one CourseStructure."""

from __future__ import annotations

from pathlib import Path

import pygit2

from controller.course import deploy
from controller.course.plan import DirOp
from controller.store import git


def commit(repo: pygit2.Repository, parent: str | None, files: dict[str, str],
           message: str) -> str:
    editor = git.TreeEditor(repo, repo[parent].peel(pygit2.Commit).tree if parent else None)
    for path, text in files.items():
        editor.put(path, str(repo.create_blob(text.encode())), 0o100644)
    return git.commit_tree(repo, editor.write(), parent, message)


def exlib_commit(repo: pygit2.Repository, parent: str | None, path: str, course: str,
                 base: str = "") -> str:
    """A pass's commit deploying content `path` (its trailers as apply.py writes them)."""
    directory = f"{base}/{path.replace('.', '/')}" if base else path.replace(".", "/")
    editor = git.TreeEditor(repo, repo[parent].peel(pygit2.Commit).tree if parent else None)
    editor.put(f"{directory}/main.py", str(repo.create_blob(path.encode())), 0o100644)
    tree = editor.write()
    trailers = deploy.deployed_trailers(repo, tree, [DirOp("put", path, tree="x")], base, course)
    return git.commit_tree(repo, tree, parent, f"exlib: c: 1 change(s)\n\n- deploy {path}\n"
                           + trailers)


def head(repo: pygit2.Repository, sha: str) -> pygit2.Commit:
    return repo[sha].peel(pygit2.Commit)


def test_only_this_courses_commits_after_the_recorded_one(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    recorded = exlib_commit(repo, None, "week1.a", "course/ns/c uni.c", base="course")
    failed = exlib_commit(repo, recorded, "week1.b", "course/ns/c uni.c", base="course")
    other = exlib_commit(repo, failed, "week1.x", "course/ns/other uni.c", base="course")
    lecturer = commit(repo, other, {"notes.md": "hi"}, "lecturer: notes")
    found = deploy.unrecorded_deploys(head(repo, lecturer), recorded, "course/ns/c uni.c")
    tree = git.entry_id(repo, head(repo, lecturer).tree, "course/week1/b")
    assert found == {"week1.b": tree}
    assert deploy.unrecorded_deploys(head(repo, lecturer), lecturer, "course/ns/c uni.c") == {}
    moved = deploy.unrecorded_deploys(head(repo, lecturer), recorded, "course/ns/c uni.d")
    assert moved == {}  # another course path of the same CourseStructure: not its directories


def test_nothing_when_the_recorded_commit_is_out_of_reach(tmp_path: Path) -> None:
    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    first = exlib_commit(repo, None, "a", "course/ns/c uni.c")
    assert deploy.unrecorded_deploys(head(repo, first), None, "course/ns/c uni.c") == {
        "a": git.entry_id(repo, head(repo, first).tree, "a")}  # no pass ever wrote rows
    assert deploy.unrecorded_deploys(head(repo, first), "0" * 40, "course/ns/c uni.c") == {}
    tip = first
    for i in range(deploy.HEAL_HORIZON):
        tip = commit(repo, tip, {"n.md": str(i)}, f"lecturer {i}")
    too_far = deploy.unrecorded_deploys(head(repo, tip), first, "course/ns/c uni.c")
    assert too_far == {}  # the recorded commit is beyond the horizon: nothing is judged
