"""A pass or sync run on a thread and held at a progress call, so a test can start a second
one while the first is surely inside (the lock tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

BOUND = 120  # seconds any single wait may last (never reached when the test passes)
T = TypeVar("T")


class Held(Generic[T]):
    """`run(progress)` on a thread, held at the first progress call `holds(*args)` accepts,
    until `finish()`."""

    def __init__(self, run: Callable[[Callable[..., None]], T], what: str,
                 holds: Callable[..., bool] = lambda *_: True) -> None:
        self.inside, self.release = threading.Event(), threading.Event()
        self._what, self._holds = what, holds
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()
        assert self.inside.wait(BOUND), f"{what} never got inside"

    def _progress(self, *args: Any) -> None:
        if self._holds(*args) and not self.inside.is_set():
            self.inside.set()
            assert self.release.wait(BOUND), f"{self._what} was never released"

    def _run(self, run: Callable[[Callable[..., None]], T]) -> None:
        try:
            self._result = run(self._progress)
        except BaseException as err:  # reported by finish()
            self._error = err

    def finish(self) -> T:
        """Let it go on and wait for its end; its result, or the error it ended with."""
        self.release.set()
        self._thread.join(BOUND)
        assert not self._thread.is_alive(), f"{self._what} did not end"
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
