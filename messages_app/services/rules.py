"""Filters: store an account's rules, run them on new Inbox mail (an arrival step) and over the
whole Inbox on request ("apply now", in the background with progress).

Invariants:
- The rules run once per genuinely new Inbox message: a RuleRun row is written (started) before
  anything is done on the server and marked done after. A re-run of a started one (the worker
  died half-way) repeats only what is idempotent: flags and moves are; a copy is made only when
  the target folder does not already hold the message's Message-ID.
- A move or copy to a folder the account no longer has is not done and not hidden: the rule
  records the problem (`rule_problems`, shown on the Filtri page) and the message stays put.
- Messages that get the same treatment are handled with one server command per 500.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from messages_app import rules as rules_logic
from messages_app.enums import FolderRole, PendingActionKind
from messages_app.exceptions import MailError
from messages_app.mime.headers import header_items
from messages_app.models import Folder, MailAccount, MailRule, Message, RuleJob, RuleRun, RuleServerState
from messages_app.rules import Facts, Plan, Rule, RuleError
from messages_app.services.imap_session import imap_session
from messages_app.sync.pending import apply_action

logger = logging.getLogger(__name__)

CHUNK = 500
JOB_BATCH = 200


# --- storing ------------------------------------------------------------------------------------

def rule_from_row(row: MailRule) -> Rule:
    return rules_logic.rule_from_dict(row.as_dict())


def account_rules(account: MailAccount) -> list[Rule]:
    """The account's rules in order, as pure rules (rows that no longer validate are left out)."""
    result = []
    for row in MailRule.objects.filter(account=account):
        try:
            result.append(rule_from_row(row))
        except RuleError:
            logger.warning("rule %s of account %s does not validate; skipped", row.pk, account.pk)
    return result


def rules_export(*, account: MailAccount) -> dict:
    return {"version": 1, "rules": [row.as_dict() for row in MailRule.objects.filter(account=account)]}


def rules_parse(data) -> list[Rule]:
    """The import file's rules, all validated; RuleError names the rule and the reason."""
    items = data.get("rules") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise RuleError("the file must hold a list of rules (an object with \"rules\": [...])")
    parsed = []
    for index, item in enumerate(items, start=1):
        try:
            parsed.append(rules_logic.rule_from_dict(item))
        except RuleError as exc:
            name = item.get("name") if isinstance(item, dict) else None
            raise RuleError(f"rule {index}{f' ({name})' if name else ''}: {exc}") from None
    return parsed


def rules_replace(*, account: MailAccount, rules: Iterable[Rule]) -> int:
    """Replace the account's rules with these, in one transaction."""
    rows = [MailRule(account=account, position=i, **_row_fields(rule)) for i, rule in enumerate(rules)]
    with transaction.atomic():
        MailRule.objects.filter(account=account).delete()
        MailRule.objects.bulk_create(rows)
    return len(rows)


def _row_fields(rule: Rule) -> dict:
    data = rules_logic.rule_to_dict(rule)
    return {"name": data["name"], "match": data["match"], "is_active": data["active"],
            "conditions": data["conditions"], "actions": data["actions"]}


def rule_save(*, account: MailAccount, rule: Rule, row: MailRule | None = None) -> MailRule:
    rules_logic.validate(rule)
    if row is None:
        last = MailRule.objects.filter(account=account).order_by("-position").first()
        row = MailRule(account=account, position=(last.position + 1) if last else 0)
    for name, value in _row_fields(rule).items():
        setattr(row, name, value)
    row.save()
    return row


def rule_delete(*, account: MailAccount, rule_id: int) -> None:
    MailRule.objects.filter(account=account, pk=rule_id).delete()


def rule_move(*, account: MailAccount, rule_id: int, offset: int) -> None:
    """Move a rule up (offset -1) or down (+1) in the order."""
    with transaction.atomic():
        rows = list(MailRule.objects.select_for_update().filter(account=account))
        index = next((i for i, row in enumerate(rows) if row.pk == rule_id), None)
        if index is None:
            return
        target = max(0, min(len(rows) - 1, index + offset))
        rows.insert(target, rows.pop(index))
        for position, row in enumerate(rows):
            if row.position != position:
                MailRule.objects.filter(pk=row.pk).update(position=position)


def rule_problems(account: MailAccount) -> dict[int, list[str]]:
    """Per rule id: what is wrong with it now (a target folder the account no longer has)."""
    names = set(Folder.objects.filter(account=account).values_list("name", flat=True))
    problems: dict[int, list[str]] = {}
    for row in MailRule.objects.filter(account=account):
        for action in row.actions:
            folder = action.get("folder") if isinstance(action, dict) else None
            if action.get("action") in ("move", "copy") and folder and folder not in names:
                problems.setdefault(row.pk, []).append(
                    _("The folder “%(folder)s” no longer exists: this rule does not move or copy anything.")
                    % {"folder": folder})
    return problems


# --- facts --------------------------------------------------------------------------------------

def _address(pair) -> str:
    name, addr = (list(pair) + ["", ""])[:2]
    return f"{name} <{addr}>" if name else addr


def facts_for(message: Message) -> Facts:
    def body() -> str:
        from messages_app.services.message_body import message_body_get

        try:
            return message_body_get(message=message).text
        except MailError as exc:
            logger.info("no body for message %s: %s", message.pk, exc)
            return ""

    def headers() -> dict:
        from messages_app.services.message_body import message_raw

        try:
            return header_items(message_raw(message))
        except MailError:
            return {}

    return Facts(from_addr=message.from_addr, from_name=message.from_name,
                 to=[_address(p) for p in message.to], cc=[_address(p) for p in message.cc],
                 subject=message.subject, has_attachment=message.has_attachments, size=message.size,
                 body=body, headers=headers)


# --- carrying out -------------------------------------------------------------------------------

class _Runner:
    """Carries plans out on one account's server, grouped so that one command serves many."""

    def __init__(self, account: MailAccount, conn):
        self.account = account
        self.conn = conn
        self.folders = {f.name: f for f in Folder.objects.filter(account=account)}
        self.trash = next((f for f in self.folders.values() if f.role == FolderRole.TRASH), None)
        self.moved: dict[str, int] = defaultdict(int)

    def run(self, folder: Folder, items: list[tuple[Message, Plan]], *, check_copies: bool) -> None:
        groups: dict[tuple, list[Message]] = defaultdict(list)
        plans: dict[tuple, Plan] = {}
        for message, plan in items:
            if not plan.empty:
                groups[plan.key()].append(message)
                plans[plan.key()] = plan
        for key, messages in groups.items():
            for start in range(0, len(messages), CHUNK):
                self._apply(folder, plans[key], messages[start:start + CHUNK], check_copies)

    def _apply(self, folder: Folder, plan: Plan, messages: list[Message], check_copies: bool) -> None:
        uids = [m.uid for m in messages]
        if plan.add_flags:
            apply_action(self.conn, folder, uids, PendingActionKind.SET_FLAGS, {"add": plan.add_flags})
            keywords = [f for f in plan.add_flags if not f.startswith("\\")]
            if keywords:
                for message in messages:
                    merged = sorted({*message.keywords, *keywords})
                    Message.objects.filter(pk=message.pk).update(keywords=merged)
        for name in plan.copy_to:
            if name not in self.folders:
                continue  # reported by rule_problems
            todo = self._not_yet_in(name, messages) if check_copies else messages
            if todo:
                self.conn.select(folder.name)
                self.conn.copy([m.uid for m in todo], name)
                self.moved[name] += len(todo)
        if plan.move_to and plan.move_to in self.folders and plan.move_to != folder.name:
            destination = self.folders[plan.move_to]
            apply_action(self.conn, folder, uids, PendingActionKind.MOVE, {"folder_id": destination.pk})
            self.moved[plan.move_to] += len(uids)
        elif plan.delete:
            if self.trash is not None and self.trash.pk != folder.pk:
                apply_action(self.conn, folder, uids, PendingActionKind.MOVE, {"folder_id": self.trash.pk})
                self.moved[self.trash.name] += len(uids)
            else:
                apply_action(self.conn, folder, uids, PendingActionKind.DELETE, {})

    def _not_yet_in(self, folder_name: str, messages: list[Message]) -> list[Message]:
        self.conn.select(folder_name, readonly=True)
        todo = []
        for message in messages:
            if not message.message_id or not self.conn.search_header("Message-ID", message.message_id):
                todo.append(message)
        return todo


def _plans(rules: list[Rule], messages: list[Message]) -> list[tuple[Message, Plan]]:
    if any(rule.needs_body for rule in rules if rule.active):
        from messages_app.services.message_body import message_bodies_fetch

        # One connection and one FETCH per 50 for the batch, rather than one per message.
        message_bodies_fetch(message_ids=[m.pk for m in messages])
    return [(message, rules_logic.plan(rules, facts_for(message))) for message in messages]


def rules_arrival_step(message_ids: list[int]) -> None:
    """The arrival step: the account's rules on its genuinely new Inbox messages, once each."""
    # Started before a crash and already moved out of the Inbox by it: the work is done.
    RuleRun.objects.filter(message_id__in=message_ids, state=RuleRun.State.STARTED).exclude(
        message__folder__role=FolderRole.INBOX).update(state=RuleRun.State.DONE)
    _link_crm_after_sieve(message_ids)
    messages = list(Message.objects.filter(pk__in=message_ids, folder__role=FolderRole.INBOX)
                    .exclude(rule_run__state=RuleRun.State.DONE).select_related("folder", "account"))
    by_account: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_account[message.account_id].append(message)
    for account_messages in by_account.values():
        account = account_messages[0].account
        if RuleServerState.objects.filter(account=account, on_server=True).exists():
            continue  # Sieve on the server filed them already
        rules = account_rules(account)
        if not rules:
            continue
        items = [(m, p) for m, p in _plans(rules, account_messages) if not p.empty]
        if not items:
            continue
        # Links first (database only, idempotent): a crash after the server work cannot lose them.
        _link_crm([(m, p) for m, p in items if p.link_crm])
        started = set(RuleRun.objects.filter(message__in=[m for m, _ in items]).values_list("message_id", flat=True))
        RuleRun.objects.bulk_create([RuleRun(message=m, matched=p.matched) for m, p in items], ignore_conflicts=True)
        with imap_session(account) as conn:
            runner = _Runner(account, conn)
            fresh = [(m, p) for m, p in items if m.pk not in started]
            rerun = [(m, p) for m, p in items if m.pk in started]
            folder = account_messages[0].folder
            runner.run(folder, fresh, check_copies=False)
            runner.run(folder, rerun, check_copies=True)
        _mark_done([m for m, _ in items])


def _mark_done(messages: list[Message]) -> None:
    RuleRun.objects.filter(message__in=messages).update(state=RuleRun.State.DONE)


_NOT_FILED_BY_SIEVE = (FolderRole.SENT, FolderRole.DRAFTS, FolderRole.TRASH, FolderRole.SPAM)


def _link_crm_after_sieve(message_ids: list[int]) -> None:
    """Rules on the server file mail while the CRM is away, but a Sieve script cannot link to CRM
    records: for accounts whose rules are on the server, the CRM still does the "link to the
    sender's CRM record" of the rules that match, wherever the server filed the new message."""
    account_ids = set(Message.objects.filter(pk__in=message_ids).values_list("account_id", flat=True))
    on_server = set(RuleServerState.objects.filter(account_id__in=account_ids - {None}, on_server=True)
                    .values_list("account_id", flat=True))
    if not on_server:
        return
    by_account: dict[int, list[Message]] = defaultdict(list)
    for message in (Message.objects.filter(pk__in=message_ids, account_id__in=on_server, folder__isnull=False)
                    .exclude(folder__role__in=_NOT_FILED_BY_SIEVE).select_related("folder", "account")):
        by_account[message.account_id].append(message)
    for account_messages in by_account.values():
        rules = account_rules(account_messages[0].account)
        if any(action.kind == "link_crm" for rule in rules if rule.active for action in rule.actions):
            _link_crm([(m, p) for m, p in _plans(rules, account_messages) if p.link_crm])


def _link_crm(items: list[tuple[Message, rules_logic.Plan]]) -> None:
    """The "link to the sender's CRM record" action (services/crm_links.py, reason "rule")."""
    if items:
        from messages_app.services.crm_links import links_by_rule

        links_by_rule(rule_of={message.pk: plan.link_rule for message, plan in items})


# --- apply now ----------------------------------------------------------------------------------

def rule_job_start(*, account: MailAccount) -> RuleJob:
    inbox = Folder.objects.filter(account=account, role=FolderRole.INBOX).first()
    total = Message.objects.filter(folder=inbox).count() if inbox else 0
    return RuleJob.objects.create(account=account, total=total)


def rule_job_run(*, job_id: int) -> RuleJob:
    """Run the account's rules over its whole Inbox, recording progress as it goes."""
    job = RuleJob.objects.select_related("account").get(pk=job_id)
    if job.state in (RuleJob.State.DONE, RuleJob.State.FAILED):
        return job
    RuleJob.objects.filter(pk=job.pk).update(state=RuleJob.State.RUNNING)
    account = job.account
    inbox = Folder.objects.filter(account=account, role=FolderRole.INBOX).first()
    rules = account_rules(account)
    done = matched = 0
    try:
        if inbox is not None and rules:
            ids = list(Message.objects.filter(folder=inbox).order_by("id").values_list("id", flat=True))
            RuleJob.objects.filter(pk=job.pk).update(total=len(ids))
            with imap_session(account) as conn:
                runner = _Runner(account, conn)
                for start in range(0, len(ids), JOB_BATCH):
                    batch = list(Message.objects.filter(pk__in=ids[start:start + JOB_BATCH], folder=inbox)
                                 .select_related("folder", "account"))
                    items = _plans(rules, batch)
                    _link_crm([(m, p) for m, p in items if p.link_crm])
                    runner.run(inbox, items, check_copies=True)
                    done += len(ids[start:start + JOB_BATCH])
                    matched += sum(1 for _m, p in items if not p.empty)
                    RuleJob.objects.filter(pk=job.pk).update(done=done, matched=matched, moved=dict(runner.moved))
                moved = dict(runner.moved)
        else:
            moved = {}
    except MailError as exc:
        RuleJob.objects.filter(pk=job.pk).update(state=RuleJob.State.FAILED, error=exc.user_message(),
                                                 finished_at=timezone.now())
        return RuleJob.objects.get(pk=job.pk)
    RuleJob.objects.filter(pk=job.pk).update(state=RuleJob.State.DONE, done=done, matched=matched, moved=moved,
                                             finished_at=timezone.now())
    return RuleJob.objects.get(pk=job.pk)
