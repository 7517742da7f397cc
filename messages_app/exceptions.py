"""One error family for everything that talks to a mail server.

`permanent` errors stop retries and are shown to the user (a refused password will not get
better by trying again); transient ones are retried with backoff. `user_message()` renders the
reason in words, in the active language; `str()` of an error never contains a secret.
"""

from django.utils.translation import gettext as _


class MailError(Exception):
    permanent = False

    def __init__(self, detail: str = "", *, host: str = "", port: int | None = None, permanent: bool | None = None):
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.host = host
        self.port = port
        if permanent is not None:
            self.permanent = permanent

    def user_message(self) -> str:
        return self.detail or _("The mail server reported an error.")


class AuthFailed(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("Password refused by the server: check the username and password.")


class ReauthRequired(AuthFailed):
    def user_message(self) -> str:
        return _("The authorization for this account has expired: sign in with the provider again.")


class HostNotFound(MailError):
    def user_message(self) -> str:
        return _("The server name %(host)s was not found: check it for typos.") % {"host": self.host}


class ConnectionRefused(MailError):
    def user_message(self) -> str:
        return _("%(host)s refused the connection on port %(port)s: check the port and the security setting.") % {
            "host": self.host, "port": self.port}


class ConnectTimeout(MailError):
    def user_message(self) -> str:
        return _("%(host)s did not answer on port %(port)s in time: the server may be down or a firewall "
                 "may block the port.") % {"host": self.host, "port": self.port}


class HostUnreachable(MailError):
    def user_message(self) -> str:
        return _("Could not reach %(host)s on port %(port)s: %(detail)s") % {
            "host": self.host, "port": self.port, "detail": self.detail}


class TlsError(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("The secure (TLS) connection to %(host)s failed: %(detail)s") % {
            "host": self.host, "detail": self.detail}


class TlsCertificateError(TlsError):
    def user_message(self) -> str:
        return _("The certificate of %(host)s is not trusted (%(detail)s): the name may be wrong or the "
                 "certificate self-signed or expired.") % {"host": self.host, "detail": self.detail}


class ProtocolError(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("The server at %(host)s:%(port)s does not speak the expected protocol: %(detail)s") % {
            "host": self.host, "port": self.port, "detail": self.detail}


class HostNotAllowed(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("%(host)s points to a local or private network address (%(detail)s); only an administrator "
                 "may configure such a server.") % {"host": self.host, "detail": self.detail}


class ConnectionDropped(MailError):
    """The server closed the connection mid-command: retried with backoff."""

    def user_message(self) -> str:
        return _("The connection to %(host)s was interrupted: %(detail)s") % {
            "host": self.host, "detail": self.detail}


class RateLimited(MailError):
    def user_message(self) -> str:
        return _("Too many connection tests in the last hour: wait a little and try again.")


# Errors that say "try again later": the network or the server, not the request.
TRANSIENT_ERRORS = (ConnectionDropped, ConnectTimeout, ConnectionRefused, HostUnreachable)
