"""Settling detached rows at the end of a full pass: a message keeps its row, or goes for good.

A row detaches when the server no longer has it where we saw it (store.remove_messages). By the
end of a pass over every folder of the account, one of three things holds for it:
- the same message was stored again elsewhere in this account (a move seen at its destination
  before its source, a COPY + EXPUNGE, our own move without COPYUID): the old row takes the new
  one's place, so body, attachments and whatever refers to it stay; the fresh duplicate goes;
- something refers to it (a CRM link, a share, a receipt: see `register_referrer`): it becomes a
  local message of the account's owner, shown in Importata, with the body and attachments it has;
- otherwise it is deleted.
Only full passes settle (a single-folder pass cannot know where a message went), and only when
every folder synced without error.
"""

from collections.abc import Callable, Iterable

from django.db import transaction
from django.db.models import QuerySet

from messages_app.models import MailAccount, Message
from messages_app.sync.purge import purge_messages
from messages_app.sync.threads import thread_message_removed

_CHUNK = 900
_referrers: list[Callable[[list[int]], Iterable[int]]] = []

_MOVED_FIELDS = ("folder_id", "uid", "modseq", "internal_date", "is_seen", "is_flagged", "is_answered",
                 "is_draft", "keywords")


def register_referrer(referrer: Callable[[list[int]], Iterable[int]]) -> None:
    """A feature whose rows point at messages (CRM links, shares, receipts) registers a function
    returning which of the given message ids it refers to: a set, or better an unevaluated
    `values_list(..., flat=True)` queryset of them, which `referenced` asks together with the
    other referrers' in one query (a round trip per referrer at the end of every pass with
    removals was a fifth of a 1% resync). It should also keep the message's source
    (services.message_source) when it starts referring, so that a local copy has every part."""
    if referrer not in _referrers:
        _referrers.append(referrer)


def unregister_referrer(referrer: Callable[[list[int]], Iterable[int]]) -> None:
    if referrer in _referrers:
        _referrers.remove(referrer)


def referenced(message_ids: list[int]) -> set[int]:
    """Which of these ids some referrer refers to; the referrers' querysets in one UNION query."""
    if not message_ids:
        return set()
    found: set[int] = set()
    queries: list[QuerySet] = []
    for referrer in _referrers:
        answer = referrer(message_ids)
        if isinstance(answer, QuerySet):
            queries.append(answer)
        else:
            found |= set(answer)
    if queries:
        found |= set(queries[0].union(*queries[1:]) if len(queries) > 1 else queries[0])
    return found


def _chunks(items: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def settle_detached(account: MailAccount) -> dict[str, int]:
    """Merge, localise or delete the account's detached rows. Returns the counts of each."""
    counts = {"merged": 0, "localised": 0, "deleted": 0}
    detached, twins = _detached_and_twins(account)
    for chunk in _chunks(detached):
        with transaction.atomic():
            _settle_chunk(account, chunk, twins, counts)
    return counts


def _detached_and_twins(account: MailAccount) -> tuple[list[tuple[int, str, int | None]], dict[str, list[Message]]]:
    """The detached rows (oldest first), and by content key the rows in a folder sharing one of
    their keys (newest first): one query for both. No ORDER BY in SQL: with one, PostgreSQL may
    walk the whole primary key backwards instead of looking the few keys up."""
    keys = Message.objects.filter(account=account, folder__isnull=True).values("dedup_key")
    rows = (Message.objects.filter(account=account, dedup_key__in=keys)
            .only("id", "dedup_key", "thread_id", *_MOVED_FIELDS))
    detached, twins = [], {}
    for row in sorted(rows, key=lambda message: -message.pk):
        if row.folder_id is None:
            detached.append((row.pk, row.dedup_key, row.thread_id))
        else:
            twins.setdefault(row.dedup_key, []).append(row)
    detached.reverse()
    return detached, twins


def _settle_chunk(account: MailAccount, chunk: list[tuple[int, str, int | None]], twins: dict[str, list[Message]],
                  counts: dict[str, int]) -> None:
    """`twins`: shared by the chunks of one settle; a twin a row takes the place of leaves it."""
    ids = [pk for pk, _key, _thread in chunk]
    keys = {key for _pk, key, _thread in chunk}
    twin_ids = [twin.pk for key in keys for twin in twins.get(key, ())]
    protected = referenced(ids + twin_ids)
    doomed: list[int] = []
    localised: list[int] = []
    merges: list[tuple[int, Message]] = []
    touched_threads: set[int] = set()
    for pk, key, thread_id in chunk:
        candidates = [twin for twin in twins.get(key, []) if twin.pk not in protected]
        if candidates:  # the same message is back elsewhere: the old row takes its place
            twin = candidates[0]
            twins[key].remove(twin)
            if twin.thread_id is not None:
                touched_threads.add(twin.thread_id)
            merges.append((pk, twin))
        elif pk in protected:
            localised.append(pk)
        else:
            doomed.append(pk)
            if thread_id is not None:
                touched_threads.add(thread_id)
    # The twins go first: the old rows then take their (folder, UID), which is unique.
    purge_messages([twin.pk for _pk, twin in merges] + doomed)
    for pk, twin in merges:
        Message.objects.filter(pk=pk).update(**{field: getattr(twin, field) for field in _MOVED_FIELDS})
    if localised:
        Message.objects.filter(pk__in=localised).update(account=None, folder=None, uid=None,
                                                        local_owner_id=account.owner_id)
    counts["merged"] += len(merges)
    counts["localised"] += len(localised)
    counts["deleted"] += len(doomed)
    thread_message_removed(touched_threads)


def forget_deleted(folder, uids: list[int]) -> int:
    """The user deleted these for good (on the server, just now): nowhere to look for them, so
    settle at once. Referenced rows become local; the others are deleted. Returns how many went."""
    rows = list(Message.objects.filter(folder=folder, uid__in=uids).values_list("id", flat=True))
    protected = referenced(rows)
    with transaction.atomic():
        Message.objects.filter(pk__in=protected).update(account=None, folder=None, uid=None,
                                                        local_owner_id=folder.account.owner_id)
        gone = [pk for pk in rows if pk not in protected]
        touched_threads = set(Message.objects.filter(pk__in=gone).exclude(thread=None)
                              .values_list("thread_id", flat=True))
        deleted = purge_messages(gone)
        thread_message_removed(touched_threads)
    return deleted
