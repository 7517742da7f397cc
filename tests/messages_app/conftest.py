"""Fixtures shared by the message tests of several packages (sync, arrival, views)."""

import pytest

from messages_app.arrival import steps
from messages_app.sync import identity
from tests.messages_app.arrival import steps_for_tests
from tests.messages_app.arrival.steps_for_tests import MARK


@pytest.fixture
def referrer():
    """A stand-in for a CRM link or a share: add message ids to the yielded set to make them
    referenced, so settling keeps them as local messages instead of deleting them."""
    referred: set[int] = set()

    def refers(message_ids):
        return referred & set(message_ids)

    identity.register_referrer(refers)
    yield referred
    identity.unregister_referrer(refers)


@pytest.fixture
def mark_step():
    """The test arrival step registered for one test: yields the message ids of each call."""
    steps_for_tests.calls.clear()
    steps.register(MARK)
    yield steps_for_tests.calls
    steps.unregister(MARK.name)
