from django.conf import settings
from django.db import models


class MailboxCounts(models.Model):
    """A user's counts that belong to no folder row: Importata (local messages) and Contrassegnata
    (flagged mail, one per message even when it sits in several folders, as
    selectors.unique_flagged lists it). Kept by the same triggers as Folder's counters; a
    missing row means zero.

    No database foreign key: the triggers may touch the row while the user is being deleted
    (Django's cascade deletes rows in its own order), and a leftover row of a deleted user is
    harmless (the recount drops it)."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                 db_constraint=False, related_name="mailbox_counts")
    local_messages = models.IntegerField(default=0)
    local_unread = models.IntegerField(default=0)
    flagged_messages = models.IntegerField(default=0)
    flagged_unread = models.IntegerField(default=0)
