"""The OAuth2 providers: their configuration (environment only) and where each is offered."""

from django.conf import settings

from messages_app.enums import Preset
from messages_app.gateways.oauth import GOOGLE, MICROSOFT, ProviderConfig

GOOGLE_SCOPES = ("https://mail.google.com/", "openid", "https://www.googleapis.com/auth/userinfo.email")
# msal adds offline_access (for the refresh token), openid and profile to every request.
MICROSOFT_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send")

LABELS = {GOOGLE: "Google", MICROSOFT: "Microsoft"}
PROVIDERS = (GOOGLE, MICROSOFT)


def provider_config(name: str) -> ProviderConfig | None:
    """The provider's configuration, or None when it is unknown or not configured."""
    if name == GOOGLE and settings.OAUTH_GOOGLE_CLIENT_ID and settings.OAUTH_GOOGLE_CLIENT_SECRET:
        return ProviderConfig(name=GOOGLE, client_id=settings.OAUTH_GOOGLE_CLIENT_ID,
                              client_secret=settings.OAUTH_GOOGLE_CLIENT_SECRET, scopes=GOOGLE_SCOPES,
                              auth_uri=settings.OAUTH_GOOGLE_AUTH_URI, token_uri=settings.OAUTH_GOOGLE_TOKEN_URI,
                              ca_file=settings.OAUTH_CA_FILE)
    if name == MICROSOFT and settings.OAUTH_MICROSOFT_CLIENT_ID and settings.OAUTH_MICROSOFT_CLIENT_SECRET:
        return ProviderConfig(name=MICROSOFT, client_id=settings.OAUTH_MICROSOFT_CLIENT_ID,
                              client_secret=settings.OAUTH_MICROSOFT_CLIENT_SECRET, scopes=MICROSOFT_SCOPES,
                              authority=settings.OAUTH_MICROSOFT_AUTHORITY.rstrip("/"),
                              ca_file=settings.OAUTH_CA_FILE)
    return None


def configured_providers() -> list[str]:
    return [name for name in PROVIDERS if provider_config(name) is not None]


def providers_for_kind(kind: str) -> list[str]:
    """The configured providers offered for an account type: Google for Gmail, Microsoft for
    Office365 (its standard preset, not a custom account), both for Custom and company servers."""
    offered = {Preset.GMAIL: [GOOGLE], Preset.OFFICE365: [MICROSOFT]}.get(kind)
    if offered is None:
        offered = list(PROVIDERS) if kind == Preset.CUSTOM or not kind or ":" in kind else []
    configured = configured_providers()
    return [name for name in offered if name in configured]
