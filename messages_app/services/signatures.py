"""Signatures: each account's choice (none, personalised, company), the central company template
(Firma centralizzata), and the signature a message from an account carries for its sender."""

from messages_app.models import AccountSignature, CompanySignature, SignatureChoice
from messages_app.signatures import clean_signature_html, render, signature_text, unknown_placeholders, values_of


def account_signature_of(account) -> AccountSignature:
    """The account's signature settings; the defaults (unsaved: no signature) until changed."""
    return AccountSignature.objects.filter(account=account).first() or AccountSignature(account=account)


def account_signature_update(*, account, choice: str, personal_html: str) -> AccountSignature:
    if choice not in SignatureChoice.values:
        raise ValueError(f"not a signature choice: {choice!r}")
    signature, _created = AccountSignature.objects.update_or_create(
        account=account, defaults={"choice": choice, "personal_html": clean_signature_html(personal_html)})
    return signature


def company_signature_get() -> CompanySignature:
    return CompanySignature.objects.filter(pk=CompanySignature.SINGLETON_PK).first() or CompanySignature(
        pk=CompanySignature.SINGLETON_PK)


def company_signature_save(*, html: str) -> tuple[CompanySignature, list[str]]:
    """Store the central template sanitized; returns it with the placeholders that no user field
    fills, for the admin to be warned about (saving is not refused: the admin may mean it)."""
    cleaned = clean_signature_html(html)
    signature, _created = CompanySignature.objects.update_or_create(
        pk=CompanySignature.SINGLETON_PK, defaults={"html": cleaned})
    return signature, unknown_placeholders(cleaned)


def signature_render(*, template_html: str, user) -> tuple[str, str]:
    """A stored (sanitized) template filled for `user`: (html, text)."""
    html = render(template_html, values_of(user)) if template_html else ""
    return html, signature_text(html) if html else ""


def signature_html_for_choice(*, choice: str, personal_html: str) -> str:
    if choice == SignatureChoice.PERSONAL:
        return personal_html
    if choice == SignatureChoice.COMPANY:
        return company_signature_get().html
    return ""


def signature_for(*, user, account) -> tuple[str, str]:
    """(html, text) of the signature mail from `account` carries when `user` sends it: the
    account's choice, with the placeholders filled with the sender's values (for a shared sender
    the sender is not the account's owner). ("", "") when the account has no signature."""
    settings = account_signature_of(account)
    template_html = signature_html_for_choice(choice=settings.choice, personal_html=settings.personal_html)
    return signature_render(template_html=template_html, user=user)
