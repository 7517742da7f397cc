"""mail_ooo set/off/show: the DESIGN.md contract."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from messages_app.models import OutOfOffice


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_set_show_and_off(mail_account, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Sono fuori ufficio.\nPer urgenze: ufficio@crm.test", encoding="utf-8")
    account = str(mail_account.pk)
    run("mail_ooo", "set", "--account", account, "--start", "2026-12-01T09:00+01:00", "--end", "2026-12-08",
        "--subject", "Fuori ufficio", "--body-file", str(body), "--days", "3", "--known-only")
    [row] = [json.loads(line) for line in run("mail_ooo", "show", "--account", account, "--json").splitlines()]
    assert row["active"] is True and row["known_only"] is True and row["days"] == 3
    assert row["start"].startswith("2026-12-01T08:00")
    assert row["end"].startswith("2026-12-08T23:00")  # 8 December included, whole (Rome is UTC+1)
    assert "ufficio@crm.test" in row["body_html"] and "<script" not in row["body_html"]
    assert "ended" in run("mail_ooo", "off", "--account", account)
    assert OutOfOffice.objects.get().is_active is False
    assert "was not on" in run("mail_ooo", "off", "--account", account)


@pytest.mark.parametrize(("args", "reason"), [
    (["--start", "domani"], "is not an ISO 8601"),
    (["--start", "2026-12-08", "--end", "2026-12-01"], "The end must come after the start"),
])
def test_bad_settings_are_one_line_reasons(mail_account, args, reason):
    with translation.override("en"), pytest.raises(CommandError, match=reason):
        run("mail_ooo", "set", "--account", str(mail_account.pk), *args, "--subject", "Via", "--body", "Via")


def test_unknown_account(db):
    with pytest.raises(CommandError, match="no mail account with id 42"):
        run("mail_ooo", "show", "--account", "42")
