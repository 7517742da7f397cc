"""A worker killed inside the filters step: `python worker.py ACCOUNT_ID`, on the test database
named by DATABASE_URL. It carries the rules out on the server and dies before recording them done."""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from messages_app.services import rules  # noqa: E402, I001
from messages_app.services.sync import account_sync  # noqa: E402


def die(messages):
    os.kill(os.getpid(), signal.SIGKILL)


rules._mark_done = die
account_sync(int(sys.argv[1]))
