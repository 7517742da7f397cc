"""Impostazioni > Account over HTTP, against the real test servers."""

import io
import logging

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.test import Client
from django.urls import reverse

from messages_app.models import MailAccount
from tests.conftest import account_on


def form_data(mail_user, **overrides):
    data = {
        "kind": "custom", "username": mail_user.login, "auth_method": "password", "password": mail_user.password,
        "email": "", "description": "",
        "imap_host": mail_user.host, "imap_port": mail_user.imap_port, "imap_security": "none", "imap_domain": "",
        "smtp_host": mail_user.host, "smtp_port": mail_user.smtp_port, "smtp_security": "none",
        "smtp_username": "", "smtp_password": "", "smtp_auth_required": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_it_creates_an_account_after_a_passing_test_and_lists_the_result(owner_client, owner, mail_user):
    response = owner_client.post(reverse("messages_app:account_create"), form_data(mail_user))
    assert response.status_code == 302, response.content.decode()[:2000]
    account = MailAccount.objects.get(owner=owner)
    assert account.last_test_ok is True
    page = owner_client.get(reverse("messages_app:account_list")).content.decode()
    assert mail_user.login in page and 'class="ok"' in page


def test_email_and_description_fill_themselves_from_the_username(owner_client, owner, mail_user):
    owner_client.post(reverse("messages_app:account_create"), form_data(mail_user))
    account = MailAccount.objects.get(owner=owner)
    assert account.email == mail_user.login
    assert account.description == mail_user.login


def test_a_failing_test_saves_only_after_confirmation_without_retyping(owner_client, owner, mail_user):
    data = form_data(mail_user, password="wrong-password")
    response = owner_client.post(reverse("messages_app:account_create"), data)
    assert response.status_code == 200
    assert not MailAccount.objects.filter(owner=owner).exists()
    page = response.content.decode()
    assert "confirm_failed_test" in page
    assert "wrong-password" not in page  # never rendered back
    token = response.context["form"].data["pending_token"]

    confirmed = dict(data, password="", pending_token=token, confirm_failed_test="on")
    response = owner_client.post(reverse("messages_app:account_create"), confirmed)
    assert response.status_code == 302
    account = MailAccount.objects.get(owner=owner)
    assert account.last_test_ok is False
    assert account.get_password() == "wrong-password"


def test_the_first_account_becomes_primary_and_there_is_only_one(owner, mail_user):
    first = account_on(owner, mail_user)
    second = account_on(owner, mail_user, is_primary=True)
    third = account_on(owner, mail_user)
    first.refresh_from_db()
    assert [first.is_primary, second.is_primary, third.is_primary] == [False, True, False]
    with pytest.raises(IntegrityError):
        MailAccount.objects.filter(pk=first.pk).update(is_primary=True)


def test_make_primary_and_delete_keep_exactly_one_primary(owner_client, owner, mail_user):
    first = account_on(owner, mail_user)
    second = account_on(owner, mail_user)
    owner_client.post(reverse("messages_app:account_make_primary", args=[second.pk]))
    assert list(MailAccount.objects.filter(owner=owner, is_primary=True)) == [second]
    owner_client.post(reverse("messages_app:account_delete", args=[second.pk]))
    assert list(MailAccount.objects.filter(owner=owner, is_primary=True)) == [first]


def test_a_non_staff_user_cannot_set_shared_sender_by_crafting_the_post(owner_client, owner, mail_user):
    response = owner_client.post(reverse("messages_app:account_create"), form_data(mail_user, is_shared_sender="on"))
    assert response.status_code == 302
    assert MailAccount.objects.get(owner=owner).is_shared_sender is False


def test_a_non_staff_user_cannot_set_shared_sender_on_an_existing_account(owner_client, owner, mail_user):
    account = account_on(owner, mail_user)
    owner_client.post(reverse("messages_app:account_edit", args=[account.pk]),
                      form_data(mail_user, password="", is_shared_sender="on"))
    account.refresh_from_db()
    assert account.is_shared_sender is False


def test_staff_can_mark_a_shared_sender(client, staff, mail_user):
    client.force_login(staff)
    client.post(reverse("messages_app:account_create"), form_data(mail_user, is_shared_sender="on"))
    assert MailAccount.objects.get(owner=staff).is_shared_sender is True


@pytest.mark.parametrize("name", ["account_edit", "account_delete"])
def test_another_user_gets_404_on_account_pages(client, colleague, owner, mail_user, name):
    account = account_on(owner, mail_user)
    client.force_login(colleague)
    assert client.get(reverse(f"messages_app:{name}", args=[account.pk])).status_code == 404
    assert client.post(reverse(f"messages_app:{name}", args=[account.pk])).status_code == 404
    assert MailAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.parametrize("name", ["account_test", "account_make_primary"])
def test_another_user_gets_404_on_account_actions(client, colleague, owner, mail_user, name):
    account = account_on(owner, mail_user)
    client.force_login(colleague)
    assert client.post(reverse(f"messages_app:{name}", args=[account.pk])).status_code == 404


def test_another_users_accounts_are_not_listed(client, colleague, owner, mail_user):
    account_on(owner, mail_user)
    client.force_login(colleague)
    assert mail_user.login not in client.get(reverse("messages_app:account_list")).content.decode()


def test_editing_without_a_password_keeps_the_stored_one(owner_client, owner, mail_user):
    account = account_on(owner, mail_user)
    response = owner_client.post(reverse("messages_app:account_edit", args=[account.pk]),
                                 form_data(mail_user, password="", description="Ufficio"))
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.description == "Ufficio"
    assert account.get_password() == mail_user.password


def test_no_plaintext_password_anywhere_in_the_database_or_logs(owner_client, owner, mail_user, caplog):
    caplog.set_level(logging.DEBUG)
    owner_client.post(reverse("messages_app:account_create"), form_data(mail_user, smtp_password=mail_user.password))
    # A failing test + confirmation, which keeps the password in the session between requests.
    failing = form_data(mail_user, password="Wr0ng-But-Secret!")
    response = owner_client.post(reverse("messages_app:account_create"), failing)
    token = response.context["form"].data["pending_token"]
    call_command("mail_account", "diagnose", str(MailAccount.objects.get(owner=owner).pk), stdout=io.StringIO())
    assert MailAccount.objects.filter(owner=owner).count() == 1

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        raw_rows = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - our own table names
            raw_rows.extend(repr(row) for row in cursor.fetchall())
    everything = dump.getvalue() + "\n".join(raw_rows) + caplog.text
    for secret in (mail_user.password, "Wr0ng-But-Secret!"):
        assert secret not in everything
    assert token  # the pending password existed, yet only encrypted


def test_post_without_csrf_token_is_refused(owner, mail_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("messages_app:account_create"), form_data(mail_user))
    assert response.status_code == 403


def test_the_gmail_preset_shows_the_app_password_notice(owner_client):
    page = owner_client.get(reverse("messages_app:account_create")).content.decode()
    assert "30 May 2022" in page or "30 maggio 2022" in page


def test_a_company_server_is_offered_and_fills_the_servers(owner_client, owner, mail_user, settings):
    from messages_app.models import CompanyServer

    settings.MAIL_ALLOW_PRIVATE_HOSTS = False  # company servers are trusted although on loopback
    server = CompanyServer.objects.create(name="Sede", imap_host=mail_user.host, imap_port=mail_user.imap_port,
                                          imap_security="none", smtp_host=mail_user.host,
                                          smtp_port=mail_user.smtp_port, smtp_security="none")
    assert "Sede" in owner_client.get(reverse("messages_app:account_create")).content.decode()
    response = owner_client.post(reverse("messages_app:account_create"),
                                 form_data(mail_user, kind=f"company:{server.pk}", imap_host="", smtp_host=""))
    assert response.status_code == 302, response.content.decode()[:3000]
    account = MailAccount.objects.get(owner=owner)
    assert (account.company_server, account.imap_port, account.last_test_ok) == (server, mail_user.imap_port, True)


def test_login_and_the_root_redirect(client, owner):
    assert client.get("/").headers["Location"] == "/messages/"
    response = client.post("/accounts/login/", {"username": "owner", "password": "owner-pass-1"})
    assert response.status_code == 302
    page = client.get("/messages/").content.decode()
    assert "Entrata" in page and "Contrassegnata" in page


def test_saving_an_account_queues_its_first_sync_after_the_commit(settings, owner_client, owner, mail_user,
                                                                   monkeypatch, django_capture_on_commit_callbacks):
    from crm.celery import app
    from messages_app.models import Message
    from tests.messages_app.sync.mailgen import make_message

    settings.MAIL_SYNC_ON_SAVE = True
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the queued task runs here, no broker
    mail_user.dovecot.append(mail_user.login, "INBOX", make_message("Prima sincronizzazione"))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = owner_client.post(reverse("messages_app:account_create"), form_data(mail_user))
    assert response.status_code == 302 and len(queued) == 1
    assert Message.objects.filter(account__owner=owner, subject="Prima sincronizzazione").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("imap_port", "73677"), ("smtp_port", "0"), ("imap_port", "-5"), ("smtp_host", "h" * 256),
])
def test_the_form_refuses_ports_outside_1_to_65535_and_overlong_hosts(owner_client, owner, mail_user, field, value):
    response = owner_client.post(reverse("messages_app:account_create"), form_data(mail_user, **{field: value}))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not MailAccount.objects.filter(owner=owner).exists()


def _failed_test_then_confirm(owner_client, mail_user, before_confirming):
    data = form_data(mail_user, password="wrong-password")
    token = owner_client.post(reverse("messages_app:account_create"), data).context["form"].data["pending_token"]
    before_confirming()
    return owner_client.post(reverse("messages_app:account_create"),
                             dict(data, password="", pending_token=token, confirm_failed_test="on"))


@pytest.mark.parametrize(("language", "words"), [("en", "type it again"), ("it", "scrivila di nuovo")])
def test_save_anyway_after_the_key_was_rotated_away_asks_for_the_password_in_words(
        owner_client, owner, mail_user, settings, language, words):
    from cryptography.fernet import Fernet

    owner.language = language
    owner.save()

    def retire_the_old_key():
        settings.MAIL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # rotated, old key removed

    response = _failed_test_then_confirm(owner_client, mail_user, retire_the_old_key)

    assert response.status_code == 200
    assert words in response.content.decode()
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_the_kept_password_expires_after_a_few_minutes(owner_client, owner, mail_user, monkeypatch):
    import time

    from messages_app.views import pending_secrets

    def ten_minutes_later():
        now = time.time() + pending_secrets.PENDING_MAX_AGE_SECONDS + 1
        monkeypatch.setattr(pending_secrets.time, "time", lambda: now)

    response = _failed_test_then_confirm(owner_client, mail_user, ten_minutes_later)

    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_a_company_servers_hosts_reach_the_form_and_a_preset_keeps_its_servers_folded(owner_client, owner):
    import json

    from messages_app.models import CompanyServer

    server = CompanyServer.objects.create(name="Sede", imap_host="imap.sede.test", smtp_host="smtp.sede.test")
    page = owner_client.get(reverse("messages_app:account_create")).content.decode()
    data = json.loads(page.split('<script id="preset-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert data[f"company:{server.pk}"]["imap_host"] == "imap.sede.test"
    assert data[f"company:{server.pk}"]["smtp_host"] == "smtp.sede.test"
    assert '<details class="advanced" id="advanced-servers" open>' in page  # Custom: typed by the user
    edit = owner_client.post(reverse("messages_app:account_create"), {"kind": "gmail", "username": ""})
    assert '<details class="advanced" id="advanced-servers" open>' in edit.content.decode()  # errors show
