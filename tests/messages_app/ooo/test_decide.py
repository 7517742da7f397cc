"""Out-of-office decisions as pure logic: RFC 3834's never-answer list, the window, known senders."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages_app import ooo
from messages_app.ooo import Incoming, Window

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
WINDOW = Window(active=True, start=NOW - timedelta(days=1), end=NOW + timedelta(days=7))
OWN = {"olga@crm.test", "olga.privata@crm.test"}


def mail(**overrides) -> Incoming:
    base = {"from_addr": "mario@cliente.test", "return_path": "mario@cliente.test", "return_path_present": True,
            "to": ["olga@crm.test"], "arrived_at": NOW - timedelta(minutes=5)}
    base.update(overrides)
    return Incoming(**base)


def test_an_ordinary_message_in_the_window_is_answered():
    assert ooo.decide(WINDOW, mail(), own_addresses=OWN, now=NOW) == (True, "")


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"auto_submitted": "auto-replied"}, "auto_submitted"),
    ({"auto_submitted": "auto-generated"}, "auto_submitted"),
    ({"x_autoreply": "yes"}, "auto_submitted"),
    ({"precedence": "bulk"}, "precedence"),
    ({"precedence": "List"}, "precedence"),
    ({"precedence": "junk"}, "precedence"),
    ({"list_id": "news.cliente.test"}, "list"),
    ({"list_unsubscribe": "<mailto:unsub@cliente.test>"}, "list"),
    ({"return_path": "", "return_path_present": True}, "null_return_path"),
    ({"from_addr": "MAILER-DAEMON@cliente.test", "return_path": "MAILER-DAEMON@cliente.test"}, "robot"),
    ({"from_addr": "noreply@cliente.test", "return_path": "bounce-1@mailer.test"}, "robot"),
    ({"from_addr": "no-reply@cliente.test", "return_path": "no-reply@cliente.test"}, "robot"),
    ({"x_auto_response_suppress": "OOF, AutoReply"}, "suppressed"),
    ({"x_auto_response_suppress": "All"}, "suppressed"),
    ({"from_addr": "olga.privata@crm.test", "return_path": "olga.privata@crm.test"}, "own_address"),
    ({"to": ["altri@crm.test"], "cc": []}, "not_addressed"),
    ({"is_spam": True}, "spam"),
    ({"arrived_at": NOW - timedelta(days=2)}, "before_start"),
])
def test_never_answered(overrides, reason):
    assert ooo.decide(WINDOW, mail(**overrides), own_addresses=OWN, now=NOW) == (False, reason)


def test_auto_submitted_no_is_a_person():
    assert ooo.decide(WINDOW, mail(auto_submitted="no"), own_addresses=OWN, now=NOW)[0] is True


def test_a_cc_counts_as_addressed_and_the_reply_goes_to_the_return_path():
    message = mail(to=["altri@crm.test"], cc=["Olga@CRM.test"], return_path="mario.envelope@cliente.test")
    assert ooo.decide(WINDOW, message, own_addresses=OWN, now=NOW)[0] is True
    assert ooo.reply_address(message) == "mario.envelope@cliente.test"
    assert ooo.reply_address(mail(return_path="", return_path_present=False)) == "mario@cliente.test"


def test_outside_the_window_or_off_nothing_is_answered():
    assert ooo.decide(WINDOW, mail(), own_addresses=OWN, now=NOW + timedelta(days=8)) == (False, "not_active")
    assert ooo.decide(WINDOW, mail(), own_addresses=OWN, now=NOW - timedelta(days=2)) == (False, "not_active")
    off = Window(active=False, start=WINDOW.start)
    assert ooo.decide(off, mail(), own_addresses=OWN, now=NOW) == (False, "not_active")
    open_ended = Window(active=True, start=WINDOW.start)
    assert ooo.decide(open_ended, mail(), own_addresses=OWN, now=NOW + timedelta(days=400))[0] is True


def test_known_only_answers_known_senders_only():
    window = Window(active=True, start=WINDOW.start, known_only=True)
    assert ooo.decide(window, mail(), own_addresses=OWN, now=NOW, sender_known=False) == (False, "unknown_sender")
    assert ooo.decide(window, mail(), own_addresses=OWN, now=NOW, sender_known=True)[0] is True


def test_internal_means_the_same_domain():
    assert ooo.is_internal("Anna@CRM.test", "olga@crm.test")
    assert not ooo.is_internal("anna@cliente.test", "olga@crm.test")


@given(st.sampled_from(["auto-replied", "auto-generated", "auto-notified", "yes", "x"]),
       st.sampled_from(["", "bulk", "list", "junk"]))
def test_anything_automated_is_never_answered(auto_submitted, precedence):
    assert ooo.decide(WINDOW, mail(auto_submitted=auto_submitted, precedence=precedence), own_addresses=OWN,
                      now=NOW)[0] is False


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=90 * 24))
def test_the_interval_passes_after_exactly_n_days(days, hours_later):
    last = NOW
    assert ooo.interval_passed(last, NOW + timedelta(hours=hours_later), days) is (hours_later >= days * 24)
    assert ooo.interval_passed(None, NOW, days)
