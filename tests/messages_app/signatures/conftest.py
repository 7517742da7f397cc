"""Accounts for the signature tests: no server is dialled, so plain rows are enough."""

import pytest
from django.test import Client

from messages_app.models import MailAccount


def plain_account(user, email: str, **fields) -> MailAccount:
    return MailAccount.objects.create(owner=user, username=email, email=email,
                                      description=fields.pop("description", email),
                                      imap_host="imap.example.test", smtp_host="smtp.example.test", **fields)


@pytest.fixture
def owner_account(owner):
    return plain_account(owner, "olga@acme.example", description="Olga ACME", is_primary=True)


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client
