"""Out of office: the settings (page and `mail_ooo`), and the arrival step that answers new mail.

Invariants:
- A reply goes to one sender at most once per interval: the memory is a unique row per (account,
  sender), created or moved forward by a conditional UPDATE in the same transaction as the
  outbox row (the step is atomic with its completion record), so restarts and concurrent
  workers cannot answer twice.
- Replies go through the outbox (sent exactly once, like any mail) and carry
  Auto-Submitted: auto-replied, In-Reply-To and References; nothing automated is answered
  (ooo/decide, RFC 3834).
- Only genuinely new mail that arrived after out-of-office began is answered, in any folder but
  Spam, Trash, Sent and Drafts (a filter may have filed it before this step runs).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.addresses import normalise
from crm.selectors import records_by_address
from messages_app import ooo as ooo_logic
from messages_app.enums import FolderRole, OutboxState
from messages_app.exceptions import MailError
from messages_app.mime.build import as_bytes, build_message, new_message_id, reply_headers
from messages_app.mime.headers import header_items
from messages_app.mime.html_text import html_to_text
from messages_app.mime.sanitize import clean_html
from messages_app.models import (
    MailAccount,
    Message,
    OutgoingMessage,
    OutOfOffice,
    OutOfOfficeReply,
    RuleServerState,
)

logger = logging.getLogger(__name__)


def ooo_set(*, account: MailAccount, start: datetime, end: datetime | None = None, subject: str, body_html: str,
            internal_body_html: str = "", known_only: bool = False, days: int = 5) -> OutOfOffice:
    if end is not None and end <= start:
        raise ValidationError(_("The end must come after the start."), code="end_before_start")
    if not subject.strip() or not html_to_text(body_html).strip():
        raise ValidationError(_("Out of office needs a subject and a message."), code="empty")
    if days < 1:
        raise ValidationError(_("The interval is at least one day."), code="days")
    internal = clean_html(internal_body_html).html if internal_body_html.strip() else ""
    settings, _created = OutOfOffice.objects.update_or_create(account=account, defaults={
        "is_active": True, "start": start, "end": end, "subject": subject.strip()[:500],
        "body_html": clean_html(body_html).html,
        "internal_body_html": internal, "known_only": known_only, "days": days})
    _refresh_server(account)
    return settings


def _refresh_server(account: MailAccount) -> None:
    from messages_app.services.sieve import sieve_refresh

    sieve_refresh(account=account)


def ooo_off(*, account: MailAccount) -> bool:
    ended = bool(OutOfOffice.objects.filter(account=account, is_active=True).update(is_active=False))
    if ended:
        _refresh_server(account)  # the server's vacation answer goes with it
    return ended


def _on_now(user):
    now = timezone.now()
    return (OutOfOffice.objects.filter(account__owner=user, is_active=True, start__lte=now)
            .filter(Q(end__isnull=True) | Q(end__gt=now)))


def ooo_current(user) -> list[OutOfOffice]:
    """The user's accounts whose out-of-office is on now (the banner)."""
    return list(_on_now(user).select_related("account"))


def ooo_on_now(user) -> Exists:
    """Whether any of the user's out-of-office is on now, as an expression: the mailbox pages read
    it with the preferences, so the banner costs no query of its own while it is off."""
    return Exists(_on_now(user))


def ooo_row(settings: OutOfOffice | None, account: MailAccount) -> dict:
    if settings is None:
        return {"account": account.pk, "active": False}
    return {"account": account.pk, "active": settings.is_active, "start": settings.start.isoformat(),
            "end": settings.end.isoformat() if settings.end else None, "subject": settings.subject,
            "body_html": settings.body_html, "internal_body_html": settings.internal_body_html,
            "known_only": settings.known_only, "days": settings.days,
            "on_now": bool(settings.is_active and ooo_logic.Window(True, settings.start, settings.end)
                           .covers(timezone.now()))}


# --- the arrival step ---------------------------------------------------------------------------

def _own_addresses(account: MailAccount) -> set[str]:
    return {e.lower() for e in MailAccount.objects.filter(owner_id=account.owner_id).values_list("email", flat=True)}


def _sender_known(account: MailAccount, address: str) -> bool:
    """Known: one of the user's CRM records (a contact, or a company or lead) holds the address, or
    the user has written to it."""
    if records_by_address(account.owner_id, [normalise(address)]):
        return True
    sent = Message.objects.filter(account__owner_id=account.owner_id, folder__role=FolderRole.SENT)
    return any(address.lower() == str(pair[1]).lower()
               for to in sent.values_list("to", flat=True)[:5000] for pair in to if len(pair) > 1)


def _incoming(message: Message) -> ooo_logic.Incoming:
    return ooo_logic.Incoming(
        from_addr=message.from_addr, return_path=message.return_path,
        return_path_present=bool(message.return_path), to=[p[1] for p in message.to if len(p) > 1],
        cc=[p[1] for p in message.cc if len(p) > 1], auto_submitted=message.auto_submitted,
        precedence=message.precedence, list_id=message.list_id, list_unsubscribe=message.list_unsubscribe,
        x_auto_response_suppress=message.x_auto_response_suppress, x_autoreply=message.x_autoreply,
        is_spam=message.x_spam_flag.strip().lower() == "yes", arrived_at=message.internal_date)


def _null_return_path(message: Message) -> bool:
    """The stored Return-Path is "" both without the header and for "<>": the raw header tells."""
    from messages_app.services.message_body import message_raw

    try:
        values = header_items(message_raw(message)).get("return-path", [])
    except MailError as exc:
        raise MailError(f"the message's headers could not be read: {exc}", permanent=False) from None
    return bool(values) and all(v.strip() in ("<>", "") for v in values)


def _claim_interval(account: MailAccount, address: str, now: datetime, days: int) -> bool:
    """True when this sender may be answered now; records it (inside the caller's transaction)."""
    try:
        with transaction.atomic():
            OutOfOfficeReply.objects.create(account=account, address=address, last_sent_at=now)
        return True
    except IntegrityError:
        from django.db.models import F

        return bool(OutOfOfficeReply.objects.filter(
            account=account, address=address, last_sent_at__lte=now - timedelta(days=days)).update(
            last_sent_at=now, replies=F("replies") + 1))


def _queue_reply(settings: OutOfOffice, message: Message, target: str) -> OutgoingMessage:
    account = settings.account
    internal = ooo_logic.is_internal(target, account.email) and settings.internal_body_html
    html = settings.internal_body_html if internal else settings.body_html
    message_id = new_message_id(account.email)
    built = build_message(
        from_addr=account.email, from_name=account.owner.get_full_name(), to=[("", target)],
        subject=settings.subject, text=html_to_text(html), html=html, message_id=message_id,
        extra_headers=ooo_logic.AUTO_REPLY_HEADERS, **reply_headers(message.message_id, message.references))
    return OutgoingMessage.objects.create(
        owner=account.owner, account=account, state=OutboxState.SCHEDULED, send_at=timezone.now(),
        message_id=message_id, subject=settings.subject, envelope_from=account.email, envelope_to=[target],
        raw=as_bytes(built))


def ooo_arrival_step(message_ids: list[int]) -> None:
    now = timezone.now()
    # New mail wherever it landed (a filter may have filed it already), except where no person
    # writing to the user would be: Spam, Trash, Sent, Drafts.
    messages = Message.objects.filter(pk__in=message_ids, folder__isnull=False,
                                      account__out_of_office__is_active=True).exclude(
        folder__role__in=[FolderRole.SPAM, FolderRole.TRASH, FolderRole.SENT, FolderRole.DRAFTS]).select_related(
        "account__owner", "account__out_of_office").order_by("pk")  # of two from one sender, the first is answered
    on_server = set(RuleServerState.objects.filter(vacation_on_server=True).values_list("account_id", flat=True))
    for message in messages:
        if message.account_id in on_server:
            continue  # the server's Sieve vacation answers instead
        settings = message.account.out_of_office
        window = ooo_logic.Window(settings.is_active, settings.start, settings.end, settings.known_only)
        incoming = _incoming(message)
        target = ooo_logic.reply_address(incoming)
        own = _own_addresses(message.account)
        known = _sender_known(message.account, target) if settings.known_only and target else True
        reply, reason = ooo_logic.decide(window, incoming, own_addresses=own, now=now, sender_known=known)
        if reply and not incoming.return_path_present and _null_return_path(message):
            reply, reason = False, "null_return_path"
        if not reply:
            logger.debug("no out-of-office reply to message %s: %s", message.pk, reason)
            continue
        if _claim_interval(message.account, target.lower(), now, settings.days):
            _queue_reply(settings, message, target)
