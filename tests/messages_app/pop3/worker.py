"""A POP3 download killed right after its first APPEND, before the UIDL is recorded done:
`python worker.py BOX_ID`, on the test database named by DATABASE_URL."""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from messages_app.models import Pop3Box  # noqa: E402, I001
from messages_app.services import pop3  # noqa: E402


def die(row):
    os.kill(os.getpid(), signal.SIGKILL)


pop3._mark_done = die
pop3.pop3_fetch(box=Pop3Box.objects.get(pk=int(sys.argv[1])))
