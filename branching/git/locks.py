"""Waiting out another writer's lock file.

A ref update and a loose object write both take a `.lock` file for a few milliseconds (dulwich
raises `FileLocked` when it is taken); the second writer waits, with exponential backoff and
jitter, about two seconds in all, before giving up loudly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from dulwich.file import FileLocked

LOCK_ATTEMPTS = 20
_LOCK_FIRST_DELAY = 0.005
_LOCK_MAX_DELAY = 0.15

T = TypeVar("T")


def retry_locked(action: Callable[[], T], on_give_up: Callable[[], Exception] | None) -> T:
    """Run `action`, waiting out another writer's lock file; `on_give_up` makes the error
    raised when the lock stays taken (None: dulwich's own `FileLocked`)."""
    delay = _LOCK_FIRST_DELAY
    for attempt in range(LOCK_ATTEMPTS):
        try:
            return action()
        except FileLocked:
            if attempt == LOCK_ATTEMPTS - 1:
                if on_give_up is None:
                    raise
                raise on_give_up() from None
            time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 (jitter, not crypto)
            delay = min(delay * 2, _LOCK_MAX_DELAY)
    raise AssertionError("unreachable")
