"""A record's timeline walks the links' own copy of their message's date (MessageLink.message_date):
every linked message the user may see, newest first, grouped by conversation; a row between two
places on the server (detached) is hidden; the copy follows the message when its date changes."""

from datetime import timedelta

import pytest

from crm.services import contact_create
from messages_app.models import Message, MessageLink
from messages_app.selectors.crm import record_timeline
from messages_app.services.crm_links import link_dates_follow, links_backfill
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox


@pytest.fixture
def box(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Cantiere Milano", "Serve un sopralluogo.", minutes=0,
                              message_id="<cantiere@cliente.test>"), ()),
        ("INBOX", mails.plain("Preventivo", "In allegato.", minutes=5), ()),
        ("INBOX", mails.plain("Re: Cantiere Milano", "Confermo giovedì.", minutes=10,
                              in_reply_to="<cantiere@cliente.test>"), ()),
        ("INBOX", mails.plain("In spostamento", "Tra due cartelle.", minutes=20), ()),
        ("INBOX", mails.plain("Altro cliente", "Non suo.", minutes=30, sender="anna@altro.test"), ()),
    ])


@pytest.fixture
def mario(owner):
    return contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])


def shown(owner, contact) -> list[list[str]]:
    page = record_timeline(owner, "contact", contact)
    return [[link.message.subject for link in thread.links] for thread in page.threads]


def test_each_link_carries_its_messages_date(owner, box, mario):
    links_backfill(owner_ids=[owner.pk], keep_sources=False)
    links = MessageLink.objects.filter(contact=mario).select_related("message")
    assert links.count() == 4
    assert all(link.message_date == link.message.date for link in links)


def test_the_timeline_is_newest_first_grouped_by_conversation_and_hides_a_detached_row(owner, box, mario):
    links_backfill(owner_ids=[owner.pk], keep_sources=False)
    assert shown(owner, mario) == [["In spostamento"], ["Re: Cantiere Milano", "Cantiere Milano"], ["Preventivo"]]
    # Between two places on the server (sync detached it): visible to nobody, the link stays.
    Message.objects.filter(pk=box.message("In spostamento").pk).update(folder=None)
    assert shown(owner, mario) == [["Re: Cantiere Milano", "Cantiere Milano"], ["Preventivo"]]
    assert MessageLink.objects.filter(contact=mario).count() == 4


def test_another_users_timeline_of_the_same_record_shows_nothing(owner, colleague, box, mario):
    links_backfill(owner_ids=[owner.pk], keep_sources=False)
    assert record_timeline(colleague, "contact", mario).threads == []


def test_a_changed_message_date_is_followed_by_its_links_and_the_order(owner, box, mario):
    links_backfill(owner_ids=[owner.pk], keep_sources=False)
    oldest = box.message("Preventivo")
    Message.objects.filter(pk=oldest.pk).update(date=oldest.date + timedelta(days=1))
    assert link_dates_follow(message_ids=[oldest.pk]) == 1
    assert link_dates_follow(message_ids=[oldest.pk]) == 0  # already in step
    assert shown(owner, mario)[0] == ["Preventivo"]
