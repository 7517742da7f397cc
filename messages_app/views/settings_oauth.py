"""Connetti con Google / Connetti con Microsoft: start the authorization-code flow, take the
provider's answer, and create (or reconnect) the account with its tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from messages_app.enums import AuthMethod, Preset
from messages_app.exceptions import MailError
from messages_app.forms import MailAccountForm
from messages_app.gateways.oauth import OAuthError, OAuthStateMismatch
from messages_app.models import MailAccount
from messages_app.oauth.flow import ProviderNotConfigured, flow_finish, flow_start
from messages_app.oauth.providers import LABELS, PROVIDERS, provider_config
from messages_app.oauth.tokens import tokens_store
from messages_app.selectors import mail_account_get
from messages_app.services.accounts import apply_server_defaults, mail_account_save
from messages_app.services.connection_test import connection_report_store, connection_test_run
from messages_app.tasks import sync_account_after_commit

# The account form's fields kept through the round trip to the provider (never a secret).
PENDING_FIELDS = ("kind", "username", "email", "description", "is_primary", "is_shared_sender",
                  "imap_host", "imap_port", "imap_security", "imap_domain", "smtp_custom",
                  "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_auth_required")


def _configured(provider: str) -> None:
    if provider not in PROVIDERS or provider_config(provider) is None:
        raise Http404("provider not configured")


@login_required
@require_POST
def oauth_start(request, provider: str):
    """POSTed by the account form's Connect button (with the form's fields) or by the
    "sign in again" button (with `account`)."""
    _configured(provider)
    account_id = request.POST.get("account")
    if account_id:
        account = mail_account_get(request.user, int(account_id) if account_id.isdigit() else 0)
        pending, hint = {"account": account.pk}, account.username
    else:
        pending = {name: request.POST[name] for name in PENDING_FIELDS if name in request.POST}
        hint = pending.get("username", "")
    try:
        url = flow_start(request, provider=provider, pending=pending, login_hint=hint)
    except OAuthError:
        messages.error(request, _("%(provider)s could not be reached: try again in a moment.")
                       % {"provider": LABELS[provider]})
        return redirect("messages_app:account_list")
    return redirect(url)


@sensitive_variables("tokens")
@login_required
@require_GET
def oauth_callback(request, provider: str):
    _configured(provider)
    label = LABELS[provider]
    try:
        tokens, pending = flow_finish(request, provider=provider)
    except OAuthStateMismatch:
        return render(request, "messages_app/settings/oauth_refused.html", {"provider": label}, status=400)
    except ProviderNotConfigured:
        raise Http404("provider not configured") from None
    except OAuthError as exc:
        if exc.error == "access_denied":
            messages.error(request, _("The sign-in with %(provider)s was cancelled.") % {"provider": label})
        else:
            messages.error(request, _("The sign-in with %(provider)s did not complete (%(reason)s): try again.")
                           % {"provider": label, "reason": exc.error or exc.detail})
        return redirect("messages_app:account_list")
    if pending.get("account"):
        account = mail_account_get(request.user, pending["account"])
        if tokens.email and tokens.email.lower() != account.username.lower():
            messages.error(request, _("You signed in as %(email)s, but this account is %(username)s: sign in "
                                      "with that account.") % {"email": tokens.email, "username": account.username})
            return redirect("messages_app:account_list")
        account.auth_method = AuthMethod.OAUTH2
        tokens_store(account=account, provider=provider, tokens=tokens)
        account.sync_stopped_for = ""
    else:
        account = MailAccount(owner=request.user)
        tokens_store(account=account, provider=provider, tokens=tokens)
        data = {**pending, "auth_method": AuthMethod.OAUTH2}
        if tokens.email:
            data["username"] = tokens.email
            data.setdefault("email", tokens.email)
            if not data.get("email"):
                data["email"] = tokens.email
        form = MailAccountForm(data, instance=account, user=request.user)
        if not form.is_valid():
            return render(request, "messages_app/settings/account_form.html",
                          {"form": form, "account": account, "report": None, **_form_context()})
        account = form.save(commit=False)
        if not (account.preset == Preset.CUSTOM and account.company_server is None):
            apply_server_defaults(account, include_smtp=not form.cleaned_data.get("smtp_custom"))
    mail_account_save(account=account, actor=request.user)
    try:
        report = connection_test_run(account=account, rate_limited=False)
    except MailError as exc:
        messages.error(request, exc.user_message())
    else:
        connection_report_store(account=account, report=report)
        if report.ok:
            messages.success(request, _("Connected with %(provider)s.") % {"provider": label})
        else:
            messages.error(request, report.summary)
    sync_account_after_commit(account.pk)
    return redirect("messages_app:account_list")


def _form_context() -> dict:
    from messages_app.views.settings_accounts import form_context

    return form_context()
