"""Git source: a bare mirror in the cache, trees and blobs read from the object database."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pygit2
from pygit2.enums import FileMode

from controller.config import Settings
from controller.library.errors import AuthenticationFailed, SourceRefused, SourceUnreachable
from controller.library.source import (
    DIR_MODE,
    EXEC_MODE,
    FILE_MODE,
    LINK_MODE,
    Entry,
    Snapshot,
    SourceSpec,
)
from controller.store import git
from controller.tenancy import git_url_problem

_MODES = {FileMode.TREE: DIR_MODE, FileMode.BLOB: FILE_MODE,
          FileMode.BLOB_EXECUTABLE: EXEC_MODE, FileMode.LINK: LINK_MODE}


class GitSnapshot(Snapshot):
    """One commit of the mirror; handles are object ids."""

    def __init__(self, repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> None:
        self._repo = repo
        self.revision = str(commit.id)
        try:
            root = git.subtree(repo, commit.tree, path)
        except KeyError:
            raise SourceUnreachable(
                f"path `{path}` does not exist at commit {self.revision[:12]}; check "
                "spec.git.path") from None
        self.root = root.id
        self.root_name = path.strip("/").rsplit("/", 1)[-1]

    def children(self, handle: Any) -> list[Entry]:
        # Parsed from the raw tree (`<octal mode> <name>NUL<20-byte id>`...) read through the
        # object database: a Tree object would stay in libgit2's object cache, which grows
        # with the repository (about 2 KB per example) for the whole sync.
        data = self._repo.odb.read(handle)[1]
        entries, i, end = [], 0, len(data)
        while i < end:
            space = data.index(b" ", i)
            nul = data.index(b"\0", space)
            entries.append(Entry(data[space + 1:nul].decode("utf-8", "surrogateescape"),
                                 _MODES.get(int(data[i:space], 8), 0),
                                 pygit2.Oid(raw=data[nul + 1:nul + 21])))
            i = nul + 21
        return entries

    def fingerprint(self, handle: Any) -> str:
        return str(handle)

    def size(self, handle: Any) -> int:
        return git.blob_size(self._repo, handle)

    def read(self, handle: Any) -> bytes:
        return git.read_blob(self._repo, handle)


def check_url(url: str) -> None:
    """Refuse a Git URL the tenancy rules do not allow, before anything is fetched or stored."""
    problem = git_url_problem(url)
    if problem:
        raise SourceRefused(f"Git URL {problem}")


class GitSource:
    """The mirror of one repository URL: fetch once, then take snapshots of refs.

    The mirror belongs to the library repository (namespace, name) alone (tenancy).
    """

    def __init__(self, spec: SourceSpec, settings: Settings, *, namespace: str,
                 name: str) -> None:
        check_url(spec.url)
        self.spec = spec
        self._cache = settings.cache_dir
        try:
            self.repo = git.open_cache(self._cache, spec.url, f"repository/{namespace}/{name}")
        except (pygit2.GitError, OSError) as err:
            raise SourceUnreachable(f"cannot open the Git cache in {self._cache}: {err}") from err
        self.default_branch: str | None = None

    def fetch(self) -> None:
        """Fetch the remote into the local cache (bounded by the spec's timeout)."""
        with _translate():
            self.default_branch = git.fetch(self.repo, self.spec.url, self.spec.credentials,
                                            cache_dir=self._cache, timeout=self.spec.timeout)

    def snapshot(self, ref: str | None = None) -> GitSnapshot:
        """The tree at `ref` (default: the spec's ref, else the remote's default branch)."""
        name = ref or self.spec.ref or self.default_branch or "main"
        with _translate():
            commit = git.resolve(self.repo, name)
        return GitSnapshot(self.repo, commit, self.spec.path)

    def tags(self, pattern: str) -> list[str]:
        """Tag names matching a glob (`v*`), for `--history tags:<glob>`."""
        names = [r.removeprefix("refs/tags/") for r in self.repo.references
                 if r.startswith("refs/tags/")]
        return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))

    def remote_revision(self) -> str:
        """The commit the ref points at on the server (ls-remote; nothing is fetched)."""
        with _translate():
            heads = git.ls_remote(self.repo, self.spec.url, self.spec.credentials,
                                  cache_dir=self._cache, timeout=self.spec.timeout)
        ref = self.spec.ref
        candidates = ([f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", f"refs/heads/{ref}"]
                      if ref else ["HEAD"])
        for name in candidates:
            if name in heads:
                return heads[name]
        if ref and len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref.lower()):
            return ref  # a commit id pins the revision
        raise SourceUnreachable(f"{self.spec.url}: ref `{ref or 'HEAD'}` does not exist")


@contextmanager
def _translate() -> Iterator[None]:
    """Map store-level Git errors to the library's sync errors."""
    try:
        yield
    except git.GitAuthError as err:
        raise AuthenticationFailed(str(err)) from err
    except git.GitError as err:
        raise SourceUnreachable(str(err)) from err
