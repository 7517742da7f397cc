"""The server side of the mailbox's finish: the live list's conditional poll, toasts that say what
an action did (or why it did nothing) with an undo, folder paths in the UI's words, quotes and
dates as a reader expects them, branded error pages."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from messages_app.mailbox.scopes import folder_path_label
from messages_app.models import Folder
from messages_app.templatetags.mailbox import mail_datetime, quote_lines
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, server_subjects

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def poll(client, token: str, scope: str = "unified:inbox"):
    return client.get(reverse("messages_app:changes"), {"scope": scope, "token": token}, **HTMX)


def test_the_poll_answers_204_with_one_query_while_nothing_changed(owner_client, mailbox):
    first = poll(owner_client, "")
    assert first.status_code == 200
    token = first["X-Changes-Token"]
    assert poll(owner_client, token).status_code == 204
    with CaptureQueriesContext(connection) as queries:
        assert poll(owner_client, token).status_code == 204
    mail_queries = [q["sql"] for q in queries if "messages_app" in q["sql"]]
    assert len(mail_queries) == 1, mail_queries  # besides the session and the user: the folder digest only


def test_new_mail_and_a_flag_change_from_another_client_change_the_token(owner_client, mailbox, mail_user):
    token = poll(owner_client, "")["X-Changes-Token"]
    deliver(mail_user, "INBOX", mails.plain("Ordine urgente", minutes=90))
    mailbox.sync()
    answer = poll(owner_client, token)
    assert answer.status_code == 200 and "Ordine urgente" in answer.content.decode()
    token = answer["X-Changes-Token"]
    client = mail_user.dovecot.imap_client(mail_user.login)
    try:
        client.select_folder("INBOX")
        client.add_flags([mailbox.message("Fattura novembre").uid], [b"\\Flagged"])
    finally:
        client.logout()
    mailbox.sync()
    answer = poll(owner_client, token)
    assert answer.status_code == 200
    row = answer.content.decode().split(f'id="m-{mailbox.message("Fattura novembre").pk}"')[0].rsplit("<li", 1)[1]
    assert "flagged" in row


def test_another_users_scope_is_404(colleague_client, mailbox):
    folder = Folder.objects.get(account=mailbox.account, name="INBOX")
    assert poll(colleague_client, "", scope=f"folder:{folder.pk}").status_code == 404


def act(client, **data):
    return client.post(reverse("messages_app:actions"), data, **HTMX)


def test_nothing_selected_and_no_folder_chosen_say_so(owner_client, mailbox):
    response = act(owner_client, action="read", scope="unified:inbox")
    assert response.status_code == 200 and response["X-Nothing-Done"] == "1"
    assert "Nessun messaggio selezionato" in response.content.decode()  # the owner's language: Italian
    message = mailbox.message("Offerta rinnovo")
    response = act(owner_client, action="move", ids=str(message.pk), destination="", scope="unified:inbox")
    assert "Scegli prima la cartella di destinazione." in response.content.decode()


def test_a_move_says_what_it_did_and_its_undo_puts_it_back(owner_client, mailbox, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Archivio")
    mailbox.sync()
    archive = Folder.objects.get(account=mailbox.account, name="Archivio")
    chosen = [mailbox.message("Offerta rinnovo"), mailbox.message("Fattura novembre")]
    ids = ",".join(str(m.pk) for m in chosen)
    response = act(owner_client, action="move", ids=ids, destination=str(archive.pk), scope="unified:inbox")
    body = response.content.decode()
    assert "2 messaggi spostati in Archivio" in body
    assert sorted(server_subjects(mail_user, "Archivio")) == ["Fattura novembre", "Offerta rinnovo"]
    undo = json.loads(body.split('hx-vals="', 1)[1].split('"', 1)[0].replace("&quot;", '"'))
    assert undo["action"] == "restore"
    response = act(owner_client, **undo)
    assert json.loads(response["HX-Trigger"])["listRefresh"] is True
    assert server_subjects(mail_user, "Archivio") == []
    assert {"Fattura novembre", "Offerta rinnovo"} <= set(server_subjects(mail_user, "INBOX"))


def test_undo_cannot_move_into_another_users_folder(colleague_client, colleague, mailbox, mail_user):
    message = mailbox.message("Offerta rinnovo")
    inbox = Folder.objects.get(account=mailbox.account, name="INBOX")
    response = act(colleague_client, action="restore", ids=str(message.pk), origins=f"{message.pk}:{inbox.pk}")
    assert response.status_code == 404
    assert "Offerta rinnovo" in server_subjects(mail_user, "INBOX")


@pytest.mark.django_db
def test_folder_paths_use_the_trees_names():
    inbox_child = Folder(name="INBOX.Progetti", delimiter=".")
    nested = Folder(name="Clienti/Edilnord", delimiter="/")
    junk = Folder(name="Junk", delimiter="/", role="spam")
    with translation.override("it"):
        assert folder_path_label(inbox_child) == "Entrata › Progetti"
        assert folder_path_label(nested) == "Clienti › Edilnord"
        assert folder_path_label(junk) == "Spam"
    with translation.override("en"):
        assert folder_path_label(inbox_child) == "Inbox › Progetti"


def test_italian_dates_are_lower_case():
    from datetime import UTC, datetime

    with translation.override("it"):
        assert mail_datetime(datetime(2026, 12, 1, 9, 5, tzinfo=UTC)) == "martedì 1 dicembre 2026, 10:05"


def test_quoted_lines_are_marked_without_splitting_markup():
    html = quote_lines('Bene.\n&gt; Il contratto\n&gt; &gt; <a href="https://x.test">x.test</a>\nCiao')
    assert html == ('Bene.\n<span class="quote depth-1">Il contratto</span>'
                    '<span class="quote depth-2"><a href="https://x.test">x.test</a></span>Ciao')


@pytest.mark.django_db
def test_the_404_page_is_branded_and_translated(owner_client, owner):
    owner.language = "it"
    owner.save(update_fields=["language"])
    response = owner_client.get("/messages/m/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Pagina non trovata" in body and "· Postino</title>" in body


def test_the_500_page_is_branded_and_renders_without_a_context(rf):
    from django.views.defaults import server_error

    request = rf.get("/messages/")
    with translation.override("it"):
        body = server_error(request).content.decode()
    assert "Qualcosa è andato storto" in body and "· Postino</title>" in body
