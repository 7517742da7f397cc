"""CRM records: pages (list, detail, create, edit), the admin, `crm_contact`, and privacy: another
user's record is a 404 on every page."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from crm.models import Company, Contact, EmailAddress, Lead
from crm.selectors import contacts_by_email, records_search
from crm.services import contact_create


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def test_create_and_edit_a_contact_with_several_addresses(owner_client, owner):
    company = Company.objects.create(owner=owner, name="Edilnord")
    response = owner_client.post("/crm/contact/new/", {
        "first_name": "Mario", "last_name": "Rossi", "company": company.pk, "role": "Acquisti",
        "phones": "+39 02 123", "address": "Via Roma 1", "notes": "Cliente storico",
        "emails": "Mario@Edilnord.test\nmario.rossi@gmail.com"})
    contact = Contact.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/crm/contact/{contact.pk}/"
    assert sorted(contact.emails.values_list("address", flat=True)) == ["mario.rossi@gmail.com", "mario@edilnord.test"]
    page = owner_client.get(f"/crm/contact/{contact.pk}/").content.decode()
    assert "Mario Rossi" in page and "Edilnord" in page and "mario@edilnord.test" in page
    owner_client.post(f"/crm/contact/{contact.pk}/edit/", {"first_name": "Mario", "last_name": "Rossi",
                                                          "emails": "mario@edilnord.test"})
    assert list(contact.emails.values_list("address", flat=True)) == ["mario@edilnord.test"]
    assert "Mario Rossi" in owner_client.get("/crm/contact/", {"q": "edilnord"}).content.decode()


def test_an_address_that_is_not_one_is_refused(owner_client):
    response = owner_client.post("/crm/lead/new/", {"name": "Nuovo", "emails": "non-un-indirizzo"})
    assert response.status_code == 200 and not Lead.objects.exists()


def test_companies_and_leads_have_pages_too(owner_client, owner):
    owner_client.post("/crm/company/new/", {"name": "Edilnord", "emails": "info@edilnord.test"})
    owner_client.post("/crm/lead/new/", {"name": "Giulia Neri", "company_name": "Neri Srl", "emails": "g@neri.test"})
    assert "Edilnord" in owner_client.get("/crm/company/").content.decode()
    assert "Giulia Neri" in owner_client.get("/crm/lead/").content.decode()
    assert EmailAddress.objects.get(address="info@edilnord.test").domain == "edilnord.test"


def test_the_create_form_can_be_prefilled_from_a_sender(owner_client):
    page = owner_client.get("/crm/contact/new/", {"first_name": "Mario", "emails": "mario@cliente.test"})
    assert 'value="Mario"' in page.content.decode() and "mario@cliente.test" in page.content.decode()


def test_another_users_record_is_404_on_every_page(owner, colleague_client):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    company = Company.objects.create(owner=owner, name="Edilnord")
    for url in (f"/crm/contact/{contact.pk}/", f"/crm/contact/{contact.pk}/edit/", f"/crm/company/{company.pk}/",
                f"/messages/records/contact/{contact.pk}/timeline/", "/crm/nothing/"):
        assert colleague_client.get(url).status_code == 404, url
    assert colleague_client.post(f"/crm/contact/{contact.pk}/edit/", {"first_name": "X"}).status_code == 404
    assert "Mario" not in colleague_client.get("/crm/contact/").content.decode()


def test_selectors_for_the_composer_find_contacts_by_address_and_search(owner, colleague):
    mario = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    contact_create(owner=colleague, first_name="Mario", last_name="Altro", emails=["mario@cliente.test"])
    assert contacts_by_email(owner, ["MARIO@cliente.test "]) == {"mario@cliente.test": [mario]}
    assert records_search(owner, "ross") == [mario]


def test_the_admin_lists_and_edits_records(client, staff, owner):
    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    client.force_login(staff)
    staff.is_superuser = True
    staff.save()
    assert "Mario Rossi" in client.get("/admin/crm/contact/").content.decode()
    contact = Contact.objects.get()
    assert client.get(f"/admin/crm/contact/{contact.pk}/change/").status_code == 200


def test_crm_contact_create_and_show(owner):
    out = StringIO()
    call_command("crm_contact", "create", "--owner", "owner", "--first-name", "Mario", "--last-name", "Rossi",
                 "--email", "mario@cliente.test", "--email", "m.rossi@cliente.test", "--company", "Cliente Spa",
                 stdout=out)
    contact_id = int(out.getvalue().strip().splitlines()[-1])
    out = StringIO()
    call_command("crm_contact", "show", str(contact_id), "--json", stdout=out)
    row = json.loads(out.getvalue())
    assert row["emails"] == ["mario@cliente.test", "m.rossi@cliente.test"]
    assert (row["company"], row["messages"]) == ("Cliente Spa", [])


def test_crm_contact_fails_with_a_one_line_reason(owner):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("crm_contact", "create", "--owner", "nobody", "--first-name", "X")
    with pytest.raises(CommandError, match="no contact with id 99"):
        call_command("crm_contact", "show", "99")
    with translation.override("en"), pytest.raises(CommandError, match="is not an e-mail address"):
        call_command("crm_contact", "create", "--owner", "owner", "--first-name", "X", "--email", "nope")
