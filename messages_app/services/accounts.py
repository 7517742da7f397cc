"""Writes on mail accounts: defaults from presets, one primary per user, shared senders."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from messages_app.models import MailAccount
from messages_app.models.account import ENDPOINT_FIELDS
from messages_app.presets import preset_for


def apply_server_defaults(account: MailAccount, *, include_smtp: bool = True) -> None:
    """Fill the servers of the chosen preset or company server (Custom keeps what was typed).

    `include_smtp=False` keeps an SMTP server the user entered by hand beside a preset.
    """
    source = account.company_server or preset_for(account.preset)
    if source is None:
        return
    account.imap_host, account.imap_port, account.imap_security = (
        source.imap_host, source.imap_port, source.imap_security)
    if include_smtp:
        account.smtp_host, account.smtp_port, account.smtp_security = (
            source.smtp_host, source.smtp_port, source.smtp_security)


def fill_identity_defaults(account: MailAccount) -> None:
    """Email and description default to the username when left empty."""
    if not account.email:
        account.email = account.username if "@" in account.username else ""
    if not account.description:
        account.description = account.username


def _check_shared_sender_permission(account: MailAccount, actor) -> None:
    if account.is_shared_sender and not actor.is_staff:
        raise PermissionDenied("only staff may mark an account as shared sender")


def _check_endpoints(account: MailAccount) -> None:
    """Ports within 1..65535 and host names within 255 characters, whoever saves (the form checks
    the same through the model; the command line and other callers come through here)."""
    account.clean_fields(exclude=[f.name for f in MailAccount._meta.fields if f.name not in ENDPOINT_FIELDS])


@sensitive_variables()  # every variable, in its wrapper frames too (atomic's kwds)
@transaction.atomic
def mail_account_save(*, account: MailAccount, actor, password: str | None = None,
                      smtp_password: str | None = None) -> MailAccount:
    """Create or update an account. `None` passwords keep the stored ones."""
    _check_endpoints(account)
    if account.pk:
        previous = MailAccount.objects.select_for_update().get(pk=account.pk)
        if not actor.is_staff and account.is_shared_sender != previous.is_shared_sender:
            raise PermissionDenied("only staff may change the shared sender setting")
        if not getattr(account, "oauth_tokens_replaced", False):
            # A worker may have refreshed (and the provider rotated) the tokens since this copy
            # was read: writing the stale ones back would spend the refresh token for good.
            account.oauth_token_encrypted = previous.oauth_token_encrypted
    else:
        _check_shared_sender_permission(account, actor)
    fill_identity_defaults(account)
    if password is not None:
        account.set_password(password)
    if smtp_password is not None:
        account.set_smtp_password(smtp_password)
    # Lock the user's accounts so two concurrent saves cannot both become (or drop) primary.
    siblings = list(MailAccount.objects.select_for_update().filter(owner=account.owner).exclude(pk=account.pk))
    if not any(s.is_primary for s in siblings):
        account.is_primary = True
    if account.is_primary:
        MailAccount.objects.filter(owner=account.owner, is_primary=True).exclude(pk=account.pk).update(is_primary=False)
    account.save()
    return account


@transaction.atomic
def mail_account_make_primary(*, account: MailAccount) -> None:
    MailAccount.objects.filter(owner=account.owner, is_primary=True).exclude(pk=account.pk).update(is_primary=False)
    MailAccount.objects.filter(pk=account.pk).update(is_primary=True)


@transaction.atomic
def mail_account_delete(*, account: MailAccount) -> None:
    owner, was_primary = account.owner, account.is_primary
    account.delete()
    if was_primary:
        successor = MailAccount.objects.filter(owner=owner).order_by("id").first()
        if successor is not None:
            MailAccount.objects.filter(pk=successor.pk).update(is_primary=True)

