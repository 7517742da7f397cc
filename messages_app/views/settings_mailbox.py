"""Impostazioni > Layout (per-user list options) and Impostazioni > Cartelle (which folder
plays each role)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from messages_app.mailbox.scopes import UNIFIED_ROLES, role_label
from messages_app.models import MailPreferences
from messages_app.selectors import mail_account_get, mail_accounts_of
from messages_app.services.preferences import preferences_of, preferences_update
from messages_app.sync.folders import folder_role_set


class LayoutForm(forms.ModelForm):
    class Meta:
        model = MailPreferences
        fields = MailPreferences.LAYOUT_FIELDS
        help_texts = {
            "show_preview": gettext_lazy("A line of the message text under each subject."),
            "threaded": gettext_lazy("One row per conversation, with the number of its messages."),
            "merge_accounts": gettext_lazy("Inbox, Drafts, Sent, Spam and Trash of every account together; "
                                           "off: each account stands alone."),
            "mark_read_on_open": gettext_lazy("Off: messages stay unread until you mark them."),
        }


@login_required
@require_http_methods(["GET", "POST"])
def layout(request):
    form = LayoutForm(request.POST or None, instance=preferences_of(request.user))
    saved = False
    if request.method == "POST" and form.is_valid():
        preferences_update(user=request.user, **{name: form.cleaned_data[name] for name in LayoutForm.Meta.fields})
        saved = True
        if not request.htmx:
            messages.success(request, _("Layout saved."))
            return redirect("messages_app:settings_layout")
    template = "messages_app/settings/_layout_form.html" if request.htmx else "messages_app/settings/layout.html"
    return render(request, template, {"form": form, "saved": saved})


def _role_rows(account) -> list[dict]:
    folders = [f for f in account.folders.order_by("name") if f.is_selectable]
    current = {f.role: f.pk for f in folders if f.role}
    return [{"role": role, "label": role_label(role), "selected": current.get(role), "folders": folders}
            for role in UNIFIED_ROLES]


@login_required
def folder_roles(request):
    accounts = [{"account": a, "roles": _role_rows(a)} for a in mail_accounts_of(request.user)]
    return render(request, "messages_app/settings/folders.html", {"accounts": accounts})


def _chosen_twice(choices: dict[str, int | None]) -> tuple[int, list[str]] | None:
    by_folder: dict[int, list[str]] = {}
    for role, folder in choices.items():
        if folder is not None:
            by_folder.setdefault(folder, []).append(role)
    return next(((folder, roles) for folder, roles in by_folder.items() if len(roles) > 1), None)


@login_required
@require_POST
def folder_roles_save(request, pk: int):
    account = mail_account_get(request.user, pk)
    folders = {f.pk: f for f in account.folders.all()}
    current = {f.role: f.pk for f in folders.values() if f.role}
    choices = {}
    for role in UNIFIED_ROLES:
        value = request.POST.get(role, "")
        choices[role] = int(value) if value.isdigit() else None
        if choices[role] is not None and choices[role] not in folders:
            raise Http404  # another account's folder, or no folder at all
    twice = _chosen_twice(choices)
    if twice:  # without the page's script, nothing warned before saving: refuse in words
        folder, roles = twice
        messages.error(request, _("%(folder)s was chosen for both %(first)s and %(second)s: a folder plays one "
                                  "role. Nothing was saved.") % {
            "folder": " › ".join(folders[folder].path_parts), "first": role_label(roles[0]),
            "second": role_label(roles[1])})
        return redirect("messages_app:settings_folders")
    for role, chosen in choices.items():
        if chosen != current.get(role):
            folder_role_set(account=account, role=role, folder=folders.get(chosen) if chosen else None)
    messages.success(request, _("Folder roles of %(account)s saved.") % {"account": account.email})
    return redirect("messages_app:settings_folders")
