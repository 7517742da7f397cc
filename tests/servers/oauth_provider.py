"""A local OAuth2 identity provider for tests: what Google and Microsoft do, on a loopback port.

It speaks the real protocol over HTTPS (msal refuses any authority that is not https), with a
throwaway CA the clients trust (`ca_path`):

- authorization endpoint: a consent page (who signs in, Allow / Deny) that redirects back to
  the client's redirect_uri with `code` and `state`, or `error=access_denied`;
- token endpoint: `authorization_code` (client secret, redirect_uri and the PKCE S256
  `code_verifier` checked, codes single-use) and `refresh_token` grants. Refresh tokens rotate:
  a used one is spent, and presenting it again (or a revoked one) is `invalid_grant`;
- introspection endpoint (RFC 7662), used by Dovecot's oauth2 passdb and by the test SMTP
  server: `{"active": true, "email": ..., "exp": ...}` while an access token is valid;
- OpenID discovery under each tenant path (`/ms/<tenant>/v2.0/.well-known/openid-configuration`)
  for msal, and an id_token naming the user (with the client's nonce).

Google lives under /google/..., Microsoft under /ms/<tenant>/...; both share one user and token
store. Tests steer it: `expire_access_tokens()`, `revoke(refresh_token)`, `refresh_grants`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

from .ports import HOST
from .tls import make_tls_files, server_context

CLIENT_ID = "postino-test-client"
CLIENT_SECRET = "postino-test-secret"  # noqa: S105 - the stand-in's own test credential


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_jwt(claims: dict) -> str:
    # Clients read the id_token straight from the token endpoint over TLS (OIDC core 3.1.3.7):
    # neither library checks its signature there, so a placeholder one is enough.
    header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "test"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(b'signature')}"


@dataclass
class _Grant:
    email: str
    client_id: str
    scope: str
    access_expires_at: float = 0.0
    refresh_token: str = ""


@dataclass
class _Code:
    email: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    nonce: str
    issued_at: float = field(default_factory=time.monotonic)


class OAuthProvider:
    host = HOST

    def __init__(self, *, access_token_seconds: int = 3600) -> None:
        self.access_token_seconds = access_token_seconds
        self._root = Path(tempfile.mkdtemp(prefix="postino-idp-"))
        self._root.chmod(0o755)  # Dovecot's auth process reads the CA file
        self._tls = make_tls_files(self._root / "tls")
        self._tls.ca.chmod(0o644)
        self.ca_path = self._tls.ca
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Grant] = {}  # access token -> grant
        self._refresh: dict[str, _Grant] = {}  # live refresh token -> grant
        self.refresh_grants = 0  # refresh_token grants answered with new tokens
        self.refresh_attempts: list[str] = []  # every refresh_token grant, by outcome
        self.introspections = 0
        self.issued: list[tuple[str, str, str]] = []  # (email, access token, refresh token), every one issued
        self.inactive_for: set[str] = set()  # users whose access tokens introspection calls inactive
        self.refresh_delay = 0.0  # seconds a refresh takes (to widen races in tests)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ URLs
    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    def google_settings(self) -> dict:
        return {"OAUTH_GOOGLE_CLIENT_ID": CLIENT_ID, "OAUTH_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_GOOGLE_AUTH_URI": f"{self.base_url}/google/authorize",
                "OAUTH_GOOGLE_TOKEN_URI": f"{self.base_url}/google/token"}

    def microsoft_settings(self) -> dict:
        return {"OAUTH_MICROSOFT_CLIENT_ID": CLIENT_ID, "OAUTH_MICROSOFT_CLIENT_SECRET": CLIENT_SECRET,
                "OAUTH_MICROSOFT_AUTHORITY": f"{self.base_url}/ms/common"}

    # --------------------------------------------------------------- control
    def expire_access_tokens(self, email: str | None = None) -> None:
        """Every access token (of `email`) stops being valid now; refresh tokens stay."""
        with self._lock:
            for grant in self._access.values():
                if email is None or grant.email == email:
                    grant.access_expires_at = 0

    def tokens_of(self, email: str) -> list[str]:
        """Every access and refresh token ever issued to `email` (to prove none is stored in clear)."""
        with self._lock:
            return [token for who, access, refresh in self.issued if who == email for token in (access, refresh)]

    def revoke(self, refresh_token: str) -> None:
        """The user withdrew consent: the refresh token is refused from now on (invalid_grant)."""
        with self._lock:
            self._refresh.pop(refresh_token, None)

    def revoke_all(self, email: str) -> None:
        with self._lock:
            for token in [t for t, g in self._refresh.items() if g.email == email]:
                del self._refresh[token]
            for grant in self._access.values():
                if grant.email == email:
                    grant.access_expires_at = 0

    def issue(self, email: str, *, client_id: str = CLIENT_ID, scope: str = "") -> dict:
        """Tokens for `email` without the browser dance (for tests that start from a signed-in account)."""
        with self._lock:
            return self._issue(_Grant(email=email, client_id=client_id, scope=scope), nonce="")

    def _issue(self, grant: _Grant, *, nonce: str, tenant: str = "") -> dict:
        access = "at-" + secrets.token_urlsafe(24)
        refresh = "rt-" + secrets.token_urlsafe(24)
        grant.access_expires_at = time.time() + self.access_token_seconds
        grant.refresh_token = refresh
        self._access[access] = grant
        self._refresh[refresh] = grant
        self.issued.append((grant.email, access, refresh))
        now = int(time.time())
        claims = {"iss": f"{self.base_url}/{tenant or 'google'}", "aud": grant.client_id, "sub": grant.email,
                  "email": grant.email, "preferred_username": grant.email, "iat": now, "exp": now + 3600,
                  "tid": "common", "oid": grant.email}
        if nonce:
            claims["nonce"] = nonce
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.access_token_seconds,
                "refresh_token": refresh, "scope": grant.scope, "id_token": _unsigned_jwt(claims)}
        if tenant:  # what Microsoft adds, and msal reads
            body["client_info"] = _b64url(json.dumps({"uid": grant.email, "utid": "common"}).encode())
        return body

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        provider = self

        class Handler(_Handler):
            pass

        Handler.provider = provider
        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        context = server_context(self._tls)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-provider", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> OAuthProvider:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def dovecot_conf(self) -> str:
        """extra_conf for a Dovecot that also accepts XOAUTH2 and OAUTHBEARER, validating each token
        at this provider's introspection endpoint (its oauth2 passdb; passwords keep working)."""
        path = self._root / "dovecot-oauth2.conf.ext"
        path.write_text(f"introspection_mode = post\nintrospection_url = {self.introspection_url}\n"
                        "username_attribute = email\nactive_attribute = active\nactive_value = true\n"
                        f"tls_ca_cert_file = {self.ca_path}\n")
        path.chmod(0o644)
        return ("auth_mechanisms = plain login xoauth2 oauthbearer\n"
                f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {path}\n}}\n")

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    # ------------------------------------------------------------- endpoints
    def authorize_page(self, query: dict, action: str) -> str:
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in query.items())
        hint = html.escape(query.get("login_hint", ""))
        return (f"<!doctype html><html><head><title>Test identity provider</title></head><body>"
                f"<h1>Test identity provider</h1><p>{html.escape(query.get('client_id', ''))} asks for: "
                f"{html.escape(query.get('scope', ''))}</p>"
                f'<form method="post" action="{action}">{fields}'
                f'<label>Account <input name="email" value="{hint}"></label>'
                f'<button name="decision" value="allow">Allow</button>'
                f'<button name="decision" value="deny">Deny</button></form></body></html>')

    def sign_in(self, authorize_url: str, email: str, *, decision: str = "allow") -> str:
        """What a browser does at the consent page: sign in as `email` and Allow (or Deny).
        Returns the redirect back to the client (its redirect_uri with code and state)."""
        url = urlparse(authorize_url)
        form = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        form.update(email=email, decision=decision)
        request = urllib.request.Request(f"{self.base_url}{url.path}/consent", method="POST",
                                         data=urlencode(form).encode())
        opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=self.client_context()))
        try:
            opener.open(request, timeout=5)
        except urllib.error.HTTPError as exc:
            if exc.code == 302:
                return exc.headers["Location"]
            raise
        raise AssertionError("the consent page did not redirect")

    def consent(self, form: dict) -> str:
        """The Location the consent form's answer redirects to."""
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state", "")
        if form.get("decision") != "allow":
            return f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}"
        code = "code-" + secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = _Code(email=form.get("email", ""), client_id=form.get("client_id", ""),
                                      redirect_uri=redirect_uri, scope=form.get("scope", ""),
                                      code_challenge=form.get("code_challenge", ""),
                                      code_challenge_method=form.get("code_challenge_method", ""),
                                      nonce=form.get("nonce", ""))
        return f"{redirect_uri}?{urlencode({'code': code, 'state': state})}"

    def token(self, form: dict, tenant: str) -> tuple[int, dict]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)
                if code is None or time.monotonic() - code.issued_at > 600:
                    return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
                if code.redirect_uri != form.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
                verifier = form.get("code_verifier", "")
                if code.code_challenge_method != "S256" or not verifier or \
                        _b64url(hashlib.sha256(verifier.encode()).digest()) != code.code_challenge:
                    return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
                grant = _Grant(email=code.email, client_id=code.client_id, scope=code.scope)
                return 200, self._issue(grant, nonce=code.nonce, tenant=tenant)
        if grant_type == "refresh_token":
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            with self._lock:
                grant = self._refresh.pop(form.get("refresh_token", ""), None)  # rotation: spent now
                if grant is None:
                    self.refresh_attempts.append("invalid_grant")
                    return 400, {"error": "invalid_grant",
                                 "error_description": "the refresh token was revoked or already used"}
                self.refresh_grants += 1
                self.refresh_attempts.append("ok")
                for access in [a for a, g in self._access.items() if g is grant]:
                    del self._access[access]
                return 200, self._issue(grant, nonce="", tenant=tenant)
        return 400, {"error": "unsupported_grant_type"}

    def introspect(self, token: str) -> dict:
        with self._lock:
            self.introspections += 1
            grant = self._access.get(token)
            if grant is None or grant.access_expires_at <= time.time() or grant.email in self.inactive_for:
                return {"active": False}
            return {"active": True, "email": grant.email, "username": grant.email,
                    "client_id": grant.client_id, "scope": grant.scope, "exp": int(grant.access_expires_at)}

    def openid_configuration(self, tenant_path: str) -> dict:
        base = f"{self.base_url}{tenant_path}"
        return {"issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token", "introspection_endpoint": self.introspection_url,
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"]}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _Handler(BaseHTTPRequestHandler):
    provider: OAuthProvider

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read state, not access logs
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            return self._json(200, self.provider.openid_configuration(path.split("/v2.0/", 1)[0]))
        if path.endswith("/authorize"):
            page = self.provider.authorize_page(query, action=path + "/consent")
            return self._send(200, page.encode(), "text/html; charset=utf-8")
        return self._json(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        path = urlparse(self.path).path
        form = self._form()
        if path.endswith("/authorize/consent"):
            return self._send(302, b"", "text/plain", {"Location": self.provider.consent(form)})
        if path.endswith("/token"):
            tenant = path.split("/oauth2/", 1)[0].lstrip("/") if path.startswith("/ms/") else ""
            # Clients may send the client credentials as HTTP Basic instead of in the body.
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                form.setdefault("client_id", client_id)
                form.setdefault("client_secret", secret)
            status, data = self.provider.token(form, tenant)
            return self._json(status, data)
        if path == "/introspect":
            token = form.get("token", "")
            auth = self.headers.get("Authorization", "")
            if not token and auth.startswith("Bearer "):
                token = auth[7:]
            return self._json(200, self.provider.introspect(token))
        return self._json(404, {"error": "not_found"})
