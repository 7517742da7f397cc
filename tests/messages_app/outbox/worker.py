"""A sending worker for the kill tests: `python worker.py MODE`, on the test database named by
DATABASE_URL. It runs one outbox pass and SIGKILLs itself at the point MODE names:
`after_smtp` (the server took the message, no copy in Sent yet), `after_sent_copy` (the copy is
in Sent, the database not yet told). `race DIR`: no kill; once Django is set up, write DIR/ready-PID,
wait for DIR/go, run one pass and print the ids it sent as one JSON list (two of these compete)."""

import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from messages_app.services import outbox  # noqa: E402, I001

mode = sys.argv[1]
if mode == "race":
    gate = Path(sys.argv[2])
    (gate / f"ready-{os.getpid()}").touch()
    while not (gate / "go").exists():
        time.sleep(0.01)
    print(json.dumps(outbox.outbox_send_due().ids))
    sys.exit(0)
original = outbox._file_in_sent


def die(*args, **kwargs):
    if mode == "after_sent_copy":
        original(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)


outbox._file_in_sent = die
outbox.outbox_send_due()
