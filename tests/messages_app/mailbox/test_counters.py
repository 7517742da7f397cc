"""The folder column's counters (kept by database triggers, migration 0021) equal a count of the
rows after any sequence of writes, on SQLite and PostgreSQL; the recount repairs them; the
folder page reads them in a number of queries that does not grow with the mailbox."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messages_app.models import Folder, MailAccount, MailboxCounts, Message
from messages_app.services.counts import counts_recount
from messages_app.sync.store import insert_messages
from tests.messages_app.mailbox.counting import assert_counters_right, counted, stored

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def make_account(user, name: str) -> MailAccount:
    return MailAccount.objects.create(owner=user, username=name, email=f"{name}@postino.test", description=name,
                                      imap_host="127.0.0.1", smtp_host="127.0.0.1")


class World:
    """Two users, three accounts, a few folders, and a small pool of dedup keys so that the same
    message turns up in several folders, accounts and users (as Gmail's labels do)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        users = get_user_model().objects
        self.users = [users.create_user("prop-a"), users.create_user("prop-b")]
        self.accounts = [make_account(self.users[0], "a1"), make_account(self.users[0], "a2"),
                         make_account(self.users[1], "b1")]
        self.folders = [Folder.objects.create(account=account, name=name)
                        for account in self.accounts for name in ("INBOX", "Sent", "Archivio")]
        self.next_uid = 1
        self.keys = [f"h:key{i}" for i in range(12)]

    def _row(self, folder: Folder | None, owner=None) -> Message:
        rng = self.rng
        self.next_uid += 1
        return Message(
            folder=folder, account_id=folder.account_id if folder else None,
            local_owner=owner if folder is None else None, uid=self.next_uid if folder else None,
            dedup_key=rng.choice(self.keys), subject="s", date=BASE + timedelta(minutes=self.next_uid),
            is_seen=rng.random() < 0.5, is_flagged=rng.random() < 0.5,
            x_ricevuta="accettazione" if rng.random() < 0.1 else "")

    def _some(self, queryset) -> list[int]:
        ids = list(queryset.values_list("pk", flat=True))
        return self.rng.sample(ids, min(len(ids), self.rng.randint(1, 6)))

    # ------------------------------------------------------------------ the operations
    def insert(self):
        """A batch into one folder: COPY on PostgreSQL (sync/store.py), bulk_create elsewhere."""
        folder = self.rng.choice(self.folders)
        insert_messages([self._row(folder) for _ in range(self.rng.randint(1, 8))])

    def insert_one(self):
        self._row(self.rng.choice(self.folders)).save()

    def insert_local(self):
        owner = self.rng.choice(self.users)
        Message.objects.bulk_create([self._row(None, owner) for _ in range(self.rng.randint(1, 3))])

    def flags(self):
        Message.objects.filter(pk__in=self._some(Message.objects.all())).update(
            is_seen=self.rng.random() < 0.5, is_flagged=self.rng.random() < 0.5)

    def toggle_seen(self):
        from django.db.models import Case, Value, When

        Message.objects.filter(pk__in=self._some(Message.objects.all())).update(
            is_seen=Case(When(is_seen=True, then=Value(False)), default=Value(True)))

    def move(self):
        source = self.rng.choice(self.folders)
        targets = [f for f in self.folders if f.account_id == source.account_id and f != source]
        if not targets:
            return
        target = self.rng.choice(targets)
        self.next_uid += 1000
        Message.objects.filter(pk__in=self._some(Message.objects.filter(folder=source))).update(
            folder=target, uid=F("uid") + self.next_uid)

    def detach(self):
        Message.objects.filter(pk__in=self._some(Message.objects.filter(folder__isnull=False))).update(
            folder=None, uid=None, modseq=None)

    def rehome(self):
        for pk, account_id in Message.objects.filter(
                pk__in=self._some(Message.objects.filter(folder__isnull=True, account__isnull=False))
        ).values_list("pk", "account_id"):
            self.next_uid += 1
            targets = [f for f in self.folders if f.account_id == account_id]
            if not targets:
                continue
            Message.objects.filter(pk=pk).update(folder=self.rng.choice(targets), uid=self.next_uid)

    def localise(self):
        for account in self.accounts:
            Message.objects.filter(pk__in=self._some(Message.objects.filter(account=account, folder__isnull=True))
                                   ).update(account=None, local_owner=account.owner)

    def rekey(self):
        Message.objects.filter(pk__in=self._some(Message.objects.all())[:1]).update(dedup_key=self.rng.choice(self.keys))

    def receipt(self):
        Message.objects.filter(pk__in=self._some(Message.objects.all())).update(
            x_ricevuta=self.rng.choice(["", "consegna"]))

    def delete(self):
        Message.objects.filter(pk__in=self._some(Message.objects.all())).delete()

    def delete_folder(self):
        """Cascade: Django deletes the folder's messages, then the folder."""
        if len(self.folders) > 6:
            folder = self.rng.choice(self.folders)
            self.folders.remove(folder)
            folder.delete()

    OPERATIONS = ("insert", "insert", "insert_one", "insert_local", "flags", "flags", "toggle_seen", "move",
                  "detach", "rehome", "localise", "rekey", "receipt", "delete", "delete_folder")


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counters_equal_a_recount_after_random_writes(seed):
    rng = random.Random(seed)
    world = World(rng)
    for step in range(70):
        operation = rng.choice(World.OPERATIONS)
        getattr(world, operation)()
        for user in world.users:
            assert stored(user) == counted(user), f"step {step}: {operation}"
    before = [stored(user) for user in world.users]
    assert Message.objects.filter(is_flagged=True).values("dedup_key").distinct().count() < \
        Message.objects.filter(is_flagged=True).count()  # the pool did make duplicates
    counts_recount()
    assert [stored(user) for user in world.users] == before


@pytest.mark.django_db
def test_the_recount_repairs_counters_written_around_the_triggers():
    world = World(random.Random(7))
    for _ in range(10):
        world.insert()
        world.insert_local()
    right = [counted(user) for user in world.users]
    Folder.objects.update(message_count=5, unread_count=-3, flagged_count=99)
    MailboxCounts.objects.all().delete()
    MailboxCounts.objects.create(owner_id=987654, local_unread=4)  # a deleted user's leftover
    call_command("mail_counts_recount")
    assert [stored(user) for user in world.users] == right
    assert not MailboxCounts.objects.filter(owner_id=987654).exists()


@pytest.mark.django_db
def test_saving_a_loaded_folder_leaves_its_counters_alone(owner):
    folder = Folder.objects.create(account=make_account(owner, "o1"), name="INBOX")
    stale = Folder.objects.get(pk=folder.pk)
    Message.objects.create(folder=folder, account=folder.account, uid=1, dedup_key="h:1", date=BASE)
    stale.last_error = "timeout"
    stale.save()
    folder.refresh_from_db()
    assert (folder.message_count, folder.unread_count, folder.last_error) == (1, 1, "timeout")
    assert_counters_right(owner)


@pytest.mark.django_db
def test_deleting_a_user_with_mail_leaves_nothing_that_fails(owner):
    world = World(random.Random(3))
    for _ in range(5):
        world.insert()
        world.insert_local()
    world.users[0].delete()
    assert_counters_right(world.users[1])


def fill(user, *, folders: int, messages: int, start: int = 0) -> Folder:
    """Rows straight into the database (the folder page reads nothing from the server)."""
    account = MailAccount.objects.filter(owner=user).first() or make_account(user, "page")
    inbox, _ = Folder.objects.get_or_create(account=account, name="INBOX", defaults={"role": "inbox", "delimiter": "/"})
    made = [Folder.objects.create(account=account, name=f"Clienti/{start}-{i:03d}", delimiter="/")
            for i in range(folders)]
    targets = [inbox, *made]
    insert_messages([Message(folder=targets[i % len(targets)], account=account, uid=start * 10_000 + i + 1,
                             dedup_key=f"h:{start}:{i}", subject=f"Messaggio {i}", date=BASE + timedelta(minutes=i),
                             is_seen=i % 3 == 0, is_flagged=i % 7 == 0) for i in range(messages)])
    return inbox


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_folder_page_reads_the_same_number_of_queries_for_any_mailbox(owner_client, owner):
    inbox = fill(owner, folders=2, messages=30)
    folder_url = reverse("messages_app:folder", args=[inbox.pk])
    unified_url = reverse("messages_app:unified", args=["inbox"])
    small = (queries_of(owner_client, folder_url), queries_of(owner_client, unified_url))
    fill(owner, folders=40, messages=600, start=1)
    make_account(owner, "second")
    large = (queries_of(owner_client, folder_url), queries_of(owner_client, unified_url))
    assert large == small
    assert small[0] <= 10  # 16 before the counters and the request's shared reads (issue 8), 9 after
    counts = owner_client.get(folder_url).context["tree"].counts()
    assert counts[f"folder:{inbox.pk}"] == Message.objects.filter(folder=inbox, is_seen=False).count() > 0
    assert counts["unified:inbox"] == counts[f"folder:{inbox.pk}"]
    assert counts["special:flagged"] == Message.objects.filter(account__owner=owner, is_flagged=True,
                                                               is_seen=False).count()
    assert_counters_right(owner)
