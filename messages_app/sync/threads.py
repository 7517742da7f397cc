"""Incremental threading: each stored message joins a conversation of its owner.

Message-ID / In-Reply-To / References link messages through ThreadRef rows, which also hold
placeholders for ids referenced but not yet seen, so a reply that arrives before its parent is
joined by the parent later. A message that links two conversations merges them. Only messages
with a reply prefix and no usable references fall back to the normalised subject. No pass ever
re-threads a whole mailbox: a batch costs a few queries whatever the mailbox size.
"""

from collections import defaultdict

from django.db import connection
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from messages_app.models import Message, MessageShare, ShareComment, Thread, ThreadRef
from messages_app.sync.threading import conversation_candidates, normalize_subject, subject_key

_CHUNK = 900  # stays under SQLite's bound-parameter limit


class _Groups:
    """Union-find over existing thread ids (> 0) and threads still to create (< 0)."""

    def __init__(self):
        self.parent: dict[int, int] = {}
        self.next_new = -1

    def new(self) -> int:
        node, self.next_new = self.next_new, self.next_new - 1
        self.parent[node] = node
        return node

    def add(self, node: int) -> int:
        self.parent.setdefault(node, node)
        return node

    def find(self, node: int) -> int:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        keep, drop = _prefer(ra, rb)
        self.parent[drop] = keep
        return keep


def _prefer(a: int, b: int) -> tuple[int, int]:
    """(keep, drop): an existing thread survives a merge, the oldest of two existing ones."""
    if a > 0 and b > 0:
        return min(a, b), max(a, b)
    if b > 0:
        return b, a
    return a, b


def _existing_refs(owner_id: int, ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    id_list = list(ids)
    for start in range(0, len(id_list), _CHUNK):
        found.update(ThreadRef.objects.filter(owner_id=owner_id, message_id__in=id_list[start:start + _CHUNK])
                     .values_list("message_id", "thread_id"))
    return found


def _threads_by_subject(owner_id: int, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), _CHUNK):
        for key, thread_id in (Thread.objects.filter(owner_id=owner_id, subject_key__in=key_list[start:start + _CHUNK])
                               .order_by("last_date").values_list("subject_key", "id")):
            found[key] = thread_id  # ordered by date: the most recent thread wins
    return found


def assign_threads(owner_id: int, rows: list[Message]) -> None:
    """Set `thread_id` on rows about to be inserted, creating and merging threads as needed."""
    if not rows:
        return
    order = sorted(range(len(rows)), key=lambda i: rows[i].date)
    links = [conversation_candidates(r.message_id, r.in_reply_to, r.references.split()) for r in rows]
    all_ids = {i for ids in links for i in ids} | {r.message_id for r in rows if r.message_id}
    refs = _existing_refs(owner_id, all_ids)
    subjects = [normalize_subject(r.subject) for r in rows]
    wanted_keys = {subject_key(base) for i, (base, prefixed) in enumerate(subjects) if prefixed and not links[i]}
    by_subject = _threads_by_subject(owner_id, wanted_keys) if wanted_keys else {}

    groups = _Groups()
    ref_node: dict[str, int] = {mid: groups.add(tid) for mid, tid in refs.items()}
    row_node: dict[int, int] = {}
    new_subject_node: dict[str, int] = {}
    for index in order:
        row = rows[index]
        ids = ([row.message_id] if row.message_id else []) + links[index]
        nodes = [ref_node[i] for i in ids if i in ref_node]
        base, prefixed = subjects[index]
        key = subject_key(base)
        if not nodes and prefixed and not links[index]:
            if key in new_subject_node:
                nodes = [new_subject_node[key]]
            elif key in by_subject:
                nodes = [groups.add(by_subject[key])]
        node = nodes[0] if nodes else groups.new()
        for other in nodes[1:]:
            node = groups.union(node, other)
        row_node[index] = node
        for i in ids:
            ref_node[i] = node
        new_subject_node.setdefault(key, node)

    # Resolve groups to thread ids: create new threads, merge existing ones that now link.
    members: dict[int, list[int]] = defaultdict(list)
    for index in order:
        members[groups.find(row_node[index])].append(index)
    thread_of_root = _create_threads(owner_id, rows, subjects, members)
    _merge_threads({node: groups.find(node) for node in groups.parent
                    if node > 0 and groups.find(node) != node})
    _count_into_existing(rows, {root: indexes for root, indexes in members.items() if root > 0})
    for index, row in enumerate(rows):
        row.thread_id = thread_of_root.get(groups.find(row_node[index]), groups.find(row_node[index]))

    new_refs = [ThreadRef(owner_id=owner_id, message_id=mid[:998],
                          thread_id=thread_of_root.get(groups.find(node), groups.find(node)))
                for mid, node in ref_node.items() if mid not in refs]
    ThreadRef.objects.bulk_create(new_refs, ignore_conflicts=True, batch_size=1000)


def _create_threads(owner_id: int, rows: list[Message], subjects, members: dict[int, list[int]]) -> dict[int, int]:
    new_roots = [root for root in members if root < 0]
    created = Thread.objects.bulk_create([
        Thread(owner_id=owner_id, subject=subjects[members[root][0]][0][:1000],
               subject_key=subject_key(subjects[members[root][0]][0]),
               last_date=rows[members[root][-1]].date, message_count=len(members[root]))
        for root in new_roots
    ], batch_size=1000)
    for thread in created:
        if thread.pk is None:  # a database without RETURNING
            thread.save()
    return {root: thread.pk for root, thread in zip(new_roots, created, strict=True)}


def _merge_threads(merged_away: dict[int, int]) -> None:
    """A message linked two existing conversations: fold the younger into the older."""
    for old, new in merged_away.items():
        Message.objects.filter(thread_id=old).update(thread_id=new)
        ThreadRef.objects.filter(thread_id=old).update(thread_id=new)
        count = Thread.objects.filter(pk=old).values_list("message_count", flat=True).first() or 0
        Thread.objects.filter(pk=new).update(message_count=F("message_count") + count)
        _move_shares(old, new)
        Thread.objects.filter(pk=old).delete()


def _move_shares(old: int, new: int) -> None:
    """A shared conversation stays shared (with its comments) when it is folded into another."""
    taken = list(MessageShare.objects.filter(thread_id=new).values_list("recipient_id", flat=True))
    MessageShare.objects.filter(thread_id=old, recipient_id__in=taken).delete()
    MessageShare.objects.filter(thread_id=old).update(thread_id=new)
    ShareComment.objects.filter(thread_id=old).update(thread_id=new)


def _count_into_existing(rows: list[Message], joined: dict[int, list[int]]) -> None:
    """One statement, executed for many parameter rows (pipelined by psycopg)."""
    if not joined:
        return
    table = connection.ops.quote_name(Thread._meta.db_table)
    sql = (f"UPDATE {table} SET message_count = message_count + %s, "  # noqa: S608 - table name from the model
           f"last_date = CASE WHEN last_date IS NULL OR last_date < %s THEN %s ELSE last_date END WHERE id = %s")
    params = []
    for root, indexes in joined.items():
        last = max(rows[i].date for i in indexes)
        params.append((len(indexes), last, last, root))
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def thread_message_removed(thread_ids: set[int]) -> None:
    """Keep counts right after messages left their threads (expunge, UIDVALIDITY reset): one
    UPDATE per chunk of threads, each count a correlated subquery on the thread index."""
    members = (Message.objects.filter(thread_id=OuterRef("pk")).order_by()
               .values("thread_id").annotate(total=Count("*")).values("total"))
    ids = sorted(thread_ids)
    for start in range(0, len(ids), _CHUNK):
        Thread.objects.filter(pk__in=ids[start:start + _CHUNK]).update(
            message_count=Coalesce(Subquery(members), 0))


def thread_links_learnt(owner_id: int, message: Message, ids: list[str]) -> None:
    """Conversation links of a stored message learnt only later (a PEC envelope's inner In-Reply-To
    and References, read with its body): it joins the conversations they name, merging them as a
    new message carrying those links would, and leaves placeholders for ids not seen yet."""
    if message.thread_id is None or not ids:
        return
    refs = _existing_refs(owner_id, set(ids))
    threads = set(refs.values()) | {message.thread_id}
    keep = min(threads)  # the oldest survives, as in a merge on insert
    _merge_threads({thread: keep for thread in threads if thread != keep})
    ThreadRef.objects.bulk_create([ThreadRef(owner_id=owner_id, message_id=mid[:998], thread_id=keep)
                                   for mid in ids if mid not in refs], ignore_conflicts=True)
    message.thread_id = keep
