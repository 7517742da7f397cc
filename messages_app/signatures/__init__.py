"""Signatures as pure logic (no database, no network): vtenext placeholders rendered for a user,
the text version of an HTML signature, the sanitizer a stored signature goes through, and the one
place a signature is put into (or swapped in) a message body."""

from messages_app.signatures.placeholders import (
    PLACEHOLDER_FIELDS,
    SignatureValues,
    render,
    unknown_placeholders,
    values_of,
)
from messages_app.signatures.placement import SIGNATURE_CLASS, with_signature
from messages_app.signatures.sanitize import clean_signature_html
from messages_app.signatures.text import signature_text

__all__ = [
    "PLACEHOLDER_FIELDS",
    "SIGNATURE_CLASS",
    "SignatureValues",
    "clean_signature_html",
    "render",
    "signature_text",
    "unknown_placeholders",
    "values_of",
    "with_signature",
]
