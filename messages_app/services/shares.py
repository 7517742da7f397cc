"""Condivisa: a conversation shared with colleagues, commented on, revoked.

A share names the sharer's thread and one colleague; what the colleague then sees is decided by the
one visibility rule (selectors/visibility.shared_rule): every message of the thread the sharer sees,
later ones too, read-only. A shared message is kept when the server drops it (identity referrer).
"""

import contextlib

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from messages_app.models import Message, MessageShare, ShareComment, Thread
from messages_app.selectors import own_messages, visible_threads
from messages_app.sync import identity


def share_create(*, user, message: Message, recipients, comment: str = "") -> list[MessageShare]:
    """Share the conversation of one of the user's own messages with these users (not the user)."""
    if not own_messages(user).filter(pk=message.pk).exists() or message.thread_id is None:
        raise Http404
    made = []
    with transaction.atomic():
        for recipient in recipients:
            if recipient.pk == user.pk:
                continue
            share, created = MessageShare.objects.get_or_create(
                thread_id=message.thread_id, recipient=recipient,
                defaults={"sharer": user, "message": message, "comment": comment.strip()})
            if not created and comment.strip():
                share.comment = comment.strip()
                share.save(update_fields=["comment"])
            made.append(share)
        if comment.strip():
            ShareComment.objects.create(thread_id=message.thread_id, author=user, text=comment.strip())
    _keep_sources(message.thread_id)
    return made


def _keep_sources(thread_id: int) -> None:
    from messages_app.exceptions import MailError
    from messages_app.services.message_body import message_sources_keep

    with contextlib.suppress(MailError):  # the server is away: the share stands; the next open keeps the source
        message_sources_keep(message_ids=list(Message.objects.filter(thread_id=thread_id)
                                              .values_list("pk", flat=True)[:500]))


def share_revoke(*, user, thread_id: int, recipient_id: int | None = None) -> int:
    """The sharer takes the conversation back (from one colleague, or from everyone)."""
    shares = MessageShare.objects.filter(thread_id=thread_id, sharer=user)
    if recipient_id is not None:
        shares = shares.filter(recipient_id=recipient_id)
    deleted = shares.delete()[0]
    if not deleted:
        raise Http404
    return deleted


def share_comment_add(*, user, thread_id: int, text: str) -> ShareComment:
    """A comment on a shared conversation, by its sharer or a colleague it is shared with."""
    thread = visible_threads(user).filter(pk=thread_id).first()
    if thread is None or not MessageShare.objects.filter(thread=thread).exists():
        raise Http404
    if thread.owner_id != user.pk and not MessageShare.objects.filter(thread=thread, recipient=user).exists():
        raise Http404
    return ShareComment.objects.create(thread=thread, author=user, text=text.strip()[:5000])


def shares_of_thread(thread: Thread):
    return MessageShare.objects.filter(thread=thread).select_related("sharer", "recipient").order_by("created_at")


def colleagues_of(user):
    return get_user_model().objects.filter(is_active=True).exclude(pk=user.pk).order_by("username")


def shared_message_ids(message_ids: list[int]) -> QuerySet:
    """The referrer of sync/identity.py: a message in a shared conversation is kept. A queryset,
    which identity.referenced asks together with the other referrers'."""
    threads = MessageShare.objects.values("thread_id")
    return Message.objects.filter(pk__in=message_ids, thread_id__in=threads).values_list("pk", flat=True)


identity.register_referrer(shared_message_ids)
