"""The per-object loop under load: Kopf's live view of an object shows a status patch a moment
after the loop wrote it; a course's trigger must not take the lag for a new revision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from typing import Any

from controller.operator.course import repositories_moved
from controller.operator.loop import NamespaceSlots, PassResult, run_loop


class LaggingKube:
    """Stands in for the API server: records status patches; the loop's body never shows them
    (the watch event that would carry them is late, as with many objects at once)."""

    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    def patch_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.patches.append(status)

    def event(self, *_: Any) -> None:
        pass


class StopAfter:
    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def __bool__(self) -> bool:
        return time.monotonic() >= self.until


COURSE = {"apiVersion": "exlib.dev/v1alpha1", "kind": "CourseStructure",
          "metadata": {"namespace": "ns", "name": "prog1", "generation": 1},
          "spec": {"exampleRepositories": ["lib"], "interval": "1h"}}


def run_course(body: Mapping[str, Any], index: dict[tuple[str, str], list[dict[str, Any]]],
               reasons: list[str]) -> None:
    """Run a course's loop for 1.5 s; each pass records its reason and reports that it used
    revision r1 of ns/lib."""
    def one_pass(_kube: Any, _body: dict[str, Any], reason: str) -> PassResult:
        reasons.append(reason)
        return PassResult(status={"repositories": {"ns/lib": "r1"}})

    asyncio.run(run_loop(LaggingKube(), "CourseStructure", None, body, StopAfter(1.5), one_pass,
                         NamespaceSlots(2), trigger=lambda s: repositories_moved(s, index)))


def test_a_course_runs_one_pass_for_a_revision_its_last_pass_used_while_its_status_lags() -> None:
    index = {("ns", "lib"): [{"ready": True, "revision": "r1"}]}
    reasons: list[str] = []
    run_course(COURSE, index, reasons)
    assert reasons == ["started"]

    index[("ns", "lib")] = [{"ready": True, "revision": "r2"}]  # a new revision does start one
    run_course(COURSE, index, reasons)
    assert reasons[1:] == ["started", "repository ns/lib at revision r2"]


class CountedBody(Mapping[str, Any]):
    """A live object like Kopf's body, counting how often it is read whole (copied)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw, self.copies = raw, 0

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        self.copies += 1
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def test_an_idle_object_is_looked_at_without_copying_it() -> None:
    """Each loop looks at its object four times a second: copying a course of many
    assignments each time cost a hundred courses half a core, taken from their passes."""
    body = CountedBody(COURSE)
    reasons: list[str] = []
    run_course(body, {("ns", "lib"): [{"ready": True, "revision": "r1"}]}, reasons)
    assert reasons == ["started"]
    assert body.copies <= len(reasons), f"copied {body.copies} times for one pass"
