"""The CRM paths at volume: the backfill's multi-row insert links each message exactly once however
often (and however concurrently) it runs, and a record's timeline is paged 50 messages at a time,
the next page continuing after the last without a gap or a repeat."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from crm.services import contact_create
from messages_app.models import LinkState, Message, MessageLink
from messages_app.selectors.crm import record_timeline
from messages_app.services.crm_links import INSERT_ROWS, links_backfill, links_match
from tests.messages_app.views import mails

COUNT = 2 * INSERT_ROWS + 130  # several multi-row statements, the last one short


def local_mail(owner, count: int, *, sender: str = "mario@cliente.test", same_date_every: int = 0) -> list[int]:
    """Mail that lives only here (no server, no source download), from one sender; with
    `same_date_every`, that many messages share each date (ties broken by id)."""
    rows = [Message(account=None, folder=None, uid=None, local_owner=owner, dedup_key=f"vol-{i}",
                    subject=f"Pratica {i}", from_addr=sender, size=100,
                    date=mails.BASE_DATE + timedelta(minutes=i // same_date_every if same_date_every else i))
            for i in range(count)]
    Message.objects.bulk_create(rows, batch_size=500)
    return list(Message.objects.filter(local_owner=owner).values_list("id", flat=True))


def test_the_backfill_links_each_message_exactly_once_when_run_twice(owner):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    local_mail(owner, COUNT)
    assert links_backfill(owner_ids=[owner.pk], keep_sources=False) == (COUNT, COUNT)
    links_backfill(owner_ids=[owner.pk], keep_sources=False)
    assert MessageLink.objects.filter(contact=contact, state=LinkState.LINKED).count() == COUNT
    assert MessageLink.objects.values("message_id").distinct().count() == COUNT


def test_a_link_the_user_dismissed_is_not_made_again_by_the_bulk_insert(owner):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    ids = local_mail(owner, COUNT)
    links_match(message_ids=ids, keep_sources=False)
    MessageLink.objects.filter(message_id__in=ids[:10]).update(state=LinkState.DISMISSED)
    links_match(message_ids=ids, keep_sources=False)
    assert MessageLink.objects.filter(contact=contact).count() == COUNT
    assert MessageLink.objects.filter(state=LinkState.DISMISSED).count() == 10


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_backfills_link_each_message_exactly_once(owner):
    """Two passes at once, each in its own connection: on PostgreSQL the second waits on the
    first's rows and skips them (ON CONFLICT DO NOTHING); SQLite serialises the writers."""
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    local_mail(owner, COUNT)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait(timeout=10)
            links_backfill(owner_ids=[owner.pk], keep_sources=False)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert MessageLink.objects.filter(contact=contact, state=LinkState.LINKED).count() == COUNT
    assert MessageLink.objects.values("message_id").distinct().count() == COUNT


def _pages(owner, contact):
    pages, cursor = [], None
    while True:
        page = record_timeline(owner, "contact", contact, cursor=cursor)
        pages.append([link.message_id for thread in page.threads for link in thread.links])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_the_timeline_shows_50_messages_and_the_next_pages_continue_without_gaps_or_repeats(owner):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    ids = local_mail(owner, 173, same_date_every=4)  # dates tie across page boundaries
    links_match(message_ids=ids, keep_sources=False)
    pages = _pages(owner, contact)
    assert [len(page) for page in pages] == [50, 50, 50, 23]
    newest_first = list(Message.objects.filter(pk__in=ids).order_by("-date", "-id").values_list("id", flat=True))
    assert [pk for page in pages for pk in page] == newest_first


def test_the_timeline_fragment_links_to_the_next_page(owner, owner_client):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_match(message_ids=local_mail(owner, 60), keep_sources=False)
    url = f"/messages/records/contact/{contact.pk}/timeline/"
    first = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert first.count('class="timeline-message"') == 50
    assert "Pratica 59" in first and "Pratica 9<" not in first
    cursor = first.split("?cursor=")[1].split('"')[0]
    second = owner_client.get(f"{url}?cursor={cursor}", HTTP_HX_REQUEST="true").content.decode()
    assert second.count('class="timeline-message"') == 10
    assert "Pratica 9<" in second and "Pratica 10<" not in second
    assert "?cursor=" not in second and "No linked mail yet." not in second


def test_a_timeline_page_is_two_queries_whatever_the_number_of_links(owner):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_match(message_ids=local_mail(owner, 400), keep_sources=False)
    with CaptureQueriesContext(connection) as queries:
        page = record_timeline(owner, "contact", contact)
    assert len(queries) == 2 and "LIMIT 100" in queries[0]["sql"]  # the ids, then the rows: no query per row
    assert sum(len(thread.links) for thread in page.threads) == 50
