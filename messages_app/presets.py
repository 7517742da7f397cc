"""Provider presets: the servers a user would otherwise copy from the provider's documentation."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from messages_app.enums import Preset, Security


@dataclass(frozen=True)
class ServerPreset:
    imap_host: str
    imap_port: int
    imap_security: str
    smtp_host: str
    smtp_port: int
    smtp_security: str
    notice: str = ""
    # Other SMTP settings the provider documents, offered as alternatives in the form.
    smtp_alternatives: tuple[tuple[int, str], ...] = ()


GMAIL_NOTICE = _(
    "Since 30 May 2022 Google no longer accepts your normal password from mail programs: "
    "create an app password (Google Account > Security > App passwords) or use OAuth2."
)

PRESETS: dict[str, ServerPreset] = {
    Preset.GMAIL: ServerPreset(
        "imap.gmail.com", 993, Security.SSL, "smtp.gmail.com", 465, Security.SSL,
        notice=GMAIL_NOTICE, smtp_alternatives=((587, Security.STARTTLS),),
    ),
    # Office365 IMAP is 993; port 443 is the web client and never speaks IMAP.
    Preset.OFFICE365: ServerPreset(
        "outlook.office365.com", 993, Security.SSL, "smtp.office365.com", 587, Security.STARTTLS,
    ),
    Preset.YAHOO: ServerPreset(
        "imap.mail.yahoo.com", 993, Security.SSL, "smtp.mail.yahoo.com", 465, Security.SSL,
        smtp_alternatives=((587, Security.STARTTLS),),
    ),
    # 587 STARTTLS is the port the vtenext manual gives for Aruba.
    Preset.ARUBA: ServerPreset(
        "imaps.aruba.it", 993, Security.SSL, "smtps.aruba.it", 587, Security.STARTTLS,
        smtp_alternatives=((465, Security.SSL),),
    ),
    Preset.PEC_ARUBA: ServerPreset(
        "imaps.pec.aruba.it", 993, Security.SSL, "smtps.pec.aruba.it", 587, Security.STARTTLS,
        smtp_alternatives=((465, Security.SSL),),
    ),
    Preset.PEC_LEGALMAIL: ServerPreset(
        "mbox.cert.legalmail.it", 993, Security.SSL, "sendm.cert.legalmail.it", 465, Security.SSL,
    ),
}


def preset_for(preset: str) -> ServerPreset | None:
    """The servers of a preset, or None for Custom (every field entered by hand)."""
    return PRESETS.get(preset)


def split_host_scheme(value: str, default_security: str) -> tuple[str, str]:
    """Accept `ssl://host` and `tls://host` as pasted from provider docs.

    Returns (host, security). `ssl://` means implicit TLS; `tls://` means STARTTLS, which is how
    PHP mailers (and so the vtenext manual) spell it.
    """
    text = value.strip()
    lowered = text.lower()
    for prefix, security in (("ssl://", Security.SSL), ("tls://", Security.STARTTLS),
                             ("imaps://", Security.SSL), ("smtps://", Security.SSL)):
        if lowered.startswith(prefix):
            return text[len(prefix):].strip().rstrip("/"), security
    return text, default_security
