"""The folder column's counters against a count of the rows, the way the lists read them."""

from messages_app.models import Folder, MailboxCounts, Message
from messages_app.selectors import local_messages, unique_flagged


def counted(user) -> dict:
    """What COUNT(*) over the message rows says, per folder of the user's and for Importata and
    Contrassegnata (the definitions the folder column used before it had counters)."""
    folders = {}
    for folder in Folder.objects.filter(account__owner=user).order_by("pk"):
        mail = Message.objects.filter(folder=folder, x_ricevuta="")
        folders[folder.pk] = (mail.count(), mail.filter(is_seen=False).count(), mail.filter(is_flagged=True).count())
    flagged = unique_flagged(user)
    local = local_messages(user)
    return {"folders": folders,
            "local": (local.count(), local.filter(is_seen=False).count()),
            "flagged": (flagged.count(), flagged.filter(is_seen=False).count())}


def stored(user) -> dict:
    """What the counters say."""
    folders = {pk: (messages, unread, flagged) for pk, messages, unread, flagged in
               Folder.objects.filter(account__owner=user).order_by("pk")
               .values_list("pk", "message_count", "unread_count", "flagged_count")}
    row = MailboxCounts.objects.filter(owner=user).first() or MailboxCounts()
    return {"folders": folders,
            "local": (row.local_messages, row.local_unread),
            "flagged": (row.flagged_messages, row.flagged_unread)}


def assert_counters_right(*users) -> None:
    for user in users:
        assert stored(user) == counted(user), user
