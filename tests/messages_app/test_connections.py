"""The connection factory (services/connections.py): the one way from an account to a server."""

import ast
from pathlib import Path

import pytest

from messages_app.exceptions import AuthFailed, HostNotAllowed
from messages_app.services import connections
from tests.conftest import account_on

SERVICES = Path(connections.__file__).parent
MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: %d\r\n\r\nCiao.\r\n"


def test_imap_connect_logs_in_with_the_account_settings(owner, mail_user):
    account = account_on(owner, mail_user)
    with connections.imap_connect(account) as conn:
        assert conn.select("INBOX").exists == 0
    account.set_password("wrong")
    with pytest.raises(AuthFailed):
        connections.imap_connect(account)


def test_one_smtp_session_sends_several_messages(owner, mail_user, smtp_server):
    account = account_on(owner, mail_user)
    with connections.smtp_connect(account) as conn:
        first = conn.send(sender=mail_user.email, recipients=["bob@example.test"], message=MESSAGE % 1)
        second = conn.send(sender=mail_user.email, recipients=["carol@example.test"], message=MESSAGE % 2)
    assert (first.accepted, second.accepted) == (("bob@example.test",), ("carol@example.test",))
    received = smtp_server.wait_for(2, login=mail_user.login)
    assert [m.rcpt_tos for m in received] == [["bob@example.test"], ["carol@example.test"]]


def test_the_private_address_rule_applies_to_both_protocols(settings, owner, mail_user):
    account = account_on(owner, mail_user)
    settings.MAIL_ALLOW_PRIVATE_HOSTS = False  # the owner is not staff and picked no company server
    with pytest.raises(HostNotAllowed):
        connections.imap_connect(account)
    with pytest.raises(HostNotAllowed):
        connections.smtp_connect(account)


def test_the_credential_is_obtained_in_one_place(owner, mail_user):
    account = account_on(owner, mail_user)
    assert connections._credential(account, connections.IMAP) == mail_user.password
    assert connections._credential(account, connections.SMTP) == mail_user.password  # defaults to IMAP's
    account.set_smtp_password("smtp-only")
    assert connections._credential(account, connections.SMTP) == "smtp-only"
    assert connections.smtp_config_for(account).password == "smtp-only"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_services_neither_enqueue_tasks_nor_dial_servers_themselves():
    for path in SERVICES.glob("*.py"):
        imported = _imports(path)
        assert not any(name.startswith("messages_app.tasks") for name in imported), path.name
        if path.name != "connections.py":
            dialing = {n for n in imported if n.startswith(("messages_app.gateways", "messages_app.netguard"))
                       or n == "messages_app.sync.account.open_connection"}
            assert not dialing, (path.name, dialing)


def test_sync_knows_nothing_of_services():
    """sync/ gets its connection from the caller (services/sync.py), never from services/."""
    for path in (SERVICES.parent / "sync").glob("*.py"):
        assert not any(name.startswith("messages_app.services") for name in _imports(path)), path.name
