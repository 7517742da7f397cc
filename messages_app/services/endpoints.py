"""Deprecated alias: the gateway configs are built in services/connections.py now, the one
place that turns an account into a connection. Kept only while sync/account.py imports
`imap_config_for` from here; it should call `connections.imap_connect(account)` instead, and
this module then goes."""

from messages_app.services.connections import imap_config_for, private_hosts_allowed, smtp_config_for

__all__ = ["imap_config_for", "private_hosts_allowed", "smtp_config_for"]
