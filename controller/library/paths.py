"""What an example's tree may hold (pure): names Git and checkouts accept, how deep and how
many entries, and symlinks judged by where they really resolve.

Every source (Git, S3, local directory) is scanned through these rules, so the same content
gets the same verdict wherever it comes from. Names arrive as `str`; bytes that are not
UTF-8 arrive as lone surrogates (Python's `surrogateescape`), which is how they are detected.
"""

from __future__ import annotations

import bisect
import posixpath
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: Longest file name (in UTF-8 bytes) common file systems can check out.
MAX_NAME_BYTES = 255
#: Symlinks followed while resolving one path before it counts as a loop (Linux's limit).
MAX_LINK_HOPS = 40
#: Longest symlink target (in UTF-8 bytes) Linux creates (PATH_MAX less the NUL).
MAX_TARGET_BYTES = 4095

# Code points HFS+ ignores in names, so `.g\u200cit` is `.git` on a Mac (Git's own list).
_HFS_IGNORED = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F),
                              *range(0x206A, 0x2070), 0xFEFF])
# Names Git gives a meaning to; a symlink under one of them is refused by Git.
_GIT_FILES = {".gitmodules": "gitmod~1", ".gitattributes": "gitatt~1",
              ".gitignore": "gitign~1", ".mailmap": "mailma~1"}


def shown(text: str) -> str:
    r"""`text` printable and valid UTF-8, for messages: bytes that are not UTF-8 as `\xNN`,
    control characters as `\xNN` / `\uNNNN`."""
    if text.isascii() and text.isprintable():
        return text  # the common case, without a look at each character
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(ch) in ("Cc", "Cs"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _as_checked_out(name: str) -> str:
    """`name` as some checkout compares it with Git's own names: any case, HFS-ignored code
    points, NTFS trailing dots/spaces and stream suffixes (`.git::$INDEX_ALLOCATION`) gone;
    an 8.3 short name (`git~1`) is then compared as written."""
    return name.translate(_HFS_IGNORED).split(":", 1)[0].rstrip(". ").casefold()


def name_problem(name: str, *, link: bool = False) -> str | None:
    """Why one path segment cannot be stored in Git or checked out, or None."""
    plain = name.isascii() and name.isprintable()  # the common case: no look at each character
    if not plain and any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "the name is not valid UTF-8 (shown with \\x escapes); rename it in UTF-8"
    if not plain and any(unicodedata.category(c) == "Cc" for c in name):
        return "the name contains a control character (shown escaped); rename it"
    if name in ("", ".", ".."):
        return (f"`{name}` is not a valid name" if name else "an empty name (`//` in a path)")\
            + " for a file or directory in Git; rename or remove it"
    if "/" in name:
        return "the name contains a slash; rename it"
    if "\\" in name:
        return "the name contains a backslash, which Git on Windows refuses; rename it"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"the name is longer than {MAX_NAME_BYTES} bytes; shorten it"
    checked_out = _as_checked_out(name)
    if checked_out in (".git", "git~1"):
        return ("Git refuses anything named `.git` (in any spelling) inside a repository; "
                "an uploaded `.git` folder is a checkout's metadata, not content: remove it")
    if checked_out in (".gitmodules", "gitmod~1"):
        return ("a `.gitmodules` file does nothing inside an example (Git reads it only at a "
                "repository's root) and Git servers check it on push: remove it")
    if link and any(checked_out in names for names in _GIT_FILES.items()):
        return "Git does not follow a symlink with this name; store a regular file instead"
    return None


def folded(name: str) -> str:
    """A name as a case-insensitive, normalising file system (macOS, Windows) sees it."""
    return unicodedata.normalize("NFC", name).casefold()


def shortened(path: str, keep: int = 3) -> str:
    """A long path for a message: its first `keep` segments, the count left out, the last."""
    parts = path.split("/")
    if len(parts) <= 2 * keep:
        return path
    return "/".join([*parts[:keep], f"… {len(parts) - keep - 1} more …", parts[-1]])


@dataclass(frozen=True, slots=True)
class LinkVerdict:
    """How one symlink resolves inside its example: `error` (outside, loop, absolute) or
    `warning` (it points at nothing), with the path it reaches when known."""

    error: str | None = None
    warning: str | None = None
    resolved: str | None = None


def _quoted(target: str) -> str:
    """A link target for a message: printable, and only its ends when it is long."""
    text = shortened(shown(target))
    return text if len(text) <= 120 else f"{text[:50]}…{text[-50:]}"


def _segments(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_link(path: str, links: Mapping[str, str], files: set[str], dirs: set[str]
                 ) -> LinkVerdict:
    """Resolve the symlink at `path` as a checkout's kernel would, confined to the example.

    `links` maps every symlink of the example to its target, `files` and `dirs` are the
    other entries (relative to the example). Each segment is resolved in turn: `..` climbs
    the directory really reached (not the text), so chains like `sub/b -> ..` then
    `a -> sub/b/../..` are caught. Leaving the example, an absolute target, more than
    MAX_LINK_HOPS links followed, or ending at a directory that contains the link (a checkout
    walked with links followed would never end) are errors; a target that does not exist
    is a warning. Segments below a missing one are resolved by their text.
    """
    target = links[path]
    quoted = _quoted(target)
    if len(target.encode(errors="surrogateescape")) > MAX_TARGET_BYTES:
        return LinkVerdict(error=f"symlink to `{quoted}` is longer than {MAX_TARGET_BYTES:,} "
                                 "bytes, more than a checkout can create; shorten it")
    if not target or any(0xD800 <= ord(c) <= 0xDFFF or unicodedata.category(c) == "Cc"
                         for c in target):
        return LinkVerdict(error=f"symlink to `{quoted}`: the target is empty, not "
                                 "UTF-8 or holds control characters; point it at a file")
    if target.startswith("/"):
        return LinkVerdict(error=f"symlink to the absolute path `{quoted}`: it points "
                                 "outside the example; copy the file into the example instead")
    here: list[str] = _segments(posixpath.dirname(path))
    todo = _segments(target)[::-1]  # a stack: next segment last
    hops, missing = 1, False
    while todo:
        seg = todo.pop()
        if seg == "..":
            if not here:
                return LinkVerdict(error=f"symlink to `{quoted}` leads outside the "
                                         "example; copy the file into the example instead")
            here.pop()
            continue
        if missing:  # below a missing segment only the text counts (and stays linear)
            here.append(seg)
            continue
        candidate = "/".join([*here, seg])
        if candidate in links:
            hops += 1
            if hops > MAX_LINK_HOPS:
                return LinkVerdict(error=f"symlink to `{quoted}` never ends: it loops "
                                         "through other symlinks; point it at a file")
            inner = links[candidate]
            if inner.startswith("/"):
                return LinkVerdict(error=f"symlink to `{quoted}` leads through "
                                         f"`{shown(candidate)}` to the absolute path "
                                         f"`{shown(inner)}`, outside the example")
            todo += _segments(inner)[::-1]
            continue
        if candidate in files and todo:
            return LinkVerdict(warning=f"symlink to `{quoted}` passes through the file "
                                       f"`{shown(candidate)}` as if it were a directory; it "
                                       "points at nothing")
        missing = candidate not in files and candidate not in dirs
        here.append(seg)
    resolved = "/".join(here)
    link_dir = posixpath.dirname(path)
    if not missing and (resolved == "" or link_dir == resolved
                        or link_dir.startswith(resolved + "/")):
        where = f"`{shown(resolved)}`" if resolved else "the example's own directory"
        return LinkVerdict(error=f"symlink to `{quoted}` points at {where}, which "
                                 "contains the link: a checkout would hold itself endlessly; "
                                 "remove the link", resolved=resolved)
    if missing:
        return LinkVerdict(warning=f"symlink to `{quoted}` points at nothing in the "
                                   "example", resolved=resolved)
    return LinkVerdict(resolved=resolved)


def judge_links(links: Mapping[str, str], paths: Iterable[str]) -> dict[str, LinkVerdict]:
    """A verdict for every symlink of an example; `paths` are its other files' paths.

    Besides each link on its own, links to directories that reach each other (`a/to_b ->
    ../b` and `b/to_a -> ../a`) form a loop a checkout walked with links followed never
    leaves: each is an error."""
    files = set(paths)
    dirs = _directories((*files, *links))
    verdicts = {p: resolve_link(p, links, files, dirs) for p in links}
    to_dirs = {p: v.resolved for p, v in verdicts.items()
               if v.error is None and v.warning is None and v.resolved in dirs}
    for path in _in_cycles(to_dirs):
        verdicts[path] = LinkVerdict(
            error=f"symlink to `{_quoted(links[path])}` is part of a loop of directory links "
                  "(each leads into a directory holding the next): a checkout would hold "
                  "itself endlessly; remove one", resolved=to_dirs[path])
    return verdicts


def _directories(paths: Iterable[str]) -> set[str]:
    """Every directory holding one of `paths`; each climbs only until a known directory, so
    50,000 files deep in long-named directories cost one slice each, not one per level."""
    dirs: set[str] = set()
    for path in paths:
        cut = path.rfind("/")
        while cut > 0 and path[:cut] not in dirs:
            dirs.add(path[:cut])
            cut = path.rfind("/", 0, cut)
    return dirs


def _in_cycles(to_dirs: Mapping[str, str]) -> set[str]:
    """Links to directories on a cycle: link L leads to L' when L' lies in L's target.
    Tarjan's strongly connected components, iteratively; components of two or more."""
    order = sorted(to_dirs)

    def inside(root: str) -> list[str]:
        lo = bisect.bisect_left(order, root + "/")
        return order[lo:bisect.bisect_left(order, root + "0")]  # "0" follows "/"

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[str] = set()
    for start in order:
        if start in index:
            continue
        work = [(start, iter(inside(to_dirs[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            nxt = next(edges, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(inside(to_dirs[nxt]))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.update(component)
    return found
