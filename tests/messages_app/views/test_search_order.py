"""Search pages read in date order (mailbox/search_walk.py) are the pages the index query gave.

One mailbox of generated rows (two folders, local mail, PEC receipts, equal dates) for the owner,
and a colleague's folder holding the same words; every query is paged to its end both ways. On
PostgreSQL the walk answers the common words and the GIN index the rare one; on SQLite both
come from the LIKE query.
"""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from messages_app.mailbox.keyset import Cursor
from messages_app.mailbox.listing import _top_ids, messages_page, scope_messages, search_streams
from messages_app.mailbox.scopes import everywhere_scope, folder_scope, unified_scope
from messages_app.mailbox.search import matching
from messages_app.mailbox.search_walk import walked_top_ids, worth_walking
from messages_app.models import Folder, MailAccount, Message

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
WORDS = ["ordine", "consegna", "riunione", "listino", "bozza", "report", "garanzia", "progetto"]
QUERIES = [
    "zanzibarite",  # rare: three messages
    "offerta",  # common: about one in three
    "fattura scadenza",  # two words, both needed
    "perché",  # accented
    '"offerta rinnovo"',  # a phrase: its words
    "mario@cliente.test",  # an address, taken apart
    "off",  # a prefix
    "nessunaparola",  # nothing
]
PAGE = 7


def _account(user, email):
    return MailAccount.objects.create(owner=user, username=email, email=email, description="",
                                      imap_host="127.0.0.1", smtp_host="127.0.0.1")


def _subject(rng: random.Random, index: int) -> str:
    words = rng.sample(WORDS, 2)
    if rng.random() < 0.33:
        words.insert(0, "offerta")
    if rng.random() < 0.15:
        words.append("fattura")
    if rng.random() < 0.15:
        words.append("scadenza")
    if rng.random() < 0.1:
        words.append("rinnovo")
    if rng.random() < 0.08:
        words.append("perché")
    if index in (5, 120, 333):
        words.append("zanzibarite")
    return " ".join(words).capitalize()


def _rows(rng, count, *, folder=None, local_owner=None, tag):
    rows = []
    for index in range(count):
        sender = ("Mario Rossi", "mario@cliente.test") if rng.random() < 0.1 else ("Anna", "anna@altro.test")
        rows.append(Message(
            folder=folder, account=folder.account if folder else None, local_owner=local_owner,
            uid=index + 1 if folder else None, dedup_key=f"{tag}-{index}", subject=_subject(rng, index),
            from_name=sender[0], from_addr=sender[1], to=[{"name": "Olga", "addr": "olga@crm.test"}],
            preview="buongiorno in allegato " + rng.choice(WORDS),
            # Minutes drawn from a narrow range: many messages share a date, ordered by id.
            date=START + timedelta(minutes=rng.randrange(count // 2)),
            x_ricevuta="accettazione" if rng.random() < 0.03 else ""))
    Message.objects.bulk_create(rows)


@pytest.fixture
def mailbox(owner, colleague):
    rng = random.Random(14)
    account = _account(owner, "olga@crm.test")
    inbox = Folder.objects.create(account=account, name="INBOX", role="inbox")
    archive = Folder.objects.create(account=account, name="Archivio")
    _rows(rng, 400, folder=inbox, tag="inbox")
    _rows(rng, 150, folder=archive, tag="archive")
    _rows(rng, 60, local_owner=owner, tag="local")
    other = Folder.objects.create(account=_account(colleague, "carlo@crm.test"), name="INBOX", role="inbox")
    _rows(rng, 200, folder=other, tag="colleague")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messages_app_message")  # the statistics worth_walking reads
    return inbox


def _scopes(owner, inbox):
    return {"folder": folder_scope(owner, inbox.pk), "unified": unified_scope(owner, "inbox"),
            "all": everywhere_scope(owner)}


def _index_order(owner, scope, query) -> list[int]:
    """Every match in list order, from the index query alone (the reference)."""
    return _top_ids(matching(scope_messages(owner, scope), query), None, 10_000)


def _paged(owner, scope, query) -> list[int]:
    ids, cursor = [], None
    while True:
        page = messages_page(owner, scope, cursor=cursor, query=query, limit=PAGE)
        ids += [m.id for m in page.rows]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("where", ["folder", "unified", "all"])
def test_search_pages_are_the_index_querys_pages(owner, colleague, mailbox, query, where):
    scope = _scopes(owner, mailbox)[where]
    expected = _index_order(owner, scope, query)
    assert _paged(owner, scope, query) == expected
    if query != "nessunaparola":
        assert expected, "every query but the last finds something"
    assert not Message.objects.filter(id__in=expected, folder__account__owner=colleague).exists()
    assert not Message.objects.filter(id__in=expected).exclude(x_ricevuta="").exists()


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("window", [5_000, 40])
def test_the_walk_gives_the_index_querys_ids_or_steps_aside(owner, mailbox, query, window):
    """From the first page and from a cursor deep in the list; a window too small for a rare
    word's page gives None (the caller then asks the index), never a wrong page."""
    scope = _scopes(owner, mailbox)["all"]
    expected = _index_order(owner, scope, query)
    cursors = [None] + [Cursor(m.date, m.id) for m in Message.objects.filter(id__in=expected[3:4])]
    for cursor in cursors:
        start = expected.index(cursor.id) + 1 if cursor else 0
        walked = walked_top_ids(*search_streams(owner, scope), query, cursor, PAGE + 1, window=window)
        if connection.vendor != "postgresql":
            assert walked is None  # SQLite: the LIKE query answers
        elif window == 5_000:
            assert walked == expected[start:start + PAGE + 1]
        else:
            assert walked in (None, expected[start:start + PAGE + 1])
    if connection.vendor == "postgresql" and window == 40 and query in ("zanzibarite", "nessunaparola"):
        assert walked is None  # 40 rows of a 400-message folder hold no page of these


def test_the_estimate_walks_for_common_words(owner, mailbox):
    """Which rare words the planner's statistics rule out depends on their size (at a few
    hundred rows every lexeme is "common"); the pages above are right either way."""
    expected = connection.vendor == "postgresql"  # SQLite has no statistics: never walks
    assert worth_walking("offerta") is expected
    assert worth_walking("off") is expected
    assert worth_walking("!!") is False
