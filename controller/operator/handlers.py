"""Kopf registrations (thin): one daemon per object runs its loop; deletion archives rows.

Imported by `controller.operator.runner`; importing registers the handlers with Kopf.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from controller.operator import course, metrics, repository
from controller.operator.loop import NamespaceSlots, run_loop
from controller.store.kube import GROUP, VERSION, Kube

FINALIZER = "exlib.dev/finalizer"
_kube: Kube | None = None
_slots: NamespaceSlots | None = None


def kube() -> Kube:
    global _kube
    if _kube is None:
        _kube = Kube.connect()
    return _kube


def slots() -> NamespaceSlots:
    """One limit of concurrent passes per namespace, shared by both kinds."""
    global _slots
    if _slots is None:
        _slots = NamespaceSlots(repository.settings().passes_per_namespace)
    return _slots


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration")
    settings.posting.enabled = False  # events are posted on transitions only, by the loop
    settings.watching.server_timeout = 300
    logging.getLogger("kubernetes").setLevel(logging.WARNING)


@kopf.index(GROUP, VERSION, "examplerepositories")
def repositories(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """(namespace, name) -> the repository's readiness and revision, for course triggers."""
    return {(namespace, name): repository.readiness(body)}


@kopf.daemon(GROUP, VERSION, "examplerepositories", cancellation_timeout=30)
async def repository_daemon(body: kopf.Body, stopped: kopf.DaemonStopped, **_: Any) -> None:
    await run_loop(kube(), "ExampleRepository", repository.SCHEMA, body, stopped,
                   repository.run_pass, slots())


@kopf.daemon(GROUP, VERSION, "coursestructures", cancellation_timeout=30)
async def course_daemon(body: kopf.Body, stopped: kopf.DaemonStopped,
                        repositories: kopf.Index, **_: Any) -> None:
    await run_loop(kube(), "CourseStructure", None, body, stopped, course.run_pass,
                   slots(), trigger=lambda snapshot: course.repositories_moved(snapshot,
                                                                                repositories))


@kopf.on.delete(GROUP, VERSION, "examplerepositories")
def repository_deleted(namespace: str, name: str, **_: Any) -> None:
    metrics.forget("ExampleRepository", namespace, name)
    repository.on_delete(namespace, name)


@kopf.on.delete(GROUP, VERSION, "coursestructures")
def course_deleted(namespace: str, name: str, spec: kopf.Spec, **_: Any) -> None:
    metrics.forget("CourseStructure", namespace, name)
    course.on_delete(namespace, name, dict(spec))
