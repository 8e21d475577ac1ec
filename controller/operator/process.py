"""What every pass of one operator process shares: its settings, read once.

Both kinds' passes (`operator.repository`, `operator.course`) and the handlers take them
from here, so neither borrows from the other.
"""

from __future__ import annotations

import functools

from controller.config import Settings


@functools.cache
def settings() -> Settings:
    """The operator's settings, read from the environment once per process."""
    return Settings.from_env()
