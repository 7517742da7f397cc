"""Hourly quotas: exact under concurrency, forgotten only when the clock hour ends."""

import threading

import pytest
from django.db import connections

from messages_app.services.rate_limit import hourly_quota_take


@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_get_exactly_the_quota():
    limit, takers = 5, 12
    start = threading.Barrier(takers)
    results: list[bool] = []

    def take():
        try:
            start.wait()
            results.append(hourly_quota_take(name="race", limit=limit))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [False] * (takers - limit) + [True] * limit


def test_quotas_of_different_names_are_separate(db):
    assert hourly_quota_take(name="user:1", limit=1)
    assert not hourly_quota_take(name="user:1", limit=1)
    assert hourly_quota_take(name="user:2", limit=1)
