"""pygit2 helpers shared by the library sync and course deployment (no business rules).

- `Credentials` + `callbacks()` turn a token, username/password or SSH key into libgit2
  callbacks. Credentials live only in memory: never in a URL, `.git/config`, or a log. A
  refused credential raises `GitAuthError` at once instead of letting libgit2 ask again.
- `open_cache()` / `fetch()` keep one bare mirror per (owner, URL) under a cache directory;
  fetching updates `refs/heads/*` and `refs/tags/*` like `git clone --mirror`.
- `resolve()` turns a branch, tag or commit id into a commit; `walk()` lists a tree's blobs
  and `read_blob()` / `blob_size()` read the object database directly (no checkout).
- `ls_remote()` is the cheap "did anything change" check; `push()` pushes refspecs.
- Every network operation takes a `timeout` (spec.timeout): its callbacks end it once the
  time is up, and libgit2's socket timeouts end a wait on a server that stopped answering;
  either way it raises `GitTimeout`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pygit2
from pygit2.enums import FileMode, ObjectType

from controller.store.credentials import Credentials
from controller.tenancy import redact, same_server
from controller.timeouts import DEFAULT_TIMEOUT, TIMEOUT_HINT, TimedOut, format_duration

MIRROR_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")

#: libgit2 reads pack files through memory-mapped windows, by default of 1 GiB up to 8 GiB in
#: all, so every page of a mirror a sync has read stays resident while the process lives
#: (about 0.7 KB per example of the library). Small windows under a cap keep it bounded.
PACK_WINDOW_BYTES, PACK_WINDOWS_BYTES = 1024 * 1024, 8 * 1024 * 1024
pygit2.settings.mwindow_size = PACK_WINDOW_BYTES
pygit2.settings.mwindow_mapped_limit = PACK_WINDOWS_BYTES

_SSH_HOME_LOCK = threading.Lock()


class GitError(RuntimeError):
    """A remote operation failed: unreachable server, unknown repository, or a bad ref."""


class GitAuthError(GitError):
    """The server refused the credentials (or asked for some and none were given)."""


class GitTimeout(GitError, TimedOut):
    """The server did not answer, or the operation did not finish, within its timeout."""


def _timeout_error(url: str, timeout: float) -> GitTimeout:
    return GitTimeout(f"{redact(url)}: no answer within {format_duration(timeout)} "
                      f"(spec.timeout); {TIMEOUT_HINT}")


#: libgit2 waits at least this long on a silent server. Its socket timeouts are shared by
#: every operation in flight (`_SocketTimeouts`), and Git servers send a keep-alive every 5 s
#: while preparing a pack, so a shorter shared bound could fail a healthy fetch elsewhere.
MIN_SOCKET_TIMEOUT = 10.0


class _SocketTimeouts:
    """libgit2's connect and read timeouts: process-wide, read when a connection opens.

    They are kept at the smallest timeout of the operations in flight (not below
    MIN_SOCKET_TIMEOUT), so no operation waits on a silent server longer than its own
    timeout allows; a server that keeps talking is bounded by the callbacks' deadline.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[float] = []

    @contextmanager
    def bound(self, seconds: float) -> Iterator[None]:
        """Hold libgit2's socket timeouts at most `seconds` while the block runs."""
        with self._lock:
            self._active.append(seconds)
            self._apply()
        try:
            yield
        finally:
            with self._lock:
                self._active.remove(seconds)
                self._apply()

    def _apply(self) -> None:
        ms = int(max(MIN_SOCKET_TIMEOUT, min(self._active)) * 1000) if self._active else 0
        pygit2.settings.server_connect_timeout = ms
        pygit2.settings.server_timeout = ms


_SOCKET_TIMEOUTS = _SocketTimeouts()


class _Callbacks(pygit2.RemoteCallbacks):
    """Offers the credentials once (a second request means they were refused), and ends the
    operation from any callback once its timeout is up (pygit2 re-raises the error)."""

    def __init__(self, creds: Credentials | None, url: str, timeout: float) -> None:
        super().__init__()
        self._creds = creds or Credentials()
        self._url = url
        self._asked = 0
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout

    def _in_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise _timeout_error(self._url, self._timeout)

    def sideband_progress(self, string: str) -> None:
        self._in_time()

    def transfer_progress(self, stats: pygit2.remotes.TransferProgress) -> None:
        self._in_time()

    def push_transfer_progress(self, objects_pushed: int, total_objects: int,
                               bytes_pushed: int) -> None:
        self._in_time()

    def credentials(self, url: str, username_from_url: str | None, allowed_types: int
                    ) -> pygit2.UserPass | pygit2.KeypairFromMemory:
        self._in_time()
        self._asked += 1
        c = self._creds
        if not same_server(url, self._url):
            raise GitAuthError(f"{redact(self._url)}: the server redirected to "
                               f"{redact(url)}, another host; exlib sends credentials only to "
                               "the host the URL names, so write the repository's own URL")
        if self._asked > 1:
            raise GitAuthError(f"{redact(self._url)}: the server refused the credentials; "
                               "check the token, password or SSH key in the secret")
        if c.ssh_private_key and allowed_types & pygit2.enums.CredentialType.SSH_KEY:
            return pygit2.KeypairFromMemory(username_from_url or c.username or "git",
                                            c.ssh_public_key, c.ssh_private_key,
                                            c.ssh_passphrase or "")
        if c.token:
            return pygit2.UserPass(c.username or "oauth2", c.token)
        if c.password is not None and c.username:
            return pygit2.UserPass(c.username, c.password)
        raise GitAuthError(f"{redact(self._url)}: the server asks for credentials but none were "
                           "given; reference a secret with a token, username/password or "
                           "SSH identity")

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        self._in_time()
        return valid  # never accept a TLS certificate or SSH host key the library rejected


def callbacks(creds: Credentials | None, url: str,
              timeout: float = DEFAULT_TIMEOUT) -> pygit2.RemoteCallbacks:
    """Remote callbacks for one operation on `url` (make a new one per operation)."""
    return _Callbacks(creds, url, timeout)


@contextmanager
def _remote_op(url: str, creds: Credentials | None, cache_dir: Path,
               timeout: float) -> Iterator[None]:
    """One network operation: libgit2's socket waits bounded by `timeout`, failures
    translated, and for SSH with known_hosts, libgit2's home pointed at them."""
    with _SOCKET_TIMEOUTS.bound(timeout), _translated(url, creds, cache_dir, timeout):
        yield


@contextmanager
def _translated(url: str, creds: Credentials | None, cache_dir: Path,
                timeout: float) -> Iterator[None]:
    """Translate libgit2 failures; for SSH with known_hosts, point libgit2's home at them."""
    try:
        if creds and creds.known_hosts:
            # keyed by the content: no Secret's known_hosts can replace another's
            digest = hashlib.sha256(creds.known_hosts.encode()).hexdigest()[:24]
            home = cache_dir / "ssh-home" / digest
            with _SSH_HOME_LOCK:  # libgit2 reads ~/.ssh/known_hosts from a process-wide home
                if not (home / ".ssh" / "known_hosts").exists():
                    (home / ".ssh").mkdir(parents=True, exist_ok=True)
                    (home / ".ssh" / "known_hosts").write_text(creds.known_hosts)
                old = pygit2.settings.homedir
                pygit2.settings.homedir = str(home)
                try:
                    yield
                finally:
                    pygit2.settings.homedir = old
        else:
            yield
    except GitError:
        raise
    except (pygit2.GitError, KeyError, OSError) as err:
        text = str(err)
        if "timed out" in text.lower():
            raise _timeout_error(url, timeout) from err
        if any(s in text for s in ("401", "403", "authentication", "Unauthorized")):
            raise GitAuthError(f"{redact(url)}: the server refused access: {text}") from err
        raise GitError(f"{redact(url)}: {text}") from err


def open_cache(cache_dir: Path, url: str, scope: str) -> pygit2.Repository:
    """The bare mirror of `url` for `scope` in `cache_dir/git/`, created empty when missing.

    `scope` names the owner (e.g. `repository/<namespace>/<name>`): one namespace's objects
    never sit in a mirror another namespace's object opens, even for the same URL.
    """
    key = hashlib.sha256(f"{scope}\0{url}".encode()).hexdigest()[:32]
    path = cache_dir / "git" / f"{key}.git"
    if (path / "HEAD").exists():
        return pygit2.Repository(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    return pygit2.init_repository(str(path), bare=True, initial_head="main")


def fetch(repo: pygit2.Repository, url: str, creds: Credentials | None,
          refspecs: tuple[str, ...] = MIRROR_REFSPECS, *, cache_dir: Path,
          timeout: float = DEFAULT_TIMEOUT) -> str | None:
    """Fetch `refspecs` from `url` into `repo` (pruning deleted refs).

    Returns the remote's default branch name (from its HEAD symref), when it advertises one.
    The URL is used as an anonymous remote, so nothing is written to the repository config.
    """
    remote = repo.remotes.create_anonymous(url)
    with _remote_op(url, creds, cache_dir, timeout):
        remote.fetch(list(refspecs), callbacks=callbacks(creds, url, timeout),
                     prune=pygit2.enums.FetchPrune.PRUNE)
        heads = remote.list_heads(callbacks=callbacks(creds, url, timeout), connect=False)
    for head in heads:
        if head.name == "HEAD" and head.symref_target:
            return head.symref_target.removeprefix("refs/heads/")
    return None


def ls_remote(repo: pygit2.Repository, url: str, creds: Credentials | None, *,
              cache_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """Ref name -> object id as advertised by the remote, without fetching objects."""
    remote = repo.remotes.create_anonymous(url)
    with _remote_op(url, creds, cache_dir, timeout):
        heads = remote.list_heads(callbacks=callbacks(creds, url, timeout))
    return {h.name: str(h.oid) for h in heads if h.name}


def push(repo: pygit2.Repository, url: str, refspecs: list[str], creds: Credentials | None,
         *, cache_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Push `refspecs` to `url`; a rejected (non-fast-forward) update raises GitError."""
    remote = repo.remotes.create_anonymous(url)
    rejected: list[str] = []

    class _Push(_Callbacks):
        def push_update_reference(self, refname: str, message: str | None) -> None:
            if message:
                rejected.append(f"{refname}: {message}")

    with _remote_op(url, creds, cache_dir, timeout):
        remote.push(refspecs, callbacks=_Push(creds, url, timeout))
    if rejected:
        raise GitError(f"{redact(url)}: push rejected: {'; '.join(rejected)}")


def resolve(repo: pygit2.Repository, ref: str) -> pygit2.Commit:
    """The commit named by a branch, tag (annotated or light) or full/abbreviated commit id."""
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        try:
            obj = repo.revparse_single(name)
        except (KeyError, ValueError, pygit2.GitError):
            continue
        try:
            return obj.peel(pygit2.Commit)
        except (pygit2.GitError, ValueError):
            continue
    raise GitError(f"ref `{ref}` is neither a branch, a tag nor a commit of the repository")


def subtree(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> pygit2.Tree:
    """The tree at `path` below `tree` ('' = `tree` itself); KeyError when absent."""
    if not path.strip("/"):
        return tree
    obj = repo[tree[path.strip("/")].id]
    if not isinstance(obj, pygit2.Tree):
        raise KeyError(path)
    return obj


def walk(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""
         ) -> Iterator[tuple[str, pygit2.Object]]:
    """(path, entry) of every non-tree entry below `tree`, depth first, paths '/'-joined."""
    for entry in tree:
        path = f"{prefix}{entry.name}"
        if entry.type == ObjectType.TREE:
            yield from walk(repo, repo[entry.id], path + "/")
        else:
            yield path, entry


def read_blob(repo: pygit2.Repository, oid: pygit2.Oid | str) -> bytes:
    """The bytes of a blob."""
    return repo.odb.read(oid)[1]


def blob_size(repo: pygit2.Repository, oid: pygit2.Oid | str) -> int:
    """Size from the object header, without inflating the blob."""
    return repo.odb.read_header(oid)[1]


def is_symlink(mode: int) -> bool:
    """Whether a tree entry's mode is a symbolic link."""
    return mode == FileMode.LINK


# --- working with branches: commits and pushes (course deployment) ---

#: Identity of commits exlib makes (author and committer).
EXLIB_SIGNATURE = ("exlib", "exlib@exlib.dev")


class PushRejected(GitError):
    """The remote branch moved on (non-fast-forward): fetch, rebuild on the new head, retry."""


def fetch_branch(repo: pygit2.Repository, url: str, branch: str, creds: Credentials | None,
                 *, cache_dir: Path, timeout: float = DEFAULT_TIMEOUT,
                 extra: tuple[str, ...] = ()) -> pygit2.Commit | None:
    """Fetch one branch into `refs/heads/<branch>` (and `extra` refspecs in the same round
    trip); its head commit, None if it has none yet."""
    fetch(repo, url, creds, (f"+refs/heads/{branch}:refs/heads/{branch}", *extra),
          cache_dir=cache_dir, timeout=timeout)
    ref = repo.references.get(f"refs/heads/{branch}")
    return ref.peel(pygit2.Commit) if ref is not None else None


def push_branch(repo: pygit2.Repository, url: str, branch: str, commit_id: str,
                creds: Credentials | None, *, cache_dir: Path,
                timeout: float = DEFAULT_TIMEOUT) -> None:
    """Fast-forward the remote `branch` to `commit_id` (never forced); PushRejected if it moved."""
    repo.references.create(f"refs/heads/{branch}", commit_id, force=True)
    try:
        push(repo, url, [f"refs/heads/{branch}:refs/heads/{branch}"], creds,
             cache_dir=cache_dir, timeout=timeout)
    except (GitAuthError, GitTimeout):
        raise
    except GitError as err:
        text = str(err).lower()
        if any(s in text for s in ("non-fast", "fastforward", "rejected", "fetch first",
                                   "failed to update", "stale", "not present locally")):
            raise PushRejected(str(err)) from err
        raise


def delete_branch(repo: pygit2.Repository, url: str, branch: str, creds: Credentials | None,
                  *, cache_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Delete the remote `branch` (a push of `:refs/heads/<branch>`) and its local ref."""
    push(repo, url, [f":refs/heads/{branch}"], creds, cache_dir=cache_dir, timeout=timeout)
    ref = repo.references.get(f"refs/heads/{branch}")
    if ref is not None:
        ref.delete()


def commit_tree(repo: pygit2.Repository, tree_id: str, parent: str | None, message: str,
                *, other_parents: Sequence[str] = ()) -> str:
    """A commit of `tree_id` on `parent` (None: a root commit), without touching any ref.

    `other_parents` make it a merge commit (e.g. to fast-forward a branch from its old tip).
    """
    sig = pygit2.Signature(*EXLIB_SIGNATURE)
    parents = [pygit2.Oid(hex=p) for p in (parent, *other_parents) if p]
    return str(repo.create_commit(None, sig, sig, message, pygit2.Oid(hex=tree_id), parents))


def is_ancestor(repo: pygit2.Repository, ancestor: str, commit: str) -> bool:
    """`ancestor` is `commit` or in its history (False when either object is unknown here)."""
    if ancestor == commit:
        return True
    try:
        return bool(repo.descendant_of(pygit2.Oid(hex=commit), pygit2.Oid(hex=ancestor)))
    except (KeyError, ValueError, pygit2.GitError):
        return False


def is_exlib_commit(commit: pygit2.Commit) -> bool:
    """Whether exlib made the commit (its committer signature)."""
    return (commit.committer.name, commit.committer.email) == EXLIB_SIGNATURE


def empty_tree(repo: pygit2.Repository) -> str:
    """The id of the empty tree (written into `repo` if needed)."""
    return str(repo.TreeBuilder().write())


def diff_trees(repo: pygit2.Repository, old: str | None, new: str | None
               ) -> list[tuple[str, str]]:
    """(status, path) of every file that differs from tree `old` to tree `new` (None: empty).

    Status is Git's letter: A added, D deleted, M modified, R renamed (path = new path),
    T type changed.
    """
    a = repo[old or empty_tree(repo)].peel(pygit2.Tree)
    b = repo[new or empty_tree(repo)].peel(pygit2.Tree)
    diff = repo.diff(a, b)
    diff.find_similar()
    return [(d.status_char(), d.new_file.path if d.status_char() != "D" else d.old_file.path)
            for d in diff.deltas]


def entry_id(repo: pygit2.Repository, tree: pygit2.Tree | None, path: str) -> str | None:
    """The object id at `path` below `tree` (a blob or a tree), None when absent."""
    if tree is None:
        return None
    try:
        return str(tree[path.strip("/")].id) if path.strip("/") else str(tree.id)
    except KeyError:
        return None


def tree_from_files(repo: pygit2.Repository, files: dict[str, tuple[int, bytes]]) -> str:
    """Write blobs and trees for {relative path: (mode, bytes)}; the root tree's id."""
    editor = TreeEditor(repo, None)
    for path, (mode, data) in files.items():
        editor.put(path, str(repo.create_blob(data)), mode)
    return editor.write()


class TreeEditor:
    """Edit a tree by path in memory and write only the changed trees (no index, no worktree).

    Directories left empty disappear, as in Git.
    """

    def __init__(self, repo: pygit2.Repository, tree: pygit2.Tree | None) -> None:
        self._repo = repo
        self._root: dict[str, object] = self._expand(tree)

    def _expand(self, tree: pygit2.Tree | None) -> dict[str, object]:
        """name -> (oid, mode) for untouched entries, or a dict for an opened directory."""
        if tree is None:
            return {}
        return {e.name: (str(e.id), int(e.filemode)) for e in tree}

    def _dir(self, parts: list[str], create: bool) -> dict[str, object] | None:
        node = self._root
        for name in parts:
            child = node.get(name)
            if isinstance(child, tuple):
                if child[1] != FileMode.TREE:
                    if not create:
                        return None
                    child = {}
                else:
                    child = self._expand(self._repo[child[0]])
                node[name] = child
            elif child is None:
                if not create:
                    return None
                child = node[name] = {}
            node = child  # type: ignore[assignment]
        return node

    def take(self, path: str) -> tuple[str, int] | None:
        """Remove the entry at `path` and return it (written first if it was edited)."""
        *parents, name = path.strip("/").split("/")
        node = self._dir(parents, create=False)
        entry = node.pop(name, None) if node is not None else None
        if isinstance(entry, dict):
            oid = self._write(entry)
            return (oid, FileMode.TREE) if oid else None
        return entry  # type: ignore[return-value]

    def put(self, path: str, oid: str, mode: int = FileMode.TREE, *, merge: bool = False) -> None:
        """Place an object at `path`; with `merge`, a tree's entries join an existing dir."""
        *parents, name = path.strip("/").split("/")
        node = self._dir(parents, create=True)
        assert node is not None
        existing = node.get(name)
        if merge and mode == FileMode.TREE and existing is not None:
            target = self._dir([*parents, name], create=True)
            assert target is not None
            for entry_name, entry in self._expand(self._repo[oid]).items():
                target.setdefault(entry_name, entry)
            return
        node[name] = (oid, mode)

    def write(self) -> str:
        """Write the edited trees; the root tree id (the empty tree when nothing is left)."""
        return self._write(self._root) or str(self._repo.TreeBuilder().write())

    def _write(self, node: dict[str, object]) -> str | None:
        builder = self._repo.TreeBuilder()
        count = 0
        for name, entry in node.items():
            if isinstance(entry, dict):
                oid = self._write(entry)
                if oid is None:
                    continue
                entry = (oid, FileMode.TREE)
            oid, mode = entry  # type: ignore[misc]
            builder.insert(name, pygit2.Oid(hex=oid), mode)
            count += 1
        return str(builder.write()) if count else None
