"""The pure planner: rows keep their ids through moves, customisation is never overwritten."""

from __future__ import annotations

import itertools
from dataclasses import replace

from controller.course.plan import Content, Desired, DirOp, Op, State, Target, needs_build, plan
from controller.course.spec import Node


def unit(path: str, node_id: str | None = None, **kw: object) -> Desired:
    return Desired(Node(id=node_id or path, path=path, type="week", kind="unit",
                        title=kw.pop("title", path), position=1.0, **kw))


def task(path: str, version: str = "1", node_id: str | None = None, **kw: object) -> Desired:
    strategy = kw.pop("strategy", "keep")
    node = Node(id=node_id or path, path=path, type="assignment", kind="assignment",
                title=kw.pop("title", "T"), position=1.0, update_strategy=strategy, **kw)
    target = Target(example_id="ex-" + path.rsplit(".", 1)[-1], identifier="hello",
                    version_id="v" + version, tag=version + ".0.0", digest="d" * 64,
                    deploy_key="key" + version)
    return Desired(node, target)


def deployed(d: Desired, row_id: str, tree: str) -> Content:
    """The row a previous pass wrote for `d`."""
    n, t = d.node, d.target
    return Content(id=row_id, spec_id=n.id, path=n.path, type=n.type, kind=n.kind,
                   title=n.title or "", position=n.position, properties={},
                   example_id=t.example_id if t else None, identifier=t.identifier if t else None,
                   version_id=t.version_id if t else None, tag=t.tag if t else None,
                   digest=t.digest if t else None, deploy_key=t.deploy_key if t else None,
                   deployed_tree=tree if t else None,
                   state=State.DEPLOYED.value if t else None)


def ids() -> object:
    counter = itertools.count(1)
    return lambda: f"row{next(counter)}"


def ops(p) -> list[tuple[str, str]]:
    return [(str(a.op), a.path) for a in p.actions]


def test_first_pass_creates_rows_and_deploys_built_trees() -> None:
    desired = [unit("week1"), task("week1.hello")]
    assert needs_build(desired, []) == ["week1.hello"]
    p = plan(desired, [], {}.get, {"week1.hello": "T1"}, new_id=ids())
    assert ops(p) == [("create", "week1"), ("create", "week1.hello"), ("deploy", "week1.hello")]
    assert p.dir_ops == (DirOp("put", "week1.hello", tree="T1"),)
    assert [w.after.id for w in p.rows] == ["row1", "row2"]
    assert p.rows[1].deployed and p.rows[1].after.deployed_tree == "T1"
    assert p.contents[1].state == State.DEPLOYED


def test_second_pass_with_nothing_changed_does_nothing() -> None:
    desired = [unit("week1"), task("week1.hello")]
    rows = [deployed(desired[0], "r1", ""), deployed(desired[1], "r2", "T1")]
    head = {"week1": "W", "week1.hello": "T1"}.get
    assert needs_build(desired, rows) == []
    p = plan(desired, rows, head, {})
    assert (p.actions, p.dir_ops, p.rows) == ((), (), ())


def test_move_keeps_row_id_and_carries_customised_directory() -> None:
    old = task("week1.hello", node_id="hello")
    rows = [deployed(unit("week1"), "r1", ""), deployed(old, "r2", "T1")]
    desired = [unit("week1"), task("week1.greeting", node_id="hello")]
    head = {"week1": "W", "week1.hello": "CUSTOM"}.get
    p = plan(desired, rows, head, {})
    assert ops(p) == [("move", "week1.greeting"), ("customized", "week1.greeting")]
    assert p.dir_ops == (DirOp("take", "week1.hello"),
                         DirOp("put", "week1.greeting", source="week1.hello"))
    row = p.rows[0].after
    assert (row.id, row.path, row.deployed_tree, row.is_customized) == (
        "r2", "week1.greeting", "T1", True)


def test_unit_move_moves_subtree_with_same_ids() -> None:
    w1, a, b = unit("week1"), task("week1.a"), task("week1.b")
    rows = [deployed(w1, "r1", ""), deployed(a, "r2", "TA"), deployed(b, "r3", "TB")]
    desired = [unit("week_1", node_id="week1"), task("week_1.a", node_id="week1.a"),
               task("week_1.b", node_id="week1.b")]
    head = {"week1": "W", "week1.a": "TA", "week1.b": "TB"}.get
    p = plan(desired, rows, head, {})
    assert {(w.after.id, w.after.path) for w in p.rows} == {
        ("r1", "week_1"), ("r2", "week_1.a"), ("r3", "week_1.b")}
    kinds = [(o.op, o.path) for o in p.dir_ops]
    assert kinds == [("take", "week1.a"), ("take", "week1.b"), ("take", "week1"),
                     ("put", "week_1"), ("put", "week_1.a"), ("put", "week_1.b")]
    assert all(not w.deployed for w in p.rows)


def test_swap_of_two_paths_uses_freed_directories() -> None:
    a, b = task("w.a", node_id="A"), task("w.b", node_id="B")
    rows = [deployed(unit("w"), "r0", ""), deployed(a, "r1", "TA"), deployed(b, "r2", "TB")]
    desired = [unit("w"), task("w.b", node_id="A"), task("w.a", node_id="B")]
    p = plan(desired, rows, {"w": "W", "w.a": "TA", "w.b": "TB"}.get, {})
    assert [str(a.op) for a in p.actions] == ["move", "move"]
    assert [o.op for o in p.dir_ops] == ["take", "take", "put", "put"]


def test_removed_node_is_archived_and_its_directory_removed() -> None:
    w, a, b = unit("w"), task("w.a"), task("w.b")
    rows = [deployed(w, "r0", ""), deployed(a, "r1", "TA"), deployed(b, "r2", "TB")]
    p = plan([w, a], rows, {"w": "W", "w.a": "TA", "w.b": "TB"}.get, {})
    assert ops(p) == [("archive", "w.b"), ("remove-directory", "w.b")]
    assert p.dir_ops == (DirOp("delete", "w.b"),)
    assert p.rows[0].after.archived and p.rows[0].after.id == "r2"
    assert [c.path for c in p.contents] == ["w", "w.a"]
    kept = plan([w, a], rows, {"w": "W", "w.a": "TA", "w.b": "TB"}.get, {}, prune=False)
    assert (kept.actions, kept.dir_ops) == ((), ())


def test_customised_directory_is_flagged_once_and_never_overwritten() -> None:
    a = task("a")
    rows = [deployed(a, "r1", "T1")]
    p = plan([a], rows, {"a": "EDITED"}.get, {})
    assert ops(p) == [("customized", "a")] and p.dir_ops == ()
    flagged = p.rows[0].after
    assert flagged.is_customized and flagged.state == State.CUSTOMIZED
    again = plan([a], [flagged], {"a": "EDITED"}.get, {})
    assert (again.actions, again.rows) == ((), ())
    deleted = plan([a], rows, {}.get, {})
    assert deleted.contents[0].message == "the directory was deleted from the branch"
    assert deleted.dir_ops == ()


def test_update_replaces_clean_directory_and_keeps_customised_one() -> None:
    old = task("a", version="1")
    rows = [deployed(old, "r1", "T1")]
    new = task("a", version="2")
    assert needs_build([new], rows) == ["a"]
    clean = plan([new], rows, {"a": "T1"}.get, {"a": "T2"})
    assert ops(clean) == [("update", "a")]
    assert clean.dir_ops == (DirOp("put", "a", tree="T2"),)
    assert clean.rows[0].after.version_id == "v2" and clean.rows[0].deployed
    kept = plan([new], rows, {"a": "EDITED"}.get, {"a": "T2"})
    assert ops(kept) == [("keep", "a")] and kept.dir_ops == ()
    row = kept.rows[0].after
    assert (row.version_id, row.state) == ("v1", State.UPDATE_AVAILABLE)
    over = plan([task("a", version="2", strategy="overwrite")], rows, {"a": "EDITED"}.get,
                {"a": "T2"})
    assert ops(over) == [("update", "a")]
    assert "replaces the customised directory" in over.actions[0].detail


def test_interrupted_pass_is_adopted_not_redeployed() -> None:
    a = task("a", version="2")
    p = plan([a], [], {"a": "T2"}.get, {"a": "T2"}, new_id=ids())
    assert ops(p) == [("create", "a"), ("adopt", "a")] and p.dir_ops == ()
    assert p.rows[0].after.deployed_tree == "T2"
    rows = [deployed(task("a", version="1"), "r1", "T1")]
    moved_on = plan([a], rows, {"a": "T2"}.get, {"a": "T2"})
    assert ops(moved_on) == [("adopt", "a")] and moved_on.dir_ops == ()


def test_foreign_content_blocks_deploy_and_move() -> None:
    p = plan([task("a")], [], {"a": "FOREIGN"}.get, {"a": "T1"}, new_id=ids())
    assert ops(p)[-1] == ("blocked", "a") and p.dir_ops == ()
    assert p.contents[0].state == State.BLOCKED
    rows = [deployed(task("x", node_id="n"), "r1", "T1")]
    moved = plan([task("y", node_id="n")], rows, {"x": "T1", "y": "FOREIGN"}.get, {})
    assert ops(moved) == [("blocked", "x")] and moved.dir_ops == ()
    assert moved.contents[0].path == "x"


def test_archived_row_is_restored_with_its_id() -> None:
    a = task("a")
    archived = replace(deployed(a, "r1", "T1"), archived=True, state=State.ARCHIVED.value)
    p = plan([a], [archived], {}.get, {"a": "T1"})
    assert ops(p) == [("restore", "a"), ("deploy", "a")]
    assert p.rows[0].after.id == "r1" and not p.rows[0].after.archived


def test_retitle_changes_row_only() -> None:
    a = task("a")
    rows = [deployed(a, "r1", "T1")]
    p = plan([task("a", title="Hello!")], rows, {"a": "T1"}.get, {})
    assert ops(p) == [("retitle", "a")] and p.dir_ops == ()
    assert p.rows[0].changed() == {"title": "Hello!"}


def test_commit_message_lists_directory_changes() -> None:
    p = plan([task("a"), task("b")], [], {}.get, {"a": "T1", "b": "T2"}, new_id=ids())
    message = p.commit_message("org.fam.course")
    assert message.startswith("exlib: org.fam.course: 2 change(s)")
    assert "- deploy a (hello 1.0.0)" in message and "- deploy b" in message
    assert p.actions[0].op is Op.CREATE


def test_directories_a_failed_pass_left_are_healed_only_when_untouched() -> None:
    """`orphans`: what passes pushed without writing rows. Unwanted and unchanged: removed;
    changed since (a lecturer's edit) or held by a row: left alone; wanted by a node whose
    version moved on meanwhile: replaced instead of blocked."""
    desired = [unit("week1"), task("week1.hello", version="2")]
    rows = [deployed(unit("week1"), "r1", "")]
    head = {"week1": "W", "week1.gone": "T9", "week1.edited": "EDITED",
            "week1.hello": "T1"}.get
    orphans = {"week1.gone": "T9", "week1.edited": "T8", "week1.hello": "T1"}
    p = plan(desired, rows, head, {"week1.hello": "T2"}, new_id=ids(), orphans=orphans)
    assert ("remove-directory", "week1.gone") in ops(p)
    assert not any(path == "week1.edited" for _, path in ops(p))
    assert DirOp("delete", "week1.gone") in p.dir_ops
    assert DirOp("put", "week1.hello", tree="T2") in p.dir_ops
    assert p.contents[-1].state == State.DEPLOYED
    without = plan(desired, rows, head, {"week1.hello": "T2"}, new_id=ids())
    assert without.contents[-1].state == State.BLOCKED  # not known as exlib's: never taken
    assert DirOp("delete", "week1.gone") not in without.dir_ops
