"""Impostazioni > Filtri: an account's rules in order, a form to add one, "apply now" with a
progress bar. Only the account's owner; anyone else gets 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from messages_app import rules as rules_logic
from messages_app.exceptions import MailError
from messages_app.models import Folder, MailRule, RuleJob, RuleServerState
from messages_app.rules import RuleError
from messages_app.selectors import own_account_or_404
from messages_app.selectors.accounts import own_accounts
from messages_app.services.rules import rule_delete, rule_job_start, rule_move, rule_problems, rule_save
from messages_app.services.sieve import ForeignScript, sieve_install, sieve_refresh, sieve_remove
from messages_app.views.account_pages import first_account_redirect, posted_id

ROWS = 3
FIELD_LABELS = {
    "from": gettext_lazy("From"), "to": gettext_lazy("To"), "cc": gettext_lazy("Cc"),
    "to_or_cc": gettext_lazy("To or Cc"), "subject": gettext_lazy("Subject"), "body": gettext_lazy("Body"),
    "header": gettext_lazy("Header named…"), "has_attachment": gettext_lazy("Has attachment"),
    "size": gettext_lazy("Size (KB)"),
}
OP_LABELS = {
    "contains": gettext_lazy("contains"), "not_contains": gettext_lazy("does not contain"),
    "is": gettext_lazy("is"), "starts_with": gettext_lazy("starts with"), "ends_with": gettext_lazy("ends with"),
    "regex": gettext_lazy("matches the regular expression"), "greater_than": gettext_lazy("is larger than"),
    "less_than": gettext_lazy("is smaller than"), "is_true": gettext_lazy("yes"), "is_false": gettext_lazy("no"),
}
ACTION_LABELS = {
    "move": gettext_lazy("Move to folder"), "copy": gettext_lazy("Copy to folder"),
    "mark_read": gettext_lazy("Mark as read"), "flag": gettext_lazy("Flag"), "keyword": gettext_lazy("Add keyword"),
    "delete": gettext_lazy("Delete (to Trash)"), "link_crm": gettext_lazy("Link to the sender's CRM record"),
    "stop": gettext_lazy("Stop processing further rules"),
}


def dispatch_job(job_id: int) -> None:
    from messages_app.tasks import rule_job_task

    rule_job_task.delay(job_id)


def _describe(row: MailRule) -> dict:
    conditions = [f"{FIELD_LABELS.get(c.get('field'), c.get('field'))}"
                  f"{' ' + c['header'] if c.get('field') == 'header' else ''} "
                  f"{OP_LABELS.get(c.get('op'), c.get('op'))}"
                  f"{' «' + c['value'] + '»' if c.get('value') and c.get('field') != 'has_attachment' else ''}"
                  for c in row.conditions]
    actions = [f"{ACTION_LABELS.get(a.get('action'), a.get('action'))}"
               f"{' ' + a['folder'] if a.get('folder') else ''}{' ' + a['keyword'] if a.get('keyword') else ''}"
               for a in row.actions]
    joiner = _(" and ") if row.match == "all" else _(" or ")
    return {"row": row, "conditions": joiner.join(conditions), "actions": ", ".join(actions)}


def _refresh(request, account) -> None:
    """The server's copy of the rules follows every change (when they are installed there)."""
    try:
        sieve_refresh(account=account)
    except MailError as exc:
        messages.error(request, _("The rules on the server were not updated: %(reason)s") %
                       {"reason": exc.user_message()})


def _rule_from_post(post) -> dict:
    conditions = []
    for i in range(ROWS):
        field = post.get(f"cond_field_{i}", "")
        if not field:
            continue
        conditions.append({"field": field, "op": post.get(f"cond_op_{i}", ""),
                           "value": post.get(f"cond_value_{i}", "").strip(),
                           "header": post.get(f"cond_header_{i}", "").strip()})
    actions = []
    for i in range(ROWS):
        kind = post.get(f"act_kind_{i}", "")
        if not kind:
            continue
        actions.append({"action": kind, "folder": post.get(f"act_folder_{i}", ""),
                        "keyword": post.get(f"act_keyword_{i}", "").strip()})
    return {"name": post.get("name", "").strip(), "match": post.get("match", "all"), "active": True,
            "conditions": conditions, "actions": actions}


@login_required
@require_GET
def rules_index(request):
    return first_account_redirect(request, "messages_app:account_rules")


@login_required
@require_http_methods(["GET", "POST"])
def account_rules(request, pk: int):
    account = own_account_or_404(request.user, pk)
    error = ""
    draft: dict = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            draft = _rule_from_post(request.POST)
            try:
                rule_save(account=account, rule=rules_logic.rule_from_dict(draft))
            except RuleError as exc:
                error = str(exc)
            else:
                messages.success(request, _("Rule saved."))
                _refresh(request, account)
                return redirect("messages_app:account_rules", pk=account.pk)
        elif action in ("up", "down"):
            rule_move(account=account, rule_id=posted_id(request.POST.get("rule")),
                      offset=-1 if action == "up" else 1)
            _refresh(request, account)
            return redirect("messages_app:account_rules", pk=account.pk)
        elif action == "delete":
            rule_delete(account=account, rule_id=posted_id(request.POST.get("rule")))
            messages.success(request, _("Rule deleted."))
            _refresh(request, account)
            return redirect("messages_app:account_rules", pk=account.pk)
    problems = rule_problems(account)
    rows = [dict(_describe(row), problems=problems.get(row.pk, []))
            for row in MailRule.objects.filter(account=account)]
    folders = list(Folder.objects.filter(account=account, is_selectable=True).order_by("name"))
    return render(request, "messages_app/settings/rules.html", {
        "account": account, "accounts": own_accounts(request.user), "rules": rows, "error": error,
        "draft": draft, "rows": range(ROWS), "folders": folders,
        "field_choices": list(FIELD_LABELS.items()), "op_choices": list(OP_LABELS.items()),
        "action_choices": list(ACTION_LABELS.items()), "job": RuleJob.objects.filter(account=account).first(),
        "server": RuleServerState.objects.filter(account=account).first(),
        "foreign": request.GET.get("foreign", ""),
    })


@login_required
@require_POST
def account_rules_server(request, pk: int):
    """Install the rules on the server as a Sieve script, or take them back into the CRM."""
    account = own_account_or_404(request.user, pk)
    try:
        if request.POST.get("action") == "remove":
            sieve_remove(account=account)
            messages.success(request, _("The rules run in the CRM again."))
        else:
            port = int(request.POST.get("port") or 4190)
            if not 1 <= port <= 65535:
                raise ValueError
            sieve_install(account=account, rules=True, port=port, replace_foreign=bool(request.POST.get("replace")))
            messages.success(request, _("The rules are installed on the server (Sieve)."))
    except ForeignScript as exc:
        messages.error(request, exc.user_message())
        return redirect(f"{reverse('messages_app:account_rules', args=[account.pk])}?foreign={exc.name}")
    except MailError as exc:
        messages.error(request, exc.user_message())
    except ValueError:
        messages.error(request, _("The ManageSieve port is a number from 1 to 65535."))
    return redirect("messages_app:account_rules", pk=account.pk)


@login_required
@require_POST
def account_rules_apply(request, pk: int):
    account = own_account_or_404(request.user, pk)
    job = rule_job_start(account=account)
    transaction.on_commit(lambda: dispatch_job(job.pk))
    return redirect("messages_app:account_rules", pk=account.pk)


@login_required
@require_GET
def account_rules_progress(request, pk: int, job_id: int):
    account = own_account_or_404(request.user, pk)
    job = RuleJob.objects.filter(account=account, pk=job_id).first()
    if job is None:
        raise Http404
    response = render(request, "messages_app/settings/_rule_job.html", {"account": account, "job": job})
    if job.state in (RuleJob.State.DONE, RuleJob.State.FAILED):
        response.status_code = 286  # tells htmx to stop polling
    return response
