"""Local actions: written to the server first, queued when it is down, never flipped back."""

from datetime import timedelta

from django.utils import timezone

from messages_app.models import Folder, Message, PendingAction
from messages_app.services.message_actions import message_flags_set, message_move_to_role
from messages_app.services.sync import account_sync
from messages_app.sync import store
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_sync_engine import server_state
from tests.servers.fixtures import new_mail_user


def test_an_action_while_the_server_is_down_is_queued_then_applied(owner, make_dovecot, smtp_server):
    dovecot = make_dovecot()
    user = new_mail_user(dovecot, smtp_server)
    dovecot.append(user.login, "INBOX", make_message("Fattura"))
    account = account_on(owner, user)
    account_sync(account.pk)
    message = Message.objects.get(account=account, folder__name="INBOX")

    dovecot.stop()
    queued = message_flags_set(user=owner, message_ids=[message.pk], add=("\\Flagged",))
    assert queued == 1
    assert PendingAction.objects.filter(account=account).count() == 1
    message.refresh_from_db()
    assert message.is_flagged  # shown at once, and kept while the server is away

    dovecot.start()
    account_sync(account.pk)  # replays the queue first
    assert not PendingAction.objects.exists()
    assert "\\Flagged" in server_state(dovecot, user.login, "INBOX")[message.uid]
    message.refresh_from_db()
    assert message.is_flagged


def test_a_pass_that_read_the_server_before_the_users_action_does_not_undo_it(owner, mail_user):
    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Ordine"))
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    folder = Folder.objects.get(account=account, name="INBOX")
    pass_started = timezone.now() - timedelta(seconds=1)  # the pass read flags, then the user acted
    message_flags_set(user=owner, message_ids=list(Message.objects.filter(folder=folder).values_list("pk", flat=True)),
                      add=("\\Seen",))
    stale = {1: ()}  # what the pass had read: unseen
    assert store.apply_flag_changes(folder, stale, skip_uids=set(), changed_before=pass_started) == 0
    assert Message.objects.get(folder=folder, uid=1).is_seen


def test_move_to_spam_uses_each_accounts_own_spam_folder(owner, mail_user, dovecot, smtp_server):
    second = new_mail_user(dovecot, smtp_server)
    for user in (mail_user, second):
        dovecot.append(user.login, "INBOX", make_message("Promo"))
    accounts = [account_on(owner, mail_user), account_on(owner, second)]
    for account in accounts:
        account_sync(account.pk)
    ids = list(Message.objects.filter(account__in=accounts).values_list("pk", flat=True))
    message_move_to_role(user=owner, message_ids=ids, role="spam")
    for user in (mail_user, second):
        assert len(server_state(dovecot, user.login, "Junk")) == 1
        assert server_state(dovecot, user.login, "INBOX") == {}
