"""Importata: local messages (no account, no folder) listed, counted, read, downloaded and searched
by their owner only, and counted for real by `mail_status --user`."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from messages_app.models import Attachment, Message, MessageSource
from tests.messages_app.views import mails

HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}
HTMX_READING = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reading"}
IMPORTED = reverse("messages_app:special", args=["imported"])


def local_message(user, subject: str, *, minutes: int = 0, attachments=(), body: str = "Testo locale.",
                  is_seen: bool = False) -> Message:
    """Mail that lives only here: the row, and its whole source (nothing on any server)."""
    raw = mails.plain(subject, body, minutes=minutes, attachments=list(attachments))
    message = Message.objects.create(
        account=None, folder=None, uid=None, local_owner=user, dedup_key=f"local-{subject}", subject=subject,
        from_name="Mario Rossi", from_addr="mario@cliente.test", date=mails.BASE_DATE + timedelta(minutes=minutes),
        size=len(raw), has_attachments=bool(attachments), is_seen=is_seen)
    MessageSource.objects.create(message=message, raw=raw)
    return message


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


@pytest.fixture
def contract(owner):
    return local_message(owner, "Contratto firmato", attachments=[
        ("contratto.pdf", "application/pdf", b"%PDF-1.4 contratto"), ("allegato.csv", "text/csv", b"a;b\n")])


def listed(client, url=IMPORTED, **params) -> list[str]:
    return [m.subject for m in client.get(url, params, **HTMX_LIST).context["page"].rows]


def test_importata_lists_local_messages_of_their_owner_only(owner_client, colleague_client, colleague, contract):
    local_message(colleague, "Del collega")
    assert listed(owner_client) == ["Contratto firmato"]
    assert listed(colleague_client) == ["Del collega"]
    page = owner_client.get(IMPORTED).content.decode()  # the full page, with the folder column
    assert "Contratto firmato" in page and "Del collega" not in page


def test_importata_pages_follow_the_keyset_cursor_without_gaps_or_repeats(owner_client, owner):
    made = [local_message(owner, f"Locale {i:03d}", minutes=i // 3).pk for i in range(70)]
    seen, response = [], owner_client.get(IMPORTED, **HTMX_LIST)
    while True:
        seen += [m.pk for m in response.context["page"].rows]
        if not response.context["next_url"]:
            break
        response = owner_client.get(response.context["next_url"], HTTP_HX_REQUEST="true")
    assert len(seen) == len(set(seen)) == 70
    expected = sorted(made, key=lambda pk: (Message.objects.get(pk=pk).date, pk), reverse=True)
    assert seen == expected


def test_the_folder_column_counts_unread_local_messages_for_their_owner(owner_client, colleague_client, owner,
                                                                         contract):
    local_message(owner, "Già letta", is_seen=True)
    counts = owner_client.get(reverse("messages_app:counts")).context["counts"]
    assert counts["special:imported"] == 1
    assert colleague_client.get(reverse("messages_app:counts")).context["counts"]["special:imported"] == 0


def test_a_local_message_is_read_from_its_stored_source_and_marked_read(owner_client, contract):
    response = owner_client.get(reverse("messages_app:message", args=[contract.pk]), **HTMX_READING)
    assert response.status_code == 200
    assert "Testo locale." in response.content.decode()
    contract.refresh_from_db()
    assert contract.is_seen  # no server to tell: the flag changes here
    page = owner_client.get(reverse("messages_app:message", args=[contract.pk]))  # its own page: in Importata
    assert page.status_code == 200 and page.context["scope"].key == "special:imported"


def test_a_local_message_without_its_source_says_so_instead_of_failing(owner_client, owner, contract):
    MessageSource.objects.filter(message=contract).delete()
    response = owner_client.get(reverse("messages_app:message", args=[contract.pk]), **HTMX_READING)
    assert response.status_code == 200
    assert "La copia salvata di questo messaggio non è disponibile." in response.content.decode()
    assert owner_client.get(reverse("messages_app:message_body", args=[contract.pk])).status_code == 502


def test_a_local_messages_attachments_download_one_by_one_and_as_a_zip(owner_client, contract):
    owner_client.get(reverse("messages_app:message", args=[contract.pk]), **HTMX_READING)
    part = Attachment.objects.get(message=contract, filename="contratto.pdf")
    response = owner_client.get(reverse("messages_app:attachment", args=[contract.pk, part.pk]))
    assert response.status_code == 200 and response.content == b"%PDF-1.4 contratto"
    response = owner_client.post(reverse("messages_app:attachments_zip", args=[contract.pk]))
    assert sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == ["allegato.csv", "contratto.pdf"]


def test_another_user_gets_404_for_every_url_of_a_local_message(owner_client, colleague_client, contract):
    owner_client.get(reverse("messages_app:message", args=[contract.pk]), **HTMX_READING)
    part = Attachment.objects.filter(message=contract).first()
    for url in (reverse("messages_app:message", args=[contract.pk]),
                reverse("messages_app:message_body", args=[contract.pk]),
                reverse("messages_app:attachment", args=[contract.pk, part.pk])):
        assert colleague_client.get(url).status_code == 404, url
    assert colleague_client.post(reverse("messages_app:attachments_zip", args=[contract.pk])).status_code == 404
    assert colleague_client.post(reverse("messages_app:trust_sender", args=[contract.pk])).status_code == 404
    assert colleague_client.post(reverse("messages_app:actions"),
                                 {"action": "flag", "ids": str(contract.pk)}).status_code == 404
    contract.refresh_from_db()
    assert not contract.is_flagged


def test_flagging_a_local_message_changes_it_here_and_lists_it_among_flagged(owner_client, contract):
    response = owner_client.post(reverse("messages_app:actions"),
                                 {"action": "flag", "ids": str(contract.pk), "scope": "special:imported"})
    assert response.status_code == 200
    contract.refresh_from_db()
    assert contract.is_flagged
    assert listed(owner_client, reverse("messages_app:special", args=["flagged"])) == ["Contratto firmato"]


def test_searching_everywhere_finds_local_messages_of_the_owner_only(owner_client, colleague_client, colleague,
                                                                    owner, mailbox, contract):
    local_message(colleague, "Contratto firmato dal collega")
    inbox = reverse("messages_app:unified", args=["inbox"])
    assert listed(owner_client, inbox, q="firmato", all="1") == ["Contratto firmato"]
    assert sorted(listed(owner_client, inbox, q="contratto", all="1")) == ["Contratto firmato", "Offerta rinnovo"]
    assert listed(owner_client, inbox, q="firmato") == []  # the inbox alone holds no signed contract
    assert listed(owner_client, IMPORTED, q="firmato") == ["Contratto firmato"]
    assert listed(colleague_client, IMPORTED, q="firmato", all="1") == ["Contratto firmato dal collega"]


def test_mail_status_reports_importatas_real_count_for_its_owner(owner, colleague, contract):
    local_message(owner, "Già letta", is_seen=True)
    local_message(colleague, "Del collega")
    out = io.StringIO()
    call_command("mail_status", "--user", "owner", "--json", stdout=out)
    rows = {row["folder"]: row for row in map(json.loads, out.getvalue().splitlines()) if row["account"] is None}
    assert (rows["Imported"]["messages"], rows["Imported"]["unread"]) == (2, 1)
    out = io.StringIO()
    call_command("mail_status", "--user", "owner", stdout=out)
    assert "-\tImported\t-\t2 msgs\t1 unread\tnever" in out.getvalue()
    out = io.StringIO()
    call_command("mail_status", "--user", "colleague", "--json", stdout=out)
    rows = {row["folder"]: row for row in map(json.loads, out.getvalue().splitlines()) if row["account"] is None}
    assert (rows["Imported"]["messages"], rows["Imported"]["unread"]) == (1, 1)
