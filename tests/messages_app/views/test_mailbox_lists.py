"""The message list: unified and per-folder, newest first, keyset pages, markers, layout options."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from messages_app.mailbox.keyset import Cursor
from messages_app.models import Folder, Message
from messages_app.services.preferences import preferences_update
from tests.conftest import account_on
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, make_mailbox

HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}


def subjects_in(html: str, candidates) -> list[str]:
    """The candidate subjects in the order the page shows them."""
    found = [(html.find(f'<span class="subject">{s}'), s) for s in candidates]
    found += [(html.find(f"</span>{s}</span>"), s) for s in candidates]
    return [s for pos, s in sorted(f for f in found if f[0] >= 0)]


def test_the_unified_inbox_lists_every_accounts_inbox_newest_first(owner_client, owner, mailbox, mail_user_2):
    other = make_mailbox(owner, mail_user_2, [
        ("INBOX", mails.plain("Dal secondo account", minutes=25), ()),
    ])
    page = owner_client.get(reverse("messages_app:index")).content.decode()
    order = subjects_in(page, ["Newsletter di novembre", "Dal secondo account", "Fattura novembre",
                               "Re: Offerta rinnovo", "Offerta rinnovo"])
    assert order == ["Newsletter di novembre", "Dal secondo account", "Fattura novembre",
                     "Re: Offerta rinnovo", "Offerta rinnovo"]
    assert "Preventivo inviato" not in page  # Sent is not the inbox
    assert other.account.email in page  # unified rows say which account


def test_unread_messages_are_bold_and_attachments_are_marked(owner_client, mailbox):
    page = owner_client.get(reverse("messages_app:unified", args=["inbox"])).content.decode()
    unread = mailbox.message("Offerta rinnovo")
    seen = mailbox.message("Re: Offerta rinnovo")
    assert f'class="row unread" id="m-{unread.pk}"' in page
    assert f'class="row" id="m-{seen.pk}"' in page
    fattura = page[page.index(f'id="m-{mailbox.message("Fattura novembre").pk}"'):]
    assert 'class="has-attachments"' in fattura.split("</li>")[0]


def test_dates_are_shown_in_the_users_time_zone_and_language(owner_client, owner, mailbox):
    owner.time_zone, owner.language = "America/New_York", "en"
    owner.save()
    page = owner_client.get(reverse("messages_app:unified", args=["inbox"])).content.decode()
    # 2026-11-02 09:00 UTC is 04:00 in New York; the list shows day and month for this year's mail.
    assert "Nov" in page or "2026" in page
    owner.time_zone, owner.language = "Europe/Rome", "it"
    owner.save()
    page = owner_client.get(reverse("messages_app:unified", args=["inbox"])).content.decode()
    assert "Entrata" in page and "Contrassegnata" in page


def test_sent_lists_the_recipients_instead_of_the_sender(owner_client, mailbox):
    sent = Folder.objects.get(account=mailbox.account, role="sent")
    page = owner_client.get(reverse("messages_app:folder", args=[sent.pk]), **HTMX_LIST).content.decode()
    assert "Luigi Verdi" in page and "Preventivo inviato" in page


def test_pages_follow_a_keyset_cursor_without_gaps_or_repeats(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Messaggio {i:03d}", minutes=i // 2), ()) for i in range(120)
    ])
    inbox = Folder.objects.get(account=box.account, role="inbox")
    url = reverse("messages_app:folder", args=[inbox.pk])
    seen: list[int] = []
    response = owner_client.get(url, **HTMX_LIST)
    while True:
        context = response.context
        seen += [m.pk for m in context["page"].rows]
        if not context["next_url"]:
            break
        assert "before=" in context["next_url"] and "offset" not in context["next_url"]
        response = owner_client.get(context["next_url"], HTTP_HX_REQUEST="true")
        assert response.templates[0].name == "messages_app/_rows.html"
    expected = list(Message.objects.filter(folder=inbox).order_by("-date", "-id").values_list("pk", flat=True))
    assert seen == expected and len(seen) == 120


def test_a_cursor_that_does_not_parse_starts_at_the_top(owner_client, mailbox):
    inbox = Folder.objects.get(account=mailbox.account, role="inbox")
    response = owner_client.get(reverse("messages_app:folder", args=[inbox.pk]) + "?before=x_1", **HTMX_LIST)
    assert len(response.context["page"].rows) == 4
    assert Cursor.parse("12_3") == Cursor(Cursor.parse("0_0").date + timedelta(microseconds=12), 3)


def test_the_preview_line_follows_the_layout_setting(owner_client, owner, mailbox):
    url = reverse("messages_app:unified", args=["inbox"])
    assert 'class="preview"' in owner_client.get(url).content.decode()
    preferences_update(user=owner, show_preview=False)
    assert 'class="preview"' not in owner_client.get(url).content.decode()


def test_threaded_view_shows_one_row_per_conversation_with_its_count(owner_client, owner, mailbox):
    preferences_update(user=owner, threaded=True)
    response = owner_client.get(reverse("messages_app:unified", args=["inbox"]), **HTMX_LIST)
    rows = response.context["page"].rows
    offer = next(r for r in rows if r.latest.subject == "Re: Offerta rinnovo")
    assert offer.thread.message_count == 2 and len(rows) == 3
    expanded = owner_client.get(reverse("messages_app:thread", args=[offer.id]) + "?scope=unified:inbox")
    body = expanded.content.decode()
    assert body.index("Offerta rinnovo") < body.index("Re: Offerta rinnovo")


def test_threaded_pages_follow_the_cursor_without_gaps_or_repeats(owner_client, owner, mail_user):
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Conversazione {i:03d}", minutes=i // 2), ()) for i in range(120)
    ])
    preferences_update(user=owner, threaded=True)
    inbox = Folder.objects.get(account=box.account, role="inbox")
    response = owner_client.get(reverse("messages_app:folder", args=[inbox.pk]), **HTMX_LIST)
    seen: list[int] = []
    while True:
        seen += [row.latest.pk for row in response.context["page"].rows]
        if not response.context["next_url"]:
            break
        response = owner_client.get(response.context["next_url"], HTTP_HX_REQUEST="true")
    expected = list(Message.objects.filter(folder=inbox).order_by("-thread__last_date", "-thread_id")
                    .values_list("pk", flat=True))
    assert seen == expected and len(seen) == 120


def test_unmerged_accounts_have_no_unified_folders(owner_client, owner, mailbox):
    preferences_update(user=owner, merge_accounts=False)
    page = owner_client.get(reverse("messages_app:index")).content.decode()
    assert 'data-scope="unified:inbox"' not in page
    inbox = Folder.objects.get(account=mailbox.account, role="inbox")
    assert re.search(rf'data-scope="folder:{inbox.pk}"\s+class="entry role-inbox active"', page)
    assert 'data-scope="special:flagged"' in page


def test_the_folder_tree_shows_each_accounts_hierarchy(owner_client, owner, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "[Gmail]")
    box = make_mailbox(owner, mail_user, [("[Gmail].Tutti i messaggi", mails.plain("Archiviato"), ())])
    page = owner_client.get(reverse("messages_app:index")).content.decode()
    child = Folder.objects.get(account=box.account, name="[Gmail].Tutti i messaggi")
    assert 'class="depth-1"' in page and f'data-scope="folder:{child.pk}"' in page
    assert page.index(">[Gmail]<") < page.index(">Tutti i messaggi<")


def test_flagged_lists_a_message_in_two_folders_once(owner_client, owner, mail_user):
    raw = mails.plain("Importante", message_id="<same@cliente.test>")
    make_mailbox(owner, mail_user, [("INBOX", raw, ("\\Flagged",)), ("Archivio", raw, ("\\Flagged",)),
                                    ("INBOX", mails.plain("Normale"), ())])
    response = owner_client.get(reverse("messages_app:special", args=["flagged"]), **HTMX_LIST)
    assert [m.subject for m in response.context["page"].rows] == ["Importante"]


@pytest.mark.parametrize("name", ["shared", "imported", "scheduled"])
def test_special_folders_filled_by_later_features_show_their_empty_state(owner_client, mailbox, name):
    response = owner_client.get(reverse("messages_app:special", args=[name]), **HTMX_LIST)
    assert response.status_code == 200 and response.context["page"].rows == []
    assert 'class="empty-state"' in response.content.decode()


def test_unread_counts_come_back_as_out_of_band_swaps_and_follow_new_mail(owner_client, mailbox, mail_user):
    inbox = Folder.objects.get(account=mailbox.account, role="inbox")
    body = owner_client.get(reverse("messages_app:counts")).content.decode()
    assert f'id="count-folder-{inbox.pk}" hx-swap-oob="true">3<' in body
    assert 'id="count-unified-inbox" hx-swap-oob="true">3<' in body
    deliver(mail_user, "INBOX", mails.plain("Nuovo ordine", minutes=90))
    mailbox.sync()
    body = owner_client.get(reverse("messages_app:counts")).content.decode()
    assert 'id="count-unified-inbox" hx-swap-oob="true">4<' in body
    assert "<ul" not in body  # counts only, never the list


def test_a_user_without_accounts_is_invited_to_add_one(owner_client):
    page = owner_client.get(reverse("messages_app:index")).content.decode()
    assert reverse("messages_app:account_create") in page


# --- another user -----------------------------------------------------------------------------

@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


def test_another_users_folder_and_thread_are_404(colleague_client, owner, mailbox):
    inbox = Folder.objects.get(account=mailbox.account, role="inbox")
    assert colleague_client.get(reverse("messages_app:folder", args=[inbox.pk])).status_code == 404
    thread_id = mailbox.message("Offerta rinnovo").thread_id
    assert colleague_client.get(reverse("messages_app:thread", args=[thread_id]) + "?scope=unified:inbox"
                                ).status_code == 404


def test_another_users_unified_and_special_folders_hold_none_of_the_owners_mail(colleague_client, colleague,
                                                                             mailbox, mail_user_2):
    account_on(colleague, mail_user_2)
    for url in (reverse("messages_app:unified", args=["inbox"]), reverse("messages_app:special", args=["flagged"]),
                reverse("messages_app:counts"), reverse("messages_app:unified", args=["inbox"]) + "?q=offerta&all=1"):
        page = colleague_client.get(url).content.decode()
        assert "Offerta rinnovo" not in page and mailbox.account.email not in page
    assert colleague_client.get(reverse("messages_app:unified", args=["nonsense"])).status_code == 404
    assert colleague_client.get(reverse("messages_app:special", args=["nonsense"])).status_code == 404
