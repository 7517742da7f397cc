"""Arrival steps used by the pipeline tests, in this process or in a worker process.

`mark_step` writes its effect in the database and is atomic with its completion record: the star
it appends to the preview shows how many times its effect landed.
"""

import os
import signal

from django.db.models import F, Value
from django.db.models.functions import Concat

from messages_app.arrival.steps import Step
from messages_app.exceptions import MailError
from messages_app.models import Message

STAR = "★"
calls: list[list[int]] = []


def mark(message_ids: list[int]) -> None:
    calls.append(list(message_ids))
    Message.objects.filter(pk__in=message_ids).update(preview=Concat(F("preview"), Value(STAR)))


def mark_then_die(message_ids: list[int]) -> None:
    mark(message_ids)
    os.kill(os.getpid(), signal.SIGKILL)  # a worker killed inside the step, its effect not yet committed


def die(message_ids: list[int]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the store committed, before any step finished


def refuse(message_ids: list[int]) -> None:
    raise MailError("the CRM refused the link: record 42 is archived", permanent=True)


class Flaky:
    """Fails transiently `times` times, then works."""

    def __init__(self, times: int):
        self.left = times

    def __call__(self, message_ids: list[int]) -> None:
        if self.left:
            self.left -= 1
            raise MailError("the CRM did not answer in time", permanent=False)
        mark(message_ids)


MARK = Step("test_mark", mark, atomic=True)
