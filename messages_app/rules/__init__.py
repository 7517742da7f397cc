"""Filters as pure logic: a rule's shape, its validation, and what it does to one message.

No database, no network: the arrival step and "apply now" (services/rules.py) turn a stored
message into `Facts`, ask `plan()` what to do, and carry the plan out on the server.

A rule: conditions combined with all/any, then its actions. The actions of every matching rule add
up, in rule order, until a rule with the `stop` action matched, or a rule moved or deleted the
message (it has left the Inbox: later rules no longer see it there). Whatever their order within a
rule, flags and keywords are set first, then copies made, then the message moved or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import regex

# Where a condition looks.
FIELDS = ("from", "to", "cc", "to_or_cc", "subject", "body", "header", "has_attachment", "size")
TEXT_OPS = ("contains", "not_contains", "is", "starts_with", "ends_with", "regex")
SIZE_OPS = ("greater_than", "less_than")  # size in KB
BOOL_OPS = ("is_true", "is_false")
ACTIONS = ("move", "copy", "mark_read", "flag", "keyword", "delete", "link_crm", "stop")
MATCH_MODES = ("all", "any")

# A regular expression gets this long on one text, then counts as not matching (and is reported).
REGEX_TIMEOUT_SECONDS = 0.05
MAX_PATTERN_CHARS = 500
MAX_TEXT_CHARS = 200_000
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
_KEYWORD_FORBIDDEN = set('(){ %*"\\]') | {chr(c) for c in range(0, 33)} | {"\x7f"}


class RuleError(ValueError):
    """A rule that cannot be stored, with the reason in words."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str = ""
    header: str = ""  # the header's name, for field == "header"


@dataclass(frozen=True)
class Action:
    kind: str
    folder: str = ""  # move, copy: the folder's server name
    keyword: str = ""  # keyword: the IMAP keyword


@dataclass(frozen=True)
class Rule:
    name: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    match: str = "all"
    active: bool = True

    @property
    def needs_body(self) -> bool:
        return any(c.field == "body" for c in self.conditions)

    @property
    def headers_needed(self) -> set[str]:
        return {c.header.lower() for c in self.conditions if c.field == "header"}


@dataclass
class Facts:
    """What the rules may look at in one message. `body` and `headers` may be loaded lazily."""

    from_addr: str = ""
    from_name: str = ""
    to: Sequence[str] = ()  # "Name <addr>" or bare addresses, as the condition should read them
    cc: Sequence[str] = ()
    subject: str = ""
    has_attachment: bool = False
    size: int = 0  # bytes
    body: str | Callable[[], str] = ""
    headers: Mapping[str, Sequence[str]] | Callable[[], Mapping[str, Sequence[str]]] = field(default_factory=dict)
    timeouts: list[str] = field(default_factory=list)  # regexes that ran out of time on this message

    def body_text(self) -> str:
        if callable(self.body):
            self.body = self.body()
        return self.body

    def header_values(self, name: str) -> Sequence[str]:
        if callable(self.headers):
            self.headers = self.headers()
        return self.headers.get(name.lower(), ())


@dataclass
class Plan:
    """What to do to one message, merged over the rules that matched."""

    add_flags: list[str] = field(default_factory=list)
    copy_to: list[str] = field(default_factory=list)
    move_to: str = ""
    delete: bool = False
    link_crm: bool = False
    link_rule: str = ""  # the name of the first rule that links to the CRM
    matched: list[str] = field(default_factory=list)  # names of the rules that matched

    @property
    def empty(self) -> bool:
        return not (self.add_flags or self.copy_to or self.move_to or self.delete or self.link_crm)

    def key(self) -> tuple:
        """Messages with the same key can be handled in one server command."""
        return (tuple(self.add_flags), tuple(self.copy_to), self.move_to, self.delete)


# --- validation ---------------------------------------------------------------------------------

def _compile(pattern: str):
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RuleError(f"the regular expression is longer than {MAX_PATTERN_CHARS} characters")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        raise RuleError(f"the regular expression does not compile: {exc}") from None


def validate(rule: Rule) -> None:
    """Raise RuleError with the first problem found."""
    if not rule.name.strip():
        raise RuleError("the rule has no name")
    if rule.match not in MATCH_MODES:
        raise RuleError(f"match must be one of {', '.join(MATCH_MODES)}, not {rule.match!r}")
    if not rule.conditions:
        raise RuleError("the rule has no condition")
    if not rule.actions:
        raise RuleError("the rule has no action")
    if len(rule.conditions) > MAX_CONDITIONS or len(rule.actions) > MAX_ACTIONS:
        raise RuleError(f"at most {MAX_CONDITIONS} conditions and {MAX_ACTIONS} actions")
    for condition in rule.conditions:
        _validate_condition(condition)
    for action in rule.actions:
        _validate_action(action)


def _validate_condition(condition: Condition) -> None:
    if condition.field not in FIELDS:
        raise RuleError(f"unknown condition field {condition.field!r}")
    if condition.field == "size":
        if condition.op not in SIZE_OPS:
            raise RuleError(f"size takes {' or '.join(SIZE_OPS)}, not {condition.op!r}")
        if not condition.value.strip().isdigit():
            raise RuleError(f"size needs a whole number of KB, not {condition.value!r}")
        return
    if condition.field == "has_attachment":
        if condition.op not in BOOL_OPS:
            raise RuleError(f"has_attachment takes {' or '.join(BOOL_OPS)}, not {condition.op!r}")
        return
    if condition.op not in TEXT_OPS:
        raise RuleError(f"unknown comparison {condition.op!r}")
    if condition.field == "header" and not regex.fullmatch(r"[!-9;-~]{1,76}", condition.header or ""):
        raise RuleError("a header condition needs the header's name")
    if condition.op == "regex":
        _compile(condition.value)
    elif not condition.value:
        raise RuleError(f"the condition on {condition.field} has no value")


def _validate_action(action: Action) -> None:
    if action.kind not in ACTIONS:
        raise RuleError(f"unknown action {action.kind!r}")
    if action.kind in ("move", "copy") and not action.folder.strip():
        raise RuleError(f"{action.kind} needs a folder")
    bad_keyword = not action.keyword or action.keyword.startswith("\\") or set(action.keyword) & _KEYWORD_FORBIDDEN
    if action.kind == "keyword" and bad_keyword:
        raise RuleError(f"{action.keyword!r} is not a valid IMAP keyword")


# --- JSON shape ---------------------------------------------------------------------------------

def rule_from_dict(data: Mapping) -> Rule:
    """The export/import shape (README, "Filters as JSON"); raises RuleError."""
    if not isinstance(data, Mapping):
        raise RuleError("a rule must be a JSON object")
    try:
        conditions = tuple(
            Condition(field=str(c["field"]), op=str(c["op"]), value=str(c.get("value", "")),
                      header=str(c.get("header", "")))
            for c in data.get("conditions", ()))
        actions = tuple(
            Action(kind=str(a["action"]), folder=str(a.get("folder", "")), keyword=str(a.get("keyword", "")))
            for a in data.get("actions", ()))
    except (KeyError, TypeError, AttributeError) as exc:
        raise RuleError(f"a condition or action is missing {exc}") from None
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise RuleError("active must be true or false")
    rule = Rule(name=str(data.get("name", "")), match=str(data.get("match", "all")), conditions=conditions,
                actions=actions, active=active)
    validate(rule)
    return rule


def rule_to_dict(rule: Rule) -> dict:
    def condition(c: Condition) -> dict:
        item = {"field": c.field, "op": c.op, "value": c.value}
        if c.field == "header":
            item["header"] = c.header
        return item

    def action(a: Action) -> dict:
        item = {"action": a.kind}
        if a.kind in ("move", "copy"):
            item["folder"] = a.folder
        if a.kind == "keyword":
            item["keyword"] = a.keyword
        return item

    return {"name": rule.name, "active": rule.active, "match": rule.match,
            "conditions": [condition(c) for c in rule.conditions], "actions": [action(a) for a in rule.actions]}


# --- matching -----------------------------------------------------------------------------------

def _texts(condition: Condition, facts: Facts) -> list[str]:
    name = f"{facts.from_name} <{facts.from_addr}>" if facts.from_name else facts.from_addr
    if condition.field == "from":
        return [name]
    if condition.field == "to":
        return list(facts.to)
    if condition.field == "cc":
        return list(facts.cc)
    if condition.field == "to_or_cc":
        return [*facts.to, *facts.cc]
    if condition.field == "subject":
        return [facts.subject]
    if condition.field == "body":
        return [facts.body_text()]
    return list(facts.header_values(condition.header))


def _text_matches(op: str, value: str, text: str, facts: Facts) -> bool:
    text = text[:MAX_TEXT_CHARS]
    if op == "regex":
        try:
            return _compile(value).search(text, timeout=REGEX_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            facts.timeouts.append(value)
            return False
    needle, hay = value.casefold(), text.casefold()
    if op == "contains":
        return needle in hay
    if op == "is":
        return hay.strip() == needle.strip()
    if op == "starts_with":
        return hay.startswith(needle)
    if op == "ends_with":
        return hay.rstrip().endswith(needle)
    raise RuleError(f"unknown comparison {op!r}")


def condition_matches(condition: Condition, facts: Facts) -> bool:
    if condition.field == "size":
        limit = int(condition.value) * 1024
        return facts.size > limit if condition.op == "greater_than" else facts.size < limit
    if condition.field == "has_attachment":
        return facts.has_attachment == (condition.op == "is_true")
    texts = _texts(condition, facts)
    if condition.field in ("from", "to", "cc", "to_or_cc"):
        texts = [t for t in texts if t]
    if condition.op == "not_contains":
        return not any(_text_matches("contains", condition.value, t, facts) for t in texts)
    if condition.field in ("to", "cc", "to_or_cc", "from") and condition.op in ("is", "ends_with", "starts_with"):
        # "is mario@x.it" should match "Mario <mario@x.it>": compare with the bare address too.
        texts = [*texts, *(_bare(t) for t in texts)]
    return any(_text_matches(condition.op, condition.value, t, facts) for t in texts)


def _bare(text: str) -> str:
    if "<" in text and text.rstrip().endswith(">"):
        return text.rsplit("<", 1)[1].rstrip()[:-1]
    return text


def rule_matches(rule: Rule, facts: Facts) -> bool:
    results = (condition_matches(c, facts) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


def plan(rules: Sequence[Rule], facts: Facts) -> Plan:
    """What the rules, in order, do to this message."""
    result = Plan()
    for rule in rules:
        if not rule.active or not rule_matches(rule, facts):
            continue
        result.matched.append(rule.name)
        stop = False
        for action in rule.actions:
            if action.kind == "mark_read":
                _add(result.add_flags, "\\Seen")
            elif action.kind == "flag":
                _add(result.add_flags, "\\Flagged")
            elif action.kind == "keyword":
                _add(result.add_flags, action.keyword)
            elif action.kind == "copy":
                _add(result.copy_to, action.folder)
            elif action.kind == "link_crm":
                result.link_crm = True
                result.link_rule = result.link_rule or rule.name
            elif action.kind == "move":
                if not (result.move_to or result.delete):  # the first move or delete wins
                    result.move_to = action.folder
                stop = True  # the message leaves the Inbox: later rules do not see it there
            elif action.kind == "delete":
                if not (result.move_to or result.delete):
                    result.delete = True
                stop = True
            elif action.kind == "stop":
                stop = True
        if stop:
            break
    return result


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def folders_used(rule: Rule) -> list[str]:
    return [a.folder for a in rule.actions if a.kind in ("move", "copy")]
