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

META = "meta.yaml"


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
        return self.meta is not None and not any(i.is_error for i in self.issues)


def _join(base: str, name: str) -> str:
    return name if base in ("", ".") else f"{base}/{name}"


def discover(snapshot: Snapshot, ignore: Ignore, limits: ExampleLimits,
             is_known: Callable[[str], bool] = lambda _fp: False) -> Iterator[Found]:
    """Every directory below the root holding a meta.yaml, at any depth, in path order.

    Iterative, so no depth of directories can exhaust the stack. A malformed directory name
    above an example is carried down and becomes that example's error. A subtree seen
    before (same Git tree id or S3 etag digest) that held no meta.yaml and nothing ignored is
    not walked again, so a tree repeating one subtree many times over (a "Git bomb") costs
    its distinct trees, not its paths."""
    barren: set[str] = set()
    clean: list[bool] = []  # per directory being walked: no meta.yaml, nothing ignored below
    # ("dir", handle, path, enclosing example, problem with a directory above) or
    # ("done", raw fingerprint): the directory's subtree has been walked
    todo: list[tuple[Any, ...]] = [("dir", snapshot.root, "", None, None)]
    while todo:
        item = todo.pop()
        if item[0] == "done":
            was_clean = clean.pop()
            if was_clean and item[1] is not None:
                barren.add(item[1])
            elif clean:
                clean[-1] = False
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
        clean.append(len(entries) == len(children) and all(e.name != META for e in children))
        todo.append(("done", raw))
        if any(e.name == META and e.mode not in (DIR_MODE, 0) for e in entries):
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


def read_example(snapshot: Snapshot, found: Found, ignore: Ignore, limits: ExampleLimits,
                 blobs: dict[str, bytes] | None = None, keep: int = 0) -> Scanned:
    """Hash every file of the example and parse its meta.yaml; problems become issues.

    Files are read one at a time. With `blobs`, the bytes read are kept there (relative
    path -> bytes) up to `keep` bytes in all, so the caller can upload them without reading
    them again; the others must be read again (and checked against their sha256).
    """
    meta_file = _join(found.directory, META)
    issues: list[Issue] = []
    files: list[FileRecord] = []
    links: dict[str, str] = {}
    meta_text = b""
    kept = count = total = 0

    def note(path: str, message: str, severity: Severity = "error") -> None:
        issues.append(Issue(severity, _join(found.directory, shown(path)), "", message))

    def too_much(path: str, what: str, setting: str) -> None:
        """A limit of the whole example is reached at `path`: report it, read no further."""
        note(path, f"the example holds more than {what} (counted up to here); split it, add "
                   f"some to the repository's ignore patterns, or raise {setting}")
        todo.clear()
        subdirs.clear()

    if found.inside is not None:
        note(META, f"this example lies inside the example `{found.inside}`; examples cannot "
                   "be nested: move one of them")
    if found.problem is not None:
        note(META, f"the directory `{found.problem[0]}` above this example: "
                   f"{found.problem[1]}")

    todo: list[tuple[Any, str, int]] = [(found.handle, "", 0)]  # (handle, path, depth)
    subdirs: list[tuple[Any, str, int]] = []  # of the directory being read
    while todo:
        handle, rel, depth = todo.pop()
        children = snapshot.children(handle)
        if rel and any(c.name == META for c in children):
            note(rel, f"`{shown(rel)}/` contains another meta.yaml; examples cannot be "
                      "nested: move it out of this example")
            continue
        names: dict[str, str] = {}  # folded -> as written
        subdirs.clear()
        for e in children:
            path = _join(rel, e.name)
            if ignore(_join(found.directory, path), e.mode == DIR_MODE):
                continue
            count += 1
            if count > limits.max_files:
                too_much(path, f"{limits.max_files} files and directories",
                         "EXLIB_MAX_EXAMPLE_FILES")
                break
            problem = name_problem(e.name, link=e.mode == LINK_MODE)
            twin = names.get(folded(e.name))
            if problem is None and twin == e.name:
                problem = "this name appears twice in its directory; keep one"
            if problem is not None:
                note(path, problem)
                continue
            if twin is not None:
                note(path, f"differs from `{shown(twin)}` only in case or Unicode form: the "
                           "two collide in a checkout on macOS or Windows", "warning")
            names[folded(e.name)] = e.name
            if e.mode == DIR_MODE:
                if depth >= limits.max_depth:
                    note(shortened(path), f"the directory is nested deeper than "
                         f"{limits.max_depth} directories; flatten the example or raise "
                         "EXLIB_MAX_EXAMPLE_DEPTH")
                else:
                    subdirs.append((e.handle, path, depth + 1))
                continue
            if e.mode == 0:
                note(path, "not a regular file (a submodule?); it is skipped", "warning")
                continue
            size = snapshot.size(e.handle)
            if size > limits.max_file_bytes:
                note(path, f"the file has {size} bytes, more than the limit of "
                           f"{limits.max_file_bytes}; remove it, add it to the repository's "
                           "ignore patterns, or raise EXLIB_MAX_FILE_BYTES")
                continue
            total += size
            if total > limits.max_bytes:
                too_much(path, f"{limits.max_bytes} bytes", "EXLIB_MAX_EXAMPLE_BYTES")
                break
            data = snapshot.read(e.handle)
            if e.mode == LINK_MODE:
                links[path] = data.decode("utf-8", "surrogateescape")
            elif path == META:
                meta_text = data
            files.append(FileRecord(path, e.mode, len(data), sha256(data), e.handle))
            if blobs is not None and kept + len(data) <= keep:
                blobs[path] = data
                kept += len(data)
            del data
        todo += reversed(subdirs)

    if links:
        verdicts = judge_links(links, (f.path for f in files if f.path not in links))
        for path, verdict in verdicts.items():
            if verdict.error:
                note(path, verdict.error)
            elif verdict.warning:
                note(path, verdict.warning, "warning")
        files = [f for f in files if not verdicts.get(f.path, _OK).error]
    name = snapshot.root_name if found.directory == "." else found.directory.rsplit("/", 1)[-1]
    meta, meta_issues = parse_meta(meta_text, file=meta_file, directory_name=name)
    issues[:0] = meta_issues
    if meta is not None:
        issues += check_file_lists(meta, {f.path for f in files}, file=meta_file)
    return Scanned(found, meta, files, version_digest(files), issues)


_OK = LinkVerdict()
