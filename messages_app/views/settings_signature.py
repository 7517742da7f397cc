"""Impostazioni > Account > Firma: the account's signature (none, personalised, company), with a
preview in a sandboxed frame. Only the account's owner; anyone else gets 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from messages_app.models import SignatureChoice
from messages_app.selectors import own_account_or_404
from messages_app.services.signatures import (
    account_signature_of,
    account_signature_update,
    signature_html_for_choice,
    signature_render,
)
from messages_app.signatures import clean_signature_html
from messages_app.signatures.sanitize import MAX_SIGNATURE_CHARS

# The frame's own policy: no script at all, styles of the signature itself, images inline or https.
PREVIEW_CSP = "; ".join([
    "default-src 'none'",
    "img-src data: https:",
    "style-src 'unsafe-inline'",
    "font-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
    "sandbox allow-popups allow-popups-to-escape-sandbox",
])


def _draft_key(account_pk: int) -> str:
    return f"signature_draft:{account_pk}"


class SignatureForm(forms.Form):
    choice = forms.ChoiceField(label=gettext_lazy("Signature"), choices=SignatureChoice.choices,
                               widget=forms.RadioSelect)
    personal_html = forms.CharField(
        label=gettext_lazy("Personalised signature (HTML)"), required=False, max_length=MAX_SIGNATURE_CHARS,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text=gettext_lazy("Text, links and images (https or embedded). Scripts and forms are removed when "
                               "you save. Placeholders such as $Users||first_name$ are filled for the sender."))


def signature_preview_response(request, html: str):
    """A signature as its own document for a sandboxed frame (settings page and admin preview)."""
    response = render(request, "messages_app/body.html", {
        "html": html or format_html('<p style="color:#777">{}</p>', _("No signature"))})
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_signature(request, pk: int):
    account = own_account_or_404(request.user, pk)
    current = account_signature_of(account)
    form = SignatureForm(request.POST or None,
                         initial={"choice": current.choice, "personal_html": current.personal_html})
    preview_url = reverse("messages_app:account_signature_preview", args=[account.pk])
    if request.method == "POST" and form.is_valid():
        choice, personal_html = form.cleaned_data["choice"], form.cleaned_data["personal_html"]
        if request.POST.get("action") == "preview":
            # Not saved yet: the frame shows this draft, kept in the session for its one request.
            request.session[_draft_key(account.pk)] = {"choice": choice, "personal_html": personal_html}
            preview_url += "?draft=1"
        else:
            account_signature_update(account=account, choice=choice, personal_html=personal_html)
            request.session.pop(_draft_key(account.pk), None)
            messages.success(request, _("Signature saved."))
            return redirect("messages_app:account_signature", pk=account.pk)
    return render(request, "messages_app/settings/signature.html", {
        "account": account, "form": form, "preview_url": preview_url, "is_draft": preview_url.endswith("?draft=1"),
    })


@never_cache
@login_required
@require_GET
def account_signature_preview(request, pk: int):
    account = own_account_or_404(request.user, pk)
    draft = request.session.get(_draft_key(account.pk)) if request.GET.get("draft") else None
    if draft:
        template_html = signature_html_for_choice(choice=draft["choice"],
                                                  personal_html=clean_signature_html(draft["personal_html"]))
    else:
        current = account_signature_of(account)
        template_html = signature_html_for_choice(choice=current.choice, personal_html=current.personal_html)
    html, _text = signature_render(template_html=template_html, user=request.user)
    return signature_preview_response(request, html)
