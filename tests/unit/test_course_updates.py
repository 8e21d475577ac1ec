"""The pure update decisions (DESIGN §7.5): strategy x customised x merge outcome.

Git is replaced by `FakeTrees` (the planner's `TreeOps`): tree ids are plain strings, a merge
returns whatever the test says.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from controller.course.deploy import library_path
from controller.course.plan import (
    Conflict,
    Content,
    DirOp,
    Merge,
    Op,
    State,
    plan,
    update_branch,
)
from tests.unit.test_course_plan import deployed, ops, task

COURSE = "org.fam.c1"


@dataclass
class FakeTrees:
    merges: dict[tuple[str, str | None, str], Merge] = field(default_factory=dict)
    changed: tuple[str, ...] = ("main.py (changed)",)
    is_merged: bool = False
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def merge(self, base: str, ours: str | None, theirs: str, label: str) -> Merge:
        self.calls.append(("merge", base, str(ours), theirs, label))
        return self.merges[(base, ours, theirs)]

    def changes(self, base: str, ours: str | None) -> tuple[str, ...]:
        self.calls.append(("changes", base, str(ours)))
        return self.changed

    def merged(self, commit: str, branch: str | None, path: str, current: str | None) -> bool:
        self.calls.append(("merged", commit, str(branch), path, str(current)))
        return self.is_merged


def setup(strategy: str, current: str | None, trees: FakeTrees | None = None,
          row: Content | None = None):
    """Version 1 deployed as T1 at `a`; version 2 (tree T2) desired; the branch holds
    `current` at `a` (None: no directory)."""
    rows = [row or deployed(task("a", version="1"), "r1", "T1")]
    new = task("a", version="2", strategy=strategy)
    trees = trees or FakeTrees()
    head = {"a": current} if current is not None else {}
    return plan([new], rows, head.get, {"a": "T2"}, trees=trees,
                course_path=COURSE), trees


def test_untouched_directory_is_replaced_whatever_the_strategy() -> None:
    for strategy in ("keep", "overwrite", "merge"):
        p, trees = setup(strategy, "T1")
        assert ops(p) == [("update", "a")]
        assert p.dir_ops == (DirOp("put", "a", tree="T2"),)
        row = p.rows[0].after
        assert (row.version_id, row.deployed_tree, row.state, row.is_customized) == (
            "v2", "T2", State.DEPLOYED, False)
        assert trees.calls == []  # no merge, no diff for an untouched directory


def test_keep_leaves_the_directory_and_names_the_available_version() -> None:
    p, _ = setup("keep", "EDITED")
    assert ops(p) == [("keep", "a")] and p.dir_ops == () and p.branches == ()
    row = p.rows[0].after
    assert (row.version_id, row.deployed_tree, row.state) == ("v1", "T1", State.UPDATE_AVAILABLE)
    assert (row.pending_version_id, row.pending_tag, row.pending_key) == ("v2", "2.0.0", "key2")
    assert "hello 2.0.0 is available" in (row.message or "")
    again, _ = setup("keep", "EDITED", row=row)
    assert (again.actions, again.rows) == ((), ())  # idempotent
    # the spec goes back to the deployed version: the pending update disappears
    back = plan([task("a", version="1")], [row], {"a": "EDITED"}.get, {})
    settled = back.rows[0].after
    assert (settled.state, settled.pending_version_id, settled.pending_tag) == (
        State.CUSTOMIZED, None, None)


def test_overwrite_replaces_and_names_the_lecturers_changes() -> None:
    trees = FakeTrees(changed=("main.py (changed)", "NOTES.md (added)"))
    p, _ = setup("overwrite", "EDITED", trees)
    assert ops(p) == [("update", "a")] and p.dir_ops == (DirOp("put", "a", tree="T2"),)
    detail = p.actions[0].detail
    assert "replaces the customised directory" in detail
    assert "main.py (changed), NOTES.md (added)" in detail and "Git history" in detail
    assert trees.calls == [("changes", "T1", "EDITED")]
    assert p.rows[0].after.deployed_tree == "T2" and not p.rows[0].after.is_customized


def test_clean_merge_commits_the_result_and_records_the_pristine_tree() -> None:
    trees = FakeTrees({("T1", "EDITED", "T2"): Merge("MERGED", (), ("main.py (changed)",))})
    p, _ = setup("merge", "EDITED", trees)
    assert ops(p) == [("merge", "a")] and p.actions[0].changes_directory
    assert p.dir_ops == (DirOp("put", "a", tree="MERGED"),)
    assert trees.calls[0] == ("merge", "T1", "EDITED", "T2", "hello 2.0.0")
    row = p.rows[0].after
    # deployed_tree = the new version's own tree, NOT the merge result: it is the base of the
    # next merge, and the lecturer's edits still show as customisation
    assert (row.version_id, row.deployed_tree, row.is_customized, row.state) == (
        "v2", "T2", True, State.CUSTOMIZED)
    assert p.rows[0].deployed
    assert "Merged" not in (row.message or "") and "main.py (changed)" in (row.message or "")
    after, _ = setup("merge", "MERGED", row=row)  # next pass, nothing new: quiet
    assert (after.actions, after.rows) == ((), ())
    # the next version merges on T2, the version the directory now derives from
    v3 = task("a", version="3", strategy="merge")
    trees3 = FakeTrees({("T2", "MERGED", "T3"): Merge("MERGED3")})
    plan([v3], [row], {"a": "MERGED"}.get, {"a": "T3"}, trees=trees3, course_path=COURSE)
    assert trees3.calls[0][:4] == ("merge", "T2", "MERGED", "T3")


def test_clean_merge_variants() -> None:
    # the directory already holds the library's changes: record the version, no commit
    same, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): Merge("EDITED")}))
    assert ops(same) == [("merge", "a")] and same.dir_ops == ()
    assert not same.actions[0].changes_directory
    assert same.rows[0].after.version_id == "v2" and same.rows[0].after.is_customized
    # the merge lands exactly on the new version: not customised any more
    exact, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): Merge("T2")}))
    assert exact.rows[0].after.state == State.DEPLOYED
    assert not exact.rows[0].after.is_customized
    # everything deleted on both sides: the directory goes
    empty, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): Merge(None)}))
    assert empty.dir_ops == (DirOp("delete", "a"),)
    # the lecturer deleted the whole directory: merged against nothing
    gone, trees = setup("merge", None, FakeTrees({("T1", None, "T2"): Merge(None)}))
    assert trees.calls[0][:3] == ("merge", "T1", "None") and gone.dir_ops == ()


def conflict_merge() -> Merge:
    return Merge("CONFLICTED", (Conflict("main.py", "changed by the lecturer and in the "
                                                     "library"),
                                Conflict("logo.png", "binary, changed by the lecturer and in "
                                                     "the library")))


def test_conflict_changes_nothing_and_asks_for_an_update_branch() -> None:
    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    branch = f"exlib/update/{COURSE}/a"
    assert ops(p) == [("conflict", "a")] and p.dir_ops == ()
    assert [(b.row_id, b.path, b.branch, b.tree) for b in p.branches] == [
        ("r1", "a", branch, "CONFLICTED")]
    assert "main.py (changed by the lecturer" in p.branches[0].message
    row = p.rows[0].after
    assert (row.version_id, row.deployed_tree, row.state) == ("v1", "T1", State.UPDATE_CONFLICT)
    assert (row.pending_version_id, row.update_branch, row.update_tree, row.update_commit) == (
        "v2", branch, "CONFLICTED", None)
    assert "main.py (changed by the lecturer and in the library), logo.png (binary" in (
        row.message or "")
    assert not p.rows[0].deployed
    pushed = p.with_branch_results({"r1": ("C1", None)})
    row = pushed.rows[0].after
    assert row.update_commit == "C1" and pushed.contents[0].update_commit == "C1"
    # next pass, same merge result: no action, no row write; the branch op is still handed
    # over (the caller pushes only if the server lost the branch)
    again, trees = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"):
                                                       conflict_merge()}), row=row)
    assert (again.actions, again.rows) == ((), ())
    assert [b.branch for b in again.branches] == [branch]
    assert trees.calls[0] == ("merged", "C1", branch, "a", "EDITED")
    # ... and if it was pushed again, the new commit gets recorded
    repushed = again.with_branch_results({"r1": ("C2", None)})
    assert [w.changed() for w in repushed.rows] == [{"update_commit": "C2"}]


def test_failed_branch_push_is_retried_next_pass() -> None:
    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    failed = p.with_branch_results({"r1": (None, "could not push it")})
    row = failed.rows[0].after
    assert row.update_commit is None and row.update_tree is None
    assert (row.message or "").endswith("; could not push it")
    again, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}),
                     row=row)
    assert ops(again) == [("conflict", "a")] and len(again.branches) == 1


def test_conflict_branch_merged_by_hand_records_the_new_version() -> None:
    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    row = p.with_branch_results({"r1": ("C1", None)}).rows[0].after
    resolved, trees = setup("merge", "RESOLVED", FakeTrees(is_merged=True), row=row)
    assert ops(resolved) == [("resolved", "a")] and resolved.dir_ops == ()
    assert trees.calls == [("merged", "C1", row.update_branch, "a", "RESOLVED")]
    after = resolved.rows[0].after
    assert (after.version_id, after.deployed_tree, after.is_customized, after.state) == (
        "v2", "T2", True, State.CUSTOMIZED)
    assert (after.update_branch, after.update_commit, after.pending_version_id) == (
        None, None, None)
    assert resolved.rows[0].deployed and resolved.branches == ()
    # recognition works whatever the strategy is now (the lecturer did the merge)
    kept, _ = setup("keep", "RESOLVED", FakeTrees(is_merged=True), row=row)
    assert ops(kept) == [("resolved", "a")]


def test_merged_branch_of_an_older_target_is_recognised_and_the_newer_merged_from_it(
        ) -> None:
    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    row = p.with_branch_results({"r1": ("C1", None)}).rows[0].after
    assert (row.pending_tree, row.update_tree) == ("T2", "CONFLICTED")
    v3 = task("a", version="3", strategy="merge")
    # the lecturer merged the 2.0.0 branch: 2.0.0 is recorded, 3.0.0 merged from its tree
    trees = FakeTrees({("T2", "EDITED", "T3"): Merge("MERGED3")}, is_merged=True)
    newer = plan([v3], [row], {"a": "EDITED"}.get, {"a": "T3"}, trees=trees,
                 course_path=COURSE)
    assert ops(newer) == [("resolved", "a"), ("merge", "a")]
    after = newer.rows[0].after
    assert (after.version_id, after.deployed_tree, after.update_branch, after.pending_tree) == (
        "v3", "T3", None, None)
    assert newer.dir_ops == (DirOp("put", "a", tree="MERGED3"),)
    # not merged: a new conflict for 3.0.0 from the deployed base, pushed to the same branch
    trees = FakeTrees({("T1", "EDITED", "T3"): conflict_merge()}, is_merged=False)
    open_ = plan([v3], [row], {"a": "EDITED"}.get, {"a": "T3"}, trees=trees,
                 course_path=COURSE)
    assert ops(open_) == [("conflict", "a")]
    assert open_.rows[0].after.pending_version_id == "v3"
    assert open_.rows[0].after.pending_tree == "T3"
    assert open_.rows[0].after.update_commit is None and len(open_.branches) == 1


def test_move_and_merge_in_one_pass() -> None:
    rows = [deployed(task("w.a", version="1", node_id="n"), "r1", "T1")]
    moved = task("w.b", version="2", node_id="n", strategy="merge")
    trees = FakeTrees({("T1", "EDITED", "T2"): Merge("MERGED")})
    p = plan([moved], rows, {"w.a": "EDITED"}.get, {"n": "T2"}, trees=trees,
             course_path=COURSE)
    assert ops(p) == [("move", "w.b"), ("merge", "w.b")]
    assert p.dir_ops == (DirOp("take", "w.a"), DirOp("put", "w.b", source="w.a"),
                         DirOp("put", "w.b", tree="MERGED"))
    conflicted = plan([moved], rows, {"w.a": "EDITED"}.get, {"n": "T2"},
                      trees=FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}),
                      course_path=COURSE)
    assert conflicted.branches[0].branch == f"exlib/update/{COURSE}/w.b"
    assert conflicted.dir_ops == (DirOp("take", "w.a"), DirOp("put", "w.b", source="w.a"))


def test_adopt_when_the_lecturer_already_has_the_new_version() -> None:
    p, trees = setup("merge", "T2")
    assert ops(p) == [("adopt", "a")] and p.dir_ops == () and trees.calls == []
    assert p.rows[0].after.state == State.DEPLOYED


def test_commit_message_and_names() -> None:
    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): Merge(
        "MERGED", (), ("main.py (changed)",))}))
    assert "- merge a (hello 1.0.0 -> hello 2.0.0; kept the lecturer's changes: main.py " \
           "(changed))" in p.commit_message(COURSE)
    assert Op.MERGE.value == "merge" and State.UPDATE_CONFLICT.value == "UpdateConflict"
    assert update_branch("uni.prog.py101", "week1.hello") == (
        "exlib/update/uni.prog.py101/week1.hello")
    assert library_path("img/logo.png") == "img/logo.library.png"
    assert library_path("Makefile") == "Makefile.library"
    assert library_path(".env") == ".env.library"
    assert library_path("a/archive.tar.gz") == "a/archive.tar.library.gz"


def test_counts_and_content_dict() -> None:
    from controller.course.apply import ApplyReport, RepoResult, content_dict

    p, _ = setup("merge", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    keep, _ = setup("keep", "EDITED")
    contents = (content_dict(p.contents[0]),
                content_dict(replace(keep.contents[0], id="r2", path="b")))
    report = ApplyReport("c", COURSE, RepoResult(None, False), None, (), contents)
    assert report.counts == {"contents": 2, "deployed": 2, "customized": 2,
                             "updateAvailable": 1, "conflicts": 1, "failed": 0}
    first, second = contents
    assert first["updateBranch"] == f"exlib/update/{COURSE}/a"
    assert first["availableVersion"] == second["availableVersion"] == "2.0.0"
    assert second["updateBranch"] is None and first["state"] == "UpdateConflict"


def test_review_puts_even_a_clean_merge_on_the_update_branch() -> None:
    trees = FakeTrees({("T1", "EDITED", "T2"): Merge("MERGED", changed=("a.md (changed)",))},
                      changed=("main.py (changed)", "hints.md (added)"))
    p, _ = setup("review", "EDITED", trees)
    branch = f"exlib/update/{COURSE}/a"
    assert ops(p) == [("review", "a")] and p.dir_ops == ()  # the assignments branch stays
    op = p.branches[0]
    assert (op.branch, op.tree, op.example, op.old, op.new) == (
        branch, "MERGED", "hello", "1.0.0", "2.0.0")
    assert op.conflicts == () and op.changes == ("main.py (changed)", "hints.md (added)")
    assert "(for review)" in op.message and "hints.md (added)" in op.message
    assert ("changes", "T1", "T2") in trees.calls  # the library's changes, for the request
    row = p.rows[0].after
    assert (row.state, row.version_id, row.pending_version_id, row.update_branch) == (
        State.UPDATE_REVIEW, "v1", "v2", branch)
    assert "merges cleanly" in (row.message or "") and branch in (row.message or "")
    # merged by hand: recognised like a conflict branch
    pushed = p.with_branch_results({"r1": ("C1", None)}).rows[0].after
    resolved, _ = setup("review", "MERGED", FakeTrees(is_merged=True), row=pushed)
    assert ops(resolved) == [("resolved", "a")]


def test_review_conflict_is_a_conflict_and_untouched_is_replaced() -> None:
    p, _ = setup("review", "EDITED", FakeTrees({("T1", "EDITED", "T2"): conflict_merge()}))
    assert ops(p) == [("conflict", "a")]
    assert p.rows[0].after.state == State.UPDATE_CONFLICT
    assert [c.split(" ")[0] for c in p.branches[0].conflicts] == ["main.py", "logo.png"]
    untouched, trees = setup("review", "T1")
    assert ops(untouched) == [("update", "a")] and trees.calls == []
    # a clean merge that leaves no directory has nothing to review
    gone, _ = setup("review", None, FakeTrees({("T1", None, "T2"): Merge(None)}))
    assert ops(gone) == [("merge", "a")] and gone.branches == ()
