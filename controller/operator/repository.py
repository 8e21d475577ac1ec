"""One pass over an ExampleRepository: the same sync as `exlib sync`, reported as status."""

from __future__ import annotations

from typing import Any

from controller import jsonschemas
from controller.library import errors
from controller.library.rows import RepositoryInfo
from controller.library.sync import archive_repository, remote_revision, sync_repository
from controller.operator.inputs import destination_problems, repository_source
from controller.operator.loop import PassResult
from controller.operator.metrics import EXAMPLES_SYNCED
from controller.operator.process import settings
from controller.operator.status import Problem, failure_reason, ready_of, visibility_of
from controller.store.kube import Kube, SecretMissing, now_iso

SCHEMA = jsonschemas.EXAMPLE_REPOSITORY
MAX_INVALID_LISTED = 10


def failure(err: errors.SyncError) -> PassResult:
    """Map a sync that could not run to its condition; wrong credentials retry slowly."""
    kind = {errors.StorageUnavailable: "StorageFailed",
            errors.DatabaseUnavailable: "DatabaseFailed",
            errors.SyncRunning: "ReconcileFailed"}.get(type(err), "FetchFailed")
    return PassResult(problems=(Problem(kind, failure_reason(err), str(err)),),
                      slow_retry=not err.retryable)


def sync_once(kube: Kube, body: dict[str, Any], reason: str) -> PassResult:
    """One pass over an ExampleRepository: the same sync as `exlib sync`, reported as status,
    conditions and events; an interval re-check of an unchanged remote does nothing."""
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    ns, name = meta["namespace"], meta["name"]
    refused = destination_problems(spec, settings())
    if refused:
        return PassResult.problem("Stalled", "DestinationNotAllowed", "; ".join(refused))
    try:
        source = repository_source(kube, ns, spec)
    except SecretMissing as err:
        return PassResult.problem("FetchFailed", "SecretNotFound", str(err))
    old_revision = (status.get("artifact") or {}).get("revision")
    try:
        if reason == "interval" and old_revision and ready_of(status.get(
                "conditions"))[0] == "True" and (
                remote_revision(source, settings(), namespace=ns, name=name) == old_revision):
            return PassResult(skipped=True)
        report = sync_repository(settings(), source, name=name, namespace=ns,
                                 visibility=visibility_of(spec), info=RepositoryInfo(
                                     spec.get("title"), spec.get("description"),
                                     spec.get("organization")))
    except errors.SyncError as err:
        return failure(err)
    counts = report.counts
    for key in ("new", "changed", "invalid", "archived"):
        if counts[key]:
            EXAMPLES_SYNCED.labels(key).inc(counts[key])
    summary = (f"revision {report.revision[:12]}: {counts['total'] - counts['invalid']} "
               f"examples, {counts['invalid']} invalid")
    events = []
    if report.revision != old_revision or counts["new"] or counts["changed"]:
        events.append(("Normal", "NewRevision",
                       f"synced {summary} ({counts['new']} new, {counts['changed']} changed, "
                       f"{counts['archived']} archived)"))
    artifact = dict(status.get("artifact") or {})
    if report.revision != old_revision or not artifact:
        artifact = {"revision": report.revision, "lastUpdateTime": now_iso()}
    artifact["digest"] = report.digest
    return PassResult(
        ready_message=summary,
        events=events,
        phases=report.phases.seconds,
        status={
            "repositoryId": str(report.repository_id),
            "artifact": artifact,
            "counts": {"examples": counts["total"] - counts["invalid"],
                       "versions": report.versions, "invalid": counts["invalid"]},
            "invalid": [{"identifier": e.identifier or "", "directory": e.directory,
                         "message": "; ".join(e.errors)[:500]}
                        for e in report.invalid[:MAX_INVALID_LISTED]],
        },
    )


def on_delete(namespace: str, name: str) -> None:
    """Archive the repository's examples; versions used by any course stay (DESIGN §4)."""
    archive_repository(settings(), namespace=namespace, name=name)
