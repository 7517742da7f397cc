"""The list rows drawn in Python (templatetags/message_rows.py): the same bytes the templates drew,
hostile text escaped, dates by mail_date's rules, and a page's queries independent of its rows."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from messages_app.mailbox.scopes import Scope
from messages_app.mailbox.threads import ThreadRow
from messages_app.models import Folder, MailAccount, MailPreferences, Message, Thread
from messages_app.services.preferences import preferences_update
from messages_app.templatetags.mailbox import mail_date
from messages_app.templatetags.message_rows import RowRenderer
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox

# The row templates as they were before the rows moved to Python: the reference for the markup.
REFERENCE = Path(__file__).parent / "reference"
HOSTILE = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert('x')>",
    "Tom & Jerry's \"quotes\" &amp; entities",
    "\u202egnp.exe \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "",
]


def reference(name: str, **context) -> str:
    return engines["django"].from_string((REFERENCE / name).read_text()).render(context)


def message(pk: int, text: str, *, date, seen=True, flagged=False, attachments=False, account_id=7):
    account = MailAccount(id=account_id, email=f"{text}@x.test" if text else "olga@x.test")
    m = Message(id=pk, subject=text, from_name=text, from_addr="a@b.test" if not text else f"{text}@b",
                to=[[text, "to@x.test"], ["", f"{text}@y"]] if text else [], date=date, preview=text,
                is_seen=seen, is_flagged=flagged, has_attachments=attachments, account_id=account_id)
    m.account = account
    return m


def scopes():
    inbox, sent = Folder(id=12, role="inbox"), Folder(id=13, role="sent")
    return [
        Scope("folder", "12", "Posta in arrivo", (12,), inbox),
        Scope("folder", "13", "Inviata", (13,), sent),
        Scope("unified", "inbox", "Entrata", (12, 14)),
        Scope("unified", "sent", "Inviata", (13, 15)),
        Scope("special", "flagged", "Contrassegnata", (12,)),
        Scope("folder", "x\"<&'", "Hostile key", (12,), inbox),
        None,
    ]


def sample_messages():
    now = timezone.now()
    dates = [now, now - timedelta(hours=3), now - timedelta(days=40), now - timedelta(days=400),
             now - timedelta(days=400, minutes=5), now.replace(month=1, day=1, hour=0, minute=30)]
    rows = []
    for index, (text, date) in enumerate(zip(HOSTILE * 2, dates * 2, strict=False)):
        rows.append(message(100 + index, text, date=date, seen=index % 2 == 0, flagged=index % 3 == 0,
                            attachments=index % 4 == 1, account_id=None if index == 7 else 7 + index))
    return rows


@pytest.mark.parametrize("language,zone", [("it", "Europe/Rome"), ("en", "America/New_York")])
@pytest.mark.parametrize("show_preview", [True, False])
def test_message_rows_are_the_templates_markup_byte_for_byte(language, zone, show_preview):
    preferences = MailPreferences(show_preview=show_preview)
    with translation.override(language), timezone.override(zone):
        for scope in scopes():
            renderer = RowRenderer(scope, preferences)
            for m in sample_messages():
                for oob in (False, True):
                    expected = reference("row.html", m=m, scope=scope, preferences=preferences, oob=oob)
                    assert renderer.message_row(m, oob=oob) == expected


@pytest.mark.parametrize("language", ["it", "en"])
def test_thread_rows_are_the_templates_markup_byte_for_byte(language):
    preferences = MailPreferences(show_preview=True)
    with translation.override(language):
        for scope in scopes():
            renderer = RowRenderer(scope, preferences)
            for index, m in enumerate(sample_messages()):
                row = ThreadRow(thread=Thread(id=900 + index, message_count=index % 3), latest=m, in_scope=1,
                                unread=index % 2 == 1, flagged=index % 3 == 0, has_attachments=index % 2 == 0,
                                member_ids=[m.pk, m.pk + 50][: 1 + index % 2])
                expected = reference("thread_row.html", row=row, scope=scope, preferences=preferences)
                assert renderer.thread_row(row) == expected


def test_hostile_subjects_names_and_previews_are_escaped():
    scope = Scope("unified", "inbox", "Entrata", (12,))
    m = message(5, "<script>alert(1)</script>", date=timezone.now())
    m.from_name = "\"><img src=x onerror=alert('x')>"
    m.preview = "</span><b>preview</b>"
    m.account.email = "<i>@x.test"
    html = RowRenderer(scope, MailPreferences(show_preview=True)).message_row(m)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&quot;&gt;&lt;img src=x onerror=alert(&#x27;x&#x27;)&gt;" in html
    assert "<b>" not in html and '<span class="preview">&lt;/span&gt;&lt;b&gt;preview&lt;/b&gt;</span>' in html
    assert "&lt;i&gt;@x.test</span>" in html
    assert html.count("<span") == html.count("</span>")


def test_right_to_left_text_stays_inside_its_element():
    """An RTL override in a subject or name is text like any other: drawn as is, inside its own span."""
    m = message(6, "\u202egnp.exe", date=timezone.now())
    html = RowRenderer(Scope("folder", "12", "x", (12,), Folder(id=12, role="inbox")), None).message_row(m)
    assert '<span class="subject">\u202egnp.exe</span>' in html
    assert '<span class="who">\u202egnp.exe</span>' in html


def test_the_date_column_follows_mail_date_for_today_this_year_and_older():
    now = timezone.now()
    renderer = RowRenderer(None, None)
    with translation.override("it"), timezone.override("Europe/Rome"):
        renderer = RowRenderer(None, None)
        for date in (now, now - timedelta(days=1), now - timedelta(days=35), now - timedelta(days=800)):
            m = message(1, "x", date=date)
            html = renderer.message_row(m)
            assert f">{mail_date(date)}</time>" in html
            assert f'datetime="{timezone.localtime(date).isoformat()}"' in html


def test_a_missing_date_draws_an_empty_time():
    m = message(1, "x", date=None)
    html = RowRenderer(None, None).message_row(m)
    assert '<time class="when" datetime=""></time>' in html


def _folder_page_queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("threaded", [False, True])
def test_the_folder_page_runs_the_same_queries_for_3_rows_and_for_a_full_page(owner_client, owner, mail_user,
                                                                             threaded):
    preferences_update(user=owner, threaded=threaded, show_preview=True)
    box = make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain(f"Messaggio {i:03d}", "testo", minutes=i), ("\\Seen",) if i % 2 else ())
        for i in range(3)
    ])
    inbox = Folder.objects.get(account=box.account, role="inbox")
    url = reverse("messages_app:folder", args=[inbox.pk])
    few, page = _folder_page_queries(owner_client, url)
    assert page.count('<li class="row') == 3
    for i in range(3, 60):
        box.uids[f"Messaggio {i:03d}"] = mail_user.dovecot.append(
            mail_user.login, "INBOX", mails.plain(f"Messaggio {i:03d}", "testo", minutes=i))
    box.sync()
    many, page = _folder_page_queries(owner_client, url)
    assert page.count('<li class="row') == 50  # one full page, "older messages" after it
    assert 'class="more"' in page
    assert many == few


def test_the_out_of_office_banner_costs_a_query_only_while_it_is_on(owner_client, mailbox):
    from messages_app.models import OutOfOffice

    url = reverse("messages_app:folder", args=[Folder.objects.get(account=mailbox.account, role="inbox").pk])
    off, page = _folder_page_queries(owner_client, url)
    assert 'class="ooo-banner"' not in page
    ooo = OutOfOffice.objects.create(account=mailbox.account, is_active=True, start=timezone.now() - timedelta(hours=1),
                                     subject="Fuori ufficio", body_html="<p>Torno lunedì.</p>")
    on, page = _folder_page_queries(owner_client, url)
    assert 'class="ooo-banner"' in page and mailbox.account.email in page
    assert on == off + 1  # the accounts it names; reading whether it is on cost nothing extra
    ooo.end = timezone.now() - timedelta(minutes=1)
    ooo.save()
    ended, page = _folder_page_queries(owner_client, url)
    assert 'class="ooo-banner"' not in page and ended == off
