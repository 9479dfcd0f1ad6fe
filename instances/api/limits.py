"""Rate limits on the API: per token and per address, answered with 429 and Retry-After.

Fixed one-minute windows counted in Django's cache, the one every web process already shares
(the file cache on one machine, Redis with REDIS_URL): `add` opens a window's counter and
`incr` counts, which Redis does atomically; the file cache may let a few extra requests through
under a race, which a limit meant to stop floods and runaway scripts can afford. The address
is counted before the token is even looked at, so guessing tokens is throttled too.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from instances.api.problems import Problem

WINDOW_SECONDS = 60


def clock() -> float:
    """Now, in seconds; the tests hold it still so that no window ends mid-test."""
    return time.time()


def hit(kind: str, ident: str, per_minute: int, what: str) -> None:
    """Count one request for `ident`; raise a 429 problem once the window's limit is passed."""
    if per_minute <= 0 or not ident:
        return
    now = clock()
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    key = f"api-rate:{kind}:{digest}:{start}"
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # the counter expired between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    if count > per_minute:
        retry_after = max(1, math.ceil(start + WINDOW_SECONDS - now))
        raise Problem(
            429,
            f"Too many requests {what}: at most {per_minute} a minute. "
            f"Try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


def per_token() -> int:
    return int(getattr(settings, "API_RATE_PER_TOKEN", 600))


def per_address() -> int:
    return int(getattr(settings, "API_RATE_PER_ADDRESS", 1200))
