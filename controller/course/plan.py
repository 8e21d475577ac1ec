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
unless the node's update strategy says so (DESIGN §7.5, docs/updates.md):

- not customised: replace with the new version's tree;
- `keep`: leave it, state `UpdateAvailable` naming the version it could move to;
- `overwrite`: replace; the action names the lecturer's changes it replaced;
- `merge`: three-way merge (base = `deployed_tree`, ours = the directory, theirs = the new
  tree) through the caller's `TreeOps`. Clean: the merged tree goes into the pass's commit and
  `deployed_tree` becomes the new version's pristine tree — the base of the next merge — so
  the lecturer's edits stay visible as customisation. Conflicts: nothing changes on the
  branch; a `BranchOp` asks the caller to push the merge result to
  `exlib/update/<course path>/<node path>`, state `UpdateConflict` lists the files. When the
  caller's `TreeOps.merged` says that branch reached the assignments branch, the new version
  is recorded as deployed (customised when the directory differs from its tree).
- `review`: the same merge, but even a clean result goes to the update branch (state
  `UpdateReview`) for the lecturer to merge, so nothing changes a customised directory
  without a person looking at it; a conflicting one is an `UpdateConflict` as with `merge`.

A pass that pushed its commit and then failed to write its rows leaves directories no row
knows of. The caller finds them in exlib's own commits since the last recorded pass
(`orphans`: content path -> the tree that pass put there) and the planner heals them: a node
that wants the path gets it (replaced if its version changed meanwhile), and a directory no
node wants is removed — in both cases only while it still holds exactly what exlib put
there, so a lecturer's edits are never taken for leftovers.

Git work (merging trees, diffing, ancestry) is behind `TreeOps`; the planner only decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

from controller.course import paths
from controller.course.spec import Node, NodeKind, Strategy
from controller.meta.names import version_label


class Op(StrEnum):
    """What the planner did with one node: the verbs of actions, reports and commit messages."""

    CREATE = "create"
    RESTORE = "restore"  # an archived row comes back (same id: its submissions too)
    MOVE = "move"
    RETITLE = "retitle"  # title, position, type or properties of the row
    DEPLOY = "deploy"
    ADOPT = "adopt"  # the branch already holds exactly what would be deployed
    UPDATE = "update"  # replace the directory with another version
    KEEP = "keep"  # an update exists, the directory is customised, strategy keeps it
    MERGE = "merge"  # a clean three-way merge of an update into a customised directory
    CONFLICT = "conflict"  # the merge conflicts: the result goes to an update branch
    REVIEW = "review"  # updateStrategy review: the (clean) merge goes to an update branch
    RESOLVED = "resolved"  # the update branch was merged by hand: the version is recorded
    CUSTOMIZED = "customized"  # a lecturer changed a deployed directory (reported once)
    BLOCKED = "blocked"  # the target directory holds content exlib did not put there
    ARCHIVE = "archive"
    REMOVE_DIRECTORY = "remove-directory"
    STUDENT_TEMPLATE = "student-template"
    MOVE_COURSE = "move-course"  # spec.course.path changed: the course row moves, ids stay
    DELETE_UPDATE_BRANCH = "delete-update-branch"  # merged or superseded (docs/updates.md)
    CREATE_PROJECT = "create-project"  # spec.provider: a project was (would be) created
    OPEN_REQUEST = "open-request"  # a merge request for an update branch
    UPDATE_REQUEST = "update-request"  # its title or description changed
    CLOSE_REQUEST = "close-request"  # superseded by a newer version, or no longer needed


class State(StrEnum):
    """A content's state as `exlib status` and the CourseStructure status show it."""

    DEPLOYED = "Deployed"
    CUSTOMIZED = "Customized"
    UPDATE_AVAILABLE = "UpdateAvailable"
    UPDATE_CONFLICT = "UpdateConflict"
    UPDATE_REVIEW = "UpdateReview"  # updateStrategy review: a clean merge waits on its branch
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
    """A node of the spec with the version it should hold (assignments naming an example)."""

    node: Node
    target: Target | None = None  # assignments that name an example


@dataclass(frozen=True)
class Content:
    """A `course_content` row as the planner sees it (before and after the pass)."""

    id: str
    spec_id: str
    path: str
    type: str
    kind: NodeKind
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
    # An update that is not applied (keep, or a conflicting merge): the version it would move
    # to, and for a conflict the update branch exlib pushed (its commit and directory tree).
    pending_version_id: str | None = None
    pending_tag: str | None = None  # the pending version's label (not stored)
    pending_key: str | None = None
    update_branch: str | None = None
    update_commit: str | None = None
    update_tree: str | None = None
    pending_tree: str | None = None  # the pending version's own deployed tree (a conflict's)
    # The merge request of the update branch (spec.provider): written by the pass's request
    # step, carried over by the planner, cleared once the request is closed or merged.
    update_request_url: str | None = None


#: Content fields describing an update that is not applied; cleared once a version is deployed.
NO_PENDING: dict[str, Any] = {"pending_version_id": None, "pending_tag": None,
                              "pending_key": None, "update_branch": None,
                              "update_commit": None, "update_tree": None,
                              "pending_tree": None}


@dataclass(frozen=True)
class Action:
    """One thing the pass does to one node: reported, and the line of the commit message."""

    op: Op
    path: str
    spec_id: str
    row_id: str
    from_path: str | None = None
    detail: str = ""

    @property
    def changes_directory(self) -> bool:
        """Whether the action changes the node's directory on the assignments branch."""
        return self.op in (Op.MOVE, Op.DEPLOY, Op.UPDATE, Op.MERGE, Op.REMOVE_DIRECTORY) and (
            not self.detail.startswith(NO_DIRECTORY))

    @property
    def overwrites_customisation(self) -> bool:
        """Whether the action replaced a lecturer's changes (updateStrategy overwrite)."""
        return self.op == Op.UPDATE and REPLACES_CUSTOMISED in self.detail

    def to_dict(self) -> dict[str, Any]:
        """The `exlib apply -o json` form."""
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


#: The states of a content whose update waits on its update branch.
ON_BRANCH = (State.UPDATE_CONFLICT.value, State.UPDATE_REVIEW.value)


@dataclass(frozen=True)
class BranchOp:
    """Push a merge to an update branch (a conflict, or a review): the assignments head with
    `tree` at the node's directory (the caller builds it on the head it ends the pass with).
    The rest says what the update is, for the merge request that may hand it over."""

    row_id: str
    path: str
    branch: str
    tree: str
    message: str  # the commit message
    example: str = ""
    old: str = ""  # the deployed version's label
    new: str = ""  # the pending version's label
    conflicts: tuple[str, ...] = ()  # "file (how)"; empty: a clean merge put up for review
    changes: tuple[str, ...] = ()  # the library's changes (base -> new version), "file (how)"


@dataclass(frozen=True)
class Conflict:
    """One file a merge could not combine, and how each side changed it."""

    path: str  # relative to the assignment's directory
    kind: str  # e.g. "changed by the lecturer and in the library"

    def __str__(self) -> str:
        return f"{self.path} ({self.kind})"


@dataclass(frozen=True)
class Merge:
    """A three-way merge of one directory, as `TreeOps.merge` computed it."""

    tree: str | None  # the result (conflicts: markers in text files); None: empty
    conflicts: tuple[Conflict, ...] = ()
    changed: tuple[str, ...] = ()  # the lecturer's changes (base -> ours), e.g. "a.py (changed)"

    @property
    def clean(self) -> bool:
        """Whether the merge combined every file."""
        return not self.conflicts


class TreeOps(Protocol):
    """The Git questions an update asks, answered by the caller (controller.course.deploy)."""

    def merge(self, base: str, ours: str | None, theirs: str, label: str) -> Merge:
        """Merge directory trees; `ours` None = the directory is gone; `label` names theirs."""
        ...

    def changes(self, base: str, ours: str | None) -> tuple[str, ...]:
        """The lecturer's changes from `base` to `ours`, one "path (how)" per file."""
        ...

    def merged(self, commit: str, branch: str | None, path: str, current: str | None) -> bool:
        """Did the update branch exlib pushed as `commit` reach the assignments branch?"""
        ...


class NoTreeOps:
    """For passes that cannot meet an update (archiving): every merge conflicts."""

    def merge(self, base: str, ours: str | None, theirs: str, label: str) -> Merge:
        """A conflict: this pass cannot merge."""
        return Merge(ours, (Conflict(".", "no merge support in this pass"),))

    def changes(self, base: str, ours: str | None) -> tuple[str, ...]:
        """None known."""
        return ()

    def merged(self, commit: str, branch: str | None, path: str, current: str | None) -> bool:
        """Never: this pass does not look at update branches."""
        return False


UPDATE_BRANCH_PREFIX = "exlib/update"
NO_DIRECTORY = "no directory"
REPLACES_CUSTOMISED = "replaces the customised directory"
LEFT_BY_A_FAILED_PASS = "left by a pass that failed before writing its rows"
MAX_FILES_NAMED = 10


def update_branch(course_path: str, path: str) -> str:
    """The branch a conflicting update of content `path` is pushed to (DESIGN §7.5)."""
    return f"{UPDATE_BRANCH_PREFIX}/{course_path}/{path}"


def name_files(items: Sequence[object]) -> str:
    """A bounded, readable list of files for messages."""
    shown = ", ".join(str(i) for i in items[:MAX_FILES_NAMED])
    more = len(items) - MAX_FILES_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class RowWrite:
    """One row to write, with what it was, so only the changed fields are written."""

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
    """Everything one pass changes: actions to report, directory operations for the single
    commit (in a safe order), rows to write, the live rows after it, update branches to push."""

    actions: tuple[Action, ...]
    dir_ops: tuple[DirOp, ...]
    rows: tuple[RowWrite, ...]
    contents: tuple[Content, ...]  # every live row after the pass, in tree order
    branches: tuple[BranchOp, ...] = ()  # update branches to push after the commit

    def with_branch_results(self, results: Mapping[str, tuple[str | None, str | None]]
                            ) -> Plan:
        """The plan once the caller pushed `branches`: row id -> (commit, problem).

        A commit is recorded as the row's `update_commit` (a row the plan left alone gets a
        write when it changes: a deleted update branch pushed again); a problem (the push
        failed) is added to the message and forgets the branch tree, so the next pass tries
        again.
        """
        def settle(c: Content) -> Content:
            if c.id not in results:
                return c
            commit, problem = results[c.id]
            if problem:
                return replace(c, update_commit=None, update_tree=None,
                               message=f"{c.message}; {problem}")
            return replace(c, update_commit=commit)

        rows = [replace(w, after=settle(w.after)) for w in self.rows]
        written = {w.after.id for w in rows}
        rows += [RowWrite(c, settle(c), False) for c in self.contents
                 if c.id not in written and settle(c) != c]
        return replace(self, rows=tuple(rows),
                       contents=tuple(settle(c) for c in self.contents))

    @property
    def changes_branch(self) -> bool:
        """Whether the pass needs a commit on the assignments branch."""
        return bool(self.dir_ops)

    def commit_message(self, course_path: str) -> str:
        """The pass's commit message: one line per directory it changes."""
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
         new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
         trees: TreeOps | None = None, course_path: str = "",
         orphans: Mapping[str, str] | None = None) -> Plan:
    """Compare desired and actual state; see the module docstring for the result's order.

    `trees` answers the Git questions of updates (merge, diff, "was the update branch
    merged?"); `course_path` names the update branches; `orphans` are the directories
    passes pushed without writing their rows (content path -> tree id).
    """
    return _Planner(desired, rows, head, built, prune, new_id, trees or NoTreeOps(),
                    course_path, orphans or {}).run()


DELETED = "the directory was deleted from the branch"


def _customised_message(row: Content, current: str | None) -> str:
    """Why a directory counts as customised; a merge's own message stays while it holds."""
    if current is None:
        return DELETED
    if row.state == State.CUSTOMIZED.value and row.message and row.message != DELETED:
        return row.message  # e.g. "merged X with the lecturer's changes (...)"
    return "the directory differs from what exlib deployed"


@dataclass
class _Case:
    """What `_Planner.deploy` knows about one assignment: everything DEPLOY_RULES read."""

    base: Content | None  # the row before the pass (None: a new node)
    after: Content  # the row as the spec wants it, deployment fields not yet decided
    target: Target
    strategy: Strategy
    tree: str  # the tree to deploy
    current: str | None  # what the directory holds once this pass's moves are done
    orphan: str | None  # what a failed pass left at the path (content path -> tree)
    trees: TreeOps

    @property
    def first(self) -> bool:
        """Nothing was deployed for this row yet (or it was Blocked)."""
        return self.base is None or self.base.deployed_tree is None

    @property
    def same_version(self) -> bool:
        """The version deployed is the version wanted (same deploy key)."""
        return self.base is not None and self.base.deploy_key == self.target.deploy_key

    @property
    def changed_by_lecturer(self) -> bool:
        """The directory differs from the tree exlib deployed there."""
        return self.base is not None and self.current != self.base.deployed_tree

    def update_merged(self) -> bool:
        """The update branch pushed for this very version was merged by hand."""
        b = self.base
        return bool(b is not None and b.update_commit and b.pending_key == self.target.deploy_key
                    and self.trees.merged(b.update_commit, b.update_branch, self.after.path,
                                          self.current))

    @property
    def label(self) -> str:
        """The wanted version, as messages name it: `identifier tag` (or short digest)."""
        return f"{self.target.identifier} {version_label(self.target.tag, self.target.digest)}"

    @property
    def old(self) -> str:
        """The deployed version, as messages name it."""
        assert self.base is not None
        return f"{self.base.identifier} {version_label(self.base.tag, self.base.digest)}"

    @property
    def fresh(self) -> Content:
        """The row with the target deployed as is."""
        t = self.target
        return replace(self.after, example_id=t.example_id, identifier=t.identifier,
                       version_id=t.version_id, tag=t.tag, digest=t.digest,
                       deploy_key=t.deploy_key, deployed_tree=self.tree, is_customized=False,
                       state=State.DEPLOYED.value, message=None, **NO_PENDING)

    @property
    def pending(self) -> Content:
        """The row keeping its directory, with the target recorded as the pending update."""
        t = self.target
        return replace(self.after, is_customized=True, pending_version_id=t.version_id,
                       pending_tag=version_label(t.tag, t.digest), pending_key=t.deploy_key)


class _Planner:
    """One planning run: walks the desired nodes against the rows and the branch head, and
    collects actions, directory operations, row writes and update branches into a Plan."""

    def __init__(self, desired: Sequence[Desired], rows: Sequence[Content], head: HeadLookup,
                 built: Mapping[str, str], prune: bool, new_id: Callable[[], str],
                 trees: TreeOps, course_path: str, orphans: Mapping[str, str]) -> None:
        self.desired = desired
        self.orphans = orphans
        self.head = head
        self.built = built
        self.prune = prune
        self.new_id = new_id
        self.trees = trees
        self.course_path = course_path
        self.branches: list[BranchOp] = []
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
        """Record an action on `row` (its path, spec id and row id)."""
        self.actions.append(Action(op, row.path, row.spec_id, row.id, from_path, detail))

    def run(self) -> Plan:
        """Plan every desired node, the removed rows and what failed passes left, in that order."""
        for d in self.desired:
            self.node(d)
        for row in self.removed:
            self.remove(row)
        self.heal()
        self.unit_takes.sort(key=lambda op: -op.path.count("."))
        self.unit_puts.sort(key=lambda op: op.path.count("."))
        ops = (*self.takes, *self.unit_takes, *self.unit_puts, *self.puts, *self.deploys)
        return Plan(tuple(self.actions), ops, tuple(self.writes), tuple(self.contents),
                    tuple(self.branches))

    def node(self, d: Desired) -> None:
        """One desired node: its row (new, restored, retitled), its move, its directory."""
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
        """Keep the row as it ends the pass; write it if it changed or its directory was written."""
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
        """Decide the directory of an assignment; returns the row and whether it was written.

        The situation is looked up in DEPLOY_RULES (first match wins), and the rule's method
        acts on it: one method per outcome instead of one function with a return each."""
        if base is not None and (base.update_commit and base.pending_tree
                                 and base.pending_key != target.deploy_key):
            base, after = self.merged_older(base, after)
        same_key = base is not None and base.deploy_key == target.deploy_key
        case = _Case(base, after, target, strategy,
                     tree=base.deployed_tree if same_key and base else self.built[after.spec_id],
                     current=self.current_tree(base, after.path),
                     orphan=self.orphans.get(after.path), trees=self.trees)
        for _situation, applies, outcome in DEPLOY_RULES:
            if applies(case):
                return outcome(self, case)
        raise AssertionError("DEPLOY_RULES ends with a rule that always applies")

    def put_new(self, c: _Case) -> tuple[Content, bool]:
        """Nothing at the path: deploy the version there."""
        self.deploys.append(DirOp("put", c.after.path, tree=c.tree))
        self.act(Op.DEPLOY, c.fresh, detail=c.label)
        return c.fresh, True

    def adopt(self, c: _Case) -> tuple[Content, bool]:
        """The directory already holds exactly the version: record it, change nothing."""
        self.act(Op.ADOPT, c.fresh, detail=c.label)
        return c.fresh, True

    def replace_orphan(self, c: _Case) -> tuple[Content, bool]:
        """What a failed pass left there (exlib's own, unchanged) is replaced."""
        self.deploys.append(DirOp("put", c.after.path, tree=c.tree))
        self.act(Op.DEPLOY, c.fresh, detail=f"{c.label}; replaces what was {LEFT_BY_A_FAILED_PASS}")
        return c.fresh, True

    def occupied(self, c: _Case) -> tuple[Content, bool]:
        """Someone else's content at the path: never overwritten, the content is Blocked."""
        message = ("the directory already holds content exlib did not deploy; move it away "
                   "or choose another path")
        if c.after.state != State.BLOCKED.value:
            self.act(Op.BLOCKED, c.after, detail=message)
        return replace(c.fresh, deploy_key=None, deployed_tree=None,
                       state=State.BLOCKED.value, message=message), False

    def unchanged(self, c: _Case) -> tuple[Content, bool]:
        """The deployed version is still wanted and the directory holds it."""
        return replace(c.after, **NO_PENDING, is_customized=False, state=State.DEPLOYED.value,
                       message=None), False

    def customised(self, c: _Case) -> tuple[Content, bool]:
        """The deployed version is still wanted but a lecturer changed it (reported once)."""
        assert c.base is not None
        settled = replace(c.after, **NO_PENDING)
        message = _customised_message(c.after, c.current)
        if not c.base.is_customized:
            self.act(Op.CUSTOMIZED, settled, detail=message)
        return replace(settled, is_customized=True, state=State.CUSTOMIZED.value,
                       message=message), False

    def update(self, c: _Case) -> tuple[Content, bool]:
        """Another version is wanted and nobody changed the directory: replace it."""
        self.deploys.append(DirOp("put", c.after.path, tree=c.tree))
        self.act(Op.UPDATE, c.fresh, detail=f"{c.old} -> {c.label}")
        return c.fresh, True

    def merged_by_hand(self, c: _Case) -> tuple[Content, bool]:
        """The update branch of this very version reached the assignments branch."""
        return self.resolved(c.fresh, c.current, c.tree, c.label), True

    def keep(self, c: _Case) -> tuple[Content, bool]:
        """updateStrategy keep: the customised directory stays, the update is offered."""
        message = f"customised; {c.label} is available (updateStrategy keep)"
        if c.after.state != State.UPDATE_AVAILABLE.value or c.after.message != message:
            self.act(Op.KEEP, c.pending, detail=message)
        return replace(c.pending, state=State.UPDATE_AVAILABLE.value, message=message), False

    def overwrite(self, c: _Case) -> tuple[Content, bool]:
        """updateStrategy overwrite: replace, naming the lecturer's changes it replaced."""
        assert c.base is not None and c.base.deployed_tree is not None
        changes = self.trees.changes(c.base.deployed_tree, c.current)
        self.deploys.append(DirOp("put", c.after.path, tree=c.tree))
        what = f" (the lecturer's changes: {name_files(changes)})" if changes else ""
        self.act(Op.UPDATE, c.fresh, detail=(
            f"{c.old} -> {c.label}; {REPLACES_CUSTOMISED}{what}; the old content "
            "stays in Git history"))
        return c.fresh, True

    def merge_update(self, c: _Case) -> tuple[Content, bool]:
        """updateStrategy merge or review: a three-way merge (see `merge`)."""
        assert c.base is not None
        return self.merge(c.base, c.pending, c.fresh, c.current, c.tree, c.old, c.label,
                          review=c.strategy == "review")

    def merged_older(self, base: Content, after: Content) -> tuple[Content, Content]:
        """A newer version is wanted while the update branch of the pending one is open: when
        that branch was merged by hand, the pending version is what the directory derives
        from. Record it as deployed (its own tree the base of what follows), so the newer
        version is merged from there, not from the version deployed before the conflict."""
        current = self.current_tree(base, after.path)
        assert base.update_commit is not None
        if not self.trees.merged(base.update_commit, base.update_branch, after.path, current):
            return base, after
        settled = {"version_id": base.pending_version_id, "tag": base.pending_tag,
                   "digest": None, "deploy_key": base.pending_key,
                   "deployed_tree": base.pending_tree, **NO_PENDING}
        label = f"{base.identifier} {base.pending_tag}"
        row = self.resolved(replace(after, **settled), current, base.pending_tree or "", label)
        return replace(base, **settled), row

    def resolved(self, fresh: Content, current: str | None, tree: str, label: str) -> Content:
        """The update branch was merged by hand: record the version; the directory stays."""
        customised = current != tree
        message = (f"the update branch was merged by hand; {label} is deployed"
                   + (" with the lecturer's changes" if customised else ""))
        row = replace(fresh, is_customized=customised,
                      state=(State.CUSTOMIZED if customised else State.DEPLOYED).value,
                      message=message if customised else None)
        self.act(Op.RESOLVED, row, detail=message)
        return row

    def merge(self, base: Content, pending: Content, fresh: Content, current: str | None,
              tree: str, old: str, label: str, *, review: bool) -> tuple[Content, bool]:
        """`merge` strategy on a customised directory: clean -> commit, else an update branch;
        `review`: every result goes to the update branch.

        The row's `deployed_tree` becomes the new version's own tree, never the merge result:
        it is the base of the next merge and the reference of customisation detection, so
        the lecturer's edits that the merge carried over keep counting as customisation.
        """
        assert base.deployed_tree is not None
        result = self.trees.merge(base.deployed_tree, current, tree, label)
        if result.clean and (not review or result.tree is None):  # None: nothing to review
            customised = result.tree != tree
            kept = name_files(result.changed) if result.changed else "none left"
            message = f"merged {label} with the lecturer's changes ({kept})"
            row = replace(fresh, is_customized=customised,
                          state=(State.CUSTOMIZED if customised else State.DEPLOYED).value,
                          message=message if customised else None)
            if result.tree == current:
                self.act(Op.MERGE, row, detail=(
                    f"{NO_DIRECTORY} change: the directory already holds {label}'s changes; "
                    f"{old} -> {label}"))
                return row, True
            if result.tree is None:
                self.deploys.append(DirOp("delete", fresh.path))
            else:
                self.deploys.append(DirOp("put", fresh.path, tree=result.tree))
            self.act(Op.MERGE, row, detail=f"{old} -> {label}; kept the lecturer's changes: "
                                           f"{kept}")
            return row, True
        return self.to_branch(base, pending, fresh, tree, result, label)

    def to_branch(self, base: Content, pending: Content, fresh: Content, tree: str,
                  result: Merge, label: str) -> tuple[Content, bool]:
        """Hand a merge to the update branch: conflicts, or a clean merge put up for review.
        Nothing changes on the assignments branch."""
        assert base.deployed_tree is not None
        branch = update_branch(self.course_path, pending.path)
        merged = result.tree
        assert merged is not None  # a conflict always leaves files; see merge()
        if result.clean:
            state = State.UPDATE_REVIEW
            message = (f"updating to {label} merges cleanly with the lecturer's changes; "
                       f"review it on branch {branch} and merge it into the assignments "
                       "branch (updateStrategy review)")
            changes = self.trees.changes(base.deployed_tree, tree)
            body = (f"Merging {label} into the customised directory is clean; the library "
                    f"changed:\n" + "\n".join(f"- {c}" for c in changes) + "\n\n"
                    "Review the result and merge this branch into the assignments branch; "
                    "exlib then records the version as deployed.\n")
            subject = "for review"
        else:
            state = State.UPDATE_CONFLICT
            message = (f"updating to {label} conflicts in {name_files(result.conflicts)}; "
                       f"resolve them on branch {branch} and merge it into the assignments "
                       "branch")
            changes = ()
            files = "\n".join(f"- {c}" for c in result.conflicts)
            body = (f"Merging {label} into the customised directory conflicts in:\n{files}\n\n"
                    "Resolve the conflict markers (a binary file's library version is next "
                    "to it as <name>.library<ext>), commit, and merge this branch into the "
                    "assignments branch; exlib then records the version as deployed.\n")
            subject = "conflicts"
        same = (base.update_commit is not None and base.update_branch == branch
                and base.pending_key == pending.pending_key and base.update_tree == merged)
        row = replace(pending, state=state.value, message=message, update_branch=branch,
                      update_tree=merged, pending_tree=tree,
                      update_commit=base.update_commit if same else None)
        # Always handed to the caller: it pushes only when the branch does not hold this
        # tree yet (new, changed, or deleted on the server meanwhile).
        self.branches.append(BranchOp(
            row.id, row.path, branch, merged,
            f"exlib: update {row.path} to {label} ({subject})\n\n{body}",
            example=fresh.identifier or "", old=version_label(base.tag, base.digest),
            new=version_label(fresh.tag, fresh.digest),
            conflicts=tuple(str(c) for c in result.conflicts), changes=changes))
        if not same or base.state != state.value or base.message != message:
            self.act(Op.CONFLICT if state == State.UPDATE_CONFLICT else Op.REVIEW, row,
                     detail=message)
        return row, False

    def heal(self) -> None:
        """Remove what failed passes left where no node and no row is (see module doc)."""
        held = {c.path for c in self.contents} | {r.path for r in self.live.values()}
        for path, tree in sorted(self.orphans.items()):
            if path not in held and self.head(path) == tree:
                self.takes.append(DirOp("delete", path))
                self.actions.append(Action(Op.REMOVE_DIRECTORY, path, "", "",
                                           detail=LEFT_BY_A_FAILED_PASS))

    def remove(self, row: Content) -> None:
        """A row whose node left the spec (prune): archive it and delete its directory (a
        customised one says so; its content stays in Git history)."""
        after = replace(row, archived=True, state=State.ARCHIVED.value, message=None)
        self.act(Op.ARCHIVE, after)
        if row.kind == "assignment" and self.head(row.path) is not None:
            self.takes.append(DirOp("delete", row.path))
            detail = "customised directory (kept in Git history)" if (
                self.head(row.path) != row.deployed_tree) else ""
            self.act(Op.REMOVE_DIRECTORY, after, detail=detail)
        self.writes.append(RowWrite(row, after, False))


#: `_Planner.deploy`'s decision table, first match wins: (situation, when, outcome).
DEPLOY_RULES: tuple[tuple[str, Callable[[_Case], bool],
                          Callable[[_Planner, _Case], tuple[Content, bool]]], ...] = (
    ("new", lambda c: c.first and c.current is None, _Planner.put_new),
    ("already there", lambda c: c.first and c.current == c.tree, _Planner.adopt),
    ("left by a failed pass", lambda c: c.first and c.current == c.orphan,
     _Planner.replace_orphan),
    ("someone else's content", lambda c: c.first, _Planner.occupied),
    ("deployed", lambda c: c.same_version and not c.changed_by_lecturer, _Planner.unchanged),
    ("customised", lambda c: c.same_version, _Planner.customised),
    ("update already there", lambda c: c.current == c.tree, _Planner.adopt),
    ("update", lambda c: not c.changed_by_lecturer, _Planner.update),
    ("update merged by hand", _Case.update_merged, _Planner.merged_by_hand),
    ("customised, keep", lambda c: c.strategy == "keep", _Planner.keep),
    ("customised, overwrite", lambda c: c.strategy == "overwrite", _Planner.overwrite),
    ("customised, merge or review", lambda c: True, _Planner.merge_update),
)

