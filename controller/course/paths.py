"""Content paths (Ltree) and the directories they map to in the assignments repository.

The hierarchy lives in the database as Ltree paths (`week1.hello_world`); in Git each path is
a directory (`week1/hello_world/`) below the course's base directory.

The rules here say what the database and Git can hold, so a spec is refused before anything
is pushed rather than half-written. The same rules are in the CRD schema as patterns
(`LTREE_PATTERN`, `DIRECTORY_PATTERN`, in Go's regexp syntax: no look-arounds), so
`kubectl apply` refuses what it can; these functions say *why* in words.
"""

from __future__ import annotations

import re

LABEL = re.compile(r"^[a-z0-9_]+$")
#: PostgreSQL 15's ltree holds labels of at most 255 characters (and 65,535 labels a path).
MAX_LABEL = 255
#: Labels in one path, and characters in one path. Keeps every path within what a btree
#: index row holds (2,704 bytes: 10 labels of 255 characters would not fit), and a full path
#: is one name in an update branch (`exlib/update/<course path>/<path>`): file systems hold
#: at most 255 bytes in one name.
MAX_LEVELS = 16
MAX_PATH = 255
LTREE_PATTERN = r"^[a-z0-9_]{1,255}(\.[a-z0-9_]{1,255})*$"

#: Characters in `assignments.path`, and in one of its segments (a file system's name limit).
MAX_DIRECTORY = 1024
MAX_SEGMENT = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")
#: A segment of [A-Za-z0-9._-] that is not `.`, `..` or `.git` in any case nor with trailing
#: dots (`.git.` is `.git` on NTFS, and libgit2 refuses it in a tree), spelled out.
_SEGMENT_PATTERN = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+|\.[A-FH-Za-fh-z0-9_-][A-Za-z0-9._-]*"
    r"|\.[gG]|\.[gG][A-HJ-Za-hj-z0-9._-][A-Za-z0-9._-]*|\.[gG][iI]"
    r"|\.[gG][iI][A-SU-Za-su-z0-9._-][A-Za-z0-9._-]*|\.[gG][iI][tT]\.*[A-Za-z0-9_-][A-Za-z0-9._-]*)")
DIRECTORY_PATTERN = f"^({_SEGMENT_PATTERN}(/{_SEGMENT_PATTERN})*)?$"


def parent(path: str) -> str | None:
    """The parent path (`week1` for `week1.hello_world`), None for a top-level path."""
    head, sep, _ = path.rpartition(".")
    return head if sep else None


def is_below(path: str, ancestor: str) -> bool:
    """True when `path` lies strictly below `ancestor` in the tree."""
    return path.startswith(ancestor + ".")


def directory(path: str, base: str = "") -> str:
    """The repository directory of a content path: base + labels joined by `/`."""
    rel = path.replace(".", "/")
    base = base.strip("/")
    return f"{base}/{rel}" if base else rel


def short(text: str, keep: int = 40) -> str:
    """`text` cut for a message (a 300-character label is named, not printed)."""
    return text if len(text) <= keep else f"{text[:keep]}…"


def ltree_problem(path: str) -> str | None:
    """Why `path` cannot be stored as an Ltree path, in words; None when it can."""
    labels = path.split(".")
    for label in labels:
        if not label:
            return (f"`{short(path)}` has an empty label (a dot at the start or end, or two "
                    "in a row)")
        if len(label) > MAX_LABEL:
            return (f"the label `{short(label)}` has {len(label)} characters; PostgreSQL "
                    f"holds at most {MAX_LABEL} in one label, so shorten it")
        if not LABEL.fullmatch(label):
            return (f"the label `{short(label)}` may only hold lowercase letters, digits and "
                    "`_` (no capitals, `-`, spaces or other characters)")
    if len(labels) > MAX_LEVELS:
        return (f"`{short(path)}` has {len(labels)} levels; paths may have at most "
                f"{MAX_LEVELS} levels, so flatten the tree")
    if len(path) > MAX_PATH:
        return (f"`{short(path)}` has {len(path)} characters; a full path may have at most "
                f"{MAX_PATH}, so shorten its labels")
    return None


def directory_problem(path: str) -> str | None:
    """Why `path` cannot be a directory inside a Git repository, in words; None when it can.
    The empty path is the repository's root."""
    if len(path) > MAX_DIRECTORY:
        return f"has {len(path)} characters; at most {MAX_DIRECTORY} are allowed"
    if not path:
        return None
    if path.startswith("/"):
        return (f"`{short(path)}` must be relative to the repository's root (no leading "
                "`/`)")
    for segment in path.split("/"):
        if not segment:
            return f"`{short(path)}` has an empty segment (`//`, or a `/` at the end)"
        if segment in (".", ".."):
            return (f"`{short(path)}` may not contain `{segment}`: the directory must stay "
                    "inside the repository; write the path from the repository's root")
        if segment.rstrip(".").lower() == ".git":
            return f"`{short(path)}` may not contain `.git`: Git keeps its own data there"
        if len(segment) > MAX_SEGMENT:
            return (f"the segment `{short(segment)}` has {len(segment)} characters; a "
                    f"directory name may have at most {MAX_SEGMENT}")
        if not _SEGMENT.fullmatch(segment):
            return (f"the segment {short(segment)!r} may only hold letters, digits, `.`, "
                    "`_` and `-` (no spaces, backslashes or control characters)")
    return None
