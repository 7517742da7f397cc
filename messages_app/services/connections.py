"""The one place that turns a stored account into a live connection to its servers.

Everything an account says about reaching a server is read here and nowhere else: host, port,
security, login, the credential, the private-address rule (netguard), the TLS trust store
(MAIL_TLS_CA_FILE, applied by the gateways) and the timeout. Callers get a gateway connection
that is also a context manager:

    with imap_connect(account) as conn: ...
    with smtp_connect(account) as conn: conn.send(...)

POP3 and ManageSieve connections, when they come, get their `*_connect` here too.

OAuth2 accounts log in with SASL XOAUTH2 and the access token from oauth.token_get_valid(); when
the server refuses a token that should be valid, the token is refreshed once and the login
retried once (never a loop). There is no fallback to a password.
"""

import dataclasses

from django.conf import settings

from messages_app.exceptions import AuthFailed, ReauthRequired
from messages_app.gateways import imap as imap_gateway
from messages_app.gateways import pop3 as pop3_gateway
from messages_app.gateways import sieve as sieve_gateway
from messages_app.gateways import smtp as smtp_gateway
from messages_app.models import MailAccount
from messages_app.netguard import resolve
from messages_app.oauth.tokens import token_get_valid

IMAP = "imap"
SMTP = "smtp"


def _credential(account: MailAccount, protocol: str) -> str:
    """The secret to log in with, for IMAP or SMTP. The single spot that obtains it: the OAuth
    token accessor (oauth.token_get_valid()) is called here and nowhere else, and the configs
    below then carry the access token instead of a password."""
    if account.uses_oauth:
        return token_get_valid(account)
    if protocol == SMTP:
        return account.get_smtp_password()
    return account.get_password()


def private_hosts_allowed(account: MailAccount) -> bool:
    """Loopback/private servers are for staff, company servers staff defined, or when enabled.
    A company server's exemption covers exactly its own host, port and security: the same host
    on another port the user typed is a port scan of the company's network, not the server."""
    if settings.MAIL_ALLOW_PRIVATE_HOSTS or account.owner.is_staff:
        return True
    server = account.company_server
    return bool(server and server.is_active and (account.imap_host, account.imap_port, account.imap_security)
                == (server.imap_host, server.imap_port, server.imap_security))


def _company_smtp_allowed(account: MailAccount) -> bool:
    server = account.company_server
    return bool(server and server.is_active and (account.smtp_host, account.smtp_port, account.smtp_security)
                == (server.smtp_host, server.smtp_port, server.smtp_security))


def imap_config_for(account: MailAccount, *, deadline: float | None = None) -> imap_gateway.ImapConfig:
    endpoint = resolve(account.imap_host, account.imap_port, allow_private=private_hosts_allowed(account))
    login = account.username
    if account.imap_domain and not account.uses_oauth:
        login = f"{account.imap_domain}\\{account.username}"  # Exchange-style DOMAIN\user logins
    return imap_gateway.ImapConfig(
        endpoint=endpoint,
        security=account.imap_security,
        username=login,
        password=_credential(account, IMAP),
        timeout=settings.MAIL_CONNECT_TIMEOUT,
        deadline=deadline,
        oauth2=account.uses_oauth,
        max_literal=settings.MAIL_MAX_LITERAL_BYTES,
    )


def smtp_config_for(account: MailAccount, *, deadline: float | None = None) -> smtp_gateway.SmtpConfig:
    allow = settings.MAIL_ALLOW_PRIVATE_HOSTS or account.owner.is_staff or _company_smtp_allowed(account)
    endpoint = resolve(account.smtp_host, account.smtp_port, allow_private=allow)
    return smtp_gateway.SmtpConfig(
        endpoint=endpoint,
        security=account.smtp_security,
        username=account.effective_smtp_username,
        password=_credential(account, SMTP) if account.smtp_auth_required else "",
        auth_required=account.smtp_auth_required,
        timeout=settings.MAIL_CONNECT_TIMEOUT,
        deadline=deadline,
        oauth2=account.uses_oauth,
    )


def _with_one_token_retry(account: MailAccount, config, connect):
    try:
        return connect(config)
    except AuthFailed:
        if not config.oauth2:
            raise
    # The server refused a token that should be valid (revoked early, clock skew): one refresh,
    # one retry. A second refusal means the authorization is gone.
    token = token_get_valid(account, refused_token=config.password)
    try:
        return connect(dataclasses.replace(config, password=token))
    except AuthFailed:
        raise ReauthRequired(host=config.endpoint.host, port=config.endpoint.port) from None


def imap_connect(account: MailAccount, *, deadline: float | None = None) -> imap_gateway.ImapConnection:
    """An authenticated IMAP connection (close it, or use it in a `with`). Raises MailError.
    `deadline`: seconds the whole connection may last (None for a kept IDLE connection)."""
    return _with_one_token_retry(account, imap_config_for(account, deadline=deadline), imap_gateway.connect)


def smtp_connect(account: MailAccount, *, deadline: float | None = None) -> smtp_gateway.SmtpConnection:
    """An authenticated SMTP session (close it, or use it in a `with`). Raises MailError."""
    return _with_one_token_retry(account, smtp_config_for(account, deadline=deadline), smtp_gateway.connect)


def pop3_connect(box) -> pop3_gateway.Pop3Connection:
    """An authenticated POP3 session for a POP3 box of an account (close it, or use it in a `with`).
    The private-address rule is the IMAP one: staff, or MAIL_ALLOW_PRIVATE_HOSTS."""
    allow = settings.MAIL_ALLOW_PRIVATE_HOSTS or box.account.owner.is_staff
    endpoint = resolve(box.host, box.port, allow_private=allow)
    return pop3_gateway.connect(pop3_gateway.Pop3Config(
        endpoint=endpoint, security=box.security, username=box.username, password=box.get_password(),
        timeout=settings.MAIL_CONNECT_TIMEOUT))


def sieve_connect(account: MailAccount, *, port: int) -> sieve_gateway.SieveConnection:
    """An authenticated ManageSieve session on the account's IMAP host (STARTTLS unless the account
    uses no TLS for IMAP; implicit TLS is not a ManageSieve thing). Same private-address rule as IMAP."""
    endpoint = resolve(account.imap_host, port, allow_private=private_hosts_allowed(account))
    security = "none" if account.imap_security == "none" else "starttls"
    return sieve_gateway.connect(sieve_gateway.SieveConfig(
        endpoint=endpoint, security=security, username=account.username, password=_credential(account, IMAP),
        timeout=settings.MAIL_CONNECT_TIMEOUT))
