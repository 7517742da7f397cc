"""Out of office against the real Dovecot and aiosmtpd: one reply per sender per interval, none to
automated mail, and two absent colleagues writing to each other get one reply each."""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.utils import timezone
from django.utils.timezone import now

from messages_app.models import OutgoingMessage, OutOfOfficeReply
from messages_app.services.ooo import ooo_set
from messages_app.services.outbox import outbox_send_due
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.servers.fixtures import new_mail_user


def raw(sender, to, subject, *, return_path=None, headers=None, message_id=None) -> bytes:
    message = EmailMessage()
    if return_path is not None:
        message["Return-Path"] = return_path
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="cliente.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content("Buongiorno,\nuna domanda.")
    return bytes(message)


def away(account, **kwargs):
    return ooo_set(account=account, start=now() - timedelta(hours=1), subject="Fuori ufficio",
                   body_html="<p>Sono fuori ufficio fino a lunedì.</p>", **kwargs)


@pytest.fixture
def away_account(owner, mail_user):
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    away(account)
    return account


def deliver(mail_user, *args, **kwargs):
    mail_user.dovecot.append(mail_user.login, "INBOX", raw(*args, **kwargs))


def replies(account):
    return list(OutgoingMessage.objects.filter(account=account).order_by("id"))


def test_one_reply_per_sender_within_the_interval_and_again_after(away_account, mail_user, smtp_server):
    me = mail_user.login
    parent = make_msgid(domain="cliente.test")
    deliver(mail_user, "Mario <mario@cliente.test>", me, "Domanda", return_path="<mario.env@cliente.test>",
            message_id=parent, headers={"References": "<radice@cliente.test>"})
    deliver(mail_user, "Mario <mario@cliente.test>", me, "Seconda domanda", return_path="<mario.env@cliente.test>")
    account_sync(away_account.pk)
    [reply] = replies(away_account)
    assert reply.envelope_to == ["mario.env@cliente.test"]  # the Return-Path sender
    text = bytes(reply.raw).decode()
    assert "Auto-Submitted: auto-replied" in text
    assert f"In-Reply-To: {parent}" in text
    assert f"References: <radice@cliente.test>\r\n {parent}" in text
    result = outbox_send_due(now=timezone.now() + timedelta(seconds=1))
    assert result.sent == 1
    [sent] = smtp_server.wait_for(1, login=me)
    assert sent.rcpt_tos == ["mario.env@cliente.test"]
    OutOfOfficeReply.objects.update(last_sent_at=now() - timedelta(days=5, minutes=1))  # the interval passed
    deliver(mail_user, "Mario <mario@cliente.test>", me, "Terza domanda", return_path="<mario.env@cliente.test>")
    account_sync(away_account.pk)
    assert len(replies(away_account)) == 2
    assert OutOfOfficeReply.objects.get().replies == 2


def test_automated_and_unaddressed_mail_is_never_answered(owner, away_account, mail_user):
    me = mail_user.login
    cases = {
        "auto-submitted": {"headers": {"Auto-Submitted": "auto-generated"}},
        "precedence": {"headers": {"Precedence": "bulk"}},
        "list-id": {"headers": {"List-Id": "<news.cliente.test>"}},
        "list-unsubscribe": {"headers": {"List-Unsubscribe": "<mailto:u@cliente.test>"}},
        "null return path": {"return_path": "<>"},
        "suppress": {"headers": {"X-Auto-Response-Suppress": "OOF"}},
        "spam": {"headers": {"X-Spam-Flag": "YES"}},
    }
    for subject, extra in cases.items():
        deliver(mail_user, f"{subject.replace(' ', '')}@cliente.test", me, subject, **extra)
    deliver(mail_user, "MAILER-DAEMON@cliente.test", me, "bounce")
    deliver(mail_user, "noreply@cliente.test", me, "noreply")
    deliver(mail_user, "no-reply@cliente.test", me, "no-reply")
    deliver(mail_user, me, me, "own address")
    deliver(mail_user, "anna@cliente.test", "altri@crm.test", "not addressed to me")
    account_sync(away_account.pk)
    assert replies(away_account) == []
    deliver(mail_user, "anna@cliente.test", me, "a person")
    account_sync(away_account.pk)
    assert [r.envelope_to for r in replies(away_account)] == [["anna@cliente.test"]]


def test_mail_there_before_out_of_office_began_is_not_answered(owner, mail_user):
    deliver(mail_user, "mario@cliente.test", mail_user.login, "Vecchia")
    account = account_on(owner, mail_user)
    away(account)  # on before the first sync: the history is still not answered
    account_sync(account.pk)
    assert replies(account) == []


def test_known_only_answers_only_senders_the_user_wrote_to(away_account, mail_user):
    away(away_account, known_only=True)
    mail_user.dovecot.append(mail_user.login, "Sent", raw(mail_user.login, "cliente@cliente.test", "Offerta"))
    deliver(mail_user, "cliente@cliente.test", mail_user.login, "Risposta")
    deliver(mail_user, "sconosciuto@altro.test", mail_user.login, "Chi sono")
    account_sync(away_account.pk)
    assert [r.envelope_to for r in replies(away_account)] == [["cliente@cliente.test"]]


def test_known_only_also_answers_senders_in_the_users_crm_records(owner, colleague, away_account, mail_user):
    from crm.models import Company
    from crm.services import contact_create, record_emails_set

    away(away_account, known_only=True)
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    record_emails_set(record=Company.objects.create(owner=owner, name="Edilnord"), addresses=["ufficio@edilnord.test"])
    contact_create(owner=colleague, first_name="Luca", emails=["luca@altro.test"])  # a colleague's: not known
    deliver(mail_user, "Mario <MARIO@Cliente.test>", mail_user.login, "Dal contatto")
    deliver(mail_user, "ufficio@edilnord.test", mail_user.login, "Dall'azienda")
    deliver(mail_user, "luca@altro.test", mail_user.login, "Dal contatto di un collega")
    deliver(mail_user, "sconosciuto@altro.test", mail_user.login, "Chi sono")
    account_sync(away_account.pk)
    assert sorted(r.envelope_to[0].lower() for r in replies(away_account)) == [
        "mario@cliente.test", "ufficio@edilnord.test"]


def test_two_absent_colleagues_writing_to_each_other_get_one_reply_each(owner, colleague, dovecot, smtp_server):
    alice, bruno = new_mail_user(dovecot, smtp_server), new_mail_user(dovecot, smtp_server)
    a, b = account_on(owner, alice), account_on(colleague, bruno)
    for account in (a, b):
        account_sync(account.pk)
        away(account)
    dovecot.append(bruno.login, "INBOX", raw(alice.login, bruno.login, "Da Alice"))
    dovecot.append(alice.login, "INBOX", raw(bruno.login, alice.login, "Da Bruno"))
    for _round in range(3):  # each reply delivered to its recipient, as their server would
        for account in (a, b):
            account_sync(account.pk)
        outbox_send_due(now=timezone.now() + timedelta(seconds=1))
        with smtp_server._changed:
            sent_now = list(smtp_server.messages)
        for message in sent_now:
            for rcpt in message.rcpt_tos:
                if rcpt in (alice.login, bruno.login) and message.login in (alice.login, bruno.login):
                    dovecot.append(rcpt, "INBOX", message.data)
        smtp_server.messages[:] = [m for m in smtp_server.messages if m.login not in (alice.login, bruno.login)]
    assert [r.envelope_to for r in replies(a)] == [[bruno.login]]
    assert [r.envelope_to for r in replies(b)] == [[alice.login]]


def test_mail_a_filter_filed_is_answered_mail_it_deleted_or_spam_is_not(away_account, mail_user):
    from messages_app.rules import rule_from_dict
    from messages_app.services.rules import rules_replace

    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    account_sync(away_account.pk)
    rules_replace(account=away_account, rules=[
        rule_from_dict({"name": "c", "conditions": [{"field": "from", "op": "contains", "value": "cliente"}],
                        "actions": [{"action": "move", "folder": "Clienti"}]}),
        rule_from_dict({"name": "d", "conditions": [{"field": "subject", "op": "contains", "value": "cestino"}],
                        "actions": [{"action": "delete"}]})])
    deliver(mail_user, "mario@cliente.test", mail_user.login, "Offerta")
    deliver(mail_user, "anna@altro.test", mail_user.login, "Per il cestino")
    mail_user.dovecot.append(mail_user.login, "Junk", raw("spam@altro.test", mail_user.login, "Vinci"))
    account_sync(away_account.pk)
    assert [r.envelope_to for r in replies(away_account)] == [["mario@cliente.test"]]


def test_the_step_run_twice_on_the_same_mail_still_replies_once(away_account, mail_user):
    from messages_app.models import Message
    from messages_app.services.ooo import ooo_arrival_step

    deliver(mail_user, "mario@cliente.test", mail_user.login, "Domanda")
    account_sync(away_account.pk)
    ids = list(Message.objects.filter(account=away_account).values_list("id", flat=True))
    ooo_arrival_step(ids)  # a second worker, or a re-run: the unique memory row holds
    ooo_arrival_step(ids)
    assert len(replies(away_account)) == 1
