"""Find example directories in a snapshot and read one into files, digest, meta and issues.

Discovery walks directories only; an example whose fingerprint is already known (unchanged)
is not even listed, so a no-op sync reads no blob and no example's tree. Reading
hashes each file; its bytes are dropped, or handed to the caller for upload. Both walks are
iterative, and what a tree may hold (names, depth, entries, symlinks) is judged by the pure
rules in `paths`, so every source gets the same verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pathspec

from controller.config import ExampleLimits
from controller.library.digest import FileRecord, fingerprint, sha256, version_digest
from controller.library.paths import (
    LinkVerdict,
    folded,
    judge_links,
    name_problem,
    shortened,
    shown,
)
from controller.library.source import DIR_MODE, LINK_MODE, Snapshot
from controller.meta import ExampleMeta, Issue, check_file_lists, parse_meta
from controller.meta.model import Severity
from controller.meta.names import META_FILE


class Ignore:
    """gitignore-syntax patterns, matched against paths relative to the source root."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        self.digest = sha256("\n".join(patterns).encode())
        self._empty = not patterns

    def __call__(self, path: str, is_dir: bool) -> bool:
        if self._empty:
            return False
        return self._spec.match_file(path + "/" if is_dir else path)


@dataclass(frozen=True, slots=True)
class Found:
    """An example directory as discovered; `inside` is the enclosing example, if any."""

    directory: str  # relative to the source root, '.' for the root itself
    handle: Any
    tree_id: str | None  # the source's raw directory identity (Git tree id, etag digest)
    fingerprint: str | None
    inside: str | None = None
    problem: tuple[str, str] | None = None  # (directory above, what is wrong with its name)


@dataclass(slots=True)
class Scanned:
    """A read example: meta is None when meta.yaml could not be parsed."""

    found: Found
    meta: ExampleMeta | None
    files: list[FileRecord]
    digest: str
    issues: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Whether the example parsed and no issue is an error."""
        return self.meta is not None and not any(i.is_error for i in self.issues)


def _join(base: str, name: str) -> str:
    return name if base in ("", ".") else f"{base}/{name}"


#: Entries a subtree must take to walk before discovery remembers it as holding no example.
CACHED_WALK = 16


def discover(snapshot: Snapshot, ignore: Ignore, limits: ExampleLimits,
             is_known: Callable[[str], bool] = lambda _fp: False) -> Iterator[Found]:
    """Every directory below the root holding a meta.yaml, at any depth, in path order.

    Iterative, so no depth of directories can exhaust the stack. A malformed directory name
    above an example is carried down and becomes that example's error. A subtree seen
    before (same Git tree id or S3 etag digest) that held no meta.yaml and nothing ignored is
    not walked again, so a tree repeating one subtree many times over (a "Git bomb") costs
    its distinct trees, not its paths. Only subtrees of more than CACHED_WALK entries are
    remembered: walking a smaller one again costs less than remembering every example's
    small directories (a bomb of small subtrees still costs at most CACHED_WALK entries per
    entry of its distinct trees)."""
    barren: set[str] = set()
    # per directory being walked: no meta.yaml and nothing ignored below; entries walked
    clean: list[bool] = []
    walked: list[int] = []
    # ("dir", handle, path, enclosing example, problem with a directory above) or
    # ("done", raw fingerprint): the directory's subtree has been walked
    todo: list[tuple[Any, ...]] = [("dir", snapshot.root, "", None, None)]
    while todo:
        item = todo.pop()
        if item[0] == "done":
            was_clean, cost = clean.pop(), walked.pop()
            if walked:
                walked[-1] += cost
            if not was_clean or item[1] is None:
                if clean:
                    clean[-1] = False
            elif cost > CACHED_WALK:
                barren.add(item[1])
            continue
        _, handle, rel, inside, problem = item
        raw = snapshot.fingerprint(handle)
        if raw is not None and raw in barren:
            continue
        if raw is not None and inside is None and problem is None:
            # Same identity as a known example's latest version: it still holds its
            # meta.yaml, so not even its directory listing is read.
            directory = shown(rel) or "."
            fp = fingerprint(raw, directory, ignore.digest, limits)
            if fp is not None and is_known(fp):
                if clean:
                    clean[-1] = False
                yield Found(directory, handle, raw, fp)
                continue
        children = snapshot.children(handle)
        entries = [e for e in children if not ignore(_join(rel, e.name), e.mode == DIR_MODE)]
        clean.append(len(entries) == len(children) and all(e.name != META_FILE for e in children))
        walked.append(len(children))
        todo.append(("done", raw))
        if any(e.name == META_FILE and e.mode not in (DIR_MODE, 0) for e in entries):
            directory = shown(rel) or "."
            fp = fingerprint(raw, directory, ignore.digest, limits)
            yield Found(directory, handle, raw, fp, inside, problem)
            inside = inside or directory
        for e in reversed(entries):
            if e.mode == DIR_MODE:
                path = _join(rel, e.name)
                bad = name_problem(e.name)
                todo.append(("dir", e.handle, path, inside,
                             problem or ((shown(path), bad) if bad else None)))


class _Walk:
    """The order an example's directories are read in (depth first, names in the source's
    order), and nothing else: which subdirectories to enter, and when to stop, is decided by
    the reader's rules (`_Reader`)."""

    def __init__(self, snapshot: Snapshot, root: Any) -> None:
        self._snapshot = snapshot
        self._todo: list[tuple[Any, str, int]] = [(root, "", 0)]  # (handle, path, depth)
        self._entered: list[tuple[Any, str, int]] = []  # of the directory being read

    def __iter__(self) -> Iterator[tuple[str, int, list[Any]]]:
        """(path relative to the example, depth, the directory's entries), one directory at
        a time."""
        while self._todo:
            handle, rel, depth = self._todo.pop()
            self._entered = []
            yield rel, depth, self._snapshot.children(handle)
            self._todo += reversed(self._entered)

    def enter(self, handle: Any, path: str, depth: int) -> None:
        """Read this subdirectory of the current directory after it."""
        self._entered.append((handle, path, depth))

    def stop(self) -> None:
        """Read no further directory."""
        self._todo.clear()
        self._entered.clear()


class _Reader:
    """The rules a scan applies to an example's entries: ignore patterns, names, limits,
    links and meta.yaml; each problem becomes an issue on the file it concerns."""

    def __init__(self, snapshot: Snapshot, found: Found, ignore: Ignore, limits: ExampleLimits,
                 blobs: dict[str, bytes] | None, keep: int) -> None:
        self.snapshot, self.found, self.ignore, self.limits = snapshot, found, ignore, limits
        self.blobs, self.keep = blobs, keep
        self.walk = _Walk(snapshot, found.handle)
        self.issues: list[Issue] = []
        self.files: list[FileRecord] = []
        self.links: dict[str, str] = {}
        self.meta_text = b""
        self.kept = self.count = self.total = 0

    def note(self, path: str, message: str, severity: Severity = "error") -> None:
        """Record an issue on `path` (relative to the example)."""
        self.issues.append(Issue(severity, _join(self.found.directory, shown(path)), "",
                                 message))

    def too_much(self, path: str, what: str, setting: str) -> None:
        """A limit of the whole example is reached at `path`: report it, read no further."""
        self.note(path, f"the example holds more than {what} (counted up to here); split it, "
                        f"add some to the repository's ignore patterns, or raise {setting}")
        self.walk.stop()

    def read(self) -> None:
        """Apply the rules to every directory the walk reaches."""
        if self.found.inside is not None:
            self.note(META_FILE, f"this example lies inside the example `{self.found.inside}`; "
                            "examples cannot be nested: move one of them")
        if self.found.problem is not None:
            self.note(META_FILE, f"the directory `{self.found.problem[0]}` above this example: "
                            f"{self.found.problem[1]}")
        for rel, depth, children in self.walk:
            if rel and any(c.name == META_FILE for c in children):
                self.note(rel, f"`{shown(rel)}/` contains another meta.yaml; examples cannot "
                               "be nested: move it out of this example")
                continue
            self.directory(rel, depth, children)

    def directory(self, rel: str, depth: int, children: list[Any]) -> None:
        """One directory's entries: names checked, subdirectories entered, files read."""
        names: dict[str, str] = {}  # folded -> as written
        for e in children:
            path = _join(rel, e.name)
            if self.ignore(_join(self.found.directory, path), e.mode == DIR_MODE):
                continue
            self.count += 1
            if self.count > self.limits.max_files:
                self.too_much(path, f"{self.limits.max_files} files and directories",
                              "EXLIB_MAX_EXAMPLE_FILES")
                return
            problem = name_problem(e.name, link=e.mode == LINK_MODE)
            as_folded = folded(e.name)
            twin = names.get(as_folded)
            if problem is None and twin == e.name:
                problem = "this name appears twice in its directory; keep one"
            if problem is not None:
                self.note(path, problem)
                continue
            if twin is not None:
                self.note(path, f"differs from `{shown(twin)}` only in case or Unicode form: "
                                "the two collide in a checkout on macOS or Windows", "warning")
            names[as_folded] = e.name
            if e.mode == DIR_MODE:
                if depth >= self.limits.max_depth:
                    self.note(shortened(path), f"the directory is nested deeper than "
                              f"{self.limits.max_depth} directories; flatten the example or "
                              "raise EXLIB_MAX_EXAMPLE_DEPTH")
                else:
                    self.walk.enter(e.handle, path, depth + 1)
            elif e.mode == 0:
                self.note(path, "not a regular file (a submodule?); it is skipped", "warning")
            elif not self.file(path, e):
                return

    def file(self, path: str, e: Any) -> bool:
        """Read and hash one file (or link) within the limits; False: read no further."""
        size = self.snapshot.size(e.handle)
        if size > self.limits.max_file_bytes:
            self.note(path, f"the file has {size} bytes, more than the limit of "
                            f"{self.limits.max_file_bytes}; remove it, add it to the "
                            "repository's ignore patterns, or raise EXLIB_MAX_FILE_BYTES")
            return True
        self.total += size
        if self.total > self.limits.max_bytes:
            self.too_much(path, f"{self.limits.max_bytes} bytes", "EXLIB_MAX_EXAMPLE_BYTES")
            return False
        data = self.snapshot.read(e.handle)
        if e.mode == LINK_MODE:
            self.links[path] = data.decode("utf-8", "surrogateescape")
        elif path == META_FILE:
            self.meta_text = data
        self.files.append(FileRecord(path, e.mode, len(data), sha256(data), e.handle))
        if self.blobs is not None and self.kept + len(data) <= self.keep:
            self.blobs[path] = data
            self.kept += len(data)
        return True

    def judge_links(self) -> None:
        """Links that leave the example or point nowhere: errors (and left out), or warnings."""
        if not self.links:
            return
        verdicts = judge_links(self.links,
                               (f.path for f in self.files if f.path not in self.links))
        for path, verdict in verdicts.items():
            if verdict.error:
                self.note(path, verdict.error)
            elif verdict.warning:
                self.note(path, verdict.warning, "warning")
        self.files = [f for f in self.files if not verdicts.get(f.path, _OK).error]


def read_example(snapshot: Snapshot, found: Found, ignore: Ignore, limits: ExampleLimits,
                 blobs: dict[str, bytes] | None = None, keep: int = 0) -> Scanned:
    """Hash every file of the example and parse its meta.yaml; problems become issues.

    Files are read one at a time. With `blobs`, the bytes read are kept there (relative
    path -> bytes) up to `keep` bytes in all, so the caller can upload them without reading
    them again; the others must be read again (and checked against their sha256).
    """
    reader = _Reader(snapshot, found, ignore, limits, blobs, keep)
    reader.read()
    reader.judge_links()
    meta_file = _join(found.directory, META_FILE)
    name = snapshot.root_name if found.directory == "." else found.directory.rsplit("/", 1)[-1]
    meta, meta_issues = parse_meta(reader.meta_text, file=meta_file, directory_name=name)
    issues = [*meta_issues, *reader.issues]
    if meta is not None:
        issues += check_file_lists(meta, {f.path for f in reader.files}, file=meta_file)
    return Scanned(found, meta, reader.files, version_digest(reader.files), issues)


_OK = LinkVerdict()
