"""The IDLE listener's cheap pass: store only the mail that an `* n EXISTS` announced.

A full Inbox pass (sync/account.py) lists the folders, reconciles them, resyncs flags and counts
rows: a dozen round trips to the server and two dozen queries, for one new message. When IDLE
reported nothing but EXISTS, the listener instead fetches `UID FETCH <uidnext>:*` of the usual
items itself (outside any database slot) and hands them here, where one short transaction under
the account's sync lock stores them and moves the cursor, exactly as a batch of the full pass
would (store.store_new_messages: re-homing, threads, an arrival marker per genuinely new message).

It applies only when the database's Inbox is where the listener last saw it: same UIDVALIDITY,
same UIDNEXT, first sync done, the account not stopped. Otherwise (another pass ran, a rebuild,
an error to clear) it stores nothing and says so, and the listener runs the full Inbox pass.
Flags and expunges are left to the full passes: HIGHESTMODSEQ is not moved, so the next periodic
pass still visits the folder and applies every flag change since the last full one.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F

from messages_app.gateways.imap import FetchedMeta
from messages_app.models import Folder
from messages_app.sync import store
from messages_app.sync.lock import account_lock
from messages_app.sync.schedule import sync_pass_succeeded


@dataclass
class NewMailResult:
    uidnext: int
    server_messages: int
    stored: int = 0
    arrival_ids: list[int] = field(default_factory=list)


def new_mail_store(account_id: int, folder_name: str, *, uidvalidity: int, uidnext: int,
                   fetched: list[FetchedMeta]) -> NewMailResult | None:
    """Store `fetched`, the messages at or above `uidnext` of the Inbox as the listener saw it
    (`uidvalidity`, `uidnext` from its SELECT). None when the stored Inbox is not at that point:
    then nothing was written and a full pass must run. Raises SyncBusy while another pass holds
    the account's lock."""
    new = sorted((meta for meta in fetched if meta.uid >= uidnext), key=lambda meta: meta.uid)
    with account_lock(account_id):
        folder = Folder.objects.select_related("account").filter(account_id=account_id, name=folder_name).first()
        if (folder is None or folder.account.auth_failed or folder.account.sync_stopped_for
                or folder.uidvalidity != uidvalidity or folder.uidnext != uidnext
                or folder.backfill_below_uid is None or folder.arrival_floor_uid is None):
            return None
        if not new:
            return NewMailResult(uidnext=folder.uidnext, server_messages=folder.server_messages)
        top = new[-1].uid
        unseen = sum(1 for meta in new if "\\seen" not in {flag.lower() for flag in meta.flags})
        with transaction.atomic():
            outcome = store.store_new_messages(folder, new)
            # The cursor as a SELECT after these messages would give it: every UID below
            # `top + 1` is stored, and the folder holds `len(new)` more (no EXPUNGE was seen).
            Folder.objects.filter(pk=folder.pk).update(
                last_seen_uid=max(folder.last_seen_uid, top), uidnext=top + 1,
                server_messages=F("server_messages") + len(new), server_unseen=F("server_unseen") + unseen)
        sync_pass_succeeded(account_id, full=False)
    return NewMailResult(uidnext=top + 1, server_messages=folder.server_messages + len(new),
                         stored=outcome.stored, arrival_ids=outcome.arrival_ids)
