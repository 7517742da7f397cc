"""The Celery application. Tasks live in messages_app/tasks.py; beat schedules are declared here."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("postino")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule_periodic_sync(sender, **_kwargs):
    from django.conf import settings

    sender.add_periodic_task(
        settings.MAIL_SYNC_INTERVAL_SECONDS,
        sender.signature("messages_app.tasks.sync_all_accounts"),
        name="periodic mail sync",
    )


@app.on_after_finalize.connect
def _schedule_outbox_poll(sender, **_kwargs):
    from messages_app.tasks import OUTBOX_POLL_SECONDS

    sender.add_periodic_task(
        OUTBOX_POLL_SECONDS,
        sender.signature("messages_app.tasks.outbox_send_due_task"),
        name="outbox: send due messages",
        expires=OUTBOX_POLL_SECONDS,  # a poll nobody ran in time is replaced by the next one
    )


@app.on_after_finalize.connect
def _schedule_pop3_poll(sender, **_kwargs):
    from messages_app.tasks import POP3_POLL_SECONDS

    sender.add_periodic_task(
        POP3_POLL_SECONDS,
        sender.signature("messages_app.tasks.pop3_fetch_all_task"),
        name="POP3: download new mail",
        expires=POP3_POLL_SECONDS,
    )
