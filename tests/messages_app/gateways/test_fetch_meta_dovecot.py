"""fetch_meta over the FETCH scanner equals fetch_meta over imapclient's parser on a real Dovecot,
for the 107 messages of the shared corpus (real, RFC samples, malformed), and Dovecot's
responses need no fallback at all (otherwise the fast path would not be what runs)."""

from datetime import UTC, datetime, timedelta

from messages_app.gateways.fetch_scanner import scan_fetch
from messages_app.gateways.imap import _meta_from_items
from messages_app.services.sync import open_connection
from tests.conftest import account_on
from tests.corpus import SHARED_CORPUS
from tests.servers.fixtures import new_mail_user

FLAG_LETTERS = ["", "S", "SF", "RS", "D", "ST", "F"]


def corpus_messages() -> list[bytes]:
    files = sorted(p for p in SHARED_CORPUS.rglob("*") if p.is_file() and not p.name.startswith(("README", "LICENSE")))
    return [path.read_bytes() for path in files]


def imapclient_metas(conn, uid_range: str) -> list:
    """What fetch_meta returned before the scanner: imapclient's fetch() and its parser."""
    with conn._errors():
        response = conn._client.fetch(uid_range, conn.meta_items())
    return [_meta_from_items(uid, data) for uid, data in response.items()]


def with_offsets(metas: list) -> list:
    return [(m, m.internal_date.utcoffset() if m.internal_date else None) for m in metas]


def test_fetch_meta_equals_imapclients_reading_on_the_corpus(owner, mail_user):
    raws = corpus_messages()
    assert len(raws) >= 100
    start = datetime(2019, 3, 30, 23, 30, tzinfo=UTC)
    mail_user.dovecot.write_maildir(mail_user.login, "INBOX", [
        (raw, FLAG_LETTERS[i % len(FLAG_LETTERS)], start + timedelta(hours=7 * i)) for i, raw in enumerate(raws)
    ])
    account = account_on(owner, mail_user)
    with open_connection(account) as conn:
        conn.select("INBOX")
        conn.add_flags(range(1, len(raws) + 1, 3), ["$Forwarded", "Lavoro"])
        conn.add_flags(range(2, len(raws) + 1, 5), ["$label1"])

        scanned = conn.fetch_meta("1:*")
        assert with_offsets(scanned) == with_offsets(imapclient_metas(conn, "1:*"))
        # In the sync's batches too (newest first, as the engine asks).
        for low, high in ((60, len(raws)), (20, 59), (1, 19)):
            assert conn.fetch_meta(f"{low}:{high}") == imapclient_metas(conn, f"{low}:{high}")

        _by_uid, fallbacks = scan_fetch(conn._uid_fetch_records("1:*", conn.meta_items()))

    assert fallbacks == 0
    assert len(scanned) == len(raws)
    assert sum(1 for m in scanned if "Lavoro" in m.flags) == len(range(1, len(raws) + 1, 3))
    assert all(m.header_bytes and m.size > 0 and m.modseq for m in scanned)
    assert any(m.preview for m in scanned)


def test_fetch_meta_without_condstore_has_no_modseq(owner, dovecot_no_condstore, smtp_server):
    user = new_mail_user(dovecot_no_condstore, smtp_server)
    raws = corpus_messages()[:20]
    user.dovecot.write_maildir(user.login, "INBOX", [(raw, "S") for raw in raws])
    account = account_on(owner, user)
    with open_connection(account) as conn:
        conn.select("INBOX", readonly=True)
        scanned = conn.fetch_meta("1:*")
        assert scanned == imapclient_metas(conn, "1:*")
    assert len(scanned) == 20 and all(m.modseq is None and "\\Seen" in m.flags for m in scanned)
