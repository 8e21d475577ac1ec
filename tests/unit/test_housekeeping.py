"""Pure housekeeping rules: which library objects gc may take, which update branches a pass
finished."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from controller.course.branches import finished
from controller.course.plan import Content, State
from controller.library.gc import collectable
from controller.library.layout import prefix_of
from controller.store.objects import ObjectInfo

NOW = datetime(2026, 1, 2, tzinfo=UTC)
V = "repositories/r1/e1/" + "a" * 64 + "/"


def test_version_prefix_only_for_the_library_layout() -> None:
    assert prefix_of(V + "files/x/y.py") == V
    assert prefix_of(V + "metadata.json") == V
    for key in ("repositories/r1/e1/abc", "exports/r1/e1/d/x", "repositories//e1/d/x", "x"):
        assert prefix_of(key) is None


def test_collectable_skips_referenced_and_marks_young_and_unknown_ages() -> None:
    old, young = NOW - timedelta(days=2), NOW
    objects = [ObjectInfo(V + "files/a", "e", 1, old),
               ObjectInfo("repositories/r1/e2/d/files/b", "e", 2, old),
               ObjectInfo("repositories/r1/e3/d/files/c", "e", 3, young),
               ObjectInfo("repositories/r1/e4/d/files/d", "e", 4, None),
               ObjectInfo("other/x", "e", 5, old)]
    got = [(o.key, ripe) for o, ripe in collectable(objects, {V}, NOW - timedelta(days=1))]
    assert got == [("repositories/r1/e2/d/files/b", True),
                   ("repositories/r1/e3/d/files/c", False),
                   ("repositories/r1/e4/d/files/d", False)]


def row(rid: str, path: str, branch: str | None, state: str = State.UPDATE_CONFLICT.value,
        archived: bool = False) -> Content:
    return Content(id=rid, spec_id=rid, path=path, type="t", kind="assignment", title=rid,
                   position=0, update_branch=branch, state=state, archived=archived)


def test_finished_branches_are_those_no_conflict_needs_after_the_pass() -> None:
    before = [row("a", "w.a", "exlib/update/c/w.a"), row("b", "w.b", "exlib/update/c/w.b"),
              row("c", "w.c", "exlib/update/c/w.c"), row("d", "w.d", None),
              row("e", "w.e", "exlib/update/c/w.e", archived=True)]
    after = [replace(before[0], update_branch=None, state=State.DEPLOYED.value),
             before[1],  # still conflicting: wanted
             replace(before[2], archived=True, state=State.ARCHIVED.value)]
    done = {(f.branch, f.path, f.after_path) for f in finished(before, after)}
    assert done == {("exlib/update/c/w.a", "w.a", "w.a"), ("exlib/update/c/w.c", "w.c", None)}
    # branches found on the server: those no conflict wants are finished too
    listed = ["exlib/update/c/w.b", "exlib/update/c/w.a", "exlib/update/c/w.z"]
    done = {(f.branch, f.path, f.after_path, f.row_id)
            for f in finished(before, after, listed)}
    assert done == {("exlib/update/c/w.a", "w.a", "w.a", "a"),
                    ("exlib/update/c/w.c", "w.c", None, "c"),
                    ("exlib/update/c/w.z", "w.z", None, "")}
    # a moved course: the same node's conflict now lives under the new course path
    moved = [replace(before[1], update_branch="exlib/update/c2/w.b")]
    assert [f.branch for f in finished(before[1:2], moved)] == ["exlib/update/c/w.b"]
