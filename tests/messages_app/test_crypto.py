import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from messages_app import crypto
from messages_app.models import MailAccount
from tests.conftest import account_on


def test_it_round_trips_and_never_stores_plaintext(settings):
    settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("s3cret!", binding="row-1:password")
    assert "s3cret!" not in token
    assert crypto.decrypt(token, binding="row-1:password") == "s3cret!"


def test_it_refuses_a_ciphertext_bound_to_another_row(settings):
    settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("s3cret!", binding="row-1:password")
    with pytest.raises(crypto.SecretError):
        crypto.decrypt(token, binding="row-2:password")


def test_it_raises_on_a_wrong_key_instead_of_returning_empty(settings):
    settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.encrypt("s3cret!", binding="b")
    settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretError):
        crypto.decrypt(token, binding="b")


def test_a_ciphertext_copied_into_another_account_does_not_decrypt(owner, colleague, mail_user):
    mine = account_on(owner, mail_user)
    theirs = account_on(colleague, mail_user, password="other-password")
    MailAccount.objects.filter(pk=theirs.pk).update(password_encrypted=mine.password_encrypted)
    theirs.refresh_from_db()
    with pytest.raises(crypto.SecretError):
        theirs.get_password()
    assert MailAccount.objects.get(pk=mine.pk).get_password() == mail_user.password


def test_key_rotation_keeps_every_secret_readable(settings, owner, colleague, mail_user):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MAIL_ENCRYPTION_KEYS = [old_key]
    first = account_on(owner, mail_user, password="first-pass")
    second = account_on(colleague, mail_user, password="second-pass")
    second.set_smtp_password("smtp-pass")
    second.save()

    settings.MAIL_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("mail_rotate_keys")

    settings.MAIL_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything must still decrypt
    assert MailAccount.objects.get(pk=first.pk).get_password() == "first-pass"
    reloaded = MailAccount.objects.get(pk=second.pk)
    assert reloaded.get_password() == "second-pass"
    assert reloaded.get_smtp_password() == "smtp-pass"


def test_smtp_password_defaults_to_the_imap_one(owner, mail_user):
    account = account_on(owner, mail_user)
    assert account.get_smtp_password() == mail_user.password
