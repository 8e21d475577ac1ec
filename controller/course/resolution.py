"""Resolve a course's nodes against the library (database adapter around the pure rules).

For each assignment: which example (controller.course.matching), which version (the library's
`resolve_version`; an omitted version stays on the version first deployed), and which versions
of its dependencies, transitively (newest match of each `testDependencies` constraint). Every
problem is collected and raised as one SpecError naming the node and field.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from controller.course.errors import SpecError, SpecProblem
from controller.course.matching import Candidate, match_example
from controller.course.plan import Desired, Target
from controller.course.render import ResolvedDependency, deploy_key
from controller.course.spec import CourseSpec, Node
from controller.library.errors import VersionNotFound
from controller.library.versions import pick_version
from controller.store.db.library import (
    Example,
    ExampleDependency,
    ExampleRepository,
    ExampleVersion,
)
from controller.tenancy import Visibility, use_problem


@dataclass(frozen=True)
class Source:
    """What the deployer reads to build one assignment's directory."""

    version: ExampleVersion
    dependencies: tuple[tuple[ResolvedDependency, ExampleVersion], ...] = field(default=())


@dataclass(frozen=True)
class Resolution:
    """The spec's nodes resolved against the library: the version each assignment gets, and
    where its files come from (by spec id)."""

    desired: tuple[Desired, ...]
    sources: Mapping[str, Source]  # by spec id


def _repositories(session: Session, course: CourseSpec, namespace: str,
                  problems: list[SpecProblem]) -> None:
    rows = {f"{r.namespace}/{r.name}": r for r in session.scalars(sa.select(ExampleRepository))}
    for i, name in enumerate(course.repositories):
        repo = rows.get(name)
        if repo is None:
            problems.append(SpecProblem(f"exampleRepositories[{i}]", "", (
                f"repository {name} is not in the library (not synced yet?)")))
            continue
        refused = use_problem(namespace, name, Visibility.of(repo.visibility,
                                                             repo.allowed_namespaces))
        if refused:
            problems.append(SpecProblem(f"exampleRepositories[{i}]", "", refused))


def _candidates(session: Session, course: CourseSpec) -> list[Candidate]:
    refs = [n.example for n in course.nodes if n.example is not None]
    identifiers = {r.identifier for r in refs if r.identifier}
    ids = {uuid.UUID(r.id) for r in refs if r.id}
    q = (sa.select(Example, ExampleRepository.namespace, ExampleRepository.name)
         .join(ExampleRepository, ExampleRepository.id == Example.repository_id)
         .where(sa.or_(Example.identifier.in_(identifiers), Example.id.in_(ids))))
    return [Candidate(str(e.id), e.identifier, f"{ns}/{name}", e.title)
            for e, ns, name in session.execute(q)]


class _Library:
    """The library rows a course's resolution reads: its examples, all their versions and
    those versions' dependencies, transitively, loaded a few queries per pass (one query
    per kind and dependency level) instead of several per node."""

    def __init__(self, session: Session, example_ids: Iterable[uuid.UUID]) -> None:
        self.session = session
        self.examples: dict[uuid.UUID, Example] = {}
        self.versions: dict[uuid.UUID, list[ExampleVersion]] = {}
        self.depends: dict[uuid.UUID, list[ExampleDependency]] = {}  # by version id
        todo = set(example_ids)
        while todo:
            todo = self._load(todo)

    def _load(self, ids: set[uuid.UUID]) -> set[uuid.UUID]:
        """Load these examples; the examples their versions depend on, not loaded yet."""
        for e in self.session.scalars(sa.select(Example).where(Example.id.in_(ids))):
            self.examples[e.id] = e
            self.versions[e.id] = []
        loaded = self.session.scalars(sa.select(ExampleVersion)
                                      .where(ExampleVersion.example_id.in_(ids))).all()
        for v in loaded:
            self.versions[v.example_id].append(v)
        found = self.session.scalars(sa.select(ExampleDependency).where(
            ExampleDependency.example_version_id.in_([v.id for v in loaded]))).all()
        for d in found:
            self.depends.setdefault(d.example_version_id, []).append(d)
        return {d.depends_id for d in found} - self.examples.keys()

    def version(self, example_id: uuid.UUID, spec: str | None) -> ExampleVersion:
        example = self.examples.get(example_id)
        if example is None:
            raise VersionNotFound(f"example {example_id} does not exist")
        return pick_version(example, self.versions[example_id], spec)

    def dependencies(self, version: ExampleVersion
                     ) -> tuple[tuple[ResolvedDependency, ExampleVersion], ...]:
        """Every dependency, transitively, each at the newest version its constraint allows."""
        out: dict[uuid.UUID, tuple[ResolvedDependency, ExampleVersion]] = {}
        todo = [version]
        while todo:
            current = todo.pop()
            for dep in self.depends.get(current.id, ()):
                if dep.depends_id in out or dep.depends_id == version.example_id:
                    continue
                chosen = self.version(dep.depends_id, dep.constraint)
                example = self.examples[dep.depends_id]
                out[dep.depends_id] = (ResolvedDependency(
                    example.identifier, str(example.id), str(chosen.id), chosen.tag,
                    chosen.digest), chosen)
                todo.append(chosen)
        return tuple(sorted(out.values(), key=lambda d: d[0].identifier))


def resolve_course(session: Session, course: CourseSpec, namespace: str,
                   pinned: Mapping[str, tuple[str, str]]) -> Resolution:
    """Desired nodes with targets; `pinned` maps spec id -> (example id, version id) deployed."""
    problems: list[SpecProblem] = []
    _repositories(session, course, namespace, problems)
    candidates = _candidates(session, course)
    library = _Library(session, (uuid.UUID(c.id) for c in candidates))
    desired: list[Desired] = []
    sources: dict[str, Source] = {}
    for node in course.nodes:
        if node.example is None:
            desired.append(Desired(node))
            continue
        found = match_example(node.example, candidates, course.repositories)
        if isinstance(found, str):
            problems.append(SpecProblem(node.where, "example", found))
            continue
        try:
            version = _version(library, node, found, pinned)
            deps = library.dependencies(version)
        except VersionNotFound as err:
            problems.append(SpecProblem(node.where, "version", str(err)))
            continue
        key = deploy_key(version.digest, node.properties, [d for d, _ in deps])
        desired.append(Desired(node, Target(
            example_id=found.id, identifier=found.identifier, version_id=str(version.id),
            tag=version.tag, digest=version.digest, deploy_key=key, title=found.title)))
        sources[node.id] = Source(version, deps)
    if problems:
        raise SpecError(problems)
    return Resolution(tuple(desired), sources)


def _version(library: _Library, node: Node, found: Candidate,
             pinned: Mapping[str, tuple[str, str]]) -> ExampleVersion:
    """An omitted version stays on the one first deployed (DESIGN §6); else resolve the spec."""
    example_id = uuid.UUID(found.id)
    pin = pinned.get(node.id)
    if node.version is None and pin is not None and pin[0] == found.id:
        version = next((v for v in library.versions[example_id] if str(v.id) == pin[1]), None)
        if version is not None:
            return version
    return library.version(example_id, node.version)
