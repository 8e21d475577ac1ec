"""Git side of a course pass: build deployed trees, apply the plan's directory operations to
the branch tree, merge updates into customised directories and push conflicting merges to
update branches, and generate the student template — all in bare repositories, no worktree.

Objects are written into the local bare cache as they are built; only the final commit is
pushed, so a pass that is planned but not applied leaves nothing behind on the server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FileMode

from controller.course import paths
from controller.course.errors import StorageFailed
from controller.course.plan import BranchOp, Conflict, Content, DirOp, Merge
from controller.course.render import VENDOR_DIR, deploy_key, rewrite_meta
from controller.course.resolution import Source
from controller.course.template import assignment_template
from controller.library.errors import IncompleteVersion, StorageUnavailable
from controller.library.versions import version_files
from controller.meta.names import META_FILE
from controller.meta.parse import parse_meta
from controller.store import git
from controller.store.db.library import ExampleVersion
from controller.store.objects import ObjectStore

TEMPLATE_MODE = 0o100644
#: Trailers of a pass's commit: its course (the CourseStructure and the course path), and each
#: assignment directory it put there with the tree, so the next pass recognises directories
#: of a pass that never wrote its rows.
COURSE_TRAILER = "Exlib-Course"
DEPLOYED_TRAILER = "Exlib-Deployed"
#: Commits looked at, back from the head, for the last pass that wrote its rows.
HEAL_HORIZON = 100


SHARED_VERSIONS = "exlib-versions.git"


class VersionTrees:
    """Each version's files as a Git tree, read from object storage once per machine.

    Versions are immutable and named by digest, so their trees live in one shared bare
    repository under the cache directory (ref `refs/versions/<digest>`), which every course
    cache borrows objects from as a Git alternate: deploying a version another course (or an
    earlier pass) already used reads nothing from MinIO.
    """

    def __init__(self, cache_dir: Path, store: ObjectStore, workers: int) -> None:
        path = cache_dir / "git" / SHARED_VERSIONS
        if (path / "HEAD").exists():
            self.repo = pygit2.Repository(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.repo = pygit2.init_repository(str(path), bare=True)
        self._store = store
        self._workers = max(1, workers)

    def lend_to(self, repo: pygit2.Repository) -> None:
        """Make this cache's objects readable (and pushable) from a course repository."""
        objects = str(Path(self.repo.path) / "objects")
        alternates = Path(repo.path) / "objects" / "info" / "alternates"
        known = alternates.read_text().split() if alternates.exists() else []
        if objects not in known:
            alternates.parent.mkdir(parents=True, exist_ok=True)
            alternates.write_text("\n".join([*known, objects]) + "\n")
            repo.odb.add_disk_alternate(objects)

    def _ref(self, version: ExampleVersion) -> str:
        return f"refs/versions/{version.digest}"

    def _write_blobs(self, version: ExampleVersion) -> list[tuple[str, int, str]]:
        """Write a version's files as blobs, one file in memory at a time (a version may be
        hundreds of MiB); (path, mode, blob id). Each worker writes through its own handle
        on the cache: a libgit2 repository object is not shared between threads."""
        repo = pygit2.Repository(self.repo.path)
        try:
            return [(path, mode, str(repo.create_blob(data)))
                    for path, mode, data in version_files(self._store, version)]
        except (StorageUnavailable, IncompleteVersion) as err:
            raise StorageFailed(str(err)) from err

    def prefetch(self, versions: Iterable[ExampleVersion]) -> None:
        """Store the trees of versions not cached yet, reading them in parallel."""
        todo = {v.digest: v for v in versions if self._ref(v) not in self.repo.references}
        with ThreadPoolExecutor(self._workers) as pool:
            written = list(pool.map(self._write_blobs, todo.values()))
        for version, blobs in zip(todo.values(), written, strict=True):
            editor = git.TreeEditor(self.repo, None)
            for path, mode, blob in blobs:
                editor.put(path, blob, mode)
            self.repo.references.create(self._ref(version), editor.write(), force=True)

    def __call__(self, version: ExampleVersion) -> str:
        if self._ref(version) not in self.repo.references:
            self.prefetch([version])
        return str(self.repo.references[self._ref(version)].target)


def read_versions(versions: VersionTrees, sources: Mapping[str, Source],
                  spec_ids: Iterable[str]) -> None:
    """Cache the trees of the versions (dependencies included) the nodes deploy."""
    wanted = [sources[i] for i in spec_ids]
    versions.prefetch([s.version for s in wanted] +
                      [v for s in wanted for _, v in s.dependencies])


#: (shared repository, deploy key) -> tree id of a deployed directory. A directory is a
#: function of its deploy key (`render.deploy_key` hashes everything it is made of) and its
#: objects are written to the shared repository every course borrows from, so a course
#: deploying what another course (or an earlier pass) deployed takes the tree as it is, in
#: this process. Bounded: cleared when full.
_BUILT: dict[tuple[str, str], str] = {}
MAX_BUILT = 50_000


def build_trees(repo: pygit2.Repository, sources: Mapping[str, Source],
                properties: Mapping[str, Mapping[str, Any]], spec_ids: Iterable[str],
                versions: VersionTrees) -> dict[str, str]:
    """The deployed directory tree id of each node in `spec_ids`, its objects in the shared
    repository `repo` borrows from (versions not cached by `read_versions` yet are read one
    by one); a directory already built with the same deploy key is reused."""
    versions.lend_to(repo)
    shared = versions.repo
    built: dict[str, str] = {}
    for spec_id in spec_ids:
        source = sources[spec_id]
        deps = [d for d, _ in source.dependencies]
        key = (shared.path, deploy_key(source.version.digest, properties[spec_id], deps))
        tree = _BUILT.get(key)
        if tree is None or tree not in shared.odb:  # the cache directory may be wiped
            tree = _build(source, properties[spec_id], versions)
            if len(_BUILT) >= MAX_BUILT:
                _BUILT.clear()
            _BUILT[key] = tree
        built[spec_id] = tree
    return built


def _build(source: Source, properties: Mapping[str, Any], versions: VersionTrees) -> str:
    """Tree surgery only: the version's tree, its meta.yaml replaced, each dependency's tree
    placed under `.dependencies/<identifier>/`; no other file is read or rewritten."""
    shared = versions.repo
    editor = git.TreeEditor(shared, shared[versions(source.version)].peel(pygit2.Tree))
    editor.take(VENDOR_DIR)
    meta = editor.take(META_FILE)
    if meta is not None:
        text = rewrite_meta(git.read_blob(shared, meta[0]), properties,
                            [d for d, _ in source.dependencies])
        editor.put(META_FILE, str(shared.create_blob(text)), FileMode.BLOB)
    for dep, version in source.dependencies:
        editor.put(f"{VENDOR_DIR}/{dep.identifier}", versions(version))
    return editor.write()


def head_lookup(repo: pygit2.Repository, tree: pygit2.Tree | None, base: str
                ) -> Callable[[str], str | None]:
    """Content path -> object id of its directory in `tree` (memoised for the pass)."""
    memo: dict[str, str | None] = {}

    def lookup(path: str) -> str | None:
        if path not in memo:
            memo[path] = git.entry_id(repo, tree, paths.directory(path, base))
        return memo[path]

    return lookup


def deployed_trailers(repo: pygit2.Repository, tree_id: str, ops: Iterable[DirOp],
                      base: str, course: str) -> str:
    """The trailers for a pass's commit of `tree_id` (appended to its message)."""
    lookup = head_lookup(repo, repo[tree_id].peel(pygit2.Tree), base)
    lines = [f"{COURSE_TRAILER}: {course}"]
    for op in ops:
        if op.op == "put" and not op.merge and (tree := lookup(op.path)) is not None:
            lines.append(f"{DEPLOYED_TRAILER}: {op.path} {tree}")
    return "\n" + "\n".join(lines) + "\n"


def unrecorded_deploys(head: pygit2.Commit | None, recorded: str | None,
                       course: str) -> dict[str, str]:
    """Directories the passes of `course` put on the branch after `recorded`, the last commit
    whose rows were written (None: no pass ever wrote them): content path -> tree.

    First parents only, newest first, at most HEAL_HORIZON commits; nothing when `recorded`
    is not among them (then no directory is judged a leftover). The course names its path
    too: a course recreated at another path never takes an old one's directories.
    """
    found: dict[str, str] = {}
    commit = head
    for _ in range(HEAL_HORIZON):
        if commit is None or str(commit.id) == recorded:
            return found
        lines = commit.message.splitlines()
        if f"{COURSE_TRAILER}: {course}" in lines:
            for line in lines:
                key, _, value = line.partition(": ")
                path, _, tree = value.partition(" ")
                if key == DEPLOYED_TRAILER and tree:
                    found.setdefault(path, tree)
        if not commit.parents:
            return found if recorded is None else {}
        commit = commit.parents[0]
    return found if recorded is None else {}


def apply_dir_ops(repo: pygit2.Repository, tree: pygit2.Tree | None, ops: Iterable[DirOp],
                  base: str) -> str:
    """The root tree after the plan's directory operations, in the plan's order."""
    editor = git.TreeEditor(repo, tree)
    taken: dict[str, tuple[str, int] | None] = {}
    for op in ops:
        where = paths.directory(op.path, base)
        if op.op == "take":
            taken[op.path] = editor.take(where)
        elif op.op == "delete":
            editor.take(where)
        elif op.tree is not None:
            editor.put(where, op.tree)
        elif (entry := taken.get(op.source or "")) is not None:
            editor.put(where, entry[0], entry[1], merge=op.merge)
    return editor.write()


def _directory_files(repo: pygit2.Repository, tree: pygit2.Tree) -> dict[str, bytes]:
    return {path: git.read_blob(repo, entry.id) for path, entry in git.walk(repo, tree)
            if not git.is_symlink(entry.filemode)}


def student_template_files(repo: pygit2.Repository, tree: pygit2.Tree | None,
                           contents: Iterable[Content], base: str
                           ) -> dict[str, tuple[int, bytes]]:
    """The whole student template: each live assignment's directory, filtered (§7.7)."""
    out: dict[str, tuple[int, bytes]] = {}
    for content in contents:
        if content.kind != "assignment" or content.archived or tree is None:
            continue
        try:
            sub = git.subtree(repo, tree, paths.directory(content.path, base))
        except KeyError:
            continue  # no directory (deleted by a lecturer, or blocked)
        files = _directory_files(repo, sub)
        meta = None
        if "meta.yaml" in files:
            meta, _ = parse_meta(files["meta.yaml"], file=f"{content.path}/meta.yaml",
                                 directory_name=content.path.rsplit(".", 1)[-1])
        prefix = paths.directory(content.path)
        for path, data in assignment_template(files, meta).items():
            out[f"{prefix}/{path}"] = (TEMPLATE_MODE, data)
    return out


# --- updates of customised directories (DESIGN §7.5, docs/updates.md) ---

#: A binary file changed on both sides keeps the lecturer's bytes at its path; the library's
#: version goes next to it on the update branch as `<stem>.library<.ext>`.
LIBRARY_MARK = "library"
_HOW = {"A": "added", "D": "deleted", "M": "changed", "R": "renamed", "T": "changed",
        "C": "copied"}


def library_path(path: str) -> str:
    """`img/logo.png` -> `img/logo.library.png`; `Makefile` -> `Makefile.library`."""
    head, slash, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    renamed = f"{stem}.{LIBRARY_MARK}.{ext}" if dot and stem else f"{name}.{LIBRARY_MARK}"
    return f"{head}{slash}{renamed}"


def describe_changes(repo: pygit2.Repository, base: str, ours: str | None) -> tuple[str, ...]:
    """The lecturer's changes from the deployed tree to the directory, "path (how)" each."""
    if ours is None:
        return ("the whole directory (deleted)",)
    return tuple(f"{path} ({_HOW.get(status, 'changed')})"
                 for status, path in git.diff_trees(repo, base, ours))


def _is_binary(repo: pygit2.Repository, entry: pygit2.IndexEntry) -> bool:
    if entry.mode not in (FileMode.BLOB, FileMode.BLOB_EXECUTABLE):
        return True  # symlinks and submodules are never merged line by line
    blob = repo[entry.id]
    return bool(getattr(blob, "is_binary", True))


Resolved = list[tuple[str, pygit2.Oid, int]]


def _resolve(repo: pygit2.Repository, anc: pygit2.IndexEntry | None,
             ours: pygit2.IndexEntry | None, theirs: pygit2.IndexEntry | None,
             label: str) -> tuple[str, Resolved]:
    """One conflicting file: what kind of conflict, and what the update branch holds for it."""
    if ours is None:
        assert theirs is not None
        return ("deleted by the lecturer, changed in the library",
                [(theirs.path, theirs.id, theirs.mode)])
    if theirs is None:
        return ("changed by the lecturer, deleted in the library",
                [(ours.path, ours.id, ours.mode)])
    both = ("changed by the lecturer and in the library" if anc is not None
            else "added by the lecturer and in the library")
    side_by_side: Resolved = [(ours.path, ours.id, ours.mode),
                              (library_path(theirs.path), theirs.id, theirs.mode)]
    if ours.path != theirs.path:
        return (f"renamed to {ours.path} by the lecturer and to {theirs.path} in the library",
                [(ours.path, ours.id, ours.mode), (theirs.path, theirs.id, theirs.mode)])
    if _is_binary(repo, ours) or _is_binary(repo, theirs) or (
            anc is not None and _is_binary(repo, anc)):
        return f"binary, {both}", side_by_side
    labelled = [None if e is None else pygit2.IndexEntry(f"{who}: {e.path}", e.id, e.mode)
                for who, e in (("deployed", anc), ("lecturer", ours), (f"library {label}", theirs))]
    try:
        result = repo.merge_file_from_index(*labelled)
        data = result.contents.encode()
    except (UnicodeDecodeError, pygit2.GitError):
        return f"binary, {both}", side_by_side
    return both, [(ours.path, repo.create_blob(data), ours.mode)]


def merge_directories(repo: pygit2.Repository, base: str, ours: str | None, theirs: str,
                      label: str) -> Merge:
    """Three-way merge of a directory: base = deployed tree, ours = the lecturer's directory
    (None: deleted), theirs = the new version's deployed tree.

    Clean: the merged tree. Conflicts: the tree the update branch shows — conflict markers in
    text files (`<<<<<<< lecturer: f` / `>>>>>>> library <label>: f`), a binary file changed
    on both sides as the lecturer's bytes plus `<stem>.library<.ext>`, and the changed side
    of a file deleted on the other.
    """
    empty = git.empty_tree(repo)
    trees = [repo[t or empty].peel(pygit2.Tree) for t in (base, ours, theirs)]
    index = repo.merge_trees(*trees)
    conflicts: list[Conflict] = []
    if index.conflicts is not None:
        found = list(index.conflicts)
        for entries in found:
            for path in {e.path for e in entries if e is not None}:
                with contextlib.suppress(KeyError):
                    del index.conflicts[path]
        for anc, our, their in found:
            kind, files = _resolve(repo, anc, our, their, label)
            conflicts.append(Conflict((our or their or anc).path, kind))
            for path, oid, mode in files:
                index.add(pygit2.IndexEntry(path, oid, mode))
    tree = str(index.write_tree(repo))
    return Merge(None if tree == empty else tree, tuple(conflicts),
                 describe_changes(repo, base, ours))


class BranchTrees:
    """`TreeOps` over the assignments repository's local cache, at the head being planned on.

    `update_tip(branch)` gives the remote tip of an update branch (fetched with the branch).
    Merges are memoised: a re-plan after a rejected push reuses them.
    """

    def __init__(self, repo: pygit2.Repository, base: str,
                 update_tip: Callable[[str], pygit2.Commit | None]) -> None:
        self.repo, self.base, self.update_tip = repo, base, update_tip
        self.head: pygit2.Commit | None = None
        self._merges: dict[tuple[str, str | None, str, str], Merge] = {}

    def at(self, head: pygit2.Commit | None) -> BranchTrees:
        """Answer about the branch as of `head` from now on (the head the pass builds on)."""
        self.head = head
        return self

    def merge(self, base: str, ours: str | None, theirs: str, label: str) -> Merge:
        """Three-way merge of directory trees, each distinct merge computed once per pass."""
        key = (base, ours, theirs, label)
        if key not in self._merges:
            self._merges[key] = merge_directories(self.repo, base, ours, theirs, label)
        return self._merges[key]

    def changes(self, base: str, ours: str | None) -> tuple[str, ...]:
        """The lecturer's changes from `base` to `ours`, one "path (how)" per file."""
        return describe_changes(self.repo, base, ours)

    def merged(self, commit: str, branch: str | None, path: str, current: str | None) -> bool:
        """The update commit is in the head's history (merged, fast-forwarded, or merged after
        the lecturer committed a resolution on top of it); or the branch has moved on with
        the lecturer's commits and the directory now equals the branch's (a squash merge)."""
        if self.head is None:
            return False
        if git.is_ancestor(self.repo, commit, str(self.head.id)):
            return True
        if branch is None or current is None:
            return False
        tip = self.update_tip(branch)
        return tip is not None and str(tip.id) != commit and git.entry_id(
            self.repo, tip.tree, paths.directory(path, self.base)) == current


PushBranch = Callable[[str, str], None]  # (branch, commit) -> push; raises git errors


def push_update_branches(repo: pygit2.Repository, head: pygit2.Commit | None, base: str,
                         ops: Sequence[BranchOp],
                         update_tip: Callable[[str], pygit2.Commit | None],
                         push: PushBranch, say: Callable[[str], None]
                         ) -> dict[str, tuple[str | None, str | None]]:
    """Push each conflicting merge to its update branch, on top of `head`, never forced.

    Row id -> (commit, problem). A branch already holding the same directory is not pushed
    again; a branch carrying someone else's commits not merged yet (a lecturer resolving on
    it) is left alone; an exlib tip is fast-forwarded by a commit with both the head and the
    old tip as parents. A failed push is a problem (the next pass tries again), not a failed pass.
    """
    out: dict[str, tuple[str | None, str | None]] = {}
    for op in ops:
        where = paths.directory(op.path, base)
        tip = update_tip(op.branch)
        if tip is not None and git.entry_id(repo, tip.tree, where) == op.tree:
            out[op.row_id] = (str(tip.id), None)
            continue
        if head is None:
            out[op.row_id] = (None, "the assignments branch has no commit")
            continue
        if tip is not None and not git.is_exlib_commit(tip) and not git.is_ancestor(
                repo, str(tip.id), str(head.id)):
            say(f"{op.branch} holds commits by others: left as it is")
            out[op.row_id] = (str(tip.id), None)
            continue
        editor = git.TreeEditor(repo, head.tree)
        editor.put(where, op.tree)
        behind = tip is not None and not git.is_ancestor(repo, str(tip.id), str(head.id))
        commit = git.commit_tree(repo, editor.write(), str(head.id), op.message,
                                 other_parents=[str(tip.id)] if tip is not None and behind
                                 else [])
        say(f"pushing update branch {op.branch} ({commit[:12]})")
        try:
            push(op.branch, commit)
        except git.GitError as err:
            out[op.row_id] = (None, f"could not push {op.branch} ({err}); retrying next pass")
            continue
        out[op.row_id] = (commit, None)
    return out
