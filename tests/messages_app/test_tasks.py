"""The Celery tasks are thin: run here through Celery's local apply (no broker needed)."""

from messages_app.models import Message
from messages_app.sync.lock import account_lock
from messages_app.tasks import sync_account_task
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message


def test_the_sync_task_syncs_the_account_it_is_given(owner, mail_user):
    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Da Celery"))
    account = account_on(owner, mail_user)
    assert sync_account_task.apply(args=[account.pk]).get() == 1
    assert Message.objects.filter(account=account, subject="Da Celery").exists()


def test_a_second_sync_of_a_busy_account_steps_aside(owner, mail_user):
    account = account_on(owner, mail_user)
    with account_lock(account.pk):
        assert sync_account_task.apply(args=[account.pk]).get() == 0
    assert not Message.objects.filter(account=account).exists()


def test_a_deleted_account_is_not_an_error(db):
    assert sync_account_task.apply(args=[987654]).get() == 0


def test_the_prefetch_task_stores_bodies_for_search(owner, mail_user):
    from messages_app.models import MessageBody
    from messages_app.tasks import prefetch_bodies_task

    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Capitolato", body="parola rarissima: zafferano"))
    account = account_on(owner, mail_user)
    sync_account_task.apply(args=[account.pk]).get()
    assert prefetch_bodies_task.apply(args=[account.pk]).get() == 1
    assert "zafferano" in MessageBody.objects.get(message__account=account).text


def test_the_prefetch_task_retries_a_transient_error_and_gives_up_a_permanent_one(owner, mail_user):
    from messages_app.models import MailAccount
    from messages_app.tasks import prefetch_bodies_task
    from tests.servers.ports import free_port

    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Capitolato"))
    account = account_on(owner, mail_user)
    sync_account_task.apply(args=[account.pk]).get()  # a body to fetch
    MailAccount.objects.filter(pk=account.pk).update(imap_port=free_port())  # nothing listens: transient
    unreachable = prefetch_bodies_task.apply(args=[account.pk])
    assert unreachable.failed() and type(unreachable.result).__name__ == "ConnectionRefused"
    assert unreachable.traceback  # raised after the retries, not swallowed as "0 bodies"
    MailAccount.objects.filter(pk=account.pk).update(imap_port=mail_user.imap_port)
    account.set_password("wrong")
    account.save()
    assert prefetch_bodies_task.apply(args=[account.pk]).get() == 0  # refused password: no retry
