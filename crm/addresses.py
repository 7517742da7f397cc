"""Normalising e-mail addresses and telling free-mail domains apart (no Django models here)."""

import contextlib
import fnmatch
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=65536)
def normalise(address: str) -> str:
    """Case-insensitive, trimmed, without angle brackets or a trailing dot on the domain; the
    domain in its IDNA (ASCII) form so that "Città.it" and "xn--citt-3ra.it" are one."""
    value = (address or "").strip().strip("<>").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return ""
    domain = domain.rstrip(".")
    if not domain.isascii():
        with contextlib.suppress(UnicodeError):
            domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


@lru_cache(maxsize=16384)
def _free_mail(domain: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(domain, pattern) for pattern in patterns)


def is_free_mail(domain: str) -> bool:
    """Free-mail and provider domains (settings.CRM_FREE_MAIL_DOMAINS, shell patterns such as
    "hotmail.*"): an address there says nothing about the company of its owner."""
    return _free_mail((domain or "").lower(), tuple(settings.CRM_FREE_MAIL_DOMAINS))
