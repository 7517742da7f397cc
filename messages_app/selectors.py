"""Reads, always scoped to the user asking."""

from django.shortcuts import get_object_or_404

from messages_app.models import Folder, MailAccount


def mail_accounts_of(user):
    return MailAccount.objects.filter(owner=user).order_by("-is_primary", "email", "id")


def mail_account_get(user, pk) -> MailAccount:
    """The user's own account or 404: another user's account does not exist for them."""
    return get_object_or_404(MailAccount, pk=pk, owner=user)


def folders_of(user):
    return Folder.objects.filter(account__owner=user).select_related("account").order_by("account_id", "name")


def sender_accounts_for(user):
    """Accounts the user may send from: their own plus every shared sender (never readable)."""
    own = MailAccount.objects.filter(owner=user)
    shared = MailAccount.objects.filter(is_shared_sender=True).exclude(owner=user)
    return list(own) + list(shared)


def unique_flagged(user):
    """Flagged mail of every account, one row per message even when it sits in several folders."""
    from django.db.models import Min

    from messages_app.models import Message

    first_ids = (Message.objects.filter(account__owner=user, is_flagged=True)
                 .values("dedup_key").annotate(first=Min("id")).values("first"))
    return Message.objects.filter(id__in=first_ids)


def folder_status_rows(*, account_id: int | None = None, owner=None) -> list[dict]:
    from django.db.models import Count, Q

    folders = Folder.objects.select_related("account").order_by("account_id", "name")
    if account_id is not None:
        folders = folders.filter(account_id=account_id)
    if owner is not None:
        folders = folders.filter(account__owner=owner)
    folders = folders.annotate(local_messages=Count("messages"),
                               local_unread=Count("messages", filter=Q(messages__is_seen=False)))
    return [{
        "folder_id": f.pk, "account": f.account_id, "folder": f.name, "role": f.role or None,
        "uidvalidity": f.uidvalidity,
        "messages": f.local_messages, "unread": f.local_unread,
        "server_messages": f.server_messages,
        "last_synced": f.last_synced.isoformat() if f.last_synced else None,
        "error": f.last_error or f.account.sync_error or "",
    } for f in folders]


def special_folder_rows(user) -> list[dict]:
    flagged = unique_flagged(user)
    counts = {
        "Shared": (0, 0),
        "Imported": (0, 0),
        "Flagged": (flagged.count(), flagged.filter(is_seen=False).count()),
        "Scheduled": (0, 0),
    }
    return [{"account": None, "folder": name, "role": None, "uidvalidity": None, "messages": messages,
             "unread": unread, "last_synced": None, "error": ""} for name, (messages, unread) in counts.items()]
