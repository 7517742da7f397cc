"""Secrets at rest: MultiFernet over settings.MAIL_ENCRYPTION_KEYS (newest key first).

Every ciphertext carries a binding (the owning row's random id and field name) inside the
encrypted payload, so a ciphertext copied into another row or field fails to decrypt instead of
handing one account's password to another. A wrong key or a tampered value raises SecretError:
an undecryptable secret must never look like an empty password.
"""

import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_SEPARATOR = "\x00"


class SecretError(Exception):
    """A stored secret cannot be decrypted with the configured keys, or belongs to another row."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("MAIL_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"MAIL_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from None


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.MAIL_ENCRYPTION_KEYS))


def encrypt(plaintext: str, *, binding: str) -> str:
    payload = f"{binding}{_SEPARATOR}{plaintext}".encode()
    return _fernet().encrypt(payload).decode()


def decrypt(ciphertext: str, *, binding: str) -> str:
    try:
        payload = _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretError("the stored secret cannot be decrypted with MAIL_ENCRYPTION_KEYS") from None
    stored_binding, sep, plaintext = payload.partition(_SEPARATOR)
    if not sep or not hmac.compare_digest(stored_binding, binding):
        raise SecretError("the stored secret belongs to another record")
    return plaintext


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the newest key; the binding inside is kept as it is."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretError("the stored secret cannot be decrypted with MAIL_ENCRYPTION_KEYS") from None
