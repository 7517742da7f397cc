"""A narrow adapter over the two OAuth2 libraries: google-auth-oauthlib (and google-auth for the
refresh) for Google, msal for Microsoft. Nothing outside gateways/ imports them.

Three calls per provider, frozen dataclasses out, one error family out (OAuthError, with
OAuthInvalidGrant for a refresh token the provider no longer accepts):

    authorization_start(config, redirect_uri) -> AuthorizationStart   (url + what to keep in the session)
    authorization_finish(config, kept, query) -> TokenSet             (the code exchanged, PKCE verified)
    refresh(config, refresh_token) -> TokenSet

Both libraries are pointed at the endpoints in ProviderConfig (the defaults are Google's and
Microsoft's; settings override them for tests and sovereign clouds), over HTTPS verified against
the system store or OAUTH_CA_FILE. Neither library is asked to log: their DEBUG output carries
request bodies (codes, refresh tokens), so their loggers are held at WARNING here.
"""

import base64
import datetime
import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field

import msal
import requests
from google.auth import exceptions as google_exceptions
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.credentials import Credentials as GoogleCredentials
from google_auth_oauthlib.flow import Flow as GoogleFlow
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

GOOGLE = "google"
MICROSOFT = "microsoft"

# requests_oauthlib logs the token request body (code, refresh token) at DEBUG.
for _name in ("requests_oauthlib", "oauthlib", "msal", "google.auth", "google_auth_oauthlib", "urllib3"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class OAuthError(Exception):
    """The provider refused or could not be reached; `error` is its OAuth error code, if any.
    str() never holds a token."""

    def __init__(self, detail: str = "", *, error: str = ""):
        super().__init__(detail or error or self.__class__.__name__)
        self.detail = detail
        self.error = error


class OAuthInvalidGrant(OAuthError):
    """The refresh token (or code) is revoked, expired or spent: only a new sign-in helps."""


class OAuthStateMismatch(OAuthError):
    """The answer does not belong to the flow this session started (CSRF, or a stale tab)."""


@dataclass(frozen=True)
class ProviderConfig:
    name: str  # GOOGLE or MICROSOFT
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    auth_uri: str = ""  # Google
    token_uri: str = ""  # Google
    authority: str = ""  # Microsoft (msal discovers the endpoints under it)
    ca_file: str = ""
    timeout: float = 10.0


@dataclass(frozen=True)
class AuthorizationStart:
    url: str
    state: str
    kept: dict = field(repr=False)  # JSON: the flow's secrets (PKCE verifier, nonce), for the session only


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # epoch seconds
    email: str = ""  # who signed in, from the id_token (read from the token endpoint over TLS)


class _Session(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE override a session's `verify`: OAUTH_CA_FILE must win."""

    ca_file = ""

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca_file:
            merged["verify"] = self.ca_file
        return merged


def _session(config: ProviderConfig) -> requests.Session:
    session = _Session()
    session.ca_file = config.ca_file
    return session


def _claims(id_token: str) -> dict:
    # Received directly from the token endpoint over verified TLS: OIDC core 3.1.3.7 lets the
    # client rely on that instead of the signature.
    try:
        payload = id_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


# -- Google --------------------------------------------------------------------------------
def _google_flow(config: ProviderConfig, redirect_uri: str, **kwargs) -> GoogleFlow:
    client = {"web": {"client_id": config.client_id, "client_secret": config.client_secret,
                      "auth_uri": config.auth_uri, "token_uri": config.token_uri,
                      "redirect_uris": [redirect_uri]}}
    flow = GoogleFlow.from_client_config(client, scopes=list(config.scopes), redirect_uri=redirect_uri, **kwargs)
    return flow


def _google_start(config: ProviderConfig, redirect_uri: str, login_hint: str) -> AuthorizationStart:
    flow = _google_flow(config, redirect_uri, autogenerate_code_verifier=True)
    extra = {"login_hint": login_hint} if login_hint else {}
    # offline + consent: Google only returns a refresh token when it asks for consent.
    url, state = flow.authorization_url(access_type="offline", prompt="consent", **extra)
    return AuthorizationStart(url=url, state=state,
                              kept={"state": state, "code_verifier": flow.code_verifier, "redirect_uri": redirect_uri})


def _google_finish(config: ProviderConfig, kept: dict, query: dict) -> TokenSet:
    flow = _google_flow(config, kept["redirect_uri"], state=kept["state"], code_verifier=kept["code_verifier"],
                        autogenerate_code_verifier=False)
    try:
        token = flow.fetch_token(code=query.get("code", ""), timeout=config.timeout, verify=config.ca_file or True)
    except oauthlib_errors.InvalidGrantError as exc:
        raise OAuthInvalidGrant(exc.description or "", error="invalid_grant") from None
    except oauthlib_errors.OAuth2Error as exc:
        raise OAuthError(exc.description or "", error=exc.error) from None
    except requests.RequestException as exc:
        raise OAuthError(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    return TokenSet(access_token=token["access_token"], refresh_token=token.get("refresh_token", ""),
                    expires_at=float(token.get("expires_at") or time.time() + int(token.get("expires_in", 3600))),
                    email=_claims(token.get("id_token", "")).get("email", ""))


def _google_refresh(config: ProviderConfig, refresh_token: str) -> TokenSet:
    credentials = GoogleCredentials(token=None, refresh_token=refresh_token, token_uri=config.token_uri,
                                    client_id=config.client_id, client_secret=config.client_secret)
    try:
        credentials.refresh(GoogleRequest(_session(config)))
    except google_exceptions.RefreshError as exc:
        data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = data.get("error", "")
        cls = OAuthInvalidGrant if error == "invalid_grant" else OAuthError
        raise cls(data.get("error_description", ""), error=error) from None
    except google_exceptions.TransportError as exc:
        raise OAuthError(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    expiry = credentials.expiry  # naive UTC
    expires_at = expiry.replace(tzinfo=datetime.UTC).timestamp() if expiry else time.time()
    return TokenSet(access_token=credentials.token, refresh_token=credentials.refresh_token or refresh_token,
                    expires_at=expires_at)


# -- Microsoft -----------------------------------------------------------------------------
def _msal_app(config: ProviderConfig) -> msal.ConfidentialClientApplication:
    try:
        return msal.ConfidentialClientApplication(
            config.client_id, client_credential=config.client_secret, authority=config.authority,
            http_client=_session(config), timeout=config.timeout,
            # No instance discovery at login.microsoftonline.com for an authority it does not know
            # (a local stand-in, a sovereign cloud given by URL): the endpoints come from the authority.
            instance_discovery=False,
        )
    except (ValueError, requests.RequestException) as exc:
        raise OAuthError(f"the Microsoft authority could not be used ({type(exc).__name__})") from None


def _msal_result(result: dict, *, nonce: str = "") -> TokenSet:
    if "error" in result:
        error = result.get("error", "")
        cls = OAuthInvalidGrant if error == "invalid_grant" else OAuthError
        raise cls(result.get("error_description", "").splitlines()[0] if result.get("error_description") else "",
                  error=error)
    claims = result.get("id_token_claims") or {}
    # msal sends the SHA-256 of the flow's nonce in the request; the id_token echoes what was sent.
    if nonce and claims and claims.get("nonce") not in (None, hashlib.sha256(nonce.encode()).hexdigest()):
        raise OAuthStateMismatch("the id_token does not answer this sign-in (nonce)")
    return TokenSet(access_token=result["access_token"], refresh_token=result.get("refresh_token", ""),
                    expires_at=time.time() + int(result.get("expires_in", 3600)),
                    email=claims.get("preferred_username") or claims.get("email") or "")


def _microsoft_start(config: ProviderConfig, redirect_uri: str, login_hint: str) -> AuthorizationStart:
    # msal adds offline_access, openid and profile itself (and refuses them in `scopes`).
    app = _msal_app(config)
    with warnings.catch_warnings():
        # msal recommends response_mode=form_post; the callback is a GET bound to the session's
        # state and PKCE verifier, which is what protects it.
        warnings.simplefilter("ignore", UserWarning)
        flow = app.initiate_auth_code_flow(list(config.scopes), redirect_uri=redirect_uri,
                                           login_hint=login_hint or None)
    return AuthorizationStart(url=flow["auth_uri"], state=flow["state"], kept=flow)


def _microsoft_finish(config: ProviderConfig, kept: dict, query: dict) -> TokenSet:
    app = _msal_app(config)
    try:
        result = app.acquire_token_by_auth_code_flow(kept, query, scopes=list(config.scopes))
    except ValueError:  # msal's own state check
        raise OAuthStateMismatch("the answer does not belong to this sign-in") from None
    except requests.RequestException as exc:
        raise OAuthError(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    return _msal_result(result, nonce=kept.get("nonce", ""))


def _microsoft_refresh(config: ProviderConfig, refresh_token: str) -> TokenSet:
    try:
        result = _msal_app(config).acquire_token_by_refresh_token(refresh_token, scopes=list(config.scopes))
    except requests.RequestException as exc:
        raise OAuthError(f"the token endpoint could not be reached ({type(exc).__name__})") from None
    tokens = _msal_result(result)
    # Microsoft rotates refresh tokens; keep the old one only if none came back.
    return TokenSet(access_token=tokens.access_token, refresh_token=tokens.refresh_token or refresh_token,
                    expires_at=tokens.expires_at, email=tokens.email)


# -- the three calls -----------------------------------------------------------------------
def authorization_start(config: ProviderConfig, redirect_uri: str, *, login_hint: str = "") -> AuthorizationStart:
    """The provider's authorization URL (with state and a PKCE S256 challenge) to redirect to."""
    if config.name == GOOGLE:
        return _google_start(config, redirect_uri, login_hint)
    return _microsoft_start(config, redirect_uri, login_hint)


def authorization_finish(config: ProviderConfig, kept: dict, query: dict) -> TokenSet:
    """Exchange the code in the provider's redirect (`query`) for tokens. The caller has checked
    `state` against the session already; an `error` in the query raises OAuthError."""
    if query.get("error"):
        raise OAuthError(query.get("error_description", ""), error=query["error"])
    if config.name == GOOGLE:
        return _google_finish(config, kept, query)
    return _microsoft_finish(config, kept, query)


def refresh(config: ProviderConfig, refresh_token: str) -> TokenSet:
    """A refresh_token grant. OAuthInvalidGrant when the provider no longer accepts the token."""
    if config.name == GOOGLE:
        return _google_refresh(config, refresh_token)
    return _microsoft_refresh(config, refresh_token)
