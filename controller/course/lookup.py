"""Which course a person means on the command line: a course path, or its CourseStructure.

`exlib status` takes either `tugraz.prog1.ws2026` (the course path) or `prog1-2026` /
`exlib-demo/prog1-2026` (the CourseStructure, `[namespace/]name`). The CourseStructure is
found through the owner stored on its course row (migration 0004), not through the
Kubernetes API, so the command needs only the database, like every other `exlib` command.

A bare word that is a course path with a course is that course; else it is a
CourseStructure name, in whichever namespace holds it (one only, or the person must say which).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from controller.course import paths
from controller.store.db.course import Course

#: Kubernetes object names: a namespace is a DNS-1123 label, a CourseStructure's name a
#: DNS-1123 subdomain (the API server refuses anything else).
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NAMESPACE = re.compile(_LABEL)
NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
MAX_NAMESPACE, MAX_NAME = 63, 253

USAGE = ("give the course path (e.g. tugraz.prog1.ws2026) or its CourseStructure as "
         "[namespace/]name (e.g. prog1-2026 or exlib-demo/prog1-2026)")


@dataclass(frozen=True)
class CourseReference:
    """What the words on the command line can mean; at least one of `path` and `name`."""

    text: str
    path: str | None = None  # the text read as a course path
    namespace: str | None = None  # given as `namespace/name`; None: any namespace
    name: str | None = None  # the text read as a CourseStructure name


def _name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME or not NAME.fullmatch(name):
        return (f"`{paths.short(name)}` is not a CourseStructure name (lowercase letters, "
                f"digits, `-` and `.`, at most {MAX_NAME} characters)")
    return None


def parse_reference(text: str) -> CourseReference:
    """Read `text` as a course path and/or `[namespace/]name`; ValueError (in words, with
    what to type instead) when it can be neither."""
    if not text:
        raise ValueError(f"no course given: {USAGE}")
    if "/" in text:
        namespace, _, name = text.partition("/")
        if "/" in name or not namespace or not name:
            raise ValueError(f"`{paths.short(text)}` is not a course: a CourseStructure is "
                             f"written namespace/name, with one `/`; {USAGE}")
        if len(namespace) > MAX_NAMESPACE or not NAMESPACE.fullmatch(namespace):
            raise ValueError(f"`{paths.short(text)}` is not namespace/name: "
                             f"`{paths.short(namespace)}` is not a namespace name (lowercase "
                             f"letters, digits and `-`, at most {MAX_NAMESPACE} characters); "
                             f"{USAGE}")
        problem = _name_problem(name)
        if problem is not None:
            raise ValueError(f"`{paths.short(text)}` is not namespace/name: {problem}; {USAGE}")
        return CourseReference(text, namespace=namespace, name=name)
    path_problem, name_problem = paths.ltree_problem(text), _name_problem(text)
    if path_problem is not None and name_problem is not None:
        raise ValueError(f"`{paths.short(text)}` is neither a course path ({path_problem}) nor "
                         f"a CourseStructure name; {USAGE}")
    return CourseReference(text, path=None if path_problem else text,
                           name=None if name_problem else text)


def course_for(session: Session, text: str) -> Course:
    """The course `text` names (see the module's docstring); LookupError saying what was
    looked for, ValueError when `text` cannot name a course at all."""
    ref = parse_reference(text)
    if ref.path is not None:
        course = session.scalar(sa.select(Course).where(Course.path == ref.path))
        if course is not None:
            return course
    if ref.name is None:
        raise LookupError(f"no course at path {ref.path}")
    q = sa.select(Course).where(Course.name == ref.name, Course.archived_at.is_(None))
    if ref.namespace is not None:
        q = q.where(Course.namespace == ref.namespace)
    found = session.scalars(q.order_by(Course.namespace)).all()
    if len(found) == 1:
        return found[0]
    if found:
        owners = ", ".join(f"{c.namespace}/{c.name} (course {c.path})" for c in found)
        raise LookupError(f"CourseStructures named {ref.name} are in several namespaces: "
                          f"{owners}; give namespace/name or the course path")
    owner = f"{ref.namespace}/{ref.name}" if ref.namespace else f"named {ref.name}"
    where = f"no course at path {ref.path}, and no" if ref.path else "no"
    raise LookupError(f"{where} CourseStructure {owner} has a course: it has not deployed "
                      "yet, or it was deleted (its archived course is still shown by its "
                      "path)")
