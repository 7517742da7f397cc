"""Hourly quotas (connection tests dial out for the user, so each user gets a few per hour).

A quota of N is N slot keys named after the clock hour; taking one is a cache `add`, which is atomic
on every backend Postino uses (a primary-key insert in the database cache, SET NX in Redis, a lock in
locmem). A read-then-write counter loses updates under concurrency, and `incr` on the database
cache rewrites the key with the default 300-second timeout, so the count was forgotten after five
minutes. Each slot expires when its hour ends, and the next hour's slots have other names.
"""

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone


def hourly_quota_take(*, name: str, limit: int) -> bool:
    """Take one of `limit` uses of `name` in the current clock hour; False when none is left."""
    now = timezone.now()
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    seconds_left = max(1, int((hour_start + timedelta(hours=1) - now).total_seconds()))
    slots = [f"quota:{name}:{hour_start:%Y%m%d%H}:{slot}" for slot in range(limit)]
    taken = cache.get_many(slots)
    # Slots fill in order, so the first free one is usually the one we get; a concurrent taker
    # makes our `add` fail and we move on to the next.
    return any(cache.add(slot, 1, timeout=seconds_left) for slot in slots if slot not in taken)
