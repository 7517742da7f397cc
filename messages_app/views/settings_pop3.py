"""Impostazioni > POP3: the POP3 boxes of an account, downloaded into one of its IMAP folders.
Only the account's owner; anyone else gets 404."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from messages_app.exceptions import MailError
from messages_app.models import Folder, Pop3Box
from messages_app.selectors import own_account_or_404
from messages_app.selectors.accounts import own_accounts
from messages_app.services.pop3 import pop3_box_delete, pop3_box_save, pop3_fetch
from messages_app.views.account_pages import first_account_redirect, posted_id


class Pop3BoxForm(forms.ModelForm):
    password = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput(render_value=False))

    class Meta:
        model = Pop3Box
        fields = ["host", "port", "security", "username", "folder", "delete_after_download", "is_active"]


@login_required
@require_GET
def pop3_index(request):
    return first_account_redirect(request, "messages_app:account_pop3")


@login_required
@require_http_methods(["GET", "POST"])
def account_pop3(request, pk: int):
    account = own_account_or_404(request.user, pk)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    form = Pop3BoxForm(request.POST if action == "add" else None, initial={"folder": "INBOX", "port": 995})
    if action == "add" and form.is_valid():
        box = form.save(commit=False)
        box.account = account
        try:
            pop3_box_save(box=box, password=form.cleaned_data["password"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("POP3 box added."))
            return redirect("messages_app:account_pop3", pk=account.pk)
    elif action == "delete":
        pop3_box_delete(box_id=posted_id(request.POST.get("box")), account_ids=[account.pk])
        messages.success(request, _("POP3 box deleted."))
        return redirect("messages_app:account_pop3", pk=account.pk)
    elif action == "fetch":
        box = Pop3Box.objects.filter(account=account, pk=posted_id(request.POST.get("box"))).first()
        if box is not None:
            try:
                result = pop3_fetch(box=box)
            except MailError as exc:
                messages.error(request, exc.user_message())
            else:
                messages.success(request, _("%(count)s new messages downloaded.") % {"count": result.downloaded})
        return redirect("messages_app:account_pop3", pk=account.pk)
    return render(request, "messages_app/settings/pop3.html", {
        "account": account, "accounts": own_accounts(request.user), "form": form,
        "boxes": Pop3Box.objects.filter(account=account),
        "folders": Folder.objects.filter(account=account, is_selectable=True).order_by("name"),
    })
