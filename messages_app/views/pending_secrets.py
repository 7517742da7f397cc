"""Keep the passwords of a form whose connection test failed, so "save anyway" needs no retyping.

They are kept encrypted (bound to a random token) in the session, never in plaintext, and only
for PENDING_MAX_AGE_SECONDS: `mail_rotate_keys` cannot reach into sessions, so a short life keeps
them from outliving a key that is being retired. A kept password that expired, or that the current
MAIL_ENCRYPTION_KEYS cannot decrypt any more, is PendingSecretsLost: the form asks to type it again.
"""

import json
import secrets
import time

from django.views.decorators.debug import sensitive_variables

from messages_app import crypto

_SESSION_KEY = "pending_mail_secrets"
PENDING_MAX_AGE_SECONDS = 600


class PendingSecretsLost(Exception):
    """The passwords kept from the failed test are gone (expired, or no longer decryptable)."""


@sensitive_variables()
def stash(request, *, password: str, smtp_password: str) -> str:
    token = secrets.token_urlsafe(16)
    sealed = crypto.encrypt(json.dumps([password, smtp_password]), binding=f"pending:{token}")
    request.session[_SESSION_KEY] = {token: {"sealed": sealed, "at": time.time()}}
    return token


@sensitive_variables()
def take(request, token: str) -> tuple[str, str] | None:
    """The kept passwords for `token`; None when the form names none."""
    if not token:
        return None
    entry = request.session.get(_SESSION_KEY, {}).get(token)
    if not isinstance(entry, dict) or time.time() - entry.get("at", 0) > PENDING_MAX_AGE_SECONDS:
        clear(request)
        raise PendingSecretsLost
    try:
        password, smtp_password = json.loads(crypto.decrypt(entry["sealed"], binding=f"pending:{token}"))
    except crypto.SecretError:
        clear(request)
        raise PendingSecretsLost from None
    return password, smtp_password


def clear(request) -> None:
    request.session.pop(_SESSION_KEY, None)
