"""The user's own mail accounts, and the ones they may send from."""

from django.shortcuts import get_object_or_404

from messages_app.models import MailAccount
from messages_app.selectors.visibility import account_rule


def own_accounts(user):
    return MailAccount.objects.filter(account_rule(user)).order_by("-is_primary", "email", "id")


def own_account_ids(user) -> set[int]:
    """Ids of the user's own accounts (to tell them from shared senders in a list of both)."""
    return set(MailAccount.objects.filter(account_rule(user)).values_list("pk", flat=True))


def own_account_or_404(user, pk) -> MailAccount:
    """The user's own account or 404: another user's account does not exist for them."""
    return get_object_or_404(MailAccount.objects.filter(account_rule(user)), pk=pk)


def sender_accounts_for(user):
    """Accounts the user may send from: their own plus every shared sender (never readable)."""
    own = MailAccount.objects.filter(account_rule(user))
    shared = MailAccount.objects.filter(is_shared_sender=True).exclude(account_rule(user))
    return list(own) + list(shared)


# The names the views have always imported.
mail_accounts_of = own_accounts
mail_account_get = own_account_or_404
