"""Messages, attachments and conversations the user may see (the rule: visibility.py)."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from messages_app.models import Attachment, Message, Thread
from messages_app.selectors.visibility import (
    local_rule,
    message_rule,
    own_message_rule,
    own_thread_rule,
    shared_rule,
    shared_thread_rule,
    thread_rule,
)


def visible_messages(user) -> QuerySet:
    return Message.objects.filter(message_rule(user))


def own_messages(user) -> QuerySet:
    """The user's own mail: what they may change (flags, moves, deletes). Shared mail is read-only."""
    return Message.objects.filter(own_message_rule(user))


def shared_messages(user) -> QuerySet:
    """Condivisa: the messages of conversations colleagues shared with the user."""
    return Message.objects.filter(shared_rule(user))


def visible_message_or_404(user, pk) -> Message:
    """A message the user may read, with its folder and account; 404 for anybody else's."""
    return get_object_or_404(visible_messages(user).select_related("folder", "account"), pk=pk)


def local_messages(user) -> QuerySet:
    """Importata: the user's own local messages (mail shared with them is listed in Shared).
    Served by the partial index on (local_owner, date, id)."""
    return Message.objects.filter(local_rule(user))


def visible_in_folders(user, folder_ids, *, with_local: bool = False) -> QuerySet:
    """The fast shape of the rule for lists: messages in `folder_ids`, which must come from
    `visible_folders(user)` (a scope's ids), with no join, so that keyset pages walk the
    (folder, date, id) index; with_local adds the user's local messages (search everywhere)."""
    condition = Q(folder_id__in=list(folder_ids))
    if with_local:
        condition |= local_rule(user)
    return Message.objects.filter(condition)


def visible_attachments(user) -> QuerySet:
    return Attachment.objects.filter(message_rule(user, "message__"))


def visible_attachment_or_404(user, pk, **filters) -> Attachment:
    return get_object_or_404(visible_attachments(user).select_related("message__folder", "message__account"),
                             pk=pk, **filters)


def visible_threads(user) -> QuerySet:
    return Thread.objects.filter(thread_rule(user))


def visible_thread_parts(user) -> tuple[QuerySet, QuerySet]:
    """visible_threads as two disjoint querysets, the user's own conversations and those shared
    with them, for lists in date order: each part then walks its own index with its own LIMIT,
    where the rule's OR makes PostgreSQL read and sort every conversation of the user."""
    return Thread.objects.filter(own_thread_rule(user)), Thread.objects.filter(shared_thread_rule(user))


def visible_thread_or_404(user, pk) -> Thread:
    return get_object_or_404(visible_threads(user), pk=pk)
