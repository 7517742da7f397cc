"""The send figure: messages per second through the outbox to aiosmtpd, beside a bare aiosmtplib
loop sending the same bytes to the same server in the same run.

The outbox side is what a worker does for due mail: `outbox_send_due` claims each row, sends it
over one SMTP session, appends the copy to Sent on Dovecot and records the per-recipient rows.
Queueing (building the MIME message, `outbox_queue`) is timed apart: it happens in the compose
request, not in the worker. A second account with a provider that files Sent itself (the Gmail
preset, no IMAP append) shows what the copy costs. The bare loop is aiosmtplib's `sendmail` over
one authenticated session: the ceiling for one connection to this server.
"""

from __future__ import annotations

import asyncio
import time

SENDER_LOGIN = "sender@postino.test"
SENDER_PASSWORD = "bench-sender-pass"  # noqa: S105 - a throwaway bench mailbox
RECIPIENTS = ["uno@cliente.test", "due@cliente.test"]
BODY = ("Buongiorno,\n\nin allegato il preventivo richiesto. Resto a disposizione per ogni chiarimento.\n\n"
        "Cordiali saluti\n") * 4


def _account(user, dovecot, smtp, *, preset: str):
    from messages_app.models import MailAccount
    from messages_app.services.accounts import mail_account_save

    account = MailAccount(owner=user, preset=preset, username=SENDER_LOGIN, email=SENDER_LOGIN,
                          description=f"Bench sender ({preset})", imap_host=dovecot.host, imap_port=dovecot.imap_port,
                          imap_security="none", smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none")
    return mail_account_save(account=account, actor=user, password=SENDER_PASSWORD)


def _queue(user, account, count: int) -> tuple[list[int], float]:
    from messages_app.services.outbox import outbox_queue

    started = time.perf_counter()
    ids = [outbox_queue(user=user, account=account, to=RECIPIENTS, subject=f"Preventivo n. {i} però è pronto",
                        text=BODY, html=f"<p>{BODY}</p>", undo_seconds=0).pk for i in range(count)]
    return ids, time.perf_counter() - started


def _outbox_pass(ids: list[int]) -> dict:
    from messages_app.enums import OutboxState
    from messages_app.models import OutgoingMessage
    from messages_app.services.outbox import outbox_send_due

    started = time.perf_counter()
    result = outbox_send_due(limit=len(ids))
    seconds = time.perf_counter() - started
    sent = OutgoingMessage.objects.filter(pk__in=ids, state=OutboxState.SENT).count()
    return {"messages": sent, "s": round(seconds, 3), "msgs_per_s": round(sent / seconds, 1) if seconds else None,
            "pass_sent": result.sent, "pass_retried": result.retried, "pass_failed": result.failed}


def _bare_loop(smtp, raw: bytes, count: int) -> dict:
    import aiosmtplib

    async def run() -> float:
        client = aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False, use_tls=False, timeout=30)
        await client.connect()
        await client.login(SENDER_LOGIN, SENDER_PASSWORD)
        started = time.perf_counter()
        for _ in range(count):
            await client.sendmail(SENDER_LOGIN, RECIPIENTS, raw)
        seconds = time.perf_counter() - started
        await client.quit()
        return seconds

    seconds = asyncio.run(run())
    return {"messages": count, "s": round(seconds, 3), "msgs_per_s": round(count / seconds, 1) if seconds else None}


def send_figure(dovecot, user, *, count: int) -> dict:
    """The `send` figure; `user` sends from a fresh mailbox on `dovecot` through a private aiosmtpd."""
    from messages_app.models import OutgoingMessage
    from tests.servers.smtp import SmtpServer

    dovecot.add_user(SENDER_LOGIN, SENDER_PASSWORD)
    smtp = SmtpServer(users={SENDER_LOGIN: SENDER_PASSWORD})
    smtp.start()
    try:
        custom = _account(user, dovecot, smtp, preset="custom")
        filing = _account(user, dovecot, smtp, preset="gmail")
        ids, queue_s = _queue(user, custom, count)
        raw = bytes(OutgoingMessage.objects.get(pk=ids[0]).raw)
        # Warm both paths (connection set-up, first queries) before timing either.
        _bare_loop(smtp, raw, 5)
        warm_ids, _ = _queue(user, filing, 5)
        _outbox_pass(warm_ids)
        bare = _bare_loop(smtp, raw, count)
        outbox = _outbox_pass(ids)
        filing_ids, _ = _queue(user, filing, count)
        no_copy = _outbox_pass(filing_ids)
        received = len(smtp.messages)
    finally:
        smtp.cleanup()
    ratio = round(outbox["msgs_per_s"] / bare["msgs_per_s"], 3) if outbox["msgs_per_s"] and bare["msgs_per_s"] else None
    ratio_no_copy = (round(no_copy["msgs_per_s"] / bare["msgs_per_s"], 3)
                     if no_copy["msgs_per_s"] and bare["msgs_per_s"] else None)
    return {
        "messages": count, "recipients_per_message": len(RECIPIENTS), "message_bytes": len(raw),
        "outbox": outbox, "outbox_no_sent_copy": no_copy, "bare_aiosmtplib": bare,
        "ratio_bare_aiosmtplib": ratio, "ratio_no_sent_copy_bare_aiosmtplib": ratio_no_copy,
        "queue_msgs_per_s": round(count / queue_s, 1) if queue_s else None,
        "server_received": received,
        "implementation": "services.outbox.outbox_send_due (claim, SMTP, APPEND to Sent, rows) vs aiosmtplib "
                          "sendmail over one session; aiosmtpd in a thread of the bench process",
    }
