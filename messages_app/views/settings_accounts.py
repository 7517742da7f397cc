"""Impostazioni > Account: list, add, edit, test, make primary, delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from messages_app.enums import Preset
from messages_app.exceptions import MailError, RateLimited
from messages_app.forms import COMPANY_PREFIX, MailAccountForm
from messages_app.models import CompanyServer, MailAccount
from messages_app.oauth.providers import LABELS, configured_providers, providers_for_kind
from messages_app.presets import PRESETS
from messages_app.selectors import mail_account_get, mail_accounts_of
from messages_app.services.accounts import (
    apply_server_defaults,
    mail_account_delete,
    mail_account_make_primary,
    mail_account_save,
)
from messages_app.services.connection_test import connection_report_store, connection_test_run
from messages_app.tasks import sync_account_after_commit
from messages_app.views import pending_secrets


@login_required
def account_list(request):
    return render(request, "messages_app/settings/account_list.html", {
        "accounts": mail_accounts_of(request.user),
    })


def _servers(source) -> dict:
    return {"imap_host": source.imap_host, "imap_port": source.imap_port, "imap_security": source.imap_security,
            "smtp_host": source.smtp_host, "smtp_port": source.smtp_port, "smtp_security": source.smtp_security}


def _preset_data() -> dict:
    """Server defaults per preset and company server, for the form's script: it fills the server
    fields (read-only, the save applies them anyway) as the user picks."""
    data = {key: {**_servers(p), "notice": str(p.notice)} for key, p in PRESETS.items()}
    data.update({f"{COMPANY_PREFIX}{server.pk}": {**_servers(server), "notice": ""}
                 for server in CompanyServer.objects.filter(is_active=True)})
    return data


# The form data, the typed passwords and the stashed ones stay off DEBUG error pages.
@sensitive_variables("data", "password", "smtp_password", "pending", "form")
def _edit(request, account: MailAccount):
    form = MailAccountForm(request.POST or None, instance=account, user=request.user)
    report = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = form.save(commit=False)
        is_custom = account.preset == Preset.CUSTOM and account.company_server is None
        if not is_custom:
            apply_server_defaults(account, include_smtp=not data.get("smtp_custom"))
        password = data.get("password") or None
        smtp_password = data.get("smtp_password") or None
        try:
            pending = pending_secrets.take(request, data.get("pending_token", ""))
        except pending_secrets.PendingSecretsLost:
            pending = None
            if password is None:
                form.add_error("password", _("The password from the failed connection test is no longer kept "
                                             "(it expires after a few minutes): type it again."))
                return _form_page(request, form, account, report)
        if pending and password is None:
            password, smtp_password = pending[0] or None, pending[1] or None
        # Test with the new secrets before anything is stored.
        if password is not None:
            account.set_password(password)
        if smtp_password is not None:
            account.set_smtp_password(smtp_password)
        try:
            report = connection_test_run(account=account)
        except RateLimited as exc:
            form.add_error(None, exc.user_message())
        except MailError as exc:
            form.add_error(None, exc.user_message())
        else:
            connection_report_store(account=account, report=report)
            if report.ok or data.get("confirm_failed_test"):
                try:
                    mail_account_save(account=account, actor=request.user,
                                      password=password, smtp_password=smtp_password)
                except PermissionDenied:
                    return HttpResponseForbidden(_("Only administrators may mark an account as shared sender."))
                pending_secrets.clear(request)
                sync_account_after_commit(account.pk)
                messages.success(request, _("Account saved."))
                return redirect("messages_app:account_list")
            token = pending_secrets.stash(request, password=password or "", smtp_password=smtp_password or "")
            form.data = form.data.copy()
            form.data["pending_token"] = token
            form.add_error(None, _("The connection test failed. Correct the settings, or tick "
                                   "“Save even though the connection test failed” to save anyway."))
    return _form_page(request, form, account, report)


def form_context() -> dict:
    """What the account form's script needs: the presets' servers, and which Connect buttons
    (configured OAuth2 providers) each account type offers."""
    kinds = [*Preset.values, *(f"{COMPANY_PREFIX}{pk}" for pk in
                               CompanyServer.objects.filter(is_active=True).values_list("pk", flat=True))]
    return {
        "preset_data": _preset_data(),
        "oauth_kinds": {kind: providers_for_kind(kind) for kind in kinds},
        "oauth_buttons": [{"name": name, "label": LABELS[name]} for name in configured_providers()],
    }


def _form_page(request, form, account: MailAccount, report):
    return render(request, "messages_app/settings/account_form.html", {
        "form": form, "account": account, "report": report, **form_context(),
    })


@sensitive_post_parameters("password", "smtp_password")
@login_required
@require_http_methods(["GET", "POST"])
def account_create(request):
    return _edit(request, MailAccount(owner=request.user))


@sensitive_post_parameters("password", "smtp_password")
@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request, pk: int):
    return _edit(request, mail_account_get(request.user, pk))


@login_required
@require_POST
def account_test(request, pk: int):
    account = mail_account_get(request.user, pk)
    try:
        report = connection_test_run(account=account)
    except MailError as exc:
        messages.error(request, exc.user_message())
    else:
        connection_report_store(account=account, report=report)
        (messages.success if report.ok else messages.error)(request, report.summary)
    return redirect("messages_app:account_list")


@login_required
@require_POST
def account_make_primary(request, pk: int):
    mail_account_make_primary(account=mail_account_get(request.user, pk))
    return redirect("messages_app:account_list")


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request, pk: int):
    account = mail_account_get(request.user, pk)
    if request.method == "POST":
        mail_account_delete(account=account)
        messages.success(request, _("Account deleted."))
        return redirect("messages_app:account_list")
    return render(request, "messages_app/settings/account_confirm_delete.html", {"account": account})
