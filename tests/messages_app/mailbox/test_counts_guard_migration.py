"""Migration 0023 forward with data: counters kept by 0022's triggers before it stay right through
it and after it, under the same random writes as test_counters (SQLite and PostgreSQL: run with
DATABASE_URL for the latter; on SQLite 0023 changes nothing)."""

import random

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messages_app.services.counts import counts_recount
from tests.messages_app.mailbox.counting import counted, stored
from tests.messages_app.mailbox.test_counters import World

BEFORE = [("messages_app", "0022_folder_counts")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _random_writes(world: World, steps: int, when: str) -> None:
    for step in range(steps):
        operation = world.rng.choice(World.OPERATIONS)
        getattr(world, operation)()
        for user in world.users:
            assert stored(user) == counted(user), f"{when}, step {step}: {operation}"


@pytest.mark.django_db(transaction=True)
def test_counters_written_before_the_trigger_guard_stay_right_after_it():
    _migrate(BEFORE)  # 0023 only replaces trigger functions: the models are 0022's schema
    try:
        world = World(random.Random(23))
        _random_writes(world, 40, "before 0023")
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    _random_writes(world, 60, "after 0023")
    before = [stored(user) for user in world.users]
    counts_recount()
    assert [stored(user) for user in world.users] == before
