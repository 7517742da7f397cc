"""Counts and per-folder state (the folder tree, mail_status, sync health), through the rule."""

from django.db.models import Count, Min, Q

from messages_app.models import Folder, MailboxCounts, Message
from messages_app.selectors.accounts import own_accounts
from messages_app.selectors.folders import visible_folders
from messages_app.selectors.messages import local_messages, shared_messages
from messages_app.selectors.visibility import message_rule_on_columns


def unique_flagged(user):
    """Flagged mail the user sees, one row per message even when it sits in several folders."""
    account_ids = own_accounts(user).values_list("pk", flat=True)
    first_ids = (Message.objects.filter(message_rule_on_columns(user, account_ids), is_flagged=True)
                 .values("dedup_key").annotate(first=Min("id")).values("first"))
    return Message.objects.filter(id__in=first_ids)


def mailbox_counts(user) -> MailboxCounts:
    """The user's Importata and Contrassegnata counters (kept by the database, see
    models/counts.py); zero until the user has such mail."""
    return MailboxCounts.objects.filter(owner=user).first() or MailboxCounts()


def folder_status_rows(*, account_id: int | None = None, user=None) -> list[dict]:
    folders = Folder.objects.select_related("account").order_by("account_id", "name")
    if account_id is not None:
        folders = folders.filter(account_id=account_id)
    if user is not None:
        folders = folders & visible_folders(user)
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
    imported = local_messages(user)
    shared = shared_messages(user)
    counts = {
        "Shared": (shared.count(), shared.filter(is_seen=False).count()),
        "Imported": (imported.count(), imported.filter(is_seen=False).count()),
        "Flagged": (flagged.count(), flagged.filter(is_seen=False).count()),
        "Scheduled": (0, 0),
    }
    return [{"account": None, "folder": name, "role": None, "uidvalidity": None, "messages": messages,
             "unread": unread, "last_synced": None, "error": ""} for name, (messages, unread) in counts.items()]
