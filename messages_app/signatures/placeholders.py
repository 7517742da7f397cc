"""vtenext's `$Module||field$` placeholders, filled with the sending user's values.

Only the `Users` module is known here (the central template is about who sends). The field names
are vtenext's (`email1`, `phone_work`, `roleid`, ...) plus, as aliases, the names of our own User
fields (`email`, `phone`, `role`, ...), so a template copied from vtenext works unchanged.
"""

import re
from dataclasses import dataclass, fields

from django.utils import translation
from django.utils.html import escape

# `$Users||first_name$`; the module and field are matched broadly so that a misspelt one is
# found and reported instead of being sent as it is.
PLACEHOLDER_RE = re.compile(r"\$([A-Za-z][A-Za-z0-9_]*)\|\|([A-Za-z0-9_]+)\$")
KNOWN_MODULE = "Users"


@dataclass(frozen=True)
class SignatureValues:
    """What a signature may say about its user, already as display text."""

    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    role: str = ""  # the role's display name, not its key
    title: str = ""
    department: str = ""
    phone: str = ""
    mobile: str = ""
    fax: str = ""
    address: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


# Placeholder field (lower case) -> attribute of SignatureValues.
PLACEHOLDER_FIELDS: dict[str, str] = {
    # vtenext's names
    "user_name": "username",
    "first_name": "first_name",
    "last_name": "last_name",
    "email1": "email",
    "roleid": "role",
    "title": "title",
    "department": "department",
    "phone_work": "phone",
    "phone_mobile": "mobile",
    "phone_fax": "fax",
    "address_street": "address",
    # our own field names
    "username": "username",
    "full_name": "full_name",
    "email": "email",
    "role": "role",
    "phone": "phone",
    "mobile": "mobile",
    "fax": "fax",
    "address": "address",
}


def values_of(user) -> SignatureValues:
    """The values of a User-like object (accounts.User); missing attributes are empty."""
    values = {}
    for field in fields(SignatureValues):
        if field.name == "role":
            display = getattr(user, "get_role_display", None)
            # The role's name as the sender reads it: the signature is theirs, in their language.
            with translation.override(getattr(user, "language", None) or translation.get_language()):
                values["role"] = str(display()) if callable(display) else str(getattr(user, "role", "") or "")
        else:
            values[field.name] = str(getattr(user, field.name, "") or "")
    return SignatureValues(**values)


def _is_known(module: str, field: str) -> bool:
    return module == KNOWN_MODULE and field.lower() in PLACEHOLDER_FIELDS


def unknown_placeholders(template: str) -> list[str]:
    """Every placeholder of `template` that would not be filled, once each, in order of appearance."""
    unknown: list[str] = []
    for match in PLACEHOLDER_RE.finditer(template):
        if not _is_known(match.group(1), match.group(2)) and match.group(0) not in unknown:
            unknown.append(match.group(0))
    return unknown


def render(template: str, values: SignatureValues) -> str:
    """`template` (HTML) with every known placeholder replaced by its HTML-escaped value; unknown
    ones are left as they are, so the admin sees them in the preview."""

    def replace(match: re.Match) -> str:
        module, field = match.group(1), match.group(2)
        if not _is_known(module, field):
            return match.group(0)
        return escape(getattr(values, PLACEHOLDER_FIELDS[field.lower()]))

    return PLACEHOLDER_RE.sub(replace, template)
