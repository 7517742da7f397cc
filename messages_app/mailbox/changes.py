"""A cheap answer to "has anything in this user's mail changed?", for the open list's poll.

The sync moves each folder's cursor (last UID, HIGHESTMODSEQ, message and unseen counts) in the
same transaction as the rows it stored, so a digest of the user's folder rows changes exactly
when new mail, a removal, or (on CONDSTORE servers) a flag change from another client was stored.
One small query per tick, whatever the number of messages; no per-row work when nothing changed.
"""

import hashlib

from messages_app.selectors import visible_folders

_FIELDS = ("pk", "uidvalidity", "last_seen_uid", "highest_modseq", "server_messages", "server_unseen")


def change_token(user, folders=None) -> str:
    """`folders`: the user's folder rows, when the request has read them already (the same
    digest as the query's)."""
    if folders is None:
        rows = visible_folders(user).order_by("pk").values_list(*_FIELDS)
    else:
        rows = [tuple(getattr(f, name) for name in _FIELDS) for f in sorted(folders, key=lambda f: f.pk)]
    digest = hashlib.blake2s(repr(list(rows)).encode(), digest_size=8)
    return digest.hexdigest()
