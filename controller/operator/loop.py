"""The per-object loop the Kopf daemons run: decide, mark Reconciling, run a pass, report.

A pass function turns the object into a `PassResult`; everything Kubernetes-facing that is
common to both kinds (status patches, condition summary, transition events, metrics,
scheduling) happens here, once.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from controller.operator import metrics
from controller.operator.inputs import spec_errors
from controller.operator.schedule import REQUESTED_AT, Memory, due, record
from controller.operator.status import Observation, Problem, ready_of, summarise
from controller.phases import describe
from controller.store.kube import Kube, now_iso
from controller.timeouts import DEFAULT_INTERVAL, MIN_INTERVAL, parse_duration

log = logging.getLogger("exlib.operator")
SETTLED = {"UpdateConflict", "ContentBlocked"}  # waiting for a person, not a retry
POLL_SECONDS = 0.25  # how often the loop looks at its (in-memory) object; no API calls
PASSES = ThreadPoolExecutor(max_workers=8, thread_name_prefix="exlib-pass")


class NamespaceSlots:
    """At most `limit` passes of one namespace at a time, so no namespace holds the pool.

    An object whose namespace is at its limit waits here, in the event loop, before it asks
    the pool for a thread: while one namespace's passes hang on a silent server, the other
    threads serve other namespaces.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, asyncio.Semaphore] = {}

    def __call__(self, namespace: str) -> asyncio.Semaphore:
        if namespace not in self._slots:
            self._slots[namespace] = asyncio.Semaphore(self.limit)
        return self._slots[namespace]


@dataclass
class PassResult:
    """What a pass found: problems (empty = Ready), extra status fields, events to post."""

    problems: tuple[Problem, ...] = ()
    status: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)
    ready_message: str = ""
    slow_retry: bool = False  # wrong credentials: retry at the interval, not with backoff
    skipped: bool = False  # interval re-check found nothing new: no status write
    phases: Mapping[str, float] = field(default_factory=dict)  # seconds per phase of the pass

    @classmethod
    def problem(cls, type_: str, reason: str, message: str) -> PassResult:
        """A pass that stopped on one problem (condition type, reason, message)."""
        return cls(problems=(Problem(type_, reason, message),))


PassFn = Callable[[Kube, dict[str, Any], str], PassResult]


async def run_loop(kube: Kube, kind: str, schema: str | None, body: Any, stopped: Any,
                   pass_fn: PassFn, slots: NamespaceSlots,
                   trigger: Callable[[dict[str, Any]], str | None] | None = None) -> None:
    """Loop until Kopf stops the daemon (object deleted, operator exiting).

    The loop itself is async and cheap; passes run in a small shared thread pool, so a
    thousand objects do not need a thousand threads, taking a slot of their namespace
    first (`slots`) so one namespace cannot occupy the pool. `trigger` lets a kind add its own
    reasons to act (a course whose repositories moved); it is consulted only while the
    object is healthy or waiting for a dependency, and the same trigger acts once.
    `schema` None: the pass validates the spec itself, once (courses: `parse_spec`).
    """
    mem = Memory()
    shown_suspended = False
    last_trigger: str | None = None
    loop = asyncio.get_running_loop()
    while not stopped:
        # Read in place: Kopf changes the live body only in this event loop, never while this
        # synchronous stretch runs; a copy is made only for a thread (four looks a second at
        # each of a hundred courses of 50 assignments copied cost half a core).
        suspended = bool((body.get("spec") or {}).get("suspend"))
        reason = due(body, mem, time.monotonic())
        if (reason is None and trigger is not None and not suspended and mem.last_pass
                and (mem.waiting or not (mem.failures or mem.stalled))):
            fired = trigger(_as_written(body, mem))
            reason = fired if fired != last_trigger else None
            last_trigger = fired
        if suspended and not shown_suspended:
            await loop.run_in_executor(PASSES, _show_suspended, kube, kind, _plain(body))
        shown_suspended = suspended
        if not suspended and reason is not None:
            async with slots(body["metadata"]["namespace"]):
                snapshot = _plain(body)  # taken now: waiting for the slot may have taken a while
                if not (snapshot.get("spec") or {}).get("suspend"):
                    await loop.run_in_executor(PASSES, _one_pass, kube, kind, schema, snapshot,
                                               reason, mem, pass_fn)
        await asyncio.sleep(POLL_SECONDS)


def _as_written(body: Mapping[str, Any], mem: Memory) -> dict[str, Any]:
    """The object's metadata and spec with the status its last pass wrote. Kopf's live body
    shows a patch only once its watch event arrives, late when many objects change at once:
    a trigger judged on the older status (a course's repositories before its pass) would run
    the pass again."""
    return {"metadata": body.get("metadata") or {}, "spec": body.get("spec") or {},
            "status": {**(body.get("status") or {}), **mem.written}}


def _plain(body: Any) -> dict[str, Any]:
    """A consistent snapshot of Kopf's live body (it changes under us as events arrive)."""
    return copy.deepcopy(dict(body))


def _interval(body: dict[str, Any]) -> float:
    """spec.interval in seconds, never below MIN_INTERVAL (other namespaces share the pool)."""
    try:
        seconds = parse_duration(body.get("spec", {}).get("interval"), DEFAULT_INTERVAL)
    except ValueError:
        return DEFAULT_INTERVAL
    return max(MIN_INTERVAL, seconds)


def _one_pass(kube: Kube, kind: str, schema: str | None, body: dict[str, Any], reason: str,
              mem: Memory, pass_fn: PassFn) -> None:
    meta, status = body["metadata"], body.get("status") or {}
    ns, name, generation = meta["namespace"], meta["name"], meta.get("generation")
    previous = status.get("conditions") or []  # transitions are judged against these
    if reason != "interval":
        kube.patch_status(kind, ns, name, {"conditions": summarise(previous, Observation(
            generation, reconciling=f"reconciling generation {generation} ({reason})"),
            now_iso())})
    log.info("%s %s/%s: pass (%s)", kind, ns, name, reason)
    started = time.monotonic()
    try:
        invalid = spec_errors(schema, body.get("spec") or {}) if schema else []
        result = (PassResult.problem("Stalled", "InvalidSpec", "; ".join(invalid)) if invalid
                  else pass_fn(kube, body, reason))
    except Exception as err:  # a bug or an unforeseen failure: report it, retry with backoff
        log.exception("pass for %s %s/%s failed", kind, ns, name)
        result = PassResult.problem(
            "ReconcileFailed", "InternalError",
            f"unexpected {type(err).__name__}: {err}. exlib retries with backoff; if this "
            "stays, ask the cluster administrator for the traceback in the operator's log")
    types = {p.type for p in result.problems}
    settled = types <= SETTLED  # nothing a retry could change: wait for a person or a trigger
    seconds = time.monotonic() - started
    metrics.observe_pass(kind, seconds, ok=not result.problems)
    metrics.observe_phases(kind, result.phases)
    log.info("%s %s/%s: pass done in %.2f s, %s (%s)", kind, ns, name, seconds,
             ", ".join(sorted(types)) or "no problem", describe(result.phases))
    record(mem, body, time.monotonic(), _interval(body), ok=settled, stalled="Stalled" in types,
           slow_retry=result.slow_retry, waiting=bool(types) and types <= {"DependencyNotReady"})
    if result.skipped:
        return
    conds = summarise(previous, Observation(generation, problems=result.problems,
                                            ready_message=result.ready_message), now_iso())
    new_status = {**result.status, "conditions": conds, "observedGeneration": generation}
    requested = (meta.get("annotations") or {}).get(REQUESTED_AT)
    if requested:
        new_status["lastHandledReconcileAt"] = requested
    kube.patch_status(kind, ns, name, new_status)
    mem.written = new_status
    metrics.set_conditions(kind, ns, name, conds)
    for type_, ev_reason, message in result.events + _transition_events(status, conds):
        kube.event(body, type_, ev_reason, message)


def _transition_events(old_status: dict[str, Any],
                       conds: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Failure and recovery events, only when Ready changes (never on every interval)."""
    before, before_reason = ready_of(old_status.get("conditions"))
    after, after_reason = ready_of(conds)
    ready = next(c for c in conds if c["type"] == "Ready")
    if _waiting(conds) or (after == "True" and _waiting(old_status.get("conditions") or [])):
        return []  # waiting for a dependency is not a failure, and its end no recovery
    if after == "False" and (before != "False" or before_reason != after_reason):
        return [("Warning", after_reason, ready["message"])]
    if after == "True" and before == "False":
        return [("Normal", "Recovered", ready["message"])]
    return []


def _waiting(conds: list[dict[str, Any]]) -> bool:
    return any(c["type"] == "DependencyNotReady" and c["status"] == "True" for c in conds)


def _show_suspended(kube: Kube, kind: str, body: dict[str, Any]) -> None:
    conds = (body.get("status") or {}).get("conditions") or []
    meta = body["metadata"]
    kube.patch_status(kind, meta["namespace"], meta["name"], {"conditions": summarise(
        conds, Observation(meta.get("generation"), suspended=True), now_iso())})
