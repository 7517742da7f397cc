"""The SMTP gateway against the real aiosmtpd: refusals keep their reply, 4xx is transient, 5xx permanent."""

import pytest

from messages_app.exceptions import (
    AuthFailed,
    DataRefused,
    MailError,
    RecipientsRefused,
    SmtpRefused,
    is_transient,
)
from messages_app.gateways import smtp as smtp_gateway
from messages_app.netguard import Endpoint

MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: Prova\r\n\r\nCiao.\r\n"


def config_for(mail_user, password=None) -> smtp_gateway.SmtpConfig:
    return smtp_gateway.SmtpConfig(
        endpoint=Endpoint(host=mail_user.smtp_host, address=mail_user.smtp_host, port=mail_user.smtp_port),
        security="none", username=mail_user.login,
        password=mail_user.password if password is None else password, timeout=5)


def test_send_reports_each_refused_recipient_with_its_reply(mail_user, smtp_server):
    unknown, greylisted, good = (f"{name}-{mail_user.login}" for name in ("unknown", "grey", "good"))
    smtp_server.refuse_recipient(unknown, "550 5.1.1 No such user here")
    smtp_server.refuse_recipient(greylisted, "451 4.7.1 Greylisted, try again later")
    result = smtp_gateway.send(config_for(mail_user), sender=mail_user.email,
                               recipients=[unknown, good, greylisted], message=MESSAGE)
    assert result.accepted == (good,)
    by_recipient = {r.recipient: r for r in result.refused}
    assert set(by_recipient) == {unknown, greylisted}
    hard, soft = by_recipient[unknown], by_recipient[greylisted]
    assert (hard.code, hard.enhanced, hard.text, hard.permanent) == (550, "5.1.1", "No such user here", True)
    assert (soft.code, soft.enhanced, soft.text, soft.permanent) == (451, "4.7.1", "Greylisted, try again later",
                                                                      False)
    assert not is_transient(hard) and is_transient(soft)
    received = smtp_server.wait_for(1, login=mail_user.login)
    assert received[0].rcpt_tos == [good] and received[0].data.endswith(b"Ciao.\r\n")


def test_all_recipients_refused_sends_nothing_and_is_transient_while_one_is(mail_user, smtp_server):
    unknown, greylisted = f"nobody-{mail_user.login}", f"later-{mail_user.login}"
    smtp_server.refuse_recipient(unknown, "550 5.1.1 No such user")
    smtp_server.refuse_recipient(greylisted, "451 4.7.1 Try later")
    with pytest.raises(RecipientsRefused) as both:
        smtp_gateway.send(config_for(mail_user), sender=mail_user.email, recipients=[unknown, greylisted],
                          message=MESSAGE)
    assert [(r.recipient, r.code, r.enhanced) for r in both.value.refusals] == [
        (unknown, 550, "5.1.1"), (greylisted, 451, "4.7.1")]
    assert is_transient(both.value)
    with pytest.raises(RecipientsRefused) as hard_only:
        smtp_gateway.send(config_for(mail_user), sender=mail_user.email, recipients=[unknown], message=MESSAGE)
    assert hard_only.value.permanent and not is_transient(hard_only.value)
    assert smtp_server._matching(mail_user.login) == []


@pytest.mark.parametrize(("reply", "code", "enhanced", "permanent"), [
    ("554 5.6.0 Message rejected as spam", 554, "5.6.0", True),
    ("452 4.3.1 Insufficient system storage", 452, "4.3.1", False),
])
def test_a_refused_data_keeps_its_reply(dovecot, smtp_server, reply, code, enhanced, permanent):
    from tests.servers.fixtures import new_mail_user

    user = new_mail_user(dovecot, smtp_server)  # a sender of its own: the refusal is keyed by it
    smtp_server.refuse_data_from(user.email, reply)
    with pytest.raises(DataRefused) as refused:
        smtp_gateway.send(config_for(user), sender=user.email, recipients=["bob@example.test"], message=MESSAGE)
    error = refused.value
    assert (error.code, error.enhanced, error.text, error.permanent) == (code, enhanced, reply[10:], permanent)
    assert error.recipient == "" and is_transient(error) is not permanent


def test_a_refused_password_is_permanent(mail_user):
    with pytest.raises(AuthFailed) as refused:
        smtp_gateway.check(config_for(mail_user, password="wrong"))
    assert refused.value.permanent and not is_transient(refused.value)


@pytest.mark.parametrize(("text", "split"), [
    ("5.1.1 <x@y.test>: Recipient address rejected", ("5.1.1", "<x@y.test>: Recipient address rejected")),
    ("4.7.1", ("4.7.1", "")),
    ("Mailbox unavailable", ("", "Mailbox unavailable")),
    ("5.1 not an enhanced code", ("", "5.1 not an enhanced code")),
])
def test_split_reply(text, split):
    assert smtp_gateway.split_reply(text) == split


def test_permanence_of_the_error_family():
    from messages_app.exceptions import (
        ConnectionDropped,
        ConnectTimeout,
        HostNotFound,
        HostUnreachable,
        ProtocolError,
        TlsCertificateError,
    )

    assert all(is_transient(cls("x")) for cls in (ConnectionDropped, ConnectTimeout, HostUnreachable))
    assert not any(is_transient(cls("x")) for cls in (AuthFailed, TlsCertificateError, ProtocolError,
                                                      HostNotFound, MailError))
    assert is_transient(HostNotFound("temporary failure in name resolution", permanent=False))
    assert is_transient(SmtpRefused("busy", code=421)) and not is_transient(SmtpRefused("no", code=554))
    assert not is_transient(ValueError("not a mail error"))
