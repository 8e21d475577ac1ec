"""Resolve a course's nodes against the library (database adapter around the pure rules).

For each assignment: which example (controller.course.resolve), which version (the library's
`resolve_version`; an omitted version stays on the version first deployed), and which versions
of its dependencies, transitively (newest match of each `testDependencies` constraint). Every
problem is collected and raised as one SpecError naming the node and field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from controller.course.errors import SpecError, SpecProblem
from controller.course.plan import Desired, Target
from controller.course.render import ResolvedDependency, deploy_key
from controller.course.resolve import Candidate, match_example
from controller.course.spec import CourseSpec, Node
from controller.library.errors import VersionNotFound
from controller.library.versions import resolve_version
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


def _dependencies(session: Session, version: ExampleVersion
                  ) -> tuple[tuple[ResolvedDependency, ExampleVersion], ...]:
    """Every dependency, transitively, each at the newest version its constraint allows."""
    out: dict[uuid.UUID, tuple[ResolvedDependency, ExampleVersion]] = {}
    todo = [version]
    while todo:
        current = todo.pop()
        deps = session.scalars(sa.select(ExampleDependency)
                               .filter_by(example_version_id=current.id)).all()
        for dep in deps:
            if dep.depends_id in out or dep.depends_id == version.example_id:
                continue
            chosen = resolve_version(session, dep.depends_id, dep.constraint)
            example = session.get(Example, dep.depends_id)
            assert example is not None
            out[dep.depends_id] = (ResolvedDependency(
                example.identifier, str(example.id), str(chosen.id), chosen.tag, chosen.digest),
                chosen)
            todo.append(chosen)
    return tuple(sorted(out.values(), key=lambda d: d[0].identifier))


def resolve_course(session: Session, course: CourseSpec, namespace: str,
                   pinned: Mapping[str, tuple[str, str]]) -> Resolution:
    """Desired nodes with targets; `pinned` maps spec id -> (example id, version id) deployed."""
    problems: list[SpecProblem] = []
    _repositories(session, course, namespace, problems)
    candidates = _candidates(session, course)
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
            version = _version(session, node, found, pinned)
            deps = _dependencies(session, version)
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


def _version(session: Session, node: Node, found: Candidate,
             pinned: Mapping[str, tuple[str, str]]) -> ExampleVersion:
    """An omitted version stays on the one first deployed (DESIGN §6); else resolve the spec."""
    pin = pinned.get(node.id)
    if node.version is None and pin is not None and pin[0] == found.id:
        version = session.get(ExampleVersion, uuid.UUID(pin[1]))
        if version is not None:
            return version
    return resolve_version(session, uuid.UUID(found.id), node.version)
