"""Git side of a course pass: build deployed trees, apply the plan's directory operations to
the branch tree, and generate the student template — all in bare repositories, no worktree.

Objects are written into the local bare cache as they are built; only the final commit is
pushed, so a pass that is planned but not applied leaves nothing behind on the server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FileMode

from controller.course import paths
from controller.course.catalog import Source
from controller.course.errors import StorageFailed
from controller.course.plan import Content, DirOp
from controller.course.render import META, VENDOR_DIR, rewrite_meta
from controller.course.template import assignment_template
from controller.library.errors import IncompleteVersion, StorageUnavailable
from controller.library.versions import load_version_files
from controller.meta.parse import parse_meta
from controller.store import git
from controller.store.db.library import ExampleVersion
from controller.store.objects import ObjectStore

TEMPLATE_MODE = 0o100644


#: {relative path: (git file mode, bytes)}, as the library loads a version.
Files = dict[str, tuple[int, bytes]]
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

    def _load(self, version: ExampleVersion) -> Files:
        try:
            return load_version_files(self._store, version)
        except (StorageUnavailable, IncompleteVersion) as err:
            raise StorageFailed(str(err)) from err

    def prefetch(self, versions: Iterable[ExampleVersion]) -> None:
        """Store the trees of versions not cached yet, reading them in parallel."""
        todo = {v.digest: v for v in versions if self._ref(v) not in self.repo.references}
        with ThreadPoolExecutor(self._workers) as pool:
            loaded = list(pool.map(self._load, todo.values()))  # then write: no GIL contention
        for version, files in zip(todo.values(), loaded, strict=True):
            tree = git.tree_from_files(self.repo, files)
            self.repo.references.create(self._ref(version), tree, force=True)

    def __call__(self, version: ExampleVersion) -> str:
        if self._ref(version) not in self.repo.references:
            self.prefetch([version])
        return str(self.repo.references[self._ref(version)].target)


def build_trees(repo: pygit2.Repository, sources: Mapping[str, Source],
                properties: Mapping[str, Mapping[str, Any]], spec_ids: Iterable[str],
                versions: VersionTrees) -> dict[str, str]:
    """The deployed directory tree id of each node in `spec_ids` (objects written locally).

    Tree surgery only: the version's tree, its meta.yaml replaced, each dependency's tree
    placed under `.dependencies/<identifier>/`; no other file is read or rewritten.
    """
    wanted = [sources[i] for i in spec_ids]
    versions.prefetch([s.version for s in wanted] +
                      [v for s in wanted for _, v in s.dependencies])
    versions.lend_to(repo)
    built: dict[str, str] = {}
    for spec_id in spec_ids:
        source = sources[spec_id]
        editor = git.TreeEditor(repo, repo[versions(source.version)].peel(pygit2.Tree))
        editor.take(VENDOR_DIR)
        meta = editor.take(META)
        deps = [d for d, _ in source.dependencies]
        if meta is not None:
            text = rewrite_meta(git.read_blob(repo, meta[0]), properties[spec_id], deps)
            editor.put(META, str(repo.create_blob(text)), FileMode.BLOB)
        for dep, version in source.dependencies:
            editor.put(f"{VENDOR_DIR}/{dep.identifier}", versions(version))
        built[spec_id] = editor.write()
    return built


def head_lookup(repo: pygit2.Repository, tree: pygit2.Tree | None, base: str
                ) -> Callable[[str], str | None]:
    """Content path -> object id of its directory in `tree` (memoised for the pass)."""
    memo: dict[str, str | None] = {}

    def lookup(path: str) -> str | None:
        if path not in memo:
            memo[path] = git.entry_id(repo, tree, paths.directory(path, base))
        return memo[path]

    return lookup


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
