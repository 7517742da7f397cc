"""The one rule that says which messages, threads, attachments and folders a user may see.

A user sees:
- the messages of their own accounts that sit in a folder (a *detached* row, `folder` null but
  `account` set, is between two places on the server and visible to nobody);
- their own *local* messages (`account` null, `local_owner` the user), shown in Importata;
- conversations shared with them (Condivisa, `shared_rule`): every message of the shared thread
  that its sharer sees (in a folder, or local), read-only: writes go through `own_message_rule`.

Only conditions live here; messages.py and folders.py build the querysets from them. `user` may be
a User or its primary key (the signed inline-image links carry only the pk).
"""

from django.db.models import Q

from messages_app.models.share import MessageShare


def account_rule(user, path: str = "") -> Q:
    """The user's own accounts (a shared sender may be sent from, never read: accounts.py)."""
    return Q(**{f"{path}owner": user})


def folder_rule(user, path: str = "") -> Q:
    """Folders of the user's own accounts (Importata and Shared are special folders, not rows)."""
    return account_rule(user, f"{path}account__")


def local_rule(user, path: str = "") -> Q:
    """The user's own local messages: mail that lives only here."""
    return Q(**{f"{path}account__isnull": True, f"{path}local_owner": user})


def own_message_rule(user, path: str = "") -> Q:
    """The user's own mail only (their folders and local messages): what they may change."""
    in_own_folder = folder_rule(user, f"{path}folder__")  # null folder (detached): never matches
    return in_own_folder | local_rule(user, path)


def shared_threads(user):
    """Ids of the conversations shared with the user (a subquery: no join, no duplicate rows)."""
    return MessageShare.objects.filter(recipient=user).values("thread_id")


def shared_rule(user, path: str = "") -> Q:
    """Messages of conversations shared with the user, as their sharer sees them: in a folder or
    local (a thread holds only its owner's mail), never a detached row."""
    placed = Q(**{f"{path}folder__isnull": False}) | Q(**{f"{path}account__isnull": True})
    return Q(**{f"{path}thread_id__in": shared_threads(user)}) & placed


def message_rule(user, path: str = "") -> Q:
    """The rule, for a message reached through `path` ("" for Message, "message__" for Attachment)."""
    return own_message_rule(user, path) | shared_rule(user, path)


def message_rule_on_columns(user, account_ids) -> Q:
    """message_rule written on the message's own columns, for counts over many rows: with the
    user's account ids resolved first, PostgreSQL can combine the account-keyed partial indexes
    (flagged) with the local one instead of joining every candidate row to its folder and account.
    The same set, since a message in a folder always belongs to that folder's account."""
    in_own_folder = Q(account_id__in=list(account_ids), folder__isnull=False)
    # Own mail only: flags are the owner's, so a colleague's flagged mail is not in Contrassegnata.
    return in_own_folder | local_rule(user)


def thread_rule(user) -> Q:
    """Conversations are kept per user (the sync files an account's mail under its owner's
    threads); which of a conversation's messages show is still message_rule."""
    return own_thread_rule(user) | shared_thread_rule(user)


def own_thread_rule(user) -> Q:
    return Q(owner=user)


def shared_thread_rule(user) -> Q:
    """The conversations shared with the user that are not their own (thread_rule without them)."""
    return Q(pk__in=shared_threads(user)) & ~Q(owner=user)
