"""Kopf registrations (thin): one daemon per object runs its loop; deletion archives rows.

`registry(scope)` builds them for one operator's shard (`controller.operator.scope`): the
daemons and deletion handlers see only the shard's objects, so the operator writes no status,
runs no pass, posts no event and sets no finalizer on any other object.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from controller.operator import course, metrics, process, repository
from controller.operator.loop import NamespaceSlots, run_loop
from controller.operator.scope import SHARD_LABEL, Scope
from controller.operator.status import readiness
from controller.store.kube import GROUP, VERSION, Kube

_kube: Kube | None = None
_slots: NamespaceSlots | None = None


def kube() -> Kube:
    """The process's Kubernetes clients, connected on first use."""
    global _kube
    if _kube is None:
        _kube = Kube.connect()
    return _kube


def slots() -> NamespaceSlots:
    """One limit of concurrent passes per namespace, shared by both kinds."""
    global _slots
    if _slots is None:
        _slots = NamespaceSlots(process.settings().passes_per_namespace)
    return _slots


def registry(scope: Scope) -> kopf.OperatorRegistry:
    """exlib's handlers for the objects of `scope`'s shard."""
    reg = kopf.OperatorRegistry()  # handler ids as they were at module level: the index's
    # id is the daemon's argument name, the deletion handlers' ids key their progress
    mine = {SHARD_LABEL: scope.shard if scope.shard is not None else kopf.ABSENT}

    @kopf.on.login(id="login", registry=reg)  # as Kopf's default registry: kubeconfig, in-cluster
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="configure", registry=reg)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = scope.finalizer
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration")
        settings.posting.enabled = False  # events are posted on transitions only, by the loop
        settings.watching.server_timeout = 300
        logging.getLogger("kubernetes").setLevel(logging.WARNING)
        logging.getLogger("exlib.operator").info("serving %s", scope.describe())

    # Every repository the operator watches, whichever shard it belongs to: a course may use
    # another shard's repository (read-only), and should hear when it moves.
    @kopf.index(GROUP, VERSION, "examplerepositories", id="repositories", registry=reg)
    def repositories(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[Any, Any]:
        """(namespace, name) -> the repository's readiness and revision, for course triggers."""
        return {(namespace, name): readiness(body)}

    @kopf.daemon(GROUP, VERSION, "examplerepositories", labels=mine, cancellation_timeout=30,
                 id="repository_daemon", registry=reg)
    async def repository_daemon(body: kopf.Body, stopped: kopf.DaemonStopped,
                                **_: Any) -> None:
        await run_loop(kube(), "ExampleRepository", repository.SCHEMA, body, stopped,
                       repository.sync_once, slots())

    @kopf.daemon(GROUP, VERSION, "coursestructures", labels=mine, cancellation_timeout=30,
                 id="course_daemon", registry=reg)
    async def course_daemon(body: kopf.Body, stopped: kopf.DaemonStopped,
                            repositories: kopf.Index, **_: Any) -> None:
        await run_loop(kube(), "CourseStructure", None, body, stopped, course.apply_once,
                       slots(), trigger=lambda snapshot: course.repositories_moved(
                           snapshot, repositories))

    @kopf.on.delete(GROUP, VERSION, "examplerepositories", labels=mine,
                    id="repository_deleted", registry=reg)
    def repository_deleted(namespace: str, name: str, **_: Any) -> None:
        metrics.forget("ExampleRepository", namespace, name)
        repository.on_delete(namespace, name)

    @kopf.on.delete(GROUP, VERSION, "coursestructures", labels=mine, id="course_deleted",
                    registry=reg)
    def course_deleted(namespace: str, name: str, spec: kopf.Spec, **_: Any) -> None:
        metrics.forget("CourseStructure", namespace, name)
        course.on_delete(namespace, name, dict(spec))

    return reg
