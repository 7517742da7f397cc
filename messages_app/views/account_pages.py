"""Small helpers shared by the per-account settings pages (Filtri, POP3)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from messages_app.selectors import own_accounts


def posted_id(value) -> int:
    """A posted id; anything that is not one matches nothing."""
    return int(value) if value and str(value).isdigit() else 0


def first_account_redirect(request, url_name: str):
    """The page of the user's first account, or the account list with a word when there is none."""
    first = own_accounts(request.user).first()
    if first is None:
        messages.info(request, _("Add a mail account first."))
        return redirect("messages_app:account_list")
    return redirect(url_name, pk=first.pk)
