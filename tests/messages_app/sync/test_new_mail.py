"""The IDLE listener's cheap pass for EXISTS (sync/new_mail.py), and the one TLS context per
process that keeps an idle account's memory small (gateways/errors.client_ssl_context)."""

import shutil
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from messages_app.arrival import steps
from messages_app.arrival.steps import Step
from messages_app.gateways.errors import client_ssl_context
from messages_app.models import ArrivalMarker, Folder, Message
from messages_app.services.connections import imap_connect
from messages_app.services.idle_listener import InlineDatabase, _new_mail_pass, _only_new_mail, listen
from messages_app.services.sync import account_sync, open_connection
from messages_app.sync.new_mail import new_mail_store
from tests.conftest import account_on
from tests.messages_app.arrival.steps_for_tests import STAR
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_idle_leases import wait_for


def deliver(mail_user, subjects):
    for subject in subjects:
        mail_user.dovecot.append(mail_user.login, "INBOX", make_message(subject, message_id=f"<{subject}@test>"))


def test_the_new_mail_pass_stores_exactly_the_new_messages_with_their_markers(owner, mail_user):
    deliver(mail_user, ["storia-1", "storia-2"])
    account = account_on(owner, mail_user)
    account_sync(account.pk)  # the first sync: history, no markers
    inbox = Folder.objects.get(account=account, role="inbox")
    seen = (inbox.uidvalidity, inbox.uidnext)
    deliver(mail_user, ["nuovo-1", "nuovo-2"])
    with open_connection(account) as conn:
        conn.select("INBOX", readonly=True)
        fetched = conn.fetch_meta(f"{seen[1]}:*")
        result = new_mail_store(account.pk, inbox.name, uidvalidity=seen[0], uidnext=seen[1], fetched=fetched)
        after = conn.select("INBOX", readonly=True)
    assert result is not None and result.stored == 2
    new = dict(Message.objects.filter(account=account, uid__gte=seen[1]).values_list("pk", "message_id"))
    assert sorted(new.values()) == ["<nuovo-1@test>", "<nuovo-2@test>"]
    assert Message.objects.filter(account=account).count() == 4
    assert sorted(result.arrival_ids) == sorted(new)
    assert sorted(ArrivalMarker.objects.values_list("message_id", flat=True)) == sorted(new)  # only the new ones
    inbox.refresh_from_db()
    # The cursor where a full pass would leave it: the listener's next SELECT matches, no catch-up.
    assert (inbox.uidnext, inbox.server_messages) == (after.uidnext, after.exists) == \
        (result.uidnext, result.server_messages)
    assert inbox.last_seen_uid == after.uidnext - 1
    # A full pass afterwards finds nothing more to store, and no second marker.
    assert account_sync(account.pk, folder_name="INBOX", drain_arrivals=False).new == 0
    assert ArrivalMarker.objects.count() == 2
    # Handed the same fetch again (the stored Inbox has moved on): it writes nothing.
    assert new_mail_store(account.pk, inbox.name, uidvalidity=seen[0], uidnext=seen[1], fetched=fetched) is None
    assert Message.objects.filter(account=account).count() == 4


def test_the_new_mail_pass_declines_before_the_first_sync_or_after_a_uidvalidity_change(owner, mail_user):
    account = account_on(owner, mail_user)
    assert new_mail_store(account.pk, "INBOX", uidvalidity=1, uidnext=1, fetched=[]) is None  # no Inbox row yet
    account_sync(account.pk)
    inbox = Folder.objects.get(account=account, role="inbox")
    assert new_mail_store(account.pk, inbox.name, uidvalidity=inbox.uidvalidity + 1, uidnext=inbox.uidnext,
                          fetched=[]) is None
    assert new_mail_store(account.pk, inbox.name, uidvalidity=inbox.uidvalidity, uidnext=inbox.uidnext,
                          fetched=[]) is not None


class InTheTestsTransaction(InlineDatabase):
    """The listener's database work run in place, on the test's connection (which the
    listener's own inline runner would close); the arrival steps too."""

    def __call__(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)


def test_catching_up_takes_the_cheap_pass_only_when_the_inbox_just_grew(owner, mail_user, mark_step):
    """Mail that came while the listener was busy raises no IDLE event: its SELECT shows it. When
    the new messages explain the whole difference, the cheap pass stores them; when something was
    also expunged, the full pass runs and removes it too."""
    deliver(mail_user, ["storia-1", "storia-2"])
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    stale = timezone.now() - timedelta(minutes=5)
    Folder.objects.filter(account=account, role="inbox").update(last_synced=stale)

    def catch_up(conn):
        inbox = Folder.objects.get(account=account, role="inbox")
        select = conn.select("INBOX", readonly=True)
        return _new_mail_pass(account.pk, conn, "INBOX", uidvalidity=select.uidvalidity, from_uid=inbox.uidnext,
                              stop=threading.Event(), db=InTheTestsTransaction(), noticed=time.monotonic(),
                              expect=(inbox.server_messages, select.exists)), select

    deliver(mail_user, ["arrivato-1", "arrivato-2"])
    with open_connection(account) as conn:
        stored, select = catch_up(conn)
    assert stored == (select.uidnext, select.exists)
    arrived = Message.objects.filter(account=account, message_id__startswith="<arrivato")
    assert arrived.count() == 2
    # Their arrival steps ran once each, and their markers are gone.
    assert sorted(pk for batch in mark_step for pk in batch) == sorted(arrived.values_list("pk", flat=True))
    assert not ArrivalMarker.objects.exists()
    assert Folder.objects.get(account=account, role="inbox").last_synced == stale  # no full pass

    first = Message.objects.get(account=account, message_id="<storia-1@test>")
    mail_user.dovecot.expunge(mail_user.login, "INBOX", first.uid)
    deliver(mail_user, ["arrivato-3"])
    with open_connection(account) as conn:
        stored, _select = catch_up(conn)
    assert stored is None  # the full pass ran: one expunged and one new do not add up
    assert Folder.objects.get(account=account, role="inbox").last_synced != stale
    # The Inbox as the server has it (the expunged row is detached, for the next full pass to settle).
    assert set(Message.objects.filter(folder__account=account, folder__role="inbox")
               .values_list("message_id", flat=True)) == {
        "<storia-2@test>", "<arrivato-1@test>", "<arrivato-2@test>", "<arrivato-3@test>"}


def test_idle_responses_are_told_apart():
    assert _only_new_mail([(3, b"EXISTS"), (1, b"RECENT")]) is True
    assert _only_new_mail([(b"OK", b"Still here")]) is None  # a keepalive: no pass at all
    assert _only_new_mail([(3, b"EXISTS"), (2, b"EXPUNGE")]) is False
    assert _only_new_mail([(2, b"FETCH", (b"FLAGS", (b"\\Seen",)))]) is False


@pytest.mark.django_db(transaction=True)
def test_the_listener_takes_the_cheap_pass_on_new_mail_and_runs_its_arrival_steps(owner, mail_user, mark_step):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    # An unchanged folder's last_synced is only refreshed once it is a minute old: age it, so
    # the listener's catch-up pass shows by stamping it.
    synced = timezone.now() - timedelta(minutes=5)
    Folder.objects.filter(account=account, role="inbox").update(last_synced=synced)
    stop = threading.Event()
    listener = threading.Thread(target=listen, args=(account.pk, stop), daemon=True)
    listener.start()
    try:
        # Its catch-up pass (a full Inbox pass) has run; then it waits in IDLE.
        assert wait_for(lambda: Folder.objects.get(account=account, role="inbox").last_synced != synced, 10)
        time.sleep(1.0)
        synced = Folder.objects.get(account=account, role="inbox").last_synced
        deliver(mail_user, ["spinta"])
        assert wait_for(lambda: Message.objects.filter(message_id="<spinta@test>").exists(), 10, step=0.05)
        message = Message.objects.get(message_id="<spinta@test>")
        # Its arrival steps ran, once, and its marker is gone.
        assert wait_for(lambda: not ArrivalMarker.objects.filter(message=message).exists(), 10, step=0.05)
        assert mark_step == [[message.pk]]
        message.refresh_from_db()
        assert message.preview.count(STAR) == 1
        # The full pass stamps last_synced; the cheap one leaves it for the periodic passes.
        assert Folder.objects.get(account=account, role="inbox").last_synced == synced
    finally:
        stop.set()
        listener.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_mail_landing_during_a_catch_ups_arrival_steps_is_stored_without_another_event(owner, mail_user):
    """The listener's SELECT sees mail that came while it was busy, so IDLE will not report it:
    each catch-up that moved the stored Inbox on is followed by another look, not by IDLE."""
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    landed = []

    def deliver_during_the_steps(message_ids: list[int]) -> None:
        # The first message's steps see the second land, and the second's steps the third.
        subjects = {"primo": "secondo", "secondo": "terzo"}
        for subject in Message.objects.filter(pk__in=message_ids).values_list("subject", flat=True):
            if subject in subjects and subjects[subject] not in landed:
                landed.append(subjects[subject])
                deliver(mail_user, [subjects[subject]])

    steps.register(Step("deliver_during_the_steps", deliver_during_the_steps))
    stop = threading.Event()
    listener = threading.Thread(target=listen, args=(account.pk, stop), daemon=True)
    listener.start()
    try:
        assert wait_for(lambda: ArrivalMarker.objects.count() == 0 and Folder.objects.filter(
            account=account, role="inbox", last_synced__isnull=False).exists(), 10)
        time.sleep(1.0)  # in IDLE
        deliver(mail_user, ["primo"])
        # No further mail arrives after the third: only the listener's own look can store it.
        assert wait_for(lambda: Message.objects.filter(message_id="<terzo@test>").exists(), 10, step=0.05), \
            "mail that landed during a catch-up waited for the next event"
        assert landed == ["secondo", "terzo"]
        assert Message.objects.filter(account=account, message_id__in=[
            "<primo@test>", "<secondo@test>", "<terzo@test>"]).count() == 3
    finally:
        stop.set()
        listener.join(timeout=10)
        steps.unregister("deliver_during_the_steps")


def test_every_connection_of_the_process_shares_one_tls_context(owner, mail_user, settings, tmp_path):
    account = account_on(owner, mail_user)
    with imap_connect(account) as first, imap_connect(account) as second:
        assert first._client.ssl_context is second._client.ssl_context is client_ssl_context()
    # A private CA file gets its own context, shared too; the file edited in place, a new one.
    bundle = tmp_path / "ca.pem"
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", bundle)
    settings.MAIL_TLS_CA_FILE = str(bundle)
    private = client_ssl_context()
    assert private is client_ssl_context()
    settings.MAIL_TLS_CA_FILE = ""
    assert client_ssl_context() is not private
    settings.MAIL_TLS_CA_FILE = str(bundle)
    bundle.write_text(bundle.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    assert client_ssl_context() is not private
