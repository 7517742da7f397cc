"""Turn a stored account into gateway configs: decrypt secrets and check the destination."""

from django.conf import settings

from messages_app.gateways.imap import ImapConfig
from messages_app.gateways.smtp import SmtpConfig
from messages_app.models import MailAccount
from messages_app.netguard import resolve


def private_hosts_allowed(account: MailAccount) -> bool:
    """Loopback/private servers are for staff, company servers staff defined, or when enabled."""
    if settings.MAIL_ALLOW_PRIVATE_HOSTS or account.owner.is_staff:
        return True
    server = account.company_server
    return bool(server and server.is_active and account.imap_host == server.imap_host)


def _company_smtp_allowed(account: MailAccount) -> bool:
    server = account.company_server
    return bool(server and server.is_active and account.smtp_host == server.smtp_host)


def imap_config_for(account: MailAccount, *, oauth_access_token: str = "") -> ImapConfig:
    endpoint = resolve(account.imap_host, account.imap_port, allow_private=private_hosts_allowed(account))
    login = account.username
    if account.imap_domain:
        login = f"{account.imap_domain}\\{account.username}"  # Exchange-style DOMAIN\user logins
    return ImapConfig(
        endpoint=endpoint,
        security=account.imap_security,
        username=login,
        password="" if oauth_access_token else account.get_password(),
        oauth_access_token=oauth_access_token,
        timeout=settings.MAIL_CONNECT_TIMEOUT,
    )


def smtp_config_for(account: MailAccount, *, oauth_access_token: str = "") -> SmtpConfig:
    allow = settings.MAIL_ALLOW_PRIVATE_HOSTS or account.owner.is_staff or _company_smtp_allowed(account)
    endpoint = resolve(account.smtp_host, account.smtp_port, allow_private=allow)
    return SmtpConfig(
        endpoint=endpoint,
        security=account.smtp_security,
        username=account.effective_smtp_username,
        password="" if oauth_access_token else account.get_smtp_password(),
        auth_required=account.smtp_auth_required,
        oauth_access_token=oauth_access_token,
        timeout=settings.MAIL_CONNECT_TIMEOUT,
    )
