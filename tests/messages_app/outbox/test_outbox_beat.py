"""The beat poll, for real: a Celery worker with embedded beat sends what is due within seconds."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from messages_app.enums import OutboxState
from messages_app.services.outbox import outbox_queue
from tests.messages_app.sync.test_sync_robustness import worker_env

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # about 10 s, most of it Celery starting and beat's first 5-second tick
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_beat_sends_a_due_message_without_being_asked(owner, mail_account, mail_user, smtp_server,
                                                                    tmp_path):
    item = outbox_queue(user=owner, account=mail_account, to=["dest@example.test"], subject="Dal poller",
                        text="Testo", undo_seconds=0)
    env = worker_env()
    env.update(POSTINO_VAR_DIR=str(tmp_path), MAIL_ENCRYPTION_KEYS=",".join(settings.MAIL_ENCRYPTION_KEYS))
    env.pop("CELERY_BROKER_URL", None)  # the embedded filesystem broker, under tmp_path
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen([str(celery), "-A", "crm", "worker", "--beat", "--pool=solo", "--concurrency=1",
                               "--loglevel=WARNING", "--schedule", str(tmp_path / "beat-schedule")],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    try:
        received = smtp_server.wait_for(1, timeout=40, login=mail_user.login)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert len(received) == 1 and b"Dal poller" in received[0].data
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        item.refresh_from_db()
        if item.state == OutboxState.SENT:
            break
        time.sleep(0.1)
    assert item.state == OutboxState.SENT
