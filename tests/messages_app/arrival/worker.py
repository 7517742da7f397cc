"""A worker process for the kill tests: `python worker.py MODE ACCOUNT_ID`, on the test database
named by DATABASE_URL. MODE picks the step that kills it: `die` (before any step finished),
`mark_then_die` (inside an atomic step), `prefetch_then_die` (inside the body prefetch)."""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from messages_app.arrival import steps  # noqa: E402, I001
from messages_app.services import message_body  # noqa: E402
from messages_app.services.sync import account_sync  # noqa: E402
from tests.messages_app.arrival import steps_for_tests  # noqa: E402

mode, account_id = sys.argv[1], int(sys.argv[2])
if mode == "die":
    from messages_app.arrival import pipeline

    pipeline._process = lambda markers, result: steps_for_tests.die([])
elif mode == "mark_then_die":
    steps.register(steps.Step("test_mark", steps_for_tests.mark_then_die, atomic=True))
elif mode == "prefetch_then_die":
    original = message_body._store_bodies

    def store_then_die(fetched):
        # The first body of the batch committed, the step not finished: killed in between.
        stored = original(fetched[:1])
        os.kill(os.getpid(), signal.SIGKILL)
        return stored

    message_body._store_bodies = store_then_die
account_sync(account_id)
