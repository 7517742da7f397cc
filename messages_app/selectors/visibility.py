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


def folder_rule(user, path: str = "") -> Q:
    """Folders of the user's own accounts (Importata and Shared are special folders, not rows)."""
    return Q(**{f"{path}account__owner": user})


def local_rule(user, path: str = "") -> Q:
    """The user's own local messages: mail that lives only here."""
    return Q(**{f"{path}account__isnull": True, f"{path}local_owner": user})


def message_rule(user, path: str = "") -> Q:
    """The rule, for a message reached through `path` ("" for Message, "message__" for Attachment)."""
    in_own_folder = folder_rule(user, f"{path}folder__")  # null folder (detached): never matches
    return in_own_folder | local_rule(user, path)  # | shared with the user: joins here


def thread_rule(user) -> Q:
    """Conversations are kept per user (the sync files an account's mail under its owner's
    threads); which of a conversation's messages show is still message_rule."""
    return Q(owner=user)  # | shared with the user: joins here
