"""Every message of both corpora syncs and parses: nothing escapes, nothing is lost.

tests/fixtures/eml/ holds this project's hostile and broken shapes; ../shared/corpus/ holds the
107 messages from stalwartlabs/mail-parser (MIT OR Apache-2.0), read in place.
"""

from pathlib import Path

import pytest

from messages_app.mime.parse import parse_message
from messages_app.models import Message
from messages_app.services.sync import account_sync, open_connection
from tests.conftest import account_on
from tests.corpus import SHARED_CORPUS

ROOT = Path(__file__).resolve().parents[3]
OWN_CORPUS = ROOT / "tests" / "fixtures" / "eml"
SHARED_CORPUS = SHARED_CORPUS


def corpus_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(("README", "LICENSE")))


@pytest.mark.parametrize(("name", "folder", "minimum"), [("own", OWN_CORPUS, 30), ("shared", SHARED_CORPUS, 100)])
def test_every_corpus_message_syncs_and_opens(owner, mail_user, name, folder, minimum):
    files = corpus_files(folder)
    assert len(files) >= minimum, f"{folder} should hold at least {minimum} messages"
    raws = [path.read_bytes() for path in files]
    # Maildir, not APPEND: Dovecot stores whatever bytes it is given, broken or not.
    mail_user.dovecot.write_maildir(mail_user.login, "INBOX", [(raw, "") for raw in raws])
    account = account_on(owner, mail_user)

    result = account_sync(account.pk)

    assert result.folders["INBOX"].new == len(files)
    stored = Message.objects.filter(account=account, folder__name="INBOX")
    assert stored.count() == len(files)
    with open_connection(account) as conn:
        conn.select("INBOX", readonly=True)
        for message in stored:
            raw = conn.fetch_raw(message.uid)
            parsed = parse_message(raw)  # must not raise, whatever the input
            assert parsed.headers is not None
            assert parsed.text or parsed.html or parsed.attachments or parsed.notes or len(raw) < 400, message.uid
