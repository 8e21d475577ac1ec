"""Sync planning (pure): decide per example what a sync does, from what was scanned and
what the database already holds. No I/O; unit-tested without services.

Rules (DESIGN §2, §4, PrairieLearn's): a valid example is published (new digest -> new
version); an invalid one is reported and keeps its last good version; a duplicate identifier
is an error on every directory using it; the same tag with other content is an error
(published versions are immutable); a dependency must name an example of this repository
with a version satisfying the constraint, and cycles are errors on their members; an example
whose directory is gone is archived, never deleted.
"""

from __future__ import annotations

import sys
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller.library.report import LIVE, SyncStatus
from controller.library.scan import Scanned
from controller.meta import Dependency, Issue, VersionError, newest_matching, parse_constraint
from controller.meta.names import META_FILE


@dataclass(frozen=True, slots=True)
class KnownVersion:
    """A stored version of a known example: enough to find it by digest or tag (the rows
    are written by joins on the digest, so its id is not needed here)."""

    tag: str | None
    digest: str


@dataclass(frozen=True, slots=True)
class Known:
    """An example as the database holds it (latest version's dependencies and warnings)."""

    id: uuid.UUID
    identifier: str
    directory: str
    fingerprint: str | None
    archived: bool
    latest: KnownVersion | None
    versions: tuple[KnownVersion, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    warnings: tuple[str, ...] = ()

    def version(self, *, digest: str | None = None, tag: str | None = None
                ) -> KnownVersion | None:
        """The stored version with this digest or tag, if any."""
        for v in self.versions:
            if (digest is not None and v.digest == digest) or (tag is not None and v.tag == tag):
                return v
        return None


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An example skipped by its fingerprint: same content as its latest version."""

    directory: str
    known: Known


@dataclass(frozen=True, slots=True)
class Summary:
    """What planning, the rows and the report keep of a read example until the sync ends,
    for every example: no meta.yaml tree, file lists, titles or source handles (what the
    rows need of those waits in the sync's transaction, `rows.Staging`), so memory per
    example stays small."""

    directory: str
    identifier: str | None
    version: str | None
    digest: str
    dependencies: tuple[Dependency, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, s: Scanned) -> Summary:
        """The summary of a read example (a version label is shared by the examples using
        it, not repeated per example)."""
        meta = s.meta
        return cls(s.found.directory, meta.identifier if meta else None,
                   sys.intern(meta.version) if meta and meta.version else None, s.digest,
                   meta.dependencies if meta else (),
                   tuple(str(i) for i in s.issues if i.is_error),
                   tuple(str(i) for i in s.issues if not i.is_error))


@dataclass(slots=True)
class Decision:
    """What the sync decides for one example directory (or one known example gone from the
    source): its status, errors and warnings, and what it depends on."""

    directory: str
    identifier: str | None
    known: Known | None
    scanned: Summary | None
    dependencies: tuple[Dependency, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    status: SyncStatus = SyncStatus.UNCHANGED

    @property
    def meta_file(self) -> str:
        """The example's meta.yaml path, as messages name the file."""
        return META_FILE if self.directory == "." else f"{self.directory}/{META_FILE}"

    @property
    def digest(self) -> str | None:
        """The digest this example is served at after the sync."""
        if self.scanned is not None and self.status in LIVE:
            return self.scanned.digest
        return self.known.latest.digest if self.known and self.known.latest else None

    @property
    def tag(self) -> str | None:
        """The tag this example is served at after the sync."""
        if self.scanned is not None and self.scanned.identifier \
                and self.status != SyncStatus.INVALID:
            return self.scanned.version
        return self.known.latest.tag if self.known and self.known.latest else None

    @property
    def publish(self) -> bool:
        """True when the sync must store a version that does not exist yet."""
        return (self.scanned is not None and self.status in (SyncStatus.NEW, SyncStatus.CHANGED)
                and (self.known is None or self.known.version(digest=self.scanned.digest) is None))

    def fail(self, field_path: str, message: str) -> None:
        """Record an error on `field_path` of the meta.yaml: the example becomes invalid."""
        self.errors += (str(Issue("error", self.meta_file, field_path, message)),)


def may_publish(item: Scanned, known: Mapping[str, Known]) -> bool:
    """Whether a scanned example can become a new version, decided while scanning so its
    files can be uploaded at once: valid on its own, content not stored yet, tag not taken by
    other content. Planning may still reject it (duplicates, dependencies, cycles), but it
    never publishes an example for which this is False."""
    if not item.valid:
        return False
    assert item.meta is not None
    k = known.get(item.meta.identifier)
    if k is None:
        return True
    if k.version(digest=item.digest) is not None:
        return False
    return not item.meta.version or k.version(tag=item.meta.version) is None


def _decision(item: Summary | Unchanged, known: Mapping[str, Known],
              by_directory: Mapping[str, Known]) -> Decision:
    if isinstance(item, Unchanged):
        return Decision(item.directory, item.known.identifier, item.known, None,
                        item.known.dependencies, warnings=item.known.warnings)
    identifier = item.identifier
    k = known.get(identifier) if identifier else by_directory.get(item.directory)
    d = Decision(item.directory, identifier, k, item, item.dependencies, errors=item.errors,
                 warnings=item.warnings)
    if item.version and k is not None:
        same_tag = k.version(tag=item.version)
        if same_tag is not None and same_tag.digest != item.digest:
            d.fail("version", f"version {item.version} of {identifier} is already published "
                              "with other content: bump `version`")
    return d


def _live_identifiers(decisions: list[Decision]) -> dict[str, Decision]:
    """Decision per identifier used once; every directory sharing an identifier fails."""
    first: dict[str, Decision] = {}
    shared: dict[str, list[Decision]] = {}  # only the identifiers used more than once
    for d in decisions:
        if d.identifier:
            other = first.setdefault(d.identifier, d)
            if other is not d:
                shared.setdefault(d.identifier, [other]).append(d)
    for ident, group in shared.items():
        for d in group:
            others = ", ".join(f"`{o.directory}`" for o in group if o is not d)
            d.fail("identifier", f"identifier `{ident}` is also used by {others}; "
                                 "identifiers must be unique in a repository: change one")
        del first[ident]
    return first


def _cycle_through(start: str, graph: Mapping[str, set[str]]) -> list[str] | None:
    """The shortest dependency path from `start` back to itself, if there is one."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None


def _mark_cycles(live: Mapping[str, Decision]) -> None:
    # Only examples with dependencies can be on a cycle (most have none).
    graph = {i: deps for i, d in live.items() if d.dependencies and not d.errors
             if (deps := {dep.identifier for dep in d.dependencies if dep.identifier in live})}
    remaining = dict(graph)
    changed = True
    while changed:  # peel off examples that cannot be on a cycle (Kahn)
        changed = False
        for node, deps in list(remaining.items()):
            if not deps & remaining.keys():
                del remaining[node]
                changed = True
    for node in sorted(remaining):
        cycle = _cycle_through(node, remaining)
        if cycle is not None:
            live[node].fail("properties.testDependencies",
                            "dependency cycle: " + " → ".join(cycle)
                            + "; remove one of these testDependencies")


def _available(d: Decision) -> tuple[bool, list[str]]:
    """(has any version, tags) the example will have after this sync."""
    known = d.known.versions if d.known else ()
    tags = [v.tag for v in known if v.tag]
    valid = not d.errors
    if valid and d.scanned is not None and d.scanned.version:
        tags.append(d.scanned.version)
    return bool(known) or valid, tags


def _check_dependency(d: Decision, dep: Dependency, live: Mapping[str, Decision]) -> None:
    where = "properties.testDependencies"
    target = live.get(dep.identifier)
    if target is None:
        d.fail(where, f"depends on `{dep.identifier}`, which is not an example of this "
                      "repository; add it or fix the identifier")
        return
    has_any, tags = _available(target)
    if not has_any:
        d.fail(where, f"depends on `{dep.identifier}`, which has no valid version; fix the "
                      "errors reported for it")
        return
    if dep.constraint is None:
        return
    try:
        constraint = parse_constraint(dep.constraint)
    except VersionError as err:
        d.fail(where, f"`{dep.identifier}`: {err}")
        return
    if not constraint.is_any and newest_matching(constraint, tags) is None:
        shown = ", ".join(sorted(set(tags))) or "none"
        d.fail(where, f"no version of `{dep.identifier}` satisfies `{dep.constraint}` "
                      f"(tagged versions: {shown}); change the constraint or publish one")


def plan(items: Iterable[Scanned | Summary | Unchanged], known: Mapping[str, Known], *,
         archive: bool = True, dependencies: bool = True) -> list[Decision]:
    """Decisions for every read or skipped example, plus archivals when `archive`.

    `dependencies=False` skips dependency checks (validating a single example on its own).
    """
    by_directory = {k.directory: k for k in known.values() if not k.archived}
    decisions = [_decision(Summary.of(item) if isinstance(item, Scanned) else item, known,
                           by_directory) for item in items]
    live = _live_identifiers(decisions)
    _mark_cycles(live)
    dependents = [d for d in live.values() if d.dependencies] if dependencies else []
    changed = bool(dependents)
    while changed:  # an example turning invalid can leave its dependents without a version
        changed = False
        for d in dependents:
            if d.errors:
                continue
            for dep in d.dependencies:
                _check_dependency(d, dep, live)
            changed = changed or bool(d.errors)
    for d in decisions:
        if d.errors:
            d.status = SyncStatus.INVALID
        elif d.scanned is None:
            d.status = SyncStatus.UNCHANGED
        elif d.known is None:
            d.status = SyncStatus.NEW
        elif d.known.archived or d.known.latest is None \
                or d.known.latest.digest != d.scanned.digest:
            d.status = SyncStatus.CHANGED
    if archive:
        present = {d.identifier for d in decisions if d.identifier}
        unidentified = {d.directory for d in decisions if not d.identifier}
        for k in known.values():
            if not k.archived and k.identifier not in present \
                    and k.directory not in unidentified:
                decisions.append(Decision(k.directory, k.identifier, k, None, (),
                                          status=SyncStatus.ARCHIVED))
    return decisions
