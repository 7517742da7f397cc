"""The authorization-code flow: PKCE (S256) and a `state` bound to the user's session.

flow_start() keeps, in the session, which provider was asked, the state, the flow's secrets (the
PKCE verifier, msal's nonce) and the account settings to create or reconnect; flow_finish()
takes them back (once: a second answer for the same flow is refused) and exchanges the code.
An answer whose state is not the session's, from another provider, or older than
FLOW_MAX_SECONDS is refused (OAuthStateMismatch): a forged callback cannot attach someone
else's mailbox to this user.
"""

import time

from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.debug import sensitive_variables

from messages_app.gateways import oauth as oauth_gateway
from messages_app.oauth.providers import provider_config

SESSION_KEY = "oauth_flow"
FLOW_MAX_SECONDS = 600


class ProviderNotConfigured(Exception):
    pass


def _config(provider: str) -> oauth_gateway.ProviderConfig:
    config = provider_config(provider)
    if config is None:
        raise ProviderNotConfigured(provider)
    return config


def flow_start(request, *, provider: str, pending: dict, login_hint: str = "") -> str:
    """The provider's authorization URL to redirect the browser to."""
    config = _config(provider)
    redirect_uri = request.build_absolute_uri(reverse("messages_app:oauth_callback", args=[provider]))
    start = oauth_gateway.authorization_start(config, redirect_uri, login_hint=login_hint)
    request.session[SESSION_KEY] = {"provider": provider, "state": start.state, "kept": start.kept,
                                    "pending": pending, "started": time.time()}
    return start.url


@sensitive_variables()
def flow_finish(request, *, provider: str) -> tuple[oauth_gateway.TokenSet, dict]:
    """(the tokens, the pending settings) for the provider's redirect in `request`."""
    flow = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    if (not flow or flow.get("provider") != provider or not state
            or not constant_time_compare(state, flow.get("state", ""))
            or time.time() - flow.get("started", 0) > FLOW_MAX_SECONDS):
        raise oauth_gateway.OAuthStateMismatch("the answer does not belong to a sign-in this session started")
    tokens = oauth_gateway.authorization_finish(_config(provider), flow["kept"], request.GET.dict())
    return tokens, flow["pending"]
