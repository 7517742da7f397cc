"""Who sees what: the one visibility rule (messages_app/selectors/visibility.py), as a specification.

Three personas: Olga the owner of an account, her colleague, and a staff member. Olga's account
holds a synced message in INBOX (with an attachment), a detached copy (between two places on the
server) and her own local message (Importata); the colleague has an account and a local message
of his own. Being staff grants no reading rights.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import Http404

from messages_app.models import Attachment, Folder, MailAccount, Message, Thread
from messages_app.selectors import (
    folders_of,
    local_messages,
    own_account_or_404,
    own_accounts,
    sender_accounts_for,
    special_folder_rows,
    unique_flagged,
    visible_attachment_or_404,
    visible_attachments,
    visible_folder_or_404,
    visible_folders,
    visible_message_or_404,
    visible_messages,
    visible_thread_or_404,
    visible_thread_parts,
    visible_threads,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _account(user, email: str, **fields) -> MailAccount:
    return MailAccount.objects.create(owner=user, username=email, email=email, description="",
                                      imap_host="127.0.0.1", smtp_host="127.0.0.1", **fields)


def _message(subject: str, *, folder=None, account=None, local_owner=None, uid=None, thread=None,
             minutes: int = 0, **fields) -> Message:
    return Message.objects.create(folder=folder, account=account or (folder.account if folder else None),
                                  local_owner=local_owner, uid=uid, thread=thread, subject=subject,
                                  dedup_key=f"key-{subject}", date=NOW + timedelta(minutes=minutes), **fields)


class World:
    """Everything the specification talks about, by name."""

    def __init__(self, owner, colleague, staff):
        self.owner, self.colleague, self.staff = owner, colleague, staff
        self.account = _account(owner, "olga@crm.test")
        self.inbox = Folder.objects.create(account=self.account, name="INBOX", role="inbox")
        self.thread = Thread.objects.create(owner=owner, subject="Offerta", last_date=NOW, message_count=1)
        self.synced = _message("Offerta", folder=self.inbox, uid=1, thread=self.thread, is_flagged=True)
        self.synced_part = Attachment.objects.create(message=self.synced, part_path="2", filename="offerta.pdf",
                                                     content_type="application/pdf")
        # Detached: the server no longer has it where we saw it; it has its own conversation.
        self.detached_thread = Thread.objects.create(owner=owner, subject="Spostata", last_date=NOW)
        self.detached = _message("Spostata", account=self.account, thread=self.detached_thread, is_flagged=True)
        self.detached_part = Attachment.objects.create(message=self.detached, part_path="2", filename="x.pdf",
                                                       content_type="application/pdf")
        self.local = _message("Contratto importato", local_owner=owner, minutes=5)
        self.local_part = Attachment.objects.create(message=self.local, part_path="2", filename="contratto.pdf",
                                                    content_type="application/pdf")

        self.colleague_account = _account(colleague, "carlo@crm.test")
        self.colleague_inbox = Folder.objects.create(account=self.colleague_account, name="INBOX", role="inbox")
        self.colleague_thread = Thread.objects.create(owner=colleague, subject="Riservata", last_date=NOW)
        self.colleague_synced = _message("Riservata", folder=self.colleague_inbox, uid=1,
                                         thread=self.colleague_thread, is_flagged=True)
        self.colleague_part = Attachment.objects.create(message=self.colleague_synced, part_path="2",
                                                        filename="riservata.pdf", content_type="application/pdf")
        self.colleague_local = _message("Importata del collega", local_owner=colleague)


@pytest.fixture
def world(owner, colleague, staff):
    return World(owner, colleague, staff)


def subjects(queryset) -> set[str]:
    return set(queryset.values_list("subject", flat=True))


# Messages

def test_the_owner_sees_her_synced_message_and_her_local_message(world):
    assert subjects(visible_messages(world.owner)) == {"Offerta", "Contratto importato"}
    assert visible_message_or_404(world.owner, world.synced.pk) == world.synced
    assert visible_message_or_404(world.owner, world.local.pk) == world.local


def test_a_colleagues_messages_are_invisible_to_the_owner(world):
    for message in (world.colleague_synced, world.colleague_local):
        with pytest.raises(Http404):
            visible_message_or_404(world.owner, message.pk)


def test_the_colleague_sees_only_his_own(world):
    assert subjects(visible_messages(world.colleague)) == {"Riservata", "Importata del collega"}
    for message in (world.synced, world.local, world.detached):
        with pytest.raises(Http404):
            visible_message_or_404(world.colleague, message.pk)


def test_staff_sees_nobody_elses_mail(world):
    assert not visible_messages(world.staff).exists()
    with pytest.raises(Http404):
        visible_message_or_404(world.staff, world.synced.pk)


def test_a_detached_message_is_invisible_to_everybody_even_its_accounts_owner(world):
    for user in (world.owner, world.colleague, world.staff):
        assert not visible_messages(user).filter(pk=world.detached.pk).exists()
        with pytest.raises(Http404):
            visible_message_or_404(user, world.detached.pk)


def test_a_local_message_is_visible_only_to_its_owner_and_is_what_importata_lists(world):
    assert [m.pk for m in local_messages(world.owner)] == [world.local.pk]
    assert [m.pk for m in local_messages(world.colleague)] == [world.colleague_local.pk]
    assert not local_messages(world.staff).exists()


def test_the_rule_accepts_a_users_primary_key_as_the_signed_links_carry_it(world):
    assert subjects(visible_messages(world.owner.pk)) == subjects(visible_messages(world.owner))


# Counts

def test_flagged_counts_only_visible_mail_and_importata_reports_the_real_local_count(world):
    assert subjects(unique_flagged(world.owner)) == {"Offerta"}  # not the detached one, not the colleague's
    rows = {row["folder"]: (row["messages"], row["unread"]) for row in special_folder_rows(world.owner)}
    assert rows["Imported"] == (1, 1)
    assert rows["Flagged"] == (1, 1)
    Message.objects.filter(pk=world.local.pk).update(is_seen=True)
    rows = {row["folder"]: (row["messages"], row["unread"]) for row in special_folder_rows(world.owner)}
    assert rows["Imported"] == (1, 0)
    assert {row["folder"]: row["messages"] for row in special_folder_rows(world.staff)}["Imported"] == 0


# Threads

def test_conversations_are_visible_to_the_user_they_belong_to(world):
    assert set(visible_threads(world.owner)) == {world.thread, world.detached_thread}
    assert set(visible_threads(world.colleague)) == {world.colleague_thread}
    assert not visible_threads(world.staff).exists()
    with pytest.raises(Http404):
        visible_thread_or_404(world.owner, world.colleague_thread.pk)


def test_the_two_parts_of_the_conversation_rule_are_the_rule_split_without_overlap(world):
    """The threaded list reads visible_thread_parts, one page of each: their union must be the
    rule, and no conversation may be in both (it would be listed twice)."""
    from messages_app.models import MessageShare

    MessageShare.objects.create(thread=world.colleague_thread, sharer=world.colleague, recipient=world.owner)
    # A share of one's own conversation (the sharer's own row): in the own part only.
    MessageShare.objects.create(thread=world.thread, sharer=world.owner, recipient=world.owner)
    for user in (world.owner, world.colleague, world.staff):
        own, shared = visible_thread_parts(user)
        assert not set(own) & set(shared)
        assert set(own) | set(shared) == set(visible_threads(user))
    own, shared = visible_thread_parts(world.owner)
    assert set(own) == {world.thread, world.detached_thread} and set(shared) == {world.colleague_thread}


def test_a_conversation_shows_only_visible_messages(world):
    from messages_app.mailbox.threads import thread_messages

    _thread, messages = thread_messages(world.owner, world.thread.pk)
    assert [m.pk for m in messages] == [world.synced.pk]
    with pytest.raises(Http404):  # only a detached message in it: nothing to show
        thread_messages(world.owner, world.detached_thread.pk)
    with pytest.raises(Http404):
        thread_messages(world.colleague, world.thread.pk)


# Attachments

def test_attachments_follow_their_message(world):
    assert set(visible_attachments(world.owner)) == {world.synced_part, world.local_part}
    assert set(visible_attachments(world.colleague)) == {world.colleague_part}
    assert not visible_attachments(world.staff).exists()
    assert visible_attachment_or_404(world.owner, world.local_part.pk) == world.local_part
    for user, part in ((world.owner, world.detached_part), (world.owner, world.colleague_part),
                       (world.colleague, world.synced_part), (world.staff, world.local_part)):
        with pytest.raises(Http404):
            visible_attachment_or_404(user, part.pk)


# Folders and accounts

def test_folders_are_those_of_the_users_own_accounts(world):
    assert list(visible_folders(world.owner)) == [world.inbox]
    assert list(folders_of(world.colleague)) == [world.colleague_inbox]
    assert not visible_folders(world.staff).exists()
    with pytest.raises(Http404):
        visible_folder_or_404(world.owner, world.colleague_inbox.pk)


def test_accounts_are_the_users_own_and_shared_senders_may_be_sent_from_but_never_read(world):
    assert list(own_accounts(world.owner)) == [world.account]
    with pytest.raises(Http404):
        own_account_or_404(world.owner, world.colleague_account.pk)
    shared = _account(world.staff, "ufficio@crm.test", is_shared_sender=True)
    shared_inbox = Folder.objects.create(account=shared, name="INBOX", role="inbox")
    _message("Posta dell'ufficio", folder=shared_inbox, uid=1)
    assert set(sender_accounts_for(world.owner)) == {world.account, shared}
    assert "Posta dell'ufficio" not in subjects(visible_messages(world.owner))
    assert shared_inbox not in visible_folders(world.owner)


def test_the_rule_on_the_messages_own_columns_selects_the_same_messages(world):
    from messages_app.selectors.visibility import message_rule_on_columns

    for user in (world.owner, world.colleague, world.staff):
        account_ids = own_accounts(user).values_list("pk", flat=True)
        assert (set(Message.objects.filter(message_rule_on_columns(user, account_ids)))
                == set(visible_messages(user))), user


# Every URL

def test_a_detached_message_is_404_at_every_reading_url_even_for_its_accounts_owner(world, client):
    from django.urls import reverse

    client.force_login(world.owner)
    for url in (reverse("messages_app:message", args=[world.detached.pk]),
                reverse("messages_app:message_body", args=[world.detached.pk]),
                reverse("messages_app:attachment", args=[world.detached.pk, world.detached_part.pk]),
                reverse("messages_app:thread", args=[world.detached_thread.pk])):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("messages_app:attachments_zip", args=[world.detached.pk])).status_code == 404
    assert client.post(reverse("messages_app:actions"), {"action": "flag", "ids": str(world.detached.pk)}
                       ).status_code == 404
    inbox = client.get(reverse("messages_app:folder", args=[world.inbox.pk]), HTTP_HX_REQUEST="true",
                       HTTP_HX_TARGET="list")
    assert [m.subject for m in inbox.context["page"].rows] == ["Offerta"]
