"""The course planner: desired tree + resolved versions vs. rows + branch head -> actions.

Pure: the caller supplies the database rows (`Content`), a lookup of the tree id at a content
path in the assignments branch head, and the tree ids of the directories it would deploy. The
result says what to write (rows, with history actions) and which directory operations build
the pass's single commit, in an order that is safe to apply:

1. take (remember and remove) the directories of moving assignments, delete those of removed
   ones, then take what is left of moving units (deepest first) — so a path freed by one node
   can be taken by another in the same pass (swaps work);
2. put moved units (shallowest first), then moved assignments, then deployed trees.

A node keeps its row (and `course_content.id`) as long as it keeps its spec `id`; a changed
path is a move of the row and of the directory, customisation included. Customised means the
directory's tree differs from the tree exlib deployed; such a directory is never replaced
unless the node's update strategy says so (DESIGN §7.5).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Literal

from controller.course import paths
from controller.course.spec import Kind, Node, Strategy


class Op(StrEnum):
    CREATE = "create"
    RESTORE = "restore"  # an archived row comes back (same id: its submissions too)
    MOVE = "move"
    RETITLE = "retitle"  # title, position, type or properties of the row
    DEPLOY = "deploy"
    ADOPT = "adopt"  # the branch already holds exactly what would be deployed
    UPDATE = "update"  # replace the directory with another version
    KEEP = "keep"  # an update exists, the directory is customised, strategy keeps it
    CUSTOMIZED = "customized"  # a lecturer changed a deployed directory (reported once)
    BLOCKED = "blocked"  # the target directory holds content exlib did not put there
    ARCHIVE = "archive"
    REMOVE_DIRECTORY = "remove-directory"
    STUDENT_TEMPLATE = "student-template"


class State(StrEnum):
    DEPLOYED = "Deployed"
    CUSTOMIZED = "Customized"
    UPDATE_AVAILABLE = "UpdateAvailable"
    BLOCKED = "Blocked"
    ARCHIVED = "Archived"


@dataclass(frozen=True)
class Target:
    """The resolved version an assignment should hold, and the key of its deployed form."""

    example_id: str
    identifier: str
    version_id: str
    tag: str | None
    digest: str
    deploy_key: str  # changes whenever the deployed directory would change
    title: str | None = None


@dataclass(frozen=True)
class Desired:
    node: Node
    target: Target | None = None  # assignments that name an example


@dataclass(frozen=True)
class Content:
    """A `course_content` row as the planner sees it (before and after the pass)."""

    id: str
    spec_id: str
    path: str
    type: str
    kind: Kind
    title: str
    position: float
    properties: Mapping[str, Any] = field(default_factory=dict)
    example_id: str | None = None
    identifier: str | None = None
    version_id: str | None = None
    tag: str | None = None
    digest: str | None = None
    version_spec: str | None = None
    deploy_key: str | None = None
    deployed_tree: str | None = None
    deployed_commit: str | None = None
    is_customized: bool = False
    state: str | None = None
    message: str | None = None
    archived: bool = False


@dataclass(frozen=True)
class Action:
    op: Op
    path: str
    spec_id: str
    row_id: str
    from_path: str | None = None
    detail: str = ""

    @property
    def changes_directory(self) -> bool:
        return self.op in (Op.MOVE, Op.DEPLOY, Op.UPDATE, Op.REMOVE_DIRECTORY) and not (
            self.op is Op.MOVE and self.detail == "no directory")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": str(self.op), "path": self.path, "id": self.row_id}
        if self.from_path:
            out["from"] = self.from_path
        if self.detail:
            out["detail"] = self.detail
        return out

    def __str__(self) -> str:
        where = f"{self.from_path} -> {self.path}" if self.from_path else self.path
        return f"{self.op} {where}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class DirOp:
    """One directory operation on the branch tree, by content path (see module doc)."""

    op: Literal["take", "delete", "put"]
    path: str
    tree: str | None = None  # put: the object to place
    source: str | None = None  # put: the path taken earlier
    merge: bool = False  # put: merge into an existing directory (units)


@dataclass(frozen=True)
class RowWrite:
    before: Content | None
    after: Content
    deployed: bool  # the directory was (re)written: record the pass's commit and time

    def changed(self) -> dict[str, Any]:
        """The fields to write (all of them for a new row)."""
        if self.before is None:
            return {f.name: getattr(self.after, f.name) for f in fields(Content)}
        return {f.name: getattr(self.after, f.name) for f in fields(Content)
                if getattr(self.after, f.name) != getattr(self.before, f.name)}


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    dir_ops: tuple[DirOp, ...]
    rows: tuple[RowWrite, ...]
    contents: tuple[Content, ...]  # every live row after the pass, in tree order

    @property
    def changes_branch(self) -> bool:
        return bool(self.dir_ops)

    def commit_message(self, course_path: str) -> str:
        lines = [str(a) for a in self.actions if a.changes_directory]
        return f"exlib: {course_path}: {len(lines)} change(s)\n\n" + "\n".join(
            f"- {line}" for line in lines) + "\n"


HeadLookup = Callable[[str], str | None]


def needs_build(desired: Sequence[Desired], rows: Sequence[Content]) -> list[str]:
    """Spec ids whose deployed tree the caller must build before planning.

    Unchanged nodes reuse the recorded `deployed_tree`, so an idle pass reads no example files.
    """
    live = {r.spec_id: r for r in rows if not r.archived}
    return [d.node.id for d in desired if d.target is not None and (
        (row := live.get(d.node.id)) is None or row.deployed_tree is None
        or row.deploy_key != d.target.deploy_key)]


def plan(desired: Sequence[Desired], rows: Sequence[Content], head: HeadLookup,
         built: Mapping[str, str], *, prune: bool = True,
         new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> Plan:
    """Compare desired and actual state; see the module docstring for the result's order."""
    return _Planner(desired, rows, head, built, prune, new_id).run()


def _strategy_for_customised(strategy: Strategy) -> Op:
    """What an update does to a customised directory (merge arrives with update strategies)."""
    return Op.UPDATE if strategy == "overwrite" else Op.KEEP


class _Planner:
    def __init__(self, desired: Sequence[Desired], rows: Sequence[Content], head: HeadLookup,
                 built: Mapping[str, str], prune: bool, new_id: Callable[[], str]) -> None:
        self.desired = desired
        self.head = head
        self.built = built
        self.prune = prune
        self.new_id = new_id
        self.live = {r.spec_id: r for r in rows if not r.archived}
        self.archived: dict[str, Content] = {}
        for r in rows:
            if r.archived:
                self.archived.setdefault(r.spec_id, r)
        wanted = {d.node.id for d in desired}
        self.removed = [r for r in self.live.values() if r.spec_id not in wanted and prune]
        moving = [(self.live[d.node.id], d.node) for d in desired
                  if d.node.id in self.live and self.live[d.node.id].path != d.node.path]
        self.freed = {r.path for r, _ in moving} | {r.path for r in self.removed}
        self.actions: list[Action] = []
        self.takes: list[DirOp] = []
        self.unit_takes: list[DirOp] = []
        self.unit_puts: list[DirOp] = []
        self.puts: list[DirOp] = []
        self.deploys: list[DirOp] = []
        self.writes: list[RowWrite] = []
        self.contents: list[Content] = []

    def is_free(self, path: str) -> bool:
        """Nothing will be at `path` once this pass's takes and deletes have run."""
        if self.head(path) is None:
            return True
        probe: str | None = path
        while probe is not None:
            if probe in self.freed:
                return True
            probe = paths.parent(probe)
        return False

    def act(self, op: Op, row: Content, *, from_path: str | None = None,
            detail: str = "") -> None:
        self.actions.append(Action(op, row.path, row.spec_id, row.id, from_path, detail))

    def run(self) -> Plan:
        for d in self.desired:
            self.node(d)
        for row in self.removed:
            self.remove(row)
        self.unit_takes.sort(key=lambda op: -op.path.count("."))
        self.unit_puts.sort(key=lambda op: op.path.count("."))
        ops = (*self.takes, *self.unit_takes, *self.unit_puts, *self.puts, *self.deploys)
        return Plan(tuple(self.actions), ops, tuple(self.writes), tuple(self.contents))

    def node(self, d: Desired) -> None:
        n = d.node
        before = self.live.get(n.id)
        restored = self.archived.get(n.id) if before is None else None
        if restored is not None:  # its directory was removed when it was archived
            restored = replace(restored, deploy_key=None, deployed_tree=None,
                               is_customized=False)
        base = before or restored
        title = n.title or (d.target.title if d.target else None) or n.label
        after = Content(
            id=base.id if base else self.new_id(), spec_id=n.id, path=n.path, type=n.type,
            kind=n.kind, title=title, position=n.position, properties=dict(n.properties),
            version_spec=n.version)
        if base is not None:  # deployment fields carry over; decided below
            after = replace(base, spec_id=n.id, path=n.path, type=n.type, kind=n.kind,
                            title=title, position=n.position, properties=dict(n.properties),
                            version_spec=n.version, archived=False)
        if before is None:
            self.act(Op.RESTORE if restored else Op.CREATE, after)
        elif before.title != after.title or before.position != after.position or (
                before.type != after.type or before.properties != after.properties):
            self.act(Op.RETITLE, after)
        deployed = False
        if base is not None and base.path != n.path:
            after, moved_ok = self.move(base, after, d)
            if not moved_ok:
                self.finish(before, after, deployed)
                return
        if d.target is not None:
            after, deployed = self.deploy(base, after, d.target, n.update_strategy)
        elif n.kind == "assignment" and base is not None and base.example_id is not None:
            after = replace(after, example_id=None, identifier=None, version_id=None, tag=None,
                            digest=None)
        self.finish(before, after, deployed)

    def finish(self, before: Content | None, after: Content, deployed: bool) -> None:
        if before is None or after != before or deployed:
            self.writes.append(RowWrite(before, after, deployed))
        self.contents.append(after)

    def move(self, base: Content, after: Content, d: Desired) -> tuple[Content, bool]:
        """Move the row and its directory; refuse when the new place is taken by others."""
        old, new = base.path, d.node.path
        if d.node.kind == "unit":
            if self.head(old) is not None:
                self.unit_takes.append(DirOp("take", old))
                self.unit_puts.append(DirOp("put", new, source=old, merge=True))
                self.act(Op.MOVE, after, from_path=old)
            else:
                self.act(Op.MOVE, after, from_path=old, detail="no directory")
            return after, True
        if self.head(old) is None:  # gone (or moved by an interrupted pass): nothing to carry
            self.act(Op.MOVE, after, from_path=old, detail="no directory")
            return after, True
        if not self.is_free(new):
            blocked = replace(base, state=State.BLOCKED.value, message=(
                f"cannot move to `{new}`: its directory holds content exlib did not deploy"))
            self.act(Op.BLOCKED, blocked, detail=blocked.message or "")
            return blocked, False
        self.takes.append(DirOp("take", old))
        self.puts.append(DirOp("put", new, source=old))
        self.act(Op.MOVE, after, from_path=old)
        return after, True

    def current_tree(self, base: Content | None, path: str) -> str | None:
        """The tree at the node's directory once this pass's moves are done."""
        if base is not None and base.path == path:
            return self.head(path)
        if base is not None and self.head(base.path) is not None:
            return self.head(base.path)  # moving: the old directory comes along
        return None if self.is_free(path) else self.head(path)

    def deploy(self, base: Content | None, after: Content, target: Target,
               strategy: Strategy) -> tuple[Content, bool]:
        """Decide the directory of an assignment; returns the row and whether it was written."""
        same_key = base is not None and base.deploy_key == target.deploy_key
        tree = base.deployed_tree if same_key and base else self.built[after.spec_id]
        current = self.current_tree(base, after.path)
        fresh = replace(after, example_id=target.example_id, identifier=target.identifier,
                        version_id=target.version_id, tag=target.tag, digest=target.digest,
                        deploy_key=target.deploy_key, deployed_tree=tree, is_customized=False,
                        state=State.DEPLOYED.value, message=None)
        label = f"{target.identifier} {target.tag or target.digest[:19]}"
        if base is None or base.deployed_tree is None:
            if current is None:
                self.deploys.append(DirOp("put", after.path, tree=tree))
                self.act(Op.DEPLOY, fresh, detail=label)
                return fresh, True
            if current == tree:
                self.act(Op.ADOPT, fresh, detail=label)
                return fresh, True
            message = ("the directory already holds content exlib did not deploy; move it away "
                       "or choose another path")
            if after.state != State.BLOCKED.value:
                self.act(Op.BLOCKED, after, detail=message)
            return replace(fresh, deploy_key=None, deployed_tree=None,
                           state=State.BLOCKED.value, message=message), False
        customised = current != base.deployed_tree
        if same_key:
            if not customised:
                return replace(after, is_customized=False, state=State.DEPLOYED.value,
                               message=None), False
            message = ("the directory was deleted from the branch" if current is None
                       else "the directory differs from what exlib deployed")
            if not base.is_customized:
                self.act(Op.CUSTOMIZED, after, detail=message)
            return replace(after, is_customized=True, state=State.CUSTOMIZED.value,
                           message=message), False
        if current == tree:
            self.act(Op.ADOPT, fresh, detail=label)
            return fresh, True
        op = _strategy_for_customised(strategy) if customised else Op.UPDATE
        if op is Op.KEEP:
            message = f"customised; {label} is available (updateStrategy {strategy})"
            if after.state != State.UPDATE_AVAILABLE.value or after.message != message:
                self.act(Op.KEEP, after, detail=message)
            return replace(after, is_customized=True, state=State.UPDATE_AVAILABLE.value,
                           message=message), False
        self.deploys.append(DirOp("put", after.path, tree=tree))
        detail = f"{base.identifier} {base.tag or base.digest or ''} -> {label}"
        if customised:
            detail += "; replaces the customised directory (kept in Git history)"
        self.act(Op.UPDATE, fresh, detail=detail)
        return fresh, True

    def remove(self, row: Content) -> None:
        after = replace(row, archived=True, state=State.ARCHIVED.value, message=None)
        self.act(Op.ARCHIVE, after)
        if row.kind == "assignment" and self.head(row.path) is not None:
            self.takes.append(DirOp("delete", row.path))
            detail = "customised directory (kept in Git history)" if (
                self.head(row.path) != row.deployed_tree) else ""
            self.act(Op.REMOVE_DIRECTORY, after, detail=detail)
        self.writes.append(RowWrite(row, after, False))
