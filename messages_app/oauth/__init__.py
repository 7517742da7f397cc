"""OAuth2 sign-in for Gmail and Office365 (and company servers speaking XOAUTH2/OAUTHBEARER).

providers.py: which providers are configured (from settings) and offered for which account type.
flow.py:      the authorization-code flow with PKCE and a session-bound state.
tokens.py:    token_get_valid(), the one place that refreshes; called only by the connection factory.
The protocol work is done by messages_app/gateways/oauth.py (msal, google-auth-oauthlib).
"""
