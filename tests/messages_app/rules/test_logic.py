"""Filters as pure logic: each condition and comparison, all/any, each action, order and stop."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages_app import rules
from messages_app.rules import Action, Condition, Facts, Rule, RuleError


def facts(**overrides) -> Facts:
    base = {"from_addr": "mario@cliente.test", "from_name": "Mario Rossi", "to": ["Olga <olga@crm.test>"],
            "cc": ["ufficio@crm.test"], "subject": "Offerta 2026 per Rossi SpA", "has_attachment": True,
            "size": 300 * 1024, "body": "Buongiorno, allego il preventivo.",
            "headers": {"x-mailer": ["Outlook 16"], "list-id": ["<news.cliente.test>"]}}
    base.update(overrides)
    return Facts(**base)


FLAG = (Action("flag"),)


def rule(*conditions, actions=FLAG, match="all", name="r") -> Rule:
    return Rule(name=name, conditions=tuple(conditions), actions=tuple(actions), match=match)


CONDITION_CASES = [
    (Condition("from", "contains", "cliente.test"), True),
    (Condition("from", "contains", "Mario"), True),
    (Condition("from", "is", "MARIO@cliente.test"), True),
    (Condition("from", "is", "cliente.test"), False),
    (Condition("from", "ends_with", "@cliente.test"), True),
    (Condition("from", "starts_with", "mario"), True),
    (Condition("from", "not_contains", "spam.test"), True),
    (Condition("from", "not_contains", "cliente"), False),
    (Condition("to", "is", "olga@crm.test"), True),
    (Condition("to", "contains", "ufficio"), False),
    (Condition("cc", "contains", "ufficio"), True),
    (Condition("to_or_cc", "contains", "ufficio"), True),
    (Condition("to_or_cc", "contains", "olga"), True),
    (Condition("to_or_cc", "not_contains", "olga"), False),
    (Condition("subject", "starts_with", "offerta"), True),
    (Condition("subject", "ends_with", "SpA"), True),
    (Condition("subject", "is", "Offerta"), False),
    (Condition("subject", "regex", r"offerta \d{4}"), True),
    (Condition("subject", "regex", r"^\d+$"), False),
    (Condition("body", "contains", "preventivo"), True),
    (Condition("body", "not_contains", "fattura"), True),
    (Condition("header", "contains", "outlook", header="X-Mailer"), True),
    (Condition("header", "is", "<news.cliente.test>", header="List-Id"), True),
    (Condition("header", "contains", "x", header="X-Absent"), False),
    (Condition("header", "not_contains", "x", header="X-Absent"), True),
    (Condition("has_attachment", "is_true"), True),
    (Condition("has_attachment", "is_false"), False),
    (Condition("size", "greater_than", "200"), True),
    (Condition("size", "greater_than", "400"), False),
    (Condition("size", "less_than", "400"), True),
]


@pytest.mark.parametrize(("condition", "expected"), CONDITION_CASES)
def test_each_condition_and_comparison(condition, expected):
    r = rule(condition)
    rules.validate(r)
    assert rules.rule_matches(r, facts()) is expected


def test_all_needs_every_condition_any_needs_one():
    yes, no = Condition("subject", "contains", "offerta"), Condition("subject", "contains", "fattura")
    assert rules.rule_matches(rule(yes, no, match="all"), facts()) is False
    assert rules.rule_matches(rule(yes, no, match="any"), facts()) is True
    assert rules.rule_matches(rule(yes, yes, match="all"), facts()) is True


def test_the_body_and_headers_are_read_only_when_a_rule_asks():
    loaded = []
    lazy = facts(body=lambda: loaded.append("body") or "testo", headers=lambda: loaded.append("h") or {})
    rules.plan([rule(Condition("subject", "contains", "offerta"))], lazy)
    assert loaded == []
    rules.plan([rule(Condition("body", "contains", "testo"))], lazy)
    rules.plan([rule(Condition("body", "contains", "testo"))], lazy)
    assert loaded == ["body"]


def test_a_catastrophic_regex_runs_out_of_time_and_does_not_match():
    r = rule(Condition("subject", "regex", r"(x+x+)+y"))
    hostile = facts(subject="x" * 3000)
    started = time.monotonic()
    assert rules.rule_matches(r, hostile) is False
    assert time.monotonic() - started < 2
    assert hostile.timeouts == [r"(x+x+)+y"]


def test_actions_add_up_in_order_and_stop_ends_the_list():
    match = Condition("subject", "contains", "offerta")
    plan = rules.plan([
        rule(match, actions=[Action("mark_read"), Action("keyword", keyword="Offerte")], name="one"),
        rule(Condition("subject", "contains", "nothing"), actions=[Action("delete")], name="skipped"),
        rule(match, actions=[Action("copy", folder="Archivio"), Action("stop")], name="two"),
        rule(match, actions=[Action("move", folder="Clienti")], name="after stop"),
    ], facts())
    assert plan.add_flags == ["\\Seen", "Offerte"]
    assert plan.copy_to == ["Archivio"]
    assert plan.move_to == ""
    assert plan.matched == ["one", "two"]


def test_a_move_or_delete_ends_processing_the_first_one_wins():
    match = Condition("subject", "contains", "offerta")
    plan = rules.plan([rule(match, actions=[Action("move", folder="Clienti"), Action("flag")]),
                       rule(match, actions=[Action("delete")])], facts())
    assert (plan.move_to, plan.delete, plan.add_flags) == ("Clienti", False, ["\\Flagged"])
    plan = rules.plan([rule(match, actions=[Action("flag"), Action("delete")])], facts())
    assert (plan.delete, plan.add_flags) == (True, ["\\Flagged"])


def test_inactive_rules_do_nothing():
    r = Rule(name="off", conditions=(Condition("subject", "contains", "offerta"),), actions=(Action("flag"),),
             active=False)
    assert rules.plan([r], facts()).empty


@pytest.mark.parametrize(("data", "reason"), [
    ({"name": "", "conditions": [{"field": "subject", "op": "contains", "value": "x"}],
      "actions": [{"action": "flag"}]}, "no name"),
    ({"name": "a", "conditions": [], "actions": [{"action": "flag"}]}, "no condition"),
    ({"name": "a", "conditions": [{"field": "subject", "op": "contains", "value": "x"}], "actions": []}, "no action"),
    ({"name": "a", "conditions": [{"field": "colour", "op": "is", "value": "x"}], "actions": [{"action": "flag"}]},
     "unknown condition field"),
    ({"name": "a", "conditions": [{"field": "subject", "op": "regex", "value": "(["}],
      "actions": [{"action": "flag"}]}, "does not compile"),
    ({"name": "a", "conditions": [{"field": "size", "op": "greater_than", "value": "big"}],
      "actions": [{"action": "flag"}]}, "whole number"),
    ({"name": "a", "conditions": [{"field": "subject", "op": "contains", "value": "x"}],
      "actions": [{"action": "move"}]}, "needs a folder"),
    ({"name": "a", "conditions": [{"field": "subject", "op": "contains", "value": "x"}],
      "actions": [{"action": "keyword", "keyword": "two words"}]}, "not a valid IMAP keyword"),
    ({"name": "a", "conditions": [{"field": "header", "op": "contains", "value": "x"}],
      "actions": [{"action": "flag"}]}, "header's name"),
    ({"name": "a", "match": "most", "conditions": [{"field": "subject", "op": "contains", "value": "x"}],
      "actions": [{"action": "flag"}]}, "match must be"),
    ({"name": "a", "conditions": [{"op": "contains"}], "actions": [{"action": "flag"}]}, "missing"),
])
def test_invalid_rules_are_refused_with_the_reason(data, reason):
    with pytest.raises(RuleError, match=reason):
        rules.rule_from_dict(data)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(value=_text.filter(bool), subject=_text)
def test_does_not_contain_is_exactly_the_opposite_of_contains(value, subject):
    f = facts(subject=subject)
    contains = rules.rule_matches(rule(Condition("subject", "contains", value)), f)
    assert rules.rule_matches(rule(Condition("subject", "not_contains", value)), f) is not contains


@given(name=_text.filter(str.strip), value=_text.filter(bool), keyword=st.from_regex(r"[A-Za-z$][A-Za-z0-9_]{0,15}",
                                                                                        fullmatch=True))
def test_the_json_shape_round_trips(name, value, keyword):
    r = Rule(name=name, match="any", conditions=(Condition("header", "ends_with", value, header="X-Tag"),),
             actions=(Action("keyword", keyword=keyword), Action("copy", folder="A"), Action("stop")))
    assert rules.rule_from_dict(rules.rule_to_dict(r)) == r
