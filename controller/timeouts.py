"""Time limits (pure): Go-style durations, and telling a timeout from other failures.

`spec.timeout` of both resources bounds each network step of a pass: every Git fetch,
ls-remote and push, every S3 request and every database statement. A step that runs out of
time raises an error that is also a `TimedOut`, so the operator can report reason `Timeout`
however deep the error was wrapped.
"""

from __future__ import annotations

import re

from controller import jsonschemas

_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")

#: The longest `spec.timeout`: libgit2 and PostgreSQL hold timeouts as 32-bit milliseconds
#: (24.8 days), and no single fetch, push or statement should need a day.
MAX_TIMEOUT = 24 * 3600.0
#: The shortest re-check interval: more often only loads the shared Git server, database and
#: pass pool (the loop polls every 0.25 s, so `interval: 1ms` re-checked on every poll).
MIN_INTERVAL = 10.0

def parse_duration(text: str | None, default: float) -> float:
    """Seconds in a Go-style duration (`5m`, `1h30m`, `90s`); `default` when absent."""
    if not text:
        return default
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m or 1h")
    return sum(float(n) * _UNIT[u] for n, u in parts)


#: The bound of one network step when spec.timeout is not set (60s, as Flux's GitRepository)
#: and the re-check interval when spec.interval is not: the schemas' defaults (both resources
#: share them; a unit test holds them equal).
DEFAULT_TIMEOUT = parse_duration(
    jsonschemas.default(jsonschemas.EXAMPLE_REPOSITORY, "timeout"), 0.0)
DEFAULT_INTERVAL = parse_duration(
    jsonschemas.default(jsonschemas.EXAMPLE_REPOSITORY, "interval"), 0.0)


def parse_timeout(text: str | None) -> float:
    """Seconds of a `spec.timeout` (DEFAULT_TIMEOUT when absent); ValueError outside
    (0, MAX_TIMEOUT]."""
    seconds = parse_duration(text, DEFAULT_TIMEOUT)
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"{text!r} is not a timeout exlib can keep: write one above 0 and at "
                         "most 24h")
    return seconds


#: What a user can do about a step that ran out of time (operator and CLI alike).
TIMEOUT_HINT = ("check that the server is up and reachable from where exlib runs, or raise "
                "spec.timeout (`exlib sync --timeout`) for a slow server")


def format_duration(seconds: float) -> str:
    """The short form people write in a spec: `90s`, `5m`, `1.5s`."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


class TimedOut(Exception):
    """Marks an error as "a server did not answer within the timeout"."""


def timed_out(err: BaseException | None) -> bool:
    """Whether `err`, or an error it was raised from, is a timeout."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, TimedOut):
            return True
        seen.add(id(err))
        err = err.__cause__
    return False
