"""Impostazioni > Fuori ufficio: out-of-office for the accounts the user picks (the same settings
`mail_ooo` sets). Only the user's own accounts can be chosen."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from messages_app.exceptions import MailError
from messages_app.mime.html_text import html_to_text
from messages_app.mime.sanitize import text_to_html
from messages_app.models import OutOfOffice, RuleServerState
from messages_app.selectors.accounts import own_accounts
from messages_app.services.ooo import ooo_off, ooo_set
from messages_app.services.sieve import sieve_install


class OutOfOfficeForm(forms.Form):
    accounts = forms.ModelMultipleChoiceField(label=gettext_lazy("Accounts"), queryset=None,
                                              widget=forms.CheckboxSelectMultiple)
    start = forms.DateTimeField(label=gettext_lazy("From"),
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    end = forms.DateTimeField(label=gettext_lazy("Until (optional)"), required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    whole_days = forms.BooleanField(label=gettext_lazy("Whole days (from the start of the first day to the end "
                                                       "of the last)"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=500)
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 6}))
    internal_body = forms.CharField(label=gettext_lazy("Message for colleagues (same domain, optional)"),
                                    required=False, widget=forms.Textarea(attrs={"rows": 3}))
    known_only = forms.BooleanField(label=gettext_lazy("Reply only to senders known in the CRM"), required=False)
    days = forms.IntegerField(label=gettext_lazy("At most one reply per sender every (days)"), min_value=1,
                              max_value=90, initial=5)
    on_server = forms.BooleanField(
        label=gettext_lazy("Let the mail server answer (Sieve vacation), also while the CRM is down"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = own_accounts(user)

    def clean(self):
        data = super().clean()
        if data.get("whole_days") and data.get("start"):
            start = timezone.localtime(data["start"])
            data["start"] = start.replace(hour=0, minute=0, second=0, microsecond=0)
            if data.get("end"):
                end = timezone.localtime(data["end"]).replace(hour=0, minute=0, second=0, microsecond=0)
                data["end"] = timezone.make_aware(end.replace(tzinfo=None) + timedelta(days=1))
        return data


def _server_side(request, accounts, wanted: bool) -> None:
    for account in accounts:
        state = RuleServerState.objects.filter(account=account).first()
        if not wanted and not (state and state.vacation_on_server):
            continue
        try:
            sieve_install(account=account, vacation=wanted)
        except MailError as exc:
            messages.error(request, _("%(email)s: the server cannot answer for you: %(reason)s") % {
                "email": account.email, "reason": exc.user_message()})


def _html(text: str) -> str:
    return text if text.lstrip().startswith("<") else text_to_html(text)


@login_required
@require_http_methods(["GET", "POST"])
def out_of_office(request):
    accounts = own_accounts(request.user)
    current = {s.account_id: s for s in OutOfOffice.objects.filter(account__in=accounts)}
    on = [s for s in current.values() if s.is_active]
    first = on[0] if on else next(iter(current.values()), None)
    initial = {"accounts": [s.account_id for s in on] or [a.pk for a in accounts[:1]],
               "start": timezone.localtime().replace(second=0, microsecond=0), "days": 5}
    if first is not None:
        initial.update(start=timezone.localtime(first.start), end=first.end and timezone.localtime(first.end),
                       subject=first.subject, body=html_to_text(first.body_html),
                       internal_body=html_to_text(first.internal_body_html) if first.internal_body_html else "",
                       known_only=first.known_only, days=first.days,
                       on_server=RuleServerState.objects.filter(account_id=first.account_id,
                                                                vacation_on_server=True).exists())
    form = OutOfOfficeForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and request.POST.get("action") == "off":
        for account in accounts:
            try:
                ooo_off(account=account)
            except MailError as exc:
                messages.error(request, exc.user_message())
        messages.success(request, _("Out of office is off."))
        return redirect("messages_app:out_of_office")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            for account in data["accounts"]:
                ooo_set(account=account, start=data["start"], end=data["end"], subject=data["subject"],
                        body_html=_html(data["body"]),
                        internal_body_html=_html(data["internal_body"]) if data["internal_body"].strip() else "",
                        known_only=data["known_only"], days=data["days"])
        except ValidationError as exc:
            form.add_error(None, exc)
        except MailError as exc:  # saved, but the server's copy (Sieve vacation) could not follow
            messages.error(request, exc.user_message())
            return redirect("messages_app:out_of_office")
        else:
            _server_side(request, data["accounts"], data["on_server"])
            chosen = {a.pk for a in data["accounts"]}
            for account in accounts:
                if account.pk not in chosen:
                    try:
                        ooo_off(account=account)
                    except MailError as exc:
                        messages.error(request, exc.user_message())
            messages.success(request, _("Out of office is on."))
            return redirect("messages_app:out_of_office")
    now = timezone.now()
    return render(request, "messages_app/settings/out_of_office.html", {
        "form": form, "active": [s for s in on if s.start <= now and (s.end is None or s.end > now)],
        "scheduled": [s for s in on if s.start > now], "soon": now + timedelta(days=1)})
