"""Content paths (Ltree) and the directories they map to in the assignments repository.

The hierarchy lives in the database as Ltree paths (`week1.hello_world`); in Git each path is
a directory (`week1/hello_world/`) below the course's base directory.
"""

from __future__ import annotations

import re

LABEL = re.compile(r"^[a-z0-9_]+$")


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

