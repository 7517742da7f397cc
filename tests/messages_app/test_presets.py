import pytest

from messages_app.enums import Preset, Security
from messages_app.models import MailAccount
from messages_app.presets import split_host_scheme
from messages_app.services.accounts import apply_server_defaults

EXPECTED = {
    Preset.GMAIL: ("imap.gmail.com", 993, Security.SSL, "smtp.gmail.com", 465, Security.SSL),
    Preset.OFFICE365: ("outlook.office365.com", 993, Security.SSL, "smtp.office365.com", 587, Security.STARTTLS),
    Preset.YAHOO: ("imap.mail.yahoo.com", 993, Security.SSL, "smtp.mail.yahoo.com", 465, Security.SSL),
    Preset.ARUBA: ("imaps.aruba.it", 993, Security.SSL, "smtps.aruba.it", 587, Security.STARTTLS),
    Preset.PEC_ARUBA: ("imaps.pec.aruba.it", 993, Security.SSL, "smtps.pec.aruba.it", 587, Security.STARTTLS),
    Preset.PEC_LEGALMAIL: ("mbox.cert.legalmail.it", 993, Security.SSL, "sendm.cert.legalmail.it", 465, Security.SSL),
}


@pytest.mark.parametrize("preset", list(EXPECTED))
def test_each_preset_fills_its_servers(preset):
    account = MailAccount(preset=preset)
    apply_server_defaults(account)
    assert (account.imap_host, account.imap_port, account.imap_security,
            account.smtp_host, account.smtp_port, account.smtp_security) == EXPECTED[preset]


def test_office365_never_uses_port_443():
    account = MailAccount(preset=Preset.OFFICE365)
    apply_server_defaults(account)
    assert account.imap_port == 993


def test_custom_keeps_what_was_typed():
    account = MailAccount(preset=Preset.CUSTOM, imap_host="mail.acme.test", imap_port=143,
                          imap_security=Security.STARTTLS, smtp_host="smtp.acme.test", smtp_port=25)
    apply_server_defaults(account)
    assert (account.imap_host, account.imap_port, account.smtp_host) == ("mail.acme.test", 143, "smtp.acme.test")


def test_a_preset_keeps_a_hand_entered_smtp_server_when_asked():
    account = MailAccount(preset=Preset.GMAIL, smtp_host="relay.acme.test", smtp_port=2525)
    apply_server_defaults(account, include_smtp=False)
    assert account.imap_host == "imap.gmail.com"
    assert (account.smtp_host, account.smtp_port) == ("relay.acme.test", 2525)


@pytest.mark.parametrize(("typed", "expected"), [
    ("ssl://smtps.aruba.it", ("smtps.aruba.it", Security.SSL)),
    ("tls://smtp.office365.com", ("smtp.office365.com", Security.STARTTLS)),
    ("  SSL://imap.gmail.com/ ", ("imap.gmail.com", Security.SSL)),
    ("mail.acme.test", ("mail.acme.test", Security.NONE)),
])
def test_it_understands_scheme_prefixed_host_names(typed, expected):
    assert split_host_scheme(typed, Security.NONE) == expected
