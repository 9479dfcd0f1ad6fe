"""The cyclic garbage collector held off while a merge runs.

Why: a process's first merge of a long-lived branch parses a thousand trees and resolves ten
thousand delta steps, allocating tens of thousands of tuples, lists and dicts. Every 700 of them
Python's collector walks the young objects, every tenth time the older ones, and when enough
have survived, everything alive in the process. In a process the size of a Django worker
(over 100,000 tracked objects) that full collection landed inside the merge and took 80-100 ms
of its 260-410 ms, to free nothing: what a merge allocates is kept in a cache or freed by
reference counting (it makes no reference cycles). git has no such cost.

While a merge runs the collector is paused; it resumes when the last merge running in the
process ends (threads may merge at once), unless it was disabled before the first began. The
first collection after that examines the merge's survivors once.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_running = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _running, _resume
    with _lock:
        if not _running:
            _resume = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if not _running and _resume:
                gc.enable()
