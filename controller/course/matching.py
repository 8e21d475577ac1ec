"""Which library example a node means (pure): DESIGN §6 `example` resolution rules.

An identifier is looked up across the course's `exampleRepositories`; found in several, it is
ambiguous and the lecturer must qualify it. `{repository, identifier}` and `{id}` must point
into a listed repository, so a course never silently depends on a repository it did not name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.course.spec import ExampleRef


@dataclass(frozen=True)
class Candidate:
    """An example as stored in the library."""

    id: str
    identifier: str
    repository: str  # "namespace/name"
    title: str | None = None


def match_example(ref: ExampleRef, candidates: Sequence[Candidate],
                  repositories: Sequence[str]) -> Candidate | str:
    """The example `ref` names, or a message saying why there is none (or several)."""
    listed = ", ".join(repositories) or "none (add exampleRepositories)"
    if ref.id is not None:
        hit = next((c for c in candidates if c.id == ref.id), None)
        if hit is None:
            return f"no example has id {ref.id}"
        if hit.repository not in repositories:
            return (f"example {ref.id} ({hit.identifier}) is in repository {hit.repository}, "
                    f"which is not listed in exampleRepositories ({listed})")
        return hit
    if ref.repository is not None and ref.repository not in repositories:
        return (f"repository {ref.repository} is not listed in exampleRepositories ({listed})")
    scope = [ref.repository] if ref.repository else list(repositories)
    hits = [c for c in candidates if c.identifier == ref.identifier and c.repository in scope]
    if not hits:
        return f"no example `{ref.identifier}` in repositories {', '.join(scope) or listed}"
    if len(hits) > 1:
        found = ", ".join(sorted(c.repository for c in hits))
        return (f"example `{ref.identifier}` is ambiguous: it exists in {found}; write "
                f"{{repository: <one of them>, identifier: {ref.identifier}}}")
    return hits[0]
