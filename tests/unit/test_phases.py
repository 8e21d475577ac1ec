"""Per-phase durations of a pass (issue 12): one helper for both passes, and the line the
operator's log and `exlib sync -v` / `exlib apply -v` show."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from controller.cli import build_parser, output
from controller.operator import metrics
from controller.phases import Phases, describe


def test_laps_charge_the_time_since_the_previous_lap_and_add_up() -> None:
    ticks = iter([10.0, 10.5, 12.0, 12.25, 13.0])
    phases = Phases(clock=lambda: next(ticks))
    phases.lap("fetch")   # 10.0 -> 10.5
    phases.lap("push")    # -> 12.0
    phases.lap("fetch")   # -> 12.25, a second fetch (a rejected push) adds up
    phases.lap("rows")    # -> 13.0
    assert phases.seconds == {"fetch": 0.75, "push": 1.5, "rows": 0.75}
    assert list(phases.seconds) == ["fetch", "push", "rows"]  # order they first ended


def test_the_line_names_each_phase_and_the_total() -> None:
    assert describe({"fetch": 0.1234, "scan": 2.0}) == "fetch 0.12 s, scan 2.00 s; total 2.12 s"
    assert describe({}) == "no phases measured"


def test_the_cli_prints_one_line_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    output.phases({"resolve": 0.05, "read": 1.5, "push": 0.25})
    out, err = capsys.readouterr()
    assert out == ""
    assert re.fullmatch(r"phases: resolve 0\.05 s, read 1\.50 s, push 0\.25 s; "
                        r"total 1\.80 s\n", err)


@pytest.mark.parametrize("argv", [["sync", "--name", "x", "dir", "-v"],
                                  ["apply", "-f", "c.yaml", "--verbose"],
                                  ["plan", "-f", "c.yaml", "-v"]])
def test_sync_apply_and_plan_take_verbose(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose is True


def test_each_phase_is_observed_in_the_histogram() -> None:
    def count(phase: str) -> float:
        return REGISTRY.get_sample_value("exlib_pass_phase_seconds_count",
                                         {"kind": "CourseStructure", "phase": phase}) or 0.0

    before = count("push"), count("template")
    metrics.observe_phases("CourseStructure", {"push": 0.3, "template": 0.1})
    assert (count("push"), count("template")) == (before[0] + 1, before[1] + 1)
    assert REGISTRY.get_sample_value("exlib_pass_phase_seconds_bucket", {
        "kind": "CourseStructure", "phase": "push", "le": "0.5"}) >= 1
