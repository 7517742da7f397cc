"""Port scan through a company server (issue 16, item 1): the company server's exemption from
the private-address rule covers exactly its own host, port and security; any other port a user
types on that host goes through the address rules; a service's raw banner is never shown to a
non-staff user."""

import pytest
from django.utils import translation

from messages_app.exceptions import HostNotAllowed
from messages_app.models import CompanyServer, MailAccount
from messages_app.services.connection_test import connection_test_run
from messages_app.services.connections import imap_connect, smtp_connect
from tests.servers.raw_tcp import raw_tcp_server

BANNER = "SSH-2.0-OpenSSH_9.6 secret-build-42"


@pytest.fixture
def banner_port():
    """Another service on the company host: it greets with its banner and hangs up."""
    with raw_tcp_server(lambda sock: sock.sendall(BANNER.encode() + b"\r\n")) as port:
        yield port


@pytest.fixture
def company(settings, mail_user):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False
    return CompanyServer.objects.create(name="Sede", imap_host=mail_user.host, imap_port=mail_user.imap_port,
                                        imap_security="none", smtp_host=mail_user.host,
                                        smtp_port=mail_user.smtp_port, smtp_security="none")


def on_company(owner, mail_user, company, **overrides):
    fields = {"owner": owner, "preset": "custom", "company_server": company, "username": mail_user.login,
              "imap_host": company.imap_host, "imap_port": company.imap_port, "imap_security": "none",
              "smtp_host": company.smtp_host, "smtp_port": company.smtp_port, "smtp_security": "none"}
    fields.update(overrides)
    account = MailAccount(**fields)
    account.set_password(mail_user.password)
    return account


def test_the_company_server_itself_is_reachable(owner, mail_user, company):
    account = on_company(owner, mail_user, company)
    with imap_connect(account):
        pass
    with smtp_connect(account):
        pass


def test_another_port_on_the_company_host_is_refused(owner, mail_user, company, banner_port):
    for field in ("imap_port", "smtp_port"):
        account = on_company(owner, mail_user, company, **{field: banner_port})
        with pytest.raises(HostNotAllowed):
            (imap_connect if field == "imap_port" else smtp_connect)(account)
    with translation.override("en"):
        report = connection_test_run(account=on_company(owner, mail_user, company, smtp_port=banner_port),
                                     rate_limited=False)
    assert not report.smtp_ok and BANNER not in report.summary and "secret-build" not in report.summary


def test_another_security_on_the_company_host_is_refused(owner, mail_user, company):
    with pytest.raises(HostNotAllowed):
        imap_connect(on_company(owner, mail_user, company, imap_security="starttls"))
    with pytest.raises(HostNotAllowed):
        smtp_connect(on_company(owner, mail_user, company, smtp_security="ssl"))


def test_banners_are_for_staff_only(settings, owner, staff, mail_user, banner_port):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True  # reachable: only the wording is under test
    reports = {}
    for user in (owner, staff):
        account = MailAccount(owner=user, preset="custom", username="u", imap_host="127.0.0.1",
                              imap_port=banner_port, imap_security="none", smtp_host="127.0.0.1",
                              smtp_port=banner_port, smtp_security="none")
        account.set_password("p")
        with translation.override("en"):
            reports[user.username] = connection_test_run(account=account, rate_limited=False).summary
    assert "secret-build" not in reports["owner"], reports["owner"]
    assert "secret-build" in reports["boss"], reports["boss"]
