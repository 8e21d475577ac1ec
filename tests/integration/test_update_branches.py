# ruff: noqa: F811  (the `env` fixture imported from the updates module is a parameter here)
"""Update branches are housekept (docs/updates.md): deleted once merged or superseded, never
while they hold someone's unmerged work; a branch merged for an older version is recognised
once a newer one appears. Real Git server, PostgreSQL and MinIO."""

from __future__ import annotations

import pytest

from tests.integration.test_course_deploy import Env
from tests.integration.test_course_updates import (  # noqa: F401
    BRANCH,
    DIR,
    NODE,
    TASK_LECTURER,
    TASK_V1,
    V11,
    Lecturer,
    assert_idle,
    calc,
    calc_course,
    env,
    index,
    node,
    ops,
    publish,
    row,
)

RESOLUTION = "Implement `add` and `sub` (the lecturer's wording)."


def conflict(env: Env, strategy: str = "merge") -> tuple[dict, Lecturer, str]:
    """calc 1.0.0 deployed, the lecturer rewords the task, 1.1.0 conflicts: the update
    branch is pushed. Returns the spec, the lecturer and the lecturer's index.md."""
    publish(env, calc=calc())
    spec, lecturer, _ = calc_course(env, [node(updateStrategy=strategy, version="^1.0")],
                                    template=False)
    env.apply(spec)
    text = index(lecturer.dir_files()).replace(TASK_V1, TASK_LECTURER)
    lecturer.edit({"content/index.md": text})
    publish(env, calc=calc("1.1.0", **V11))
    assert ops(env.apply(spec)) == {NODE: "conflict"}
    assert BRANCH in lecturer.branches()
    return spec, lecturer, text


def merge_by_hand(lecturer: Lecturer, text: str, how: str) -> None:
    """Resolve on the update branch and bring it into main (merge commit or squash)."""
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    fixed = lecturer.commit(tip, {f"{DIR}/content/index.md": text.replace(
        TASK_LECTURER, RESOLUTION)}, "resolve the update")
    lecturer.push_to(BRANCH, fixed)
    main = lecturer.tip("main")
    assert main is not None
    files = {f"{DIR}/{p}": d for p, d in lecturer.files_at(lecturer.repo[fixed], DIR).items()}
    merged = lecturer.commit(main, files, f"Merge {BRANCH}",
                             merge=fixed if how == "merge" else None)
    lecturer.push_to("main", merged)


@pytest.mark.parametrize("how", ["merge", "squash"])
def test_merged_update_branch_is_deleted(env: Env, how: str) -> None:
    spec, lecturer, text = conflict(env)
    merge_by_hand(lecturer, text, how)
    report = env.apply(spec)
    assert [(str(a.op), a.detail) for a in report.actions] == [
        ("resolved", "the update branch was merged by hand; calc 1.1.0 is deployed with the "
                     "lecturer's changes"),
        ("delete-update-branch", f"{BRANCH} (merged)")]
    assert BRANCH not in lecturer.branches()
    assert RESOLUTION in index(lecturer.dir_files())
    assert_idle(env, spec, lecturer)


def test_superseded_update_branch_is_deleted(env: Env) -> None:
    spec, lecturer, _ = conflict(env)
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    spec["contents"][0]["contents"][0]["updateStrategy"] = "overwrite"
    report = env.apply(spec)  # the lecturer gives up their wording: the branch is moot
    assert [str(a.op) for a in report.actions] == ["update", "delete-update-branch"]
    assert report.actions[1].detail == f"{BRANCH} (superseded)"
    assert BRANCH not in lecturer.branches() and row(env).update_branch is None
    # as if that pass had stopped after writing its rows, before deleting: the next pass
    # finds the branch on the server and deletes it
    lecturer.push_to(BRANCH, str(tip.id))
    report = env.apply(spec)
    assert [(str(a.op), a.detail) for a in report.actions] == [
        ("delete-update-branch", f"{BRANCH} (superseded)")]
    assert BRANCH not in lecturer.branches()
    assert_idle(env, spec, lecturer)


def test_superseded_update_branch_with_someones_unmerged_work_is_kept(env: Env) -> None:
    spec, lecturer, _ = conflict(env)
    tip = lecturer.tip(BRANCH)
    assert tip is not None
    work = lecturer.commit(tip, {f"{DIR}/NOTES.md": "half-way through\n"}, "wip")
    lecturer.push_to(BRANCH, work)
    spec["contents"][0]["contents"][0]["updateStrategy"] = "overwrite"
    report = env.apply(spec)
    assert [str(a.op) for a in report.actions] == ["update"]
    assert lecturer.branches()[BRANCH] == work


def test_merged_branch_of_an_older_version_is_recognised_when_a_newer_one_appears(
        env: Env) -> None:
    spec, lecturer, text = conflict(env)
    merge_by_hand(lecturer, text, "merge")
    # before any pass sees the merge, 1.2.0 appears: it only adds `sub` to calc.py
    publish(env, calc=calc("1.2.0", code="\n\ndef sub(a, b):\n    return a - b\n", **V11))
    report = env.apply(spec)
    assert [(str(a.op), a.path) for a in report.actions] == [
        ("resolved", NODE), ("merge", NODE), ("delete-update-branch", NODE)]
    state = row(env)
    assert (state.tag, state.deployment_state, state.update_branch) == (
        "1.2.0", "Customized", None)
    files = lecturer.dir_files()
    assert RESOLUTION in index(files) and b"def sub" in files["calc.py"]
    assert b"<<<<<<<" not in files["content/index.md"]
    assert BRANCH not in lecturer.branches()
    assert_idle(env, spec, lecturer)


def test_moved_course_leaves_no_update_branch_under_its_old_path(env: Env) -> None:
    spec, lecturer, _ = conflict(env)
    spec["course"]["path"] = "py102"
    report = env.apply(spec)
    moved = BRANCH.replace("uni.prog.py101", "uni.prog.py102")
    assert [(str(a.op), a.detail) for a in report.actions] == [
        ("move-course", ""), ("conflict", row(env).deployment_message),
        ("delete-update-branch", f"{BRANCH} (superseded)")]
    assert BRANCH not in lecturer.branches() and moved in lecturer.branches()
    assert row(env).update_branch == moved
    assert_idle(env, spec, lecturer)
