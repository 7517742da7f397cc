"""Migration 0021 forward with data: links made before it get their message's date, and the
timeline reads them in order afterwards (SQLite and PostgreSQL: run with DATABASE_URL for the latter)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from crm.models import Contact
from messages_app.models import MessageLink
from messages_app.selectors.crm import record_timeline

BEFORE = [("messages_app", "0020_sync_schedule")]
AFTER = [("messages_app", "0021_link_message_date")]
BASE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_links_made_before_the_migration_get_their_messages_date():
    apps = _migrate(BEFORE)
    try:
        user = apps.get_model("accounts", "User").objects.create(username="prima")
        Message = apps.get_model("messages_app", "Message")
        Link = apps.get_model("messages_app", "MessageLink")
        contact = apps.get_model("crm", "Contact").objects.create(owner=user, first_name="Mario", last_name="Rossi")
        company = apps.get_model("crm", "Company").objects.create(owner=user, name="Edilnord")
        # Stored in an order other than their dates, two of them on the same date.
        minutes = [30, 0, 50, 10, 10, 40]
        messages = [Message.objects.create(account=None, folder=None, uid=None, local_owner=user, size=100,
                                           dedup_key=f"mig-{i}", subject=f"Pratica {i}", from_addr="mario@cliente.test",
                                           date=BASE + timedelta(minutes=m)) for i, m in enumerate(minutes)]
        for message in messages:
            Link.objects.create(message=message, owner=user, contact=contact, reason="address", state="linked")
        Link.objects.create(message=messages[0], owner=user, company=company, reason="domain", state="pending",
                            confidence=50)

        apps = _migrate(AFTER)
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    links = MessageLink.objects.select_related("message")
    assert links.count() == 7
    assert all(link.message_date == link.message.date for link in links)
    page = record_timeline(get_user_model().objects.get(pk=user.pk), "contact", Contact.objects.get(pk=contact.pk))
    subjects = [link.message.subject for thread in page.threads for link in thread.links]
    assert subjects == ["Pratica 2", "Pratica 5", "Pratica 0", "Pratica 4", "Pratica 3", "Pratica 1"]
