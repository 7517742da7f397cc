"""The one consumer of arrival markers.

Invariants:
- A marker exists for every genuinely new message whose steps are not all done (written with the
  message rows; see markers.py) and is deleted once every registered step is in `steps_done`.
- Steps run in the registry's order; a step runs for a message only after every earlier step
  finished for it, and never again once recorded in `steps_done`.
- A marker is worked on by one consumer at a time: claimed by a conditional UPDATE of a short
  lease, so a consumer killed mid-way loses its claim within a minute and the next drain re-runs
  only the unfinished steps.
- A transient failure (MailError with permanent=False) schedules a retry with backoff; a permanent
  one (or a bug) stops that marker and records the step and the reason, shown on sync health.
"""

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from messages_app.arrival.steps import Step, registered
from messages_app.exceptions import MailError
from messages_app.models import ArrivalMarker

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 60
BATCH = 100
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


@dataclass
class DrainResult:
    completed: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)  # time spent in each step


def backoff_seconds(attempts: int) -> int:
    return min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)


def _consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def _runnable(account_id: int | None):
    now = timezone.now()
    query = ArrivalMarker.objects.filter(failed_at__isnull=True).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    if account_id is not None:
        query = query.filter(account_id=account_id)
    return query


def _claim(account_id: int | None, token: str) -> list[ArrivalMarker]:
    candidates = list(_runnable(account_id).order_by("message_id").values_list("message_id", flat=True)[:BATCH])
    if not candidates:
        return []
    # The runnable condition again in the UPDATE: of two consumers racing, each row goes to one.
    _runnable(account_id).filter(message_id__in=candidates).update(
        claimed_by=token, claimed_until=timezone.now() + timedelta(seconds=CLAIM_SECONDS))
    return list(ArrivalMarker.objects.filter(message_id__in=candidates, claimed_by=token).order_by("message_id"))


def _record_done(markers: list[ArrivalMarker], step: Step) -> None:
    for marker in markers:
        marker.steps_done = [*marker.steps_done, step.name]
        ArrivalMarker.objects.filter(pk=marker.pk).update(
            steps_done=marker.steps_done, claimed_until=timezone.now() + timedelta(seconds=CLAIM_SECONDS))


def _run_step(step: Step, markers: list[ArrivalMarker]) -> None:
    ids = [marker.message_id for marker in markers]
    if step.atomic:
        with transaction.atomic():
            step.run(ids)
            _record_done(markers, step)
    else:
        step.run(ids)
        _record_done(markers, step)


def _fail(marker: ArrivalMarker, step: Step, exc: Exception, result: DrainResult) -> None:
    reason = exc.user_message() if isinstance(exc, MailError) else f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    if isinstance(exc, MailError) and not exc.permanent:
        marker.attempts += 1
        ArrivalMarker.objects.filter(pk=marker.pk).update(
            attempts=marker.attempts, last_error=f"{step.name}: {reason}"[:2000],
            next_attempt_at=now + timedelta(seconds=backoff_seconds(marker.attempts)),
            claimed_by="", claimed_until=None)
        result.retrying += 1
        logger.info("arrival step %s of message %s will be retried: %s", step.name, marker.message_id, reason)
    else:
        ArrivalMarker.objects.filter(pk=marker.pk).update(
            failed_step=step.name, failed_at=now, last_error=reason[:2000], claimed_by="", claimed_until=None)
        result.failed += 1
        result.errors.append(f"message {marker.message_id}: {step.name}: {reason}")
        logger.warning("arrival step %s of message %s failed for good: %s", step.name, marker.message_id, reason)


def _process(markers: list[ArrivalMarker], result: DrainResult) -> None:
    active = list(markers)
    for step in registered():
        todo = [marker for marker in active if step.name not in marker.steps_done]
        if not todo:
            continue
        started = time.monotonic()
        try:
            _run_step(step, todo)
        except Exception as batch_exc:  # every failure is recorded and shown, never dropped
            if len(todo) == 1:
                _fail(todo[0], step, batch_exc, result)
                active.remove(todo[0])
                continue
            for marker in todo:  # one at a time: a message that fails must not hold back the others
                try:
                    _run_step(step, [marker])
                except Exception as exc:
                    _fail(marker, step, exc, result)
                    active.remove(marker)
        finally:
            result.step_seconds[step.name] = result.step_seconds.get(step.name, 0) + time.monotonic() - started
    names = {step.name for step in registered()}
    finished = [marker.pk for marker in active if names <= set(marker.steps_done)]
    ArrivalMarker.objects.filter(pk__in=finished).delete()
    result.completed += len(finished)


def drain(*, account_id: int | None = None, max_batches: int | None = None, connection=None) -> DrainResult:
    """Run the unfinished steps of every runnable marker (of one account, or all). Returns when
    nothing runnable is left: markers waiting for a retry or failed for good stay.

    The steps share one IMAP connection per account (services/imap_session.py): `connection`,
    the caller's logged-in connection to `account_id`'s server, is lent to them, else one is
    opened when a step first needs it."""
    from messages_app.services.imap_session import imap_run  # services/ load after the models

    token = _consumer_name()
    result = DrainResult()
    batches = 0
    lent = {account_id: connection} if connection is not None and account_id is not None else None
    with imap_run(lent=lent):
        while max_batches is None or batches < max_batches:
            markers = _claim(account_id, token)
            if not markers:
                break
            _process(markers, result)
            batches += 1
    return result


def failures(account_ids) -> list[ArrivalMarker]:
    """Markers stopped by a permanent failure (or waiting for a retry with an error), newest first."""
    return list(ArrivalMarker.objects.filter(account_id__in=list(account_ids)).exclude(last_error="")
                .select_related("message").order_by("-created_at")[:200])
