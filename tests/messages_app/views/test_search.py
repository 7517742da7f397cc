"""Search: sender, recipients, subject, body; the current folder or all of them; paginated."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from messages_app.mailbox.search import search_terms
from messages_app.models import Folder
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox

HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}


def found(client, url, query, everywhere=False):
    params = {"q": query, **({"all": "1"} if everywhere else {})}
    response = client.get(url, params, **HTMX_LIST)
    return sorted(m.subject for m in response.context["page"].rows)


@pytest.fixture
def inbox_url(mailbox):
    return reverse("messages_app:unified", args=["inbox"])


@pytest.mark.parametrize("query, subjects", [
    ("rinnovo", ["Offerta rinnovo", "Re: Offerta rinnovo"]),  # subject
    ("Amministrazione", ["Fattura novembre"]),  # sender name
    ("conti@fornitore.test", ["Fattura novembre"]),  # sender address
    ("fornitore", ["Fattura novembre"]),  # part of the address
    ("zanzibar", ["Re: Offerta rinnovo"]),  # in the text (the preview the server gave)
    ("offerta rinnovo", ["Offerta rinnovo", "Re: Offerta rinnovo"]),  # every word must match
    ("nessuno", []),
])
def test_search_finds_sender_subject_and_text_in_the_current_folder(owner_client, inbox_url, query, subjects):
    assert found(owner_client, inbox_url, query) == subjects


def test_search_finds_recipients(owner_client, mailbox):
    sent = Folder.objects.get(account=mailbox.account, role="sent")
    assert found(owner_client, reverse("messages_app:folder", args=[sent.pk]), "luigi") == ["Preventivo inviato"]


def test_words_past_the_preview_are_found_once_the_body_was_fetched(owner_client, owner, mail_user):
    long_text = "Buongiorno.\n" + "Testo di riempimento. " * 40 + "\nParola nascosta: ornitorinco."
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Lungo", long_text), ())])
    url = reverse("messages_app:unified", args=["inbox"])
    assert found(owner_client, url, "ornitorinco") == []
    owner_client.get(reverse("messages_app:message", args=[box.message("Lungo").pk]), HTTP_HX_REQUEST="true")
    assert found(owner_client, url, "ornitorinco") == ["Lungo"]


def test_search_in_all_folders_also_finds_sent_mail(owner_client, inbox_url):
    assert found(owner_client, inbox_url, "inviato") == []
    assert found(owner_client, inbox_url, "inviato", everywhere=True) == ["Preventivo inviato"]


def test_search_results_are_paginated_like_the_list(owner_client, owner, mail_user):
    make_mailbox(owner, mail_user, [("INBOX", mails.plain(f"Ordine {i}", minutes=i), ()) for i in range(60)]
                 + [("INBOX", mails.plain("Altro"), ())])
    url = reverse("messages_app:unified", args=["inbox"])
    first = owner_client.get(url, {"q": "ordine"}, **HTMX_LIST)
    assert len(first.context["page"].rows) == 50 and "q=ordine" in first.context["next_url"]
    second = owner_client.get(first.context["next_url"], HTTP_HX_REQUEST="true")
    assert len(second.context["page"].rows) == 10
    assert not {m.pk for m in first.context["page"].rows} & {m.pk for m in second.context["page"].rows}


def test_search_words_are_taken_apart_from_operators_and_punctuation():
    assert search_terms("mario@cliente.test & !(x) 'a:*'") == ["mario", "cliente", "test", "x", "a"]
    assert search_terms("perché") == ["perché"]


def test_prefetched_bodies_make_unopened_mail_searchable_by_any_word(owner_client, owner, mail_user):
    long_text = "Buongiorno.\n" + "Testo di riempimento. " * 40 + "\nParola nascosta: ornitorinco."
    box = make_mailbox(owner, mail_user, [("INBOX", mails.plain("Lungo", long_text), ())])
    url = reverse("messages_app:unified", args=["inbox"])
    call_command("mail_fetch_bodies", "--account", str(box.account.pk), stdout=io.StringIO())
    assert found(owner_client, url, "ornitorinco") == ["Lungo"]
    assert not box.message("Lungo").is_seen  # fetching with BODY.PEEK marks nothing read
