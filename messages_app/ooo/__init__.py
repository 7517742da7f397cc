"""Out-of-office as pure logic: whether a message gets an automatic reply, and to whom.

No database, no network: services/ooo.py gathers `Incoming` from a stored message and the
settings, asks `decide()`, and queues the reply through the outbox. The rules are RFC 3834's
(never answer automated mail, never loop) plus the product's: a window, known senders only,
once per sender per interval (the interval itself is a unique database row, not here).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

AUTO_REPLY_HEADERS = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
_BULK_PRECEDENCE = {"bulk", "list", "junk"}
_ROBOT_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply", "donotreply",
                     "do-not-reply", "bounce", "bounces")
_SUPPRESS = {"all", "oof", "autoreply"}


@dataclass(frozen=True)
class Window:
    active: bool
    start: datetime
    end: datetime | None = None
    known_only: bool = False

    def covers(self, when: datetime) -> bool:
        return self.active and when >= self.start and (self.end is None or when < self.end)


@dataclass
class Incoming:
    from_addr: str
    return_path: str = ""
    return_path_present: bool = False  # a Return-Path header, even "<>", was there
    to: Iterable[str] = ()
    cc: Iterable[str] = ()
    auto_submitted: str = ""
    precedence: str = ""
    list_id: str = ""
    list_unsubscribe: str = ""
    x_auto_response_suppress: str = ""
    x_autoreply: str = ""
    is_spam: bool = False
    arrived_at: datetime | None = None  # INTERNALDATE: when the server got it
    extra: dict = field(default_factory=dict)


def _lower(addresses: Iterable[str]) -> set[str]:
    return {a.strip().lower() for a in addresses if a and a.strip()}


def reply_address(message: Incoming) -> str:
    """Where an automatic reply goes: the Return-Path (the envelope sender), else From."""
    return (message.return_path if message.return_path_present else message.from_addr).strip()


def is_robot(address: str) -> bool:
    local = address.split("@", 1)[0].lower()
    return any(local == robot or local.startswith(robot + "+") for robot in _ROBOT_LOCALPARTS) or \
        "noreply" in local or "no-reply" in local


def decide(window: Window, message: Incoming, *, own_addresses: Iterable[str], now: datetime,
           sender_known: bool = True) -> tuple[bool, str]:
    """(reply?, the reason when not). Reasons are stable codes, for logs and tests."""
    own = _lower(own_addresses)
    if not window.covers(now):
        return False, "not_active"
    if message.arrived_at is not None and message.arrived_at < window.start:
        return False, "before_start"
    if message.auto_submitted and message.auto_submitted.strip().lower() != "no":
        return False, "auto_submitted"
    if message.x_autoreply:
        return False, "auto_submitted"
    if message.precedence.strip().lower() in _BULK_PRECEDENCE:
        return False, "precedence"
    if message.list_id or message.list_unsubscribe:
        return False, "list"
    suppress = {part.strip().lower() for part in message.x_auto_response_suppress.split(",")}
    if suppress & _SUPPRESS:
        return False, "suppressed"
    if message.is_spam:
        return False, "spam"
    target = reply_address(message)
    if message.return_path_present and not message.return_path.strip():
        return False, "null_return_path"
    if not target or "@" not in target:
        return False, "no_sender"
    if is_robot(target) or is_robot(message.from_addr or target):
        return False, "robot"
    if target.lower() in own or (message.from_addr or "").lower() in own:
        return False, "own_address"
    if not own & _lower([*message.to, *message.cc]):
        return False, "not_addressed"
    if window.known_only and not sender_known:
        return False, "unknown_sender"
    return True, ""


def is_internal(sender: str, own_address: str) -> bool:
    """Same domain as the account: a colleague (who may get the separate internal text)."""
    def domain(address: str) -> str:
        return address.rsplit("@", 1)[-1].lower() if "@" in address else ""

    return bool(domain(sender)) and domain(sender) == domain(own_address)


def interval_passed(last_sent: datetime | None, now: datetime, days: int) -> bool:
    return last_sent is None or now - last_sent >= timedelta(days=days)
