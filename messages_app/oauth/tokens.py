"""OAuth2 tokens at rest and token_get_valid(), the one place that refreshes them.

The token set (access token, refresh token, expiry) is stored encrypted like a password
(MailAccount.oauth_token_encrypted, see crypto.py) and never logged. Only the connection factory
(services/connections.py) asks for a token.

Refreshing happens ahead of expiry (OAUTH_REFRESH_MARGIN_SECONDS), inside a transaction holding the
account row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions take the write
lock at BEGIN): two workers wanting a refresh at once queue, the second finds the first one's new
tokens and uses them. That matters because Microsoft rotates refresh tokens: the old one is spent
once used, and a second refresh with it would be refused and log the user out. The new tokens
are saved in the same transaction as the refresh.

A refresh token the provider refuses (invalid_grant) marks the account "sign in again"
(auth_failed on an OAuth2 account, the tokens flagged revoked): ReauthRequired from then on,
without asking the provider again, until the user connects anew. Other accounts are untouched.
"""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from messages_app.exceptions import MailError, ReauthRequired
from messages_app.gateways import oauth as oauth_gateway
from messages_app.models import MailAccount
from messages_app.oauth.providers import provider_config

logger = logging.getLogger(__name__)


class OAuthUnavailable(MailError):
    """The identity provider could not be reached or answered with an error other than
    invalid_grant: transient, the next pass tries again."""

    permanent = False

    def user_message(self) -> str:
        from django.utils.translation import gettext as _

        return _("The sign-in provider could not be reached: the account will retry shortly.")


@sensitive_variables()
def tokens_store(*, account: MailAccount, provider: str, tokens: oauth_gateway.TokenSet) -> None:
    """Keep a new sign-in's tokens on `account` (not saved here: the caller saves the account)."""
    account.oauth_provider = provider
    account.set_oauth_tokens({"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
                              "expires_at": tokens.expires_at})
    account.auth_failed = False
    account.sync_error = ""
    account.oauth_tokens_replaced = True  # mail_account_save keeps these, not the stored ones


def _fresh(tokens: dict) -> bool:
    return bool(tokens.get("access_token")) and \
        float(tokens.get("expires_at", 0)) - settings.OAUTH_REFRESH_MARGIN_SECONDS > time.time()


# No frame of these shows its locals (the tokens) on an error page, DEBUG or not (crm/debug.py).
@sensitive_variables()
def token_get_valid(account: MailAccount, *, refused_token: str = "") -> str:
    """A valid access token for `account`, refreshed first when it expires soon.

    refused_token: the server just refused this token although it looked valid: refresh once
    (unless another worker already replaced it). Raises ReauthRequired when only a new sign-in
    helps, OAuthUnavailable when the provider cannot be reached now.
    """
    tokens = account.get_oauth_tokens()
    if not tokens or tokens.get("revoked") or account.reauth_required:
        raise ReauthRequired()
    if _fresh(tokens) and tokens["access_token"] != refused_token:
        return tokens["access_token"]
    config = provider_config(account.oauth_provider)
    if config is None:
        raise OAuthUnavailable(f"the OAuth2 provider {account.oauth_provider!r} is not configured", permanent=True)
    revoked = False
    with transaction.atomic():
        row = MailAccount.objects.select_for_update().only(
            "pk", "secret_binding", "oauth_token_encrypted").get(pk=account.pk)
        tokens = row.get_oauth_tokens()
        if not tokens or tokens.get("revoked"):
            raise ReauthRequired()
        if _fresh(tokens) and tokens["access_token"] != refused_token:
            # Another worker refreshed while this one waited for the row: use its tokens.
            account.oauth_token_encrypted = row.oauth_token_encrypted
            return tokens["access_token"]
        try:
            new = oauth_gateway.refresh(config, tokens["refresh_token"])
        except oauth_gateway.OAuthInvalidGrant:
            revoked = True
            tokens = {**tokens, "access_token": "", "revoked": True}
            row.set_oauth_tokens(tokens)
            MailAccount.objects.filter(pk=account.pk).update(
                oauth_token_encrypted=row.oauth_token_encrypted, auth_failed=True,
                sync_error=ReauthRequired().user_message())
        except oauth_gateway.OAuthError as exc:
            logger.warning("account %s: token refresh failed: %s", account.pk, exc.error or type(exc).__name__)
            raise OAuthUnavailable(exc.error or "token refresh failed") from None
        else:
            row.set_oauth_tokens({**tokens, "access_token": new.access_token, "refresh_token": new.refresh_token,
                                  "expires_at": new.expires_at})
            MailAccount.objects.filter(pk=account.pk).update(oauth_token_encrypted=row.oauth_token_encrypted)
    # Outside the transaction, so that the "sign in again" mark above is committed.
    account.oauth_token_encrypted = row.oauth_token_encrypted
    if revoked:
        account.auth_failed = True
        logger.warning("account %s: the provider refused the refresh token; the user must sign in again", account.pk)
        raise ReauthRequired()
    logger.info("account %s: access token refreshed", account.pk)
    return new.access_token
