"""Shared fixtures: three personas (owner, colleague, staff) and accounts on the real test servers.

The real-server fixtures (Dovecot, aiosmtpd) come from tests/servers/fixtures.py.
"""

import pytest
from django.contrib.auth import get_user_model

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture(autouse=True)
def _loopback_servers_allowed(settings):
    """The test servers live on loopback; tests of the private-address guard switch this off."""
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True
    settings.MAIL_CONNECT_TIMEOUT = 5
    settings.MAIL_SYNC_ON_SAVE = False  # tests run syncs themselves, not through a broker
    settings.MAIL_PREFETCH_BODIES = False


@pytest.fixture(autouse=True)
def _no_kept_imap_connections():
    """Connections the IMAP pool kept during a test are logged out after it: the next test's
    server, account and counts start clean."""
    yield
    from messages_app.services.imap_pool import POOL

    POOL.close_idle()


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="owner-pass-1", first_name="Olga",
                                                last_name="Owner", email="olga@crm.test")


@pytest.fixture
def colleague(db):
    return get_user_model().objects.create_user("colleague", password="colleague-pass-1")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("boss", password="boss-pass-1", is_staff=True)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def account_on(user, server_user, **overrides):
    """A saved Custom account of `user` pointing at the test Dovecot and aiosmtpd."""
    from messages_app.models import MailAccount
    from messages_app.services.accounts import mail_account_save

    fields = {
        "owner": user, "preset": "custom", "username": server_user.login,
        "imap_host": server_user.host, "imap_port": server_user.imap_port, "imap_security": "none",
        "smtp_host": server_user.host, "smtp_port": server_user.smtp_port, "smtp_security": "none",
    }
    fields.update(overrides)
    password = fields.pop("password", server_user.password)
    account = MailAccount(**fields)
    return mail_account_save(account=account, actor=user, password=password)


@pytest.fixture
def mail_account(owner, mail_user):
    return account_on(owner, mail_user)
