"""Filtri, Fuori ufficio and POP3 pages: owner only, CSRF-protected forms, the banner."""

import pytest
from django.urls import reverse

from messages_app.models import MailRule, OutOfOffice, Pop3Box, RuleJob
from messages_app.views import settings_rules


def test_a_rule_is_built_in_the_page_and_an_invalid_one_says_why(owner_client, mail_account):
    url = reverse("messages_app:account_rules", args=[mail_account.pk])
    response = owner_client.post(url, {"action": "add", "name": "Rotta", "match": "all",
                                       "cond_field_0": "subject", "cond_op_0": "regex", "cond_value_0": "([",
                                       "act_kind_0": "flag"})
    assert response.status_code == 200 and b"does not compile" in response.content
    response = owner_client.post(url, {"action": "add", "name": "Clienti", "match": "any",
                                       "cond_field_0": "from", "cond_op_0": "ends_with",
                                       "cond_value_0": "@cliente.test", "act_kind_0": "move",
                                       "act_folder_0": "Clienti"})
    assert response.status_code == 302
    row = MailRule.objects.get()
    assert row.conditions == [{"field": "from", "op": "ends_with", "value": "@cliente.test"}]
    page = owner_client.get(url).content.decode()
    assert 'class="rule has-problem"' in page and "“Clienti”" in page  # the account has no folder Clienti


def test_apply_now_queues_a_job_and_the_progress_fragment_stops_when_done(owner_client, mail_account, monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(settings_rules, "dispatch_job", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("messages_app:account_rules_apply", args=[mail_account.pk]))
    job = RuleJob.objects.get()
    assert queued == [job.pk]
    progress = reverse("messages_app:account_rules_progress", args=[mail_account.pk, job.pk])
    assert owner_client.get(progress).status_code == 200
    RuleJob.objects.filter(pk=job.pk).update(state=RuleJob.State.DONE, done=3, moved={"Clienti": 2})
    response = owner_client.get(progress)
    assert response.status_code == 286 and b"Clienti" in response.content


def test_other_users_get_404(client, colleague, mail_account):
    client.force_login(colleague)
    for name in ("account_rules", "account_pop3"):
        assert client.get(reverse(f"messages_app:{name}", args=[mail_account.pk])).status_code == 404
    assert client.post(reverse("messages_app:account_rules_apply", args=[mail_account.pk])).status_code == 404


def test_out_of_office_page_turns_it_on_with_the_banner_and_off(owner_client, mail_account):
    url = reverse("messages_app:out_of_office")
    response = owner_client.post(url, {"action": "on", "accounts": [mail_account.pk], "start": "2020-01-01T09:00",
                                       "subject": "Fuori ufficio", "body": "Torno lunedì.", "days": "5"})
    assert response.status_code == 302
    assert OutOfOffice.objects.get().is_active
    page = owner_client.get(reverse("messages_app:index"), follow=True).content.decode()
    assert 'class="ooo-banner"' in page and mail_account.email in page
    owner_client.post(url, {"action": "off"})
    assert not OutOfOffice.objects.get().is_active
    assert 'class="ooo-banner"' not in owner_client.get(url).content.decode()


def test_pop3_page_adds_a_box_without_showing_its_password(owner_client, mail_account):
    url = reverse("messages_app:account_pop3", args=[mail_account.pk])
    response = owner_client.post(url, {"action": "add", "host": "pop.example.test", "port": "995",
                                       "security": "ssl", "username": "vecchio", "password": "segreta-123",
                                       "folder": "Vecchia", "is_active": "on"})
    assert response.status_code == 302
    box = Pop3Box.objects.get()
    assert box.get_password() == "segreta-123" and "segreta" not in box.password_encrypted
    assert b"segreta-123" not in owner_client.get(url).content


@pytest.mark.parametrize("name", ["rules_index", "pop3_index"])
def test_the_index_pages_open_the_first_account(owner_client, mail_account, name):
    response = owner_client.get(reverse(f"messages_app:{name}"))
    assert response.status_code == 302 and str(mail_account.pk) in response["Location"]


def test_rules_go_on_the_server_from_the_page_asking_before_replacing_a_foreign_script(owner_client, mail_account,
                                                                                      mail_user):
    import warnings

    from sievelib.managesieve import Client

    from messages_app.models import RuleServerState

    client = Client(mail_user.host, mail_user.sieve_port)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.connect(mail_user.login, mail_user.password, authmech="PLAIN")
    client.putscript("mio", "keep;\n")
    client.setactive("mio")
    owner_client.post(reverse("messages_app:account_rules", args=[mail_account.pk]), {
        "action": "add", "name": "Flag", "match": "all", "cond_field_0": "subject", "cond_op_0": "contains",
        "cond_value_0": "urgente", "act_kind_0": "flag"})
    url = reverse("messages_app:account_rules_server", args=[mail_account.pk])
    response = owner_client.post(url, {"action": "install", "port": str(mail_user.sieve_port)})
    assert response.status_code == 302 and "foreign=mio" in response["Location"]
    page = owner_client.get(response["Location"]).content.decode()
    assert 'name="replace"' in page and "“mio”" in page
    assert client.listscripts()[0] == "mio"
    owner_client.post(url, {"action": "install", "port": str(mail_user.sieve_port), "replace": "1"})
    assert RuleServerState.objects.get(account=mail_account).on_server
    assert client.listscripts()[0] == "postino"
    owner_client.post(url, {"action": "remove"})
    assert not RuleServerState.objects.get(account=mail_account).on_server
    assert client.listscripts()[0] is None
    client.logout()


def test_out_of_office_can_be_answered_by_the_server(owner_client, mail_account, mail_user):
    from messages_app.models import RuleServerState

    RuleServerState.objects.create(account=mail_account, port=mail_user.sieve_port)
    owner_client.post(reverse("messages_app:out_of_office"), {
        "action": "on", "accounts": [mail_account.pk], "start": "2020-01-01T09:00", "subject": "Via",
        "body": "Torno lunedì.", "days": "5", "on_server": "on"})
    state = RuleServerState.objects.get(account=mail_account)
    assert state.vacation_on_server and not state.on_server and state.installed_at


def test_whole_days_run_from_the_first_midnight_to_the_end_of_the_last_day(owner_client, mail_account):
    from django.utils import timezone

    owner_client.post(reverse("messages_app:out_of_office"), {
        "action": "on", "accounts": [mail_account.pk], "start": "2030-03-02T15:20", "end": "2030-03-04T09:00",
        "whole_days": "on", "subject": "Via", "body": "Torno.", "days": "5"})
    ooo = OutOfOffice.objects.get()
    start, end = timezone.localtime(ooo.start), timezone.localtime(ooo.end)
    assert (start.day, start.hour, start.minute) == (2, 0, 0)
    assert (end.day, end.hour, end.minute) == (5, 0, 0)


def test_a_sieve_server_that_is_down_is_said_in_words_not_a_crash(owner_client, mail_account):
    from messages_app.models import RuleServerState
    from tests.servers.ports import free_ports

    [closed] = free_ports(1)
    RuleServerState.objects.create(account=mail_account, port=closed, vacation_on_server=True)
    response = owner_client.post(reverse("messages_app:out_of_office"), {
        "action": "on", "accounts": [mail_account.pk], "start": "2020-01-01T09:00", "subject": "Via",
        "body": "Torno.", "days": "5"}, follow=True)
    assert response.status_code == 200
    assert b'class="error"' in response.content
    assert OutOfOffice.objects.get().is_active
    assert RuleServerState.objects.get(account=mail_account).error


def test_garbage_ids_match_nothing(owner_client, mail_account):
    for name, field in (("account_rules", "rule"), ("account_pop3", "box")):
        response = owner_client.post(reverse(f"messages_app:{name}", args=[mail_account.pk]),
                                     {"action": "delete", field: "1 or 1=1"})
        assert response.status_code == 302
