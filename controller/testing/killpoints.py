"""Kill points: SIGKILL this process at a named step boundary of a pass (tests only).

A reconciler is trusted when it converges after being killed at any moment. The kill-point
tests (tests/integration/test_kill_points.py) stop the real `exlib run` / `exlib sync`
process at each boundary below and check that the next pass ends where an uninterrupted
one does (docs/reliability.md lists them with what the next pass does).

Why this cannot fire in a normal deployment: a point fires only when `EXLIB_TEST_KILL_AT`
is `<point>@<pid>` and `<pid>` is the process id of *this process's parent*, i.e. of the
test harness that started it and armed it with its own pid. A manifest cannot know that
number in advance, and in a container the operator's parent is 0 (it is pid 1) or 1 (an
init), both refused. A set but unarmed variable does nothing except a loud warning at
start (`warn_if_set`), so a stray variable in a manifest is seen, not obeyed.
"""

from __future__ import annotations

import logging
import os
import signal

ENV = "EXLIB_TEST_KILL_AT"

SYNC_BEFORE_METADATA = "sync.before-metadata"  # some files stored, no metadata.json yet
SYNC_BEFORE_ROWS = "sync.before-rows"  # every object stored, the rows not committed
COURSE_AFTER_PUSH = "course.after-push"  # assignments commit pushed, rows not written
COURSE_AFTER_ROWS = "course.after-rows"  # rows written, student template not pushed
COURSE_AFTER_REQUEST = "course.after-request"  # a merge request opened, its URL not recorded
COURSE_AFTER_TEMPLATE = "course.after-template"  # everything done but the status patch
POINTS = (SYNC_BEFORE_METADATA, SYNC_BEFORE_ROWS, COURSE_AFTER_PUSH, COURSE_AFTER_ROWS,
          COURSE_AFTER_REQUEST, COURSE_AFTER_TEMPLATE)

log = logging.getLogger("exlib")


def armed() -> str | None:
    """The kill point this process is armed for, or None (the normal case)."""
    value = os.environ.get(ENV)
    if not value:
        return None
    point, _, pid = value.partition("@")
    parent = os.getppid()
    if point not in POINTS or not pid.isdigit() or parent <= 1 or int(pid) != parent:
        return None
    return point


def reach(point: str) -> None:
    """A step boundary: die here, at once and without cleanup, if armed for `point`."""
    if armed() == point:
        os.kill(os.getpid(), signal.SIGKILL)


def warn_if_set() -> None:
    """Say loudly at start that a test kill point is set, and whether it is armed."""
    value = os.environ.get(ENV)
    if value:
        log.warning("%s=%s is set: %s. This is a test hook and must never be set in a "
                    "deployment; remove it from the environment.", ENV, value,
                    f"this process will SIGKILL itself at {armed()}" if armed()
                    else "ignored (it does not name this process's parent)")
