"""The filters' "link to the sender's CRM record" against the real Dovecot: new Inbox mail is
linked to the sender's records by the rule (reason "manual", one of the contract's five, with
"filter: <the rule's name>" as detail), sure even where the address alone would only be a doubt,
to the company at the sender's domain when no record holds the address, never to anyone when
nobody matches; a link the user removed stays removed; "apply now" links as well."""

import pytest
from django.urls import reverse
from django.utils import translation

from crm.models import Company
from crm.services import contact_create, record_emails_set
from messages_app.models import LinkReason, LinkState, Message, MessageLink
from messages_app.services.crm_links import link_set_state, links_by_rule
from messages_app.services.rules import rule_job_run, rule_job_start, rules_replace
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.rules.test_rules_server import deliver, rule


@pytest.fixture
def filed_account(owner, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Clienti")
    account = account_on(owner, mail_user)
    account_sync(account.pk)  # the first sync: what follows is genuinely new
    return account


RULED = "filter: Clienti CRM"
LINK_AND_FILE = ({"action": "link_crm"}, {"action": "move", "folder": "Clienti"})


def links_of(message, state=LinkState.LINKED):
    return {(link.record.display_name, link.reason, link.detail, link.confidence)
            for link in MessageLink.objects.filter(message=message, state=state)}


def message(account, subject):
    return Message.objects.get(account=account, subject=subject)


def test_a_rule_links_new_mail_to_the_senders_records(owner, filed_account, mail_user, client):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    contact_create(owner=owner, first_name="Anna", last_name="Studio", emails=["info@studio.test"])
    contact_create(owner=owner, first_name="Bea", last_name="Studio", emails=["info@studio.test"])
    edilnord = Company.objects.create(owner=owner, name="Edilnord")
    record_emails_set(record=edilnord, addresses=["ufficio@edilnord.test"])
    rules_replace(account=filed_account, rules=[rule("Clienti CRM", "subject", "contains", "[crm]", *LINK_AND_FILE)])
    deliver(mail_user, "[crm] Ordine", sender="Mario <MARIO@cliente.test>")
    deliver(mail_user, "[crm] Studio", sender="info@studio.test")
    deliver(mail_user, "Studio senza regola", sender="info@studio.test")
    deliver(mail_user, "[crm] Cantiere", sender="capo@edilnord.test")
    deliver(mail_user, "[crm] Sconosciuto", sender="nessuno@ignoto.test")
    account_sync(filed_account.pk)

    ordine = message(filed_account, "[crm] Ordine")
    assert ordine.folder.name == "Clienti"  # the rule's other action still ran
    assert links_of(ordine) == {("Mario Rossi", LinkReason.MANUAL, "filter: Clienti CRM", 100)}
    # An address two records hold is only a doubt to the address match; the user's rule is sure.
    assert links_of(message(filed_account, "[crm] Studio")) == {
        ("Anna Studio", LinkReason.MANUAL, RULED, 100), ("Bea Studio", LinkReason.MANUAL, RULED, 100)}
    assert links_of(message(filed_account, "Studio senza regola")) == set()
    assert {name for name, *_rest in links_of(message(filed_account, "Studio senza regola"), LinkState.PENDING)} == {
        "Anna Studio", "Bea Studio"}
    assert links_of(message(filed_account, "[crm] Cantiere")) == {("Edilnord", LinkReason.MANUAL, RULED, 100)}
    assert not MessageLink.objects.filter(message=message(filed_account, "[crm] Sconosciuto")).exists()

    owner.language = "en"
    owner.save(update_fields=["language"])
    client.force_login(owner)
    with translation.override("en"):
        page = client.get(reverse("messages_app:crm_links", args=[ordine.pk])).content.decode()
    assert "Reason: manual" in page and "Filter: Clienti CRM" in page

    # Removed by the user: the rule does not make it again.
    link = MessageLink.objects.get(message=ordine)
    link_set_state(user=owner, link_id=link.pk, state=LinkState.DISMISSED)
    assert links_by_rule(rule_of={ordine.pk: "Clienti CRM"}) == 0
    assert MessageLink.objects.get(message=ordine).state == LinkState.DISMISSED
    account_sync(filed_account.pk)  # nothing runs twice
    assert MessageLink.objects.filter(detail="filter: Clienti CRM").count() == 4


def test_apply_now_links_the_inbox_it_goes_over(owner, filed_account, mail_user):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    deliver(mail_user, "Vecchio ordine", sender="mario@cliente.test")
    deliver(mail_user, "Altro", sender="luca@altro.test")
    account_sync(filed_account.pk)  # before the rule: linked by address only
    vecchio = message(filed_account, "Vecchio ordine")
    assert links_of(vecchio) == {("Mario Rossi", LinkReason.ADDRESS, "from: mario@cliente.test", 100)}
    MessageLink.objects.all().delete()
    rules_replace(account=filed_account, rules=[
        rule("Da Mario", "from", "contains", "mario@", {"action": "link_crm"})])
    job = rule_job_run(job_id=rule_job_start(account=filed_account).pk)
    assert (job.state, job.matched) == ("done", 1)
    assert links_of(vecchio) == {("Mario Rossi", LinkReason.MANUAL, "filter: Da Mario", 100)}
    assert not MessageLink.objects.filter(message=message(filed_account, "Altro")).exists()
