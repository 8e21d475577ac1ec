"""Status conditions, computed in one place (pure; Flux/kstatus shape).

`Ready` is derived from the others so it can never disagree with them: `Reconciling` and
`Stalled` exist only while true, and each detail condition exists only while its problem
does: negative ones (`FetchFailed`, `StorageFailed`, `ContentBlocked`, ...) as True,
positive ones (`StudentTemplateReady`) as False. `lastTransitionTime` only moves
when a condition's status changes, so `kubectl describe` shows how long a state has lasted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.tenancy import Visibility
from controller.timeouts import timed_out

DETAIL_TYPES = ("FetchFailed", "StorageFailed", "DatabaseFailed", "CommitFailed",
                "DependencyNotReady", "UpdateConflict", "ReconcileFailed", "ContentBlocked",
                "StudentTemplateReady", "ProviderFailed")
READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"


@dataclass(frozen=True)
class Problem:
    """Something wrong found by a pass; `type` is a detail condition or `Stalled`, shown
    with `status` ("False" for a positive-polarity type such as `StudentTemplateReady`)."""

    type: str
    reason: str
    message: str
    status: str = "True"


@dataclass(frozen=True)
class Observation:
    """What one pass (or its start) tells about an object."""

    generation: int
    reconciling: str | None = None
    problems: tuple[Problem, ...] = ()
    ready_message: str = ""
    suspended: bool = False


def _condition(type_: str, status: str, reason: str, message: str, generation: int,
               previous: dict[str, dict[str, Any]], now: str) -> dict[str, Any]:
    old = previous.get(type_)
    since = old["lastTransitionTime"] if old and old.get("status") == status else now
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": since}


def summarise(previous: list[dict[str, Any]], obs: Observation, now: str) -> list[dict[str, Any]]:
    """The full condition list for `obs`, keeping transition times from `previous`."""
    prev = {c["type"]: c for c in previous or []}
    if obs.suspended:
        kept = [c for c in previous or [] if c["type"] != RECONCILING]
        if READY not in prev:
            kept.append(_condition(READY, "Unknown", "Suspended",
                                   "suspended: nothing is reconciled until spec.suspend is false",
                                   obs.generation, prev, now))
        return kept

    def cond(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return _condition(type_, status, reason, message, obs.generation, prev, now)

    out: list[dict[str, Any]] = []
    stalled = next((p for p in obs.problems if p.type == STALLED), None)
    details = [p for p in obs.problems if p.type != STALLED]
    if obs.reconciling is not None:
        out.append(cond(RECONCILING, "True", "Progressing", obs.reconciling))
        out.append(cond(READY, "Unknown", "Progressing", obs.reconciling))
        # keep the last pass's problems visible while the new pass runs
        out += [c for t, c in prev.items() if t in DETAIL_TYPES or t == STALLED]
        return out
    if stalled:
        out.append(cond(STALLED, "True", stalled.reason, stalled.message))
    out += [cond(p.type, p.status, p.reason, p.message) for p in details]
    first = stalled or (details[0] if details else None)
    if first:
        out.insert(0, cond(READY, "False", first.reason, first.message))
    else:
        out.insert(0, cond(READY, "True", "Succeeded", obs.ready_message))
    return out


def failure_reason(err: BaseException) -> str:
    """The reason of a pass that could not run: `Timeout` when a server did not answer in
    time (however the error was wrapped), else the error's own `reason` if it names one
    (`MissingScope`), else its class name."""
    if timed_out(err):
        return "Timeout"
    return getattr(err, "reason", None) or type(err).__name__


def ready_of(conditions: list[dict[str, Any]] | None) -> tuple[str, str]:
    """(status, reason) of Ready, for deciding whether a pass is a transition worth an event."""
    for c in conditions or []:
        if c.get("type") == READY:
            return c.get("status", "Unknown"), c.get("reason", "")
    return "Unknown", ""


def visibility_of(spec: dict[str, Any]) -> Visibility:
    """Who may use an ExampleRepository's examples, as its spec says."""
    return Visibility.of(spec.get("visibility"), spec.get("allowedNamespaces"))


def readiness(body: dict[str, Any]) -> dict[str, Any]:
    """What a course needs to know about an ExampleRepository, from its object: Ready now
    (for its current generation), at which revision, and who may use it."""
    status = body.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == READY), {})
    return {
        "ready": ready.get("status") == "True"
        and status.get("observedGeneration") == body["metadata"].get("generation"),
        "revision": (status.get("artifact") or {}).get("revision"),
        "message": ready.get("message", "not reconciled yet"),
        "visibility": visibility_of(body.get("spec") or {}),
    }
