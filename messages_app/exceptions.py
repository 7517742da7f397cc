"""One error family for everything that talks to a mail server.

`permanent` is the one attribute every retry loop reads (Celery tasks, the sync, the arrival
pipeline, the outbox); call `is_transient(exc)` rather than listing classes. Permanent errors
stop retries and are shown to the user (a refused password will not get better by trying
again); transient ones are retried with backoff. An error nobody classified is permanent:
retrying what we do not understand only repeats it. `user_message()` renders the reason in
words, in the active language; `str()` of an error never contains a secret.
"""

from django.utils.translation import gettext as _


class MailError(Exception):
    permanent = True

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


class PasswordNotEncodable(AuthFailed):
    """The credentials hold characters the server's login command cannot carry (an IMAP server
    without AUTH=PLAIN only has LOGIN, which is ASCII). Permanent: the password must change or
    the server must offer AUTHENTICATE PLAIN."""

    def user_message(self) -> str:
        return _("The password contains characters this server cannot accept: use a password with "
                 "only unaccented letters, digits and common symbols, or ask the provider.")


class ReauthRequired(AuthFailed):
    def user_message(self) -> str:
        return _("The provider no longer accepts this account's authorization: sign in again.")


class HostNotFound(MailError):
    # A name that does not exist stays so; a resolver that failed for now (EAI_AGAIN) is
    # raised with permanent=False by gateways/errors.py.
    permanent = True

    def user_message(self) -> str:
        return _("The server name %(host)s was not found: check it for typos.") % {"host": self.host}


class ConnectionRefused(MailError):
    permanent = False  # a server restarting refuses for a moment

    def user_message(self) -> str:
        return _("%(host)s refused the connection on port %(port)s: check the port and the security setting.") % {
            "host": self.host, "port": self.port}


class ConnectTimeout(MailError):
    permanent = False

    def user_message(self) -> str:
        return _("%(host)s did not answer on port %(port)s in time: the server may be down or a firewall "
                 "may block the port.") % {"host": self.host, "port": self.port}


class HostUnreachable(MailError):
    permanent = False

    def user_message(self) -> str:
        return _("Could not reach %(host)s on port %(port)s: %(detail)s") % {
            "host": self.host, "port": self.port, "detail": self.detail}


class TlsError(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("The secure (TLS) connection to %(host)s failed: %(detail)s") % {
            "host": self.host, "detail": self.detail}


class TlsCertificateError(TlsError):
    permanent = True  # an untrusted certificate needs a person (MAIL_TLS_CA_FILE, the host name)

    def user_message(self) -> str:
        return _("The certificate of %(host)s is not trusted (%(detail)s): the name may be wrong or the "
                 "certificate self-signed or expired.") % {"host": self.host, "detail": self.detail}


class ProtocolError(MailError):
    """The server answered, but not in the protocol we speak (a garbage greeting, no IMAP4rev1,
    STARTTLS refused, a reply we cannot parse). Permanent: the same server gives the same answer
    on the next try, and retrying every few minutes would only fill the log; the account shows
    the reason until its settings change."""

    permanent = True

    def user_message(self) -> str:
        return _("The server at %(host)s:%(port)s does not speak the expected protocol: %(detail)s") % {
            "host": self.host, "port": self.port, "detail": self.detail}


class LiteralTooLarge(ProtocolError):
    """The server sent a literal (a message, a name) above MAIL_MAX_LITERAL_BYTES: refused unread,
    so memory stays flat whatever it sends."""


class MissingCapability(ProtocolError):
    """The server lacks what we need (IMAP4rev1): the detail is our own words, not the server's."""


class HostNotAllowed(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("%(host)s points to a local or private network address (%(detail)s); only an administrator "
                 "may configure such a server.") % {"host": self.host, "detail": self.detail}


class ConnectionDropped(MailError):
    """The server closed the connection mid-command: retried with backoff."""

    permanent = False

    def user_message(self) -> str:
        return _("The connection to %(host)s was interrupted: %(detail)s") % {
            "host": self.host, "detail": self.detail}


class NoGreeting(ConnectionDropped):
    """The server accepted the connection and closed it before its greeting: usually a port that
    expects TLS from the first byte, or a server that turns the client away."""

    def user_message(self) -> str:
        return _("%(host)s closed the connection on port %(port)s before greeting: check the port and the "
                 "security setting (SSL/TLS or STARTTLS).") % {"host": self.host, "port": self.port}


class RateLimited(MailError):
    permanent = False  # the hour passes

    def user_message(self) -> str:
        return _("Too many connection tests in the last hour: wait a little and try again.")


class SmtpRefused(MailError):
    """The SMTP server answered a command with a refusal. The reply is kept whole: `code` (421,
    550...), `enhanced` (the RFC 3463 status such as "5.1.1", or ""), the server's `text`, and the
    `recipient` it concerns for RCPT refusals. 4xx says "try later", so it is transient; 5xx
    (and anything not 4xx) is permanent."""

    def __init__(self, text: str = "", *, code: int, enhanced: str = "", recipient: str = "",
                 host: str = "", port: int | None = None):
        super().__init__(text, host=host, port=port, permanent=not 400 <= code < 500)
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.recipient = recipient

    def __str__(self) -> str:
        reply = " ".join(str(part) for part in (self.code, self.text) if part)
        return f"{self.recipient}: {reply}" if self.recipient else reply

    def user_message(self) -> str:
        if self.too_large:
            return _("The message is too large for the mail server %(host)s: %(reply)s") % {
                "host": self.host, "reply": str(self)}
        return _("The mail server %(host)s refused: %(reply)s") % {"host": self.host, "reply": str(self)}

    @property
    def too_large(self) -> bool:
        """552 to MAIL FROM or DATA (RFC 5321 §4.5.3.1.10), or the size statuses of RFC 3463."""
        return self.enhanced in ("5.3.4", "5.2.3") or (self.code == 552 and not self.enhanced)


class SenderRefused(SmtpRefused):
    """MAIL FROM refused."""


class RecipientRefused(SmtpRefused):
    """RCPT TO refused for one recipient (`recipient`)."""

    def user_message(self) -> str:
        return _("The mail server refused the recipient %(recipient)s: %(reply)s") % {
            "recipient": self.recipient, "reply": " ".join(str(p) for p in (self.code, self.text) if p)}


class RecipientsRefused(SmtpRefused):
    """Every recipient was refused, so nothing was sent. `refusals` holds one RecipientRefused
    each; the whole is transient while any of them is (a retry may deliver to that one)."""

    def __init__(self, refusals: list[RecipientRefused], *, host: str = "", port: int | None = None):
        first = refusals[0]
        super().__init__(first.text, code=first.code, enhanced=first.enhanced, host=host, port=port)
        self.refusals = list(refusals)
        self.permanent = all(r.permanent for r in refusals)

    def __str__(self) -> str:
        return "; ".join(str(r) for r in self.refusals)

    def user_message(self) -> str:
        return _("The mail server refused every recipient: %(reasons)s") % {"reasons": str(self)}


class DataRefused(SmtpRefused):
    """The message itself (DATA) was refused after the recipients were accepted."""


def message_for(exc: MailError, user) -> str:
    """The reason in words for `user`. What a server sent (a banner, a reply line) is shown to
    staff only: echoed to anyone, it makes Postino a probe that tells which service listens where."""
    if getattr(user, "is_staff", False):
        return exc.user_message()
    kind = withheld_kind(exc)
    return withheld_message(kind, exc.host, exc.port) if kind else exc.user_message()


def withheld_kind(exc: MailError) -> str:
    """Which words replace the server's own for non-staff users ("" when there is nothing to hide)."""
    if isinstance(exc, (MissingCapability, NoGreeting)):
        return ""  # our own words, not the server's
    if isinstance(exc, (ProtocolError, SmtpRefused)) or type(exc) is MailError:
        return "odd"
    if isinstance(exc, ConnectionDropped):
        return "interrupted"
    return ""


def withheld_message(kind: str, host: str, port) -> str:
    if kind == "interrupted":
        return _("The connection to %(host)s was interrupted.") % {"host": host}
    return _("The server at %(host)s:%(port)s answered, but not as a mail server should: check the port "
             "and the security setting.") % {"host": host, "port": port or "-"}


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed. Anything outside the MailError family is a bug
    or an unknown failure, never retried."""
    return isinstance(exc, MailError) and not exc.permanent
