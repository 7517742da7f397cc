"""Keep the passwords of a form whose connection test failed, so "save anyway" needs no retyping.

They are kept encrypted (bound to a random token) in the session, never in plaintext.
"""

import json
import secrets

from messages_app import crypto

_SESSION_KEY = "pending_mail_secrets"


def stash(request, *, password: str, smtp_password: str) -> str:
    token = secrets.token_urlsafe(16)
    sealed = crypto.encrypt(json.dumps([password, smtp_password]), binding=f"pending:{token}")
    request.session[_SESSION_KEY] = {token: sealed}
    return token


def take(request, token: str) -> tuple[str, str] | None:
    stored = request.session.get(_SESSION_KEY, {})
    sealed = stored.get(token) if token else None
    if sealed is None:
        return None
    password, smtp_password = json.loads(crypto.decrypt(sealed, binding=f"pending:{token}"))
    return password, smtp_password


def clear(request) -> None:
    request.session.pop(_SESSION_KEY, None)
