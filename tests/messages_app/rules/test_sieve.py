"""Filters and out-of-office as a Sieve script: every rule shape parses (sievelib), and on the real
Dovecot the script is installed, activated and files a message delivered through dovecot-lda;
a script the CRM did not write is not replaced without asking; the vacation answer works and
goes away with out-of-office."""

import warnings
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils.timezone import now
from hypothesis import given
from hypothesis import strategies as st
from sievelib.managesieve import Client
from sievelib.parser import Parser

from messages_app.models import OutgoingMessage, RuleRun
from messages_app.rules import Action, Condition, Rule, rule_from_dict
from messages_app.rules import sieve as sieve_logic
from messages_app.services.ooo import ooo_off, ooo_set
from messages_app.services.rules import rules_replace
from messages_app.services.sieve import ForeignScript, sieve_install, sieve_remove
from messages_app.services.sync import account_sync
from tests.conftest import account_on
from tests.messages_app.rules.test_logic import CONDITION_CASES


def parses(text: str) -> bool:
    parser = Parser()
    ok = parser.parse(text)
    assert ok, (getattr(parser, "error", ""), text)
    return ok


CONDITIONS = [condition for condition, _expected in CONDITION_CASES]
ACTIONS = [Action("move", folder="Clienti"), Action("copy", folder="Archivio"), Action("mark_read"), Action("flag"),
           Action("keyword", keyword="Offerte"), Action("delete"), Action("link_crm"), Action("stop")]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_every_condition_becomes_valid_sieve(condition):
    parses(sieve_logic.script([Rule(name="r", conditions=(condition,), actions=(Action("flag"),))]))


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_becomes_valid_sieve(action):
    parses(sieve_logic.script([Rule(name="r", conditions=(Condition("subject", "contains", "x"),),
                                    actions=(action,))]))


@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
       name=st.text(min_size=1, max_size=20).filter(str.strip), match=st.sampled_from(["all", "any"]))
def test_any_text_is_quoted_safely(value, name, match):
    rule = Rule(name=name, match=match, conditions=(Condition("subject", "is", value),
                                                    Condition("from", "ends_with", value)),
                actions=(Action("copy", folder=value), Action("keyword", keyword="K")))
    vacation = sieve_logic.Vacation(subject=value, text=value, days=3, addresses=["a@b.test"], start=now(),
                                    end=now() + timedelta(days=1))
    assert parses(sieve_logic.script([rule], vacation=vacation))


def sieve_client(mail_user) -> Client:
    client = Client(mail_user.host, mail_user.sieve_port)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plain text on loopback, on purpose
        assert client.connect(mail_user.login, mail_user.password, authmech="PLAIN")
    return client


def message(sender, to, subject) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, to, subject, f"<{abs(hash(subject))}@cliente.test>"
    m.set_content("Buongiorno")
    return bytes(m)


@pytest.fixture
def account(owner, mail_user):
    mail_user.dovecot.create_folder(mail_user.login, "Ordini")
    account = account_on(owner, mail_user)
    account_sync(account.pk)
    return account


def test_rules_installed_on_the_server_file_a_delivered_message_and_the_crm_does_not_repeat_them(account, mail_user):
    rules_replace(account=account, rules=[rule_from_dict({
        "name": "Ordini", "conditions": [{"field": "subject", "op": "contains", "value": "ordine"}],
        "actions": [{"action": "keyword", "keyword": "Ordine"}, {"action": "move", "folder": "Ordini"}]})])
    state = sieve_install(account=account, rules=True, port=mail_user.sieve_port)
    assert state.on_server
    client = sieve_client(mail_user)
    active, _others = client.listscripts()
    assert active == "postino" and sieve_logic.is_ours(client.getscript("postino"))
    client.logout()
    mail_user.dovecot.deliver(mail_user.login, message("mario@cliente.test", mail_user.login, "Nuovo ordine 12"),
                              "mario@cliente.test")
    imap = mail_user.dovecot.imap_client(mail_user.login)
    imap.select_folder("Ordini", readonly=True)
    [uid] = imap.search(["SUBJECT", "Nuovo ordine 12"])
    assert b"Ordine" in imap.get_flags([uid])[uid]
    imap.logout()
    mail_user.dovecot.append(mail_user.login, "INBOX", message("mario@cliente.test", mail_user.login,
                                                               "Altro ordine, arrivato da IMAP"))
    account_sync(account.pk)
    assert not RuleRun.objects.exists()  # the CRM left it to the server
    sieve_remove(account=account)
    client = sieve_client(mail_user)
    assert client.listscripts() == (None, [])
    client.logout()


def test_a_script_the_crm_did_not_write_is_replaced_only_when_confirmed(account, mail_user):
    client = sieve_client(mail_user)
    assert client.putscript("mio", 'require "fileinto";\nif header :contains "subject" "x" { fileinto "Ordini"; }\n')
    assert client.setactive("mio")
    rules_replace(account=account, rules=[rule_from_dict({
        "name": "r", "conditions": [{"field": "subject", "op": "contains", "value": "x"}],
        "actions": [{"action": "flag"}]})])
    with pytest.raises(ForeignScript) as refused:
        sieve_install(account=account, rules=True, port=mail_user.sieve_port)
    assert "mio" in refused.value.user_message()
    assert client.listscripts()[0] == "mio"
    sieve_install(account=account, rules=True, port=mail_user.sieve_port, replace_foreign=True)
    assert client.listscripts()[0] == "postino"
    client.logout()


def test_the_server_vacation_answers_a_delivered_message_until_out_of_office_ends(account, mail_user):
    ooo_set(account=account, start=now() - timedelta(hours=1), subject="Fuori ufficio",
            body_html="<p>Sono via fino a lunedì.</p>")
    sieve_install(account=account, vacation=True, port=mail_user.sieve_port)
    dovecot = mail_user.dovecot
    before = len(dovecot.sieve_sent())
    dovecot.deliver(mail_user.login, message("anna@cliente.test", mail_user.login, "Domanda"), "anna@cliente.test")
    sent = dovecot.sieve_sent()[before:]
    assert len(sent) == 1
    assert b"anna@cliente.test" in sent[0].split(b"\n", 1)[0]
    assert b"Auto-Submitted: auto-replied" in sent[0] and "Sono via fino a lunedì".encode() in sent[0]
    account_sync(account.pk)
    assert not OutgoingMessage.objects.exists()  # the CRM did not answer as well
    ooo_off(account=account)  # the script is regenerated without the vacation answer
    dovecot.deliver(mail_user.login, message("bruno@cliente.test", mail_user.login, "Altra domanda"),
                    "bruno@cliente.test")
    assert len(dovecot.sieve_sent()) == before + 1


def test_with_rules_on_the_server_the_crm_still_links_what_the_server_filed(owner, account, mail_user):
    from crm.services import contact_create
    from messages_app.models import LinkReason, LinkState, Message, MessageLink

    contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    rules_replace(account=account, rules=[rule_from_dict({
        "name": "Ordini al CRM", "conditions": [{"field": "subject", "op": "contains", "value": "ordine"}],
        "actions": [{"action": "link_crm"}, {"action": "move", "folder": "Ordini"}]})])
    assert sieve_install(account=account, rules=True, port=mail_user.sieve_port).on_server
    mail_user.dovecot.deliver(mail_user.login, message("mario@cliente.test", mail_user.login, "Nuovo ordine 13"),
                              "mario@cliente.test")
    mail_user.dovecot.deliver(mail_user.login, message("mario@cliente.test", mail_user.login, "Saluti"),
                              "mario@cliente.test")
    account_sync(account.pk)
    filed = Message.objects.get(account=account, subject="Nuovo ordine 13")
    assert filed.folder.name == "Ordini"  # the server filed it
    assert not RuleRun.objects.exists()  # and the CRM did not file it again
    assert [(link.reason, link.detail, link.state) for link in MessageLink.objects.filter(message=filed)] == [
        (LinkReason.MANUAL, "filter: Ordini al CRM", LinkState.LINKED)]
    other = Message.objects.get(account=account, subject="Saluti")  # no rule: linked by its address as usual
    assert [link.reason for link in MessageLink.objects.filter(message=other)] == [LinkReason.ADDRESS]
