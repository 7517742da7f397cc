"""Where the server offers DSN (RFC 3461), MAIL FROM carries RET=HDRS and ENVID (the Message-ID),
and a report that returns only the ENVID, no headers, is still matched to the message."""

import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from messages_app.enums import DeliveryStatus
from messages_app.mime.dsn import DeliveryReport, DsnRecipient, xtext_decode
from messages_app.services.delivery import dsn_apply
from messages_app.services.outbox import outbox_queue, outbox_send_due
from tests.conftest import account_on
from tests.servers.ports import HOST, free_port


class _DsnSMTP(SMTP):
    """aiosmtpd that advertises DSN and takes its MAIL FROM parameters (it refuses unknown ones)."""

    def _getparams(self, params):
        found = super()._getparams(params)
        if found is not None and ("ENVID" in found or "RET" in found):  # MAIL FROM's (RCPT has none here)
            self.event_handler.options.append({key: found.pop(key) for key in ("ENVID", "RET") if key in found})
        return found


class _Handler:
    def __init__(self):
        self.options: list[dict] = []
        self.received = threading.Event()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        self.received.set()
        return "250 OK"


class _Controller(Controller):
    def factory(self):
        return _DsnSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def dsn_smtp():
    handler = _Handler()
    controller = _Controller(handler, hostname=HOST, port=free_port(), ready_timeout=5.0)
    controller.start()
    yield controller, handler
    controller.stop()


def test_envid_goes_out_and_a_report_naming_only_it_is_matched(owner, mail_user, dsn_smtp):
    controller, handler = dsn_smtp
    account = account_on(owner, mail_user, smtp_port=controller.port, smtp_auth_required=False)
    item = outbox_queue(user=owner, account=account, to=["ghost@example.test"], subject="Offerta",
                        text="Buongiorno", undo_seconds=0)
    assert outbox_send_due().sent == 1
    assert handler.received.wait(5)
    [options] = handler.options
    assert options["RET"] == "HDRS"
    envid = item.message_id.strip("<>")
    assert xtext_decode(options["ENVID"]) == envid.upper()  # aiosmtpd upper-cases the whole MAIL FROM line
    # The report names the message by its ENVID only, as the server received it.
    report = DeliveryReport(envelope_id=envid, recipients=[DsnRecipient(
        final_recipient="ghost@example.test", original_recipient="", action="failed", status="5.1.1",
        diagnostic="550 5.1.1 User unknown")])
    assert dsn_apply(report=report, account_id=account.pk) == item
    assert item.recipients.get().status == DeliveryStatus.NOT_DELIVERED
    assert dsn_apply(report=report, account_id=account.pk + 1000) is None  # another account's: nothing
