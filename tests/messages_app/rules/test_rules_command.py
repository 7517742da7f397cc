"""mail_rules export/import: the DESIGN.md contract; an invalid file is refused whole, with the reason."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messages_app.models import MailRule

RULES = {"version": 1, "rules": [
    {"name": "Clienti", "active": True, "match": "any",
     "conditions": [{"field": "from", "op": "ends_with", "value": "@cliente.test"},
                    {"field": "header", "op": "contains", "value": "ordine", "header": "X-Tag"}],
     "actions": [{"action": "move", "folder": "Clienti"}, {"action": "stop"}]},
    {"name": "Grandi", "active": False, "match": "all",
     "conditions": [{"field": "size", "op": "greater_than", "value": "5000"}],
     "actions": [{"action": "keyword", "keyword": "Grande"}, {"action": "flag"}]},
]}


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_then_export_gives_back_the_same_rules(mail_account, tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES), encoding="utf-8")
    assert run("mail_rules", "import", "--account", str(mail_account.pk), str(path)).startswith("2 rules imported")
    assert json.loads(run("mail_rules", "export", "--account", str(mail_account.pk))) == RULES
    assert list(MailRule.objects.values_list("name", flat=True)) == ["Clienti", "Grandi"]


@pytest.mark.parametrize(("broken", "reason"), [
    ({"name": "Rotta", "conditions": [{"field": "subject", "op": "regex", "value": "(["}],
      "actions": [{"action": "flag"}]}, r"rule 2 \(Rotta\): the regular expression does not compile"),
    ({"name": "Senza cartella", "conditions": [{"field": "subject", "op": "is", "value": "x"}],
      "actions": [{"action": "copy"}]}, r"rule 2 \(Senza cartella\): copy needs a folder"),
    ("not a rule", "rule 2: a rule must be a JSON object"),
])
def test_an_invalid_file_is_refused_whole_and_the_old_rules_stay(mail_account, tmp_path, broken, reason):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(RULES), encoding="utf-8")
    run("mail_rules", "import", "--account", str(mail_account.pk), str(good))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [RULES["rules"][1], broken]}), encoding="utf-8")
    with pytest.raises(CommandError, match=f"nothing imported: {reason}"):
        run("mail_rules", "import", "--account", str(mail_account.pk), str(bad))
    assert list(MailRule.objects.values_list("name", flat=True)) == ["Clienti", "Grandi"]


def test_unreadable_files_and_unknown_accounts_are_one_line_reasons(mail_account, tmp_path):
    with pytest.raises(CommandError, match="no mail account with id 999"):
        run("mail_rules", "export", "--account", "999")
    with pytest.raises(CommandError, match="cannot read"):
        run("mail_rules", "import", "--account", str(mail_account.pk), str(tmp_path / "missing.json"))
    junk = tmp_path / "junk.json"
    junk.write_text("{rules:", encoding="utf-8")
    with pytest.raises(CommandError, match="is not valid JSON"):
        run("mail_rules", "import", "--account", str(mail_account.pk), str(junk))
