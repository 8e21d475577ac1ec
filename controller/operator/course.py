"""One pass over a CourseStructure: the same pass as `exlib apply`, reported as status."""

from __future__ import annotations

import logging
from typing import Any

from controller.course import errors
from controller.course.apply import (
    ApplyReport,
    CourseCredentials,
    Step,
    apply_course,
    archive_course,
)
from controller.course.plan import Op, State
from controller.course.spec import parse_spec
from controller.operator.inputs import destination_problems, git_credentials, provider_token
from controller.operator.loop import PassResult
from controller.operator.metrics import COMMITS_PUSHED
from controller.operator.process import settings
from controller.operator.status import Problem, failure_reason, readiness
from controller.store.kube import Kube, SecretMissing
from controller.tenancy import use_problem
from controller.testing import killpoints

log = logging.getLogger("exlib.operator")
MAX_CONTENTS_LISTED = 20
_REQUEST_EVENTS = {Op.OPEN_REQUEST: "RequestOpened", Op.CLOSE_REQUEST: "RequestClosed"}
_FAILED = {errors.FetchFailed: "FetchFailed", errors.CommitFailed: "CommitFailed",
           errors.StorageFailed: "StorageFailed", errors.DatabaseFailed: "DatabaseFailed",
           errors.PassRunning: "ReconcileFailed", errors.ProviderFailed: "ProviderFailed"}


def _repo_refs(spec: dict[str, Any], namespace: str) -> list[tuple[str, str]]:
    refs = []
    for ref in spec.get("exampleRepositories") or []:
        ns, _, name = ref.rpartition("/")
        refs.append((ns or namespace, name))
    return refs


def repositories_moved(body: dict[str, Any], index: Any) -> str | None:
    """A used repository reached a new revision (or became Ready) since the last pass."""
    used = (body.get("status") or {}).get("repositories") or {}
    ns = body["metadata"]["namespace"]
    for key in _repo_refs(body.get("spec") or {}, ns):
        for info in index.get(key, ()):
            if info["ready"] and info["revision"] != used.get("/".join(key)):
                return f"repository {'/'.join(key)} at revision {str(info['revision'])[:12]}"
    return None


def _dependencies(kube: Kube, spec: dict[str, Any], namespace: str
                  ) -> tuple[dict[str, str], list[Problem], tuple[str, ...]]:
    """The revision of each repository the course uses, or why it cannot go on.

    A repository that synced once serves its last good artifact (the versions already in the
    library) while its source is unreachable, Flux-style: only one that never synced, or one
    the course may not use, holds the course back. Its own status shows the outage; the
    third value names such repositories for the course's Ready message.
    """
    revisions, problems, stale = {}, [], []
    for ns, name in _repo_refs(spec, namespace):
        key = f"{ns}/{name}"
        obj = kube.get("ExampleRepository", ns, name)
        if obj is None:
            problems.append(Problem("DependencyNotReady", "RepositoryNotFound",
                                    f"ExampleRepository {key} does not exist"))
            continue
        info = readiness(obj)
        refused = use_problem(namespace, key, info["visibility"])
        if refused:
            problems.append(Problem("Stalled", "RepositoryNotVisible", refused))
        elif not info["revision"]:
            problems.append(Problem("DependencyNotReady", "RepositoryNotReady",
                                    f"ExampleRepository {key} has not synced yet: "
                                    f"{info['message']}"))
        else:
            revisions[key] = info["revision"]
            if not info["ready"]:
                stale.append(f"{key} at {str(info['revision'])[:12]} ({info['message']})")
    return revisions, problems, tuple(stale)


def apply_once(kube: Kube, body: dict[str, Any], reason: str) -> PassResult:
    """One pass over a CourseStructure: the same pass as `exlib apply`, reported as status,
    conditions and events."""
    meta, spec = body["metadata"], body.get("spec") or {}
    status = body.get("status") or {}
    ns, name = meta["namespace"], meta["name"]
    try:  # the one validation of the pass (schema, URLs, tree rules); passed down parsed
        course = parse_spec(spec, ns)
    except errors.SpecError as err:
        return PassResult.problem("Stalled", "InvalidSpec", _one_line(err))
    refused = destination_problems(spec, settings())
    if refused:
        return PassResult.problem("Stalled", "DestinationNotAllowed", "; ".join(refused))
    revisions, problems, stale = _dependencies(kube, spec, ns)
    if problems:
        return PassResult(problems=tuple(problems))
    try:
        creds = CourseCredentials(
            git_credentials(kube, ns, _secret(spec, "assignments")),
            git_credentials(kube, ns, _secret(spec, "studentTemplate")),
            provider_token=provider_token(kube, ns, spec))
    except SecretMissing as err:
        return PassResult.problem("FetchFailed", "SecretNotFound", str(err))
    try:
        report = apply_course(settings(), course, name=name, namespace=ns,
                              credentials=creds)
    except errors.SpecError as err:
        return PassResult.problem("Stalled", "InvalidSpec", _one_line(err))
    except errors.CourseError as err:
        return PassResult(problems=(Problem(_condition(err), failure_reason(err), str(err)),))
    killpoints.reach(killpoints.COURSE_AFTER_TEMPLATE)
    return _result(report, status, revisions, course.path, stale)


def _condition(err: errors.CourseError) -> str:
    """The detail condition a failed step's error shows as."""
    return next((v for k, v in _FAILED.items() if isinstance(err, k)), "CommitFailed")


def _secret(spec: dict[str, Any], key: str) -> dict[str, Any] | None:
    return (spec.get(key) or {}).get("secretRef")


def _one_line(err: errors.SpecError) -> str:
    return "; ".join(str(p) for p in err.problems) or str(err)


def _failed_step(report: ApplyReport) -> Problem | None:
    """The step after the push that stopped the pass, as a detail condition saying what
    did happen and what to do."""
    if report.failed is None:
        return None
    step, err = report.failed.step, report.failed.error
    done = f"The assignments are at {(report.assignments_commit or 'no commit')[:12]}"
    if step == Step.STUDENT_TEMPLATE:
        return Problem("StudentTemplateReady", failure_reason(err), (
            f"{done}, but the student template was not updated: {err}. exlib retries with "
            "backoff; check spec.studentTemplate (URL, branch) and that its Secret may push "
            "there"), status="False")
    return Problem(_condition(err), failure_reason(err),
                   f"{done}; step `{step}` failed: {err}. exlib retries with backoff")


def _blocked(contents: tuple[dict[str, Any], ...]) -> Problem | None:
    """Assignments exlib could not deploy (their directory holds someone else's content)."""
    blocked = [c for c in contents if c["state"] == State.BLOCKED]
    if not blocked:
        return None
    first = "; ".join(f"{c['path']}: {c.get('message') or 'blocked'}" for c in blocked[:3])
    more = f" and {len(blocked) - 3} more" if len(blocked) > 3 else ""
    return Problem("ContentBlocked", "ContentBlocked",
                   f"{len(blocked)} assignment(s) not deployed: {first}{more}")


def _result(report: ApplyReport, status: dict[str, Any], revisions: dict[str, str],
            path: str, stale: tuple[str, ...] = ()) -> PassResult:
    """The status of what the pass did, whichever step it stopped at after the push."""
    counts = report.counts
    conflicts = [c for c in report.contents if c["state"] == State.UPDATE_CONFLICT]
    found = (_failed_step(report),
             *(Problem("UpdateConflict", "UpdateConflict",
                       f"{c['path']}: {c.get('message') or 'merge conflict'}"
                       + (f"; merge request: {c['request']}" if c.get("request") else ""))
               for c in conflicts[:1]),
             _blocked(report.contents) if report.recorded else None)
    problems = tuple(p for p in found if p is not None)
    events: list[tuple[str, str, str]] = []
    commit = report.assignments_commit
    old_commit = (status.get("assignments") or {}).get("commit")
    if report.assignments_changed:
        COMMITS_PUSHED.labels("assignments").inc()
    if report.assignments.landed and commit and commit != old_commit:
        events.append(("Normal", "Deployed",
                       f"deployed {counts['deployed']} of {_assignments(report)} assignments of "
                       f"{path} at commit {commit[:12]} ({len(report.actions)} changes)"))
    if report.template_changed:
        COMMITS_PUSHED.labels("studentTemplate").inc()
    old_customized = (status.get("counts") or {}).get("customized", 0)
    if counts["customized"] > old_customized:
        kept = [c["path"] for c in report.contents if c["customized"]]
        events.append(("Normal", "CustomizedKept",
                       f"lecturer changes kept in {', '.join(kept[:10])}"))
    for action in report.actions:
        if action.op == Op.MOVE_COURSE:
            events.append(("Normal", "CourseMoved", f"course {action.from_path} moved to "
                                                    f"{action.path} (ids and directories kept)"))
        if action.overwrites_customisation and not report.dry_run:
            events.append(("Normal", "CustomizationReplaced", f"{action.path}: {action.detail}"))
        if action.op == Op.CREATE_PROJECT:
            events.append(("Normal", "ProjectCreated", f"created project {action.detail}"))
        if action.op in _REQUEST_EVENTS:
            events.append(("Normal", _REQUEST_EVENTS[action.op], f"{action.path}: {action.detail}"))
    for path, problem in report.request_problems.items():
        events.append(("Warning", "RequestFailed", f"{path}: {problem}"))
    listed = [c for c in report.contents
              if c["kind"] == "assignment" and c["state"] != State.DEPLOYED][:MAX_CONTENTS_LISTED]
    shown: dict[str, Any] = {"courseId": report.course_id, "assignments": {"commit": commit},
                             "repositories": revisions}
    if report.projects:
        shown["projects"] = {k: dict(v) for k, v in report.projects.items()}
    if report.recorded:  # else the rows keep what the last recorded pass wrote
        shown |= {"counts": counts,
                  "contents": [{k: str(c.get(k) or "") for k in ("path", "example", "version",
                                                                  "state", "message", "request")}
                               for c in listed]}
    if report.student_template is not None or report.failed is None:
        shown["studentTemplate"] = {"commit": report.template_commit}
    return PassResult(
        problems=problems, events=events,
        ready_message=(f"{counts['deployed']} of {_assignments(report)} assignments deployed at "
                       f"{(commit or 'no commit')[:12]}" + (
                           f"; library versions as last synced from {'; '.join(stale)}"
                           if stale else "")),
        status=shown, phases=report.phases)


def _assignments(report: ApplyReport) -> int:
    return sum(c["kind"] == "assignment" for c in report.contents)


def on_delete(namespace: str, name: str, spec: dict[str, Any]) -> None:
    """Archive the course's rows (submissions hang off them); Git repositories stay."""
    try:
        archive_course(settings(), spec, namespace=namespace, name=name)
    except errors.SpecError as err:  # never deployed, or not ours: nothing to archive
        log.warning("CourseStructure %s/%s deleted without archiving rows: %s", namespace,
                    name, _one_line(err))
