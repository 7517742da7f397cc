"""Linking mail to CRM records, explainably: by address, by domain (never free-mail), by thread;
the confidence threshold and the "Da collegare" queue; manual link and unlink; defects; the
arrival step for new mail, and a sync with no new mail making no linking query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Company
from crm.services import contact_create, record_emails_set
from messages_app.models import LinkReason, LinkState, MessageLink, MessageSource
from messages_app.services.crm_links import link_add, links_backfill
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, make_mailbox


def company(owner, name, *emails):
    record = Company.objects.create(owner=owner, name=name)
    record_emails_set(record=record, addresses=emails)
    return record


def links_of(message, state=LinkState.LINKED):
    return {(link.kind, link.record.display_name, link.reason)
            for link in MessageLink.objects.filter(message=message, state=state)}


@pytest.fixture
def box(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Ordine 12", sender="Mario Rossi <MARIO@Cliente.Test>", minutes=0,
                              cc="Anna <anna@edilnord.test>", message_id="<ordine12@cliente.test>"), ()),
        ("INBOX", mails.plain("Re: Ordine 12", sender="Luca <luca@altro.test>", minutes=5,
                              in_reply_to="<ordine12@cliente.test>"), ()),
        ("INBOX", mails.plain("Da Gmail", sender="Mario <mario.rossi@gmail.com>", minutes=10), ()),
        ("INBOX", mails.plain("Da Hotmail", sender="Anna <anna@hotmail.it>", minutes=11), ()),
        ("INBOX", mails.plain("Dal cantiere", sender="Capo <capo@edilnord.test>", minutes=12), ()),
        ("INBOX", mails.plain("Condiviso", sender="Info <info@condiviso.test>", minutes=13), ()),
        ("Sent", mails.plain("Preventivo", sender="olga@crm.test", to="Mario Rossi <mario@cliente.test>",
                             minutes=20), ("\\Seen",)),
        ("Sent", mails.plain("Risposta a Luca", sender="olga@crm.test", to="luca@altro.test",
                             cc="mario@cliente.test", minutes=21), ("\\Seen",)),
    ])


def test_address_matching_is_case_insensitive_and_follows_the_direction_of_the_mail(owner, box):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_backfill(owner_ids=[owner.pk])
    assert links_of(box.message("Ordine 12")) >= {("contact", "Mario Rossi", LinkReason.ADDRESS)}
    assert links_of(box.message("Preventivo")) == {("contact", "Mario Rossi", LinkReason.ADDRESS)}  # To of sent
    assert links_of(box.message("Risposta a Luca")) == {("contact", "Mario Rossi", LinkReason.ADDRESS)}  # Cc
    link = MessageLink.objects.get(message=box.message("Ordine 12"), contact__isnull=False)
    assert (link.detail, link.confidence) == ("from: mario@cliente.test", 100)
    assert MessageSource.objects.filter(message=box.message("Preventivo")).exists()  # kept for Importata


def test_a_received_message_is_not_linked_by_its_to_header(owner, box):
    contact_create(owner=owner, first_name="Olga", last_name="Owner", emails=["olga@crm.test"])
    links_backfill(owner_ids=[owner.pk])
    assert not MessageLink.objects.exists()


def test_domain_matching_links_companies_but_never_free_mail_domains(owner, box, settings):
    company(owner, "Edilnord", "info@edilnord.test")
    company(owner, "Gmail fan club", "club@gmail.com")
    company(owner, "Hotmail", "x@hotmail.it")
    links_backfill(owner_ids=[owner.pk])
    assert links_of(box.message("Dal cantiere")) == {("company", "Edilnord", LinkReason.DOMAIN)}
    assert links_of(box.message("Ordine 12")) >= {("company", "Edilnord", LinkReason.DOMAIN)}  # by its Cc
    assert links_of(box.message("Da Gmail")) == set()
    assert links_of(box.message("Da Hotmail")) == set()  # "hotmail.*" in settings.CRM_FREE_MAIL_DOMAINS
    assert MessageLink.objects.get(message=box.message("Dal cantiere")).detail == "from: @edilnord.test"


def test_a_reply_inherits_the_links_of_its_thread(owner, box):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_backfill(owner_ids=[owner.pk])
    reply = box.message("Re: Ordine 12")  # from Luca, whom no record knows
    assert reply.thread_id == box.message("Ordine 12").thread_id
    assert links_of(reply) == {("contact", "Mario Rossi", LinkReason.THREAD)}


def test_a_reply_inherits_only_linked_records_and_never_one_it_dismissed(owner, box):
    """The thread rule as the backfill's set-based statement applies it (PostgreSQL) and as the
    Python pass does (SQLite): a pending match of the conversation is not inherited, a record the
    user dismissed on the reply is not linked again, and the inherited link keeps its parent's
    confidence and is made once however often the pass runs."""
    mario = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    anna = contact_create(owner=owner, first_name="Anna", last_name="Verdi", emails=["anna@edilnord.test"])
    company(owner, "Condiviso Srl", "a@edilnord.test")
    company(owner, "Condiviso Spa", "b@edilnord.test")  # two at the domain: a pending match, each
    reply = box.message("Re: Ordine 12")
    MessageLink.objects.create(message=reply, message_date=reply.date, owner=owner, contact=anna,
                               reason=LinkReason.MANUAL, confidence=100, state=LinkState.DISMISSED)
    links_backfill(owner_ids=[owner.pk])
    links_backfill(owner_ids=[owner.pk])
    assert links_of(box.message("Ordine 12")) == {("contact", "Mario Rossi", LinkReason.ADDRESS),
                                                  ("contact", "Anna Verdi", LinkReason.ADDRESS)}
    assert links_of(reply) == {("contact", "Mario Rossi", LinkReason.THREAD)}
    inherited = MessageLink.objects.get(message=reply, contact=mario)
    assert (inherited.confidence, inherited.detail, inherited.message_date) == (100, "", reply.date)
    assert not MessageLink.objects.filter(message=reply, state=LinkState.PENDING).exists()
    assert MessageLink.objects.get(message=reply, contact=anna).state == LinkState.DISMISSED


def test_below_the_threshold_a_match_waits_in_the_queue_for_confirm_or_dismiss(owner, box, owner_client):
    # Two companies at one domain: neither is sure, both wait in "Da collegare".
    first = company(owner, "Condiviso Srl", "a@condiviso.test")
    company(owner, "Condiviso Spa", "b@condiviso.test")
    links_backfill(owner_ids=[owner.pk])
    message = box.message("Condiviso")
    assert links_of(message) == set()
    waiting = MessageLink.objects.filter(message=message, state=LinkState.PENDING)
    assert {link.confidence for link in waiting} == {50}
    page = owner_client.get("/messages/links/pending/").content.decode()
    assert "Condiviso Srl" in page and "Condiviso Spa" in page
    confirm = waiting.get(company=first)
    owner_client.post(f"/messages/links/{confirm.pk}/", {"action": "confirm", "next": "pending"})
    dismiss = waiting.exclude(pk=confirm.pk).get()
    owner_client.post(f"/messages/links/{dismiss.pk}/", {"action": "dismiss", "next": "pending"})
    assert links_of(message) == {("company", "Condiviso Srl", LinkReason.DOMAIN)}
    assert not MessageLink.objects.filter(state=LinkState.PENDING).exists()
    links_backfill(owner_ids=[owner.pk])  # a later pass does not bring a dismissed match back
    assert MessageLink.objects.get(pk=dismiss.pk).state == LinkState.DISMISSED


def test_the_threshold_is_a_setting(owner, box, settings):
    settings.CRM_LINK_THRESHOLD = 40
    company(owner, "Condiviso Srl", "a@condiviso.test")
    company(owner, "Condiviso Spa", "b@condiviso.test")
    links_backfill(owner_ids=[owner.pk])
    assert len(links_of(box.message("Condiviso"))) == 2


def test_manual_link_and_unlink_from_the_message_view(owner, box, owner_client):
    lead = contact_create(owner=owner, first_name="Luca", last_name="Bianchi")
    message = box.message("Da Gmail")
    found = owner_client.get(f"/messages/m/{message.pk}/links/search/", {"q": "bianc"}).content.decode()
    assert "Luca Bianchi" in found
    panel = owner_client.post(f"/messages/m/{message.pk}/links/add/", {"kind": "contact", "record": lead.pk})
    assert "Luca Bianchi" in panel.content.decode()
    assert links_of(message) == {("contact", "Luca Bianchi", LinkReason.MANUAL)}
    assert MessageSource.objects.filter(message=message).exists()
    link = MessageLink.objects.get(message=message)
    owner_client.post(f"/messages/links/{link.pk}/", {"action": "remove"})
    assert links_of(message) == set()
    assert MessageLink.objects.get(pk=link.pk).state == LinkState.DISMISSED
    link_add(user=owner, message=message, kind="contact", record_id=lead.pk)  # linked again by hand
    assert links_of(message) == {("contact", "Luca Bianchi", LinkReason.MANUAL)}


def test_the_message_view_shows_each_link_with_its_reason(owner, box, owner_client):
    from django.utils import translation

    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_backfill(owner_ids=[owner.pk])
    owner.language = "en"
    owner.save(update_fields=["language"])
    with translation.override("en"):
        page = owner_client.get(f"/messages/m/{box.message('Ordine 12').pk}/").content.decode()
    assert "Mario Rossi" in page and "Reason: address" in page and "From: mario@cliente.test" in page
    assert "/crm/contact/new/?first_name=Mario&amp;last_name=Rossi&amp;emails=mario%40cliente.test" in page


def test_no_link_is_made_from_an_address_header_with_defects(owner, mail_user):
    raw = (b"From: Mario <mario@cliente.test>\r\nFrom: Altro <altro@cliente.test>\r\nTo: olga@crm.test\r\n"
           b"Subject: Doppio mittente\r\nMessage-ID: <doppio@cliente.test>\r\n"
           b"Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\nCiao\r\n")
    box = make_mailbox(owner, mail_user, [("INBOX", raw, ())])
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    message = box.message("Doppio mittente")
    assert message.address_defects
    links_backfill(owner_ids=[owner.pk])
    assert not MessageLink.objects.filter(message=message).exists()


def test_records_of_another_user_are_never_matched(owner, colleague, box):
    contact_create(owner=colleague, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_backfill(owner_ids=[owner.pk])
    assert not MessageLink.objects.exists()


def test_new_mail_is_linked_by_the_arrival_step_and_a_quiet_sync_makes_no_linking_query(owner, box):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    deliver(box.mail_user, "INBOX", mails.plain("Nuovo ordine", sender="mario@cliente.test", minutes=60))
    box.sync()
    assert links_of(box.message("Nuovo ordine")) == {("contact", "Mario Rossi", LinkReason.ADDRESS)}
    assert MessageSource.objects.filter(message=box.message("Nuovo ordine")).exists()
    with CaptureQueriesContext(connection) as queries:
        box.sync()
    linking = [q["sql"] for q in queries if "crm_" in q["sql"] or "messagelink" in q["sql"]]
    assert linking == []


def test_a_contact_created_from_the_sender_links_the_mail_already_stored(owner, box, owner_client):
    message = box.message("Da Gmail")
    owner_client.post("/crm/contact/new/", {"first_name": "Mario", "last_name": "Gmail",
                                            "emails": "mario.rossi@gmail.com"})
    assert links_of(message) == {("contact", "Mario Gmail", LinkReason.ADDRESS)}
