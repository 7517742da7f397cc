"""Leases that share the accounts among the running IDLE listeners (see models.ListenerLease).

Invariants:
- At most one holder per account: the claim is a conditional UPDATE (free or lapsed) checked by
  its rowcount, as for the sync lock (sync/lock.py).
- A short lease (MAIL_IDLE_LEASE_SECONDS), renewed for all held accounts at once on every
  heartbeat: a killed listener's accounts lapse within a lease, and whichever listener renews
  next takes them over. No shard numbers to keep in step.
- Only the holder's token renews or releases a lease; a lease renewed after it lapsed is still
  safe, since a takeover and a renewal are both conditional UPDATEs of the same row.
- Even shares: each listener holds at most ceil(accounts / live listeners), capped by
  MAIL_IDLE_MAX_ACCOUNTS, so a listener that starts gets its part from the others.
"""

import logging
import math
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from messages_app.models import IdleListener, ListenerLease, MailAccount
from messages_app.sync.lock import holder_name

logger = logging.getLogger(__name__)


def lease() -> timedelta:
    return timedelta(seconds=settings.MAIL_IDLE_LEASE_SECONDS)


class ListenerLeases:
    """One listener's view of the lease table: its token, what it holds, its fair share."""

    def __init__(self, *, only: list[int] | None = None, capacity: int | None = None):
        self.token = f"{uuid.uuid4()}"
        self.name = holder_name()[:200]
        self.only = only
        self.capacity = capacity or settings.MAIL_IDLE_MAX_ACCOUNTS

    def eligible(self):
        """Accounts that should be on push: those whose password is not refused."""
        accounts = MailAccount.objects.filter(auth_failed=False)
        if self.only:
            accounts = accounts.filter(pk__in=self.only)
        return accounts

    def heartbeat(self) -> set[int]:
        """Say this listener is alive, renew every lease it holds, and return those accounts:
        one missing from a previous answer was lost (it lapsed and another listener took it)."""
        now = timezone.now()
        IdleListener.objects.update_or_create(token=self.token,
                                              defaults={"name": self.name, "expires_at": now + lease()})
        IdleListener.objects.filter(expires_at__lt=now - 10 * lease()).delete()  # long dead ones
        ListenerLease.objects.filter(holder=self.token).update(expires_at=now + lease())
        return set(ListenerLease.objects.filter(holder=self.token).values_list("account_id", flat=True))

    def share(self) -> int:
        """How many accounts this listener should hold: an even part, within its capacity."""
        now = timezone.now()
        live = max(IdleListener.objects.filter(expires_at__gte=now).count(), 1)
        return min(self.capacity, math.ceil(self.eligible().count() / live))

    def claim(self, room: int) -> list[int]:
        """Claim up to `room` accounts whose lease is free or lapsed; returns those won."""
        if room <= 0:
            return []
        now = timezone.now()
        previous = dict(self.eligible().exclude(listener_lease__expires_at__gte=now)
                        .order_by("pk").values_list("pk", "listener_lease__holder_name")[:room * 2])
        candidates = list(previous)
        ListenerLease.objects.bulk_create([ListenerLease(account_id=pk) for pk in candidates],
                                          ignore_conflicts=True)
        won = []
        for pk in candidates:
            if len(won) >= room:
                break
            claimed = ListenerLease.objects.filter(
                Q(pk=pk) & (Q(expires_at__isnull=True) | Q(expires_at__lt=now))
            ).update(holder=self.token, holder_name=self.name, claimed_at=now, expires_at=now + lease())
            if claimed == 1:
                won.append(pk)
        dead = sorted({previous[pk] for pk in won if previous[pk]})
        if dead:  # leases that lapsed without a clean stop: their listener died or hung
            logger.warning("took over %d accounts from %s (lease lapsed)",
                           sum(1 for pk in won if previous[pk]), ", ".join(dead))
        return won

    def release(self, account_ids) -> None:
        ListenerLease.objects.filter(pk__in=list(account_ids), holder=self.token).update(
            holder="", holder_name="", expires_at=None)

    def stop(self) -> None:
        """Clean stop: free every lease at once (the others take them at their next renewal)."""
        ListenerLease.objects.filter(holder=self.token).update(holder="", holder_name="", expires_at=None)
        IdleListener.objects.filter(token=self.token).delete()


def live_listener_accounts() -> set[int]:
    """Accounts on push right now: held by a listener whose lease has not lapsed."""
    return set(ListenerLease.objects.filter(expires_at__gte=timezone.now()).exclude(holder="")
               .values_list("account_id", flat=True))
