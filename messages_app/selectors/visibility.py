"""The one rule that says which messages, threads, attachments and folders a user may see.

A user sees:
- the messages of their own accounts that sit in a folder (a *detached* row, `folder` null but
  `account` set, is between two places on the server and visible to nobody);
- their own *local* messages (`account` null, `local_owner` the user), shown in Importata;
- later: conversations shared with them, joined in `message_rule` and `thread_rule` below.

Only conditions live here; messages.py and folders.py build the querysets from them. `user` may be
a User or its primary key (the signed inline-image links carry only the pk).
"""

from django.db.models import Q


def account_rule(user, path: str = "") -> Q:
    """The user's own accounts (a shared sender may be sent from, never read: accounts.py)."""
    return Q(**{f"{path}owner": user})


def folder_rule(user, path: str = "") -> Q:
    """Folders of the user's own accounts (Importata and Shared are special folders, not rows)."""
    return account_rule(user, f"{path}account__")


def local_rule(user, path: str = "") -> Q:
    """The user's own local messages: mail that lives only here."""
    return Q(**{f"{path}account__isnull": True, f"{path}local_owner": user})


def message_rule(user, path: str = "") -> Q:
    """The rule, for a message reached through `path` ("" for Message, "message__" for Attachment)."""
    in_own_folder = folder_rule(user, f"{path}folder__")  # null folder (detached): never matches
    return in_own_folder | local_rule(user, path)  # | shared with the user: joins here


def message_rule_on_columns(user, account_ids) -> Q:
    """message_rule written on the message's own columns, for counts over many rows: with the
    user's account ids resolved first, PostgreSQL can combine the account-keyed partial indexes
    (flagged) with the local one instead of joining every candidate row to its folder and account.
    The same set, since a message in a folder always belongs to that folder's account."""
    in_own_folder = Q(account_id__in=list(account_ids), folder__isnull=False)
    return in_own_folder | local_rule(user)  # | shared with the user: joins here too


def thread_rule(user) -> Q:
    """Conversations are kept per user (the sync files an account's mail under its owner's
    threads); which of a conversation's messages show is still message_rule."""
    return Q(owner=user)  # | shared with the user: joins here
