"""A connection test's outcome as codes, rendered in words in whoever reads it's language.

The saved result is a record (the error's class name and its facts: host, port, the server's
reply), never a sentence: a test run in Italian reads in English to an English user.
"""

from django.utils.translation import gettext as _

from messages_app import exceptions
from messages_app.exceptions import MailError

LOGIN_OK = "login_ok"
CONNECT_OK = "connect_ok"
# The facts user_message() reads; all JSON-safe.
_FACTS = ("detail", "host", "port", "code", "enhanced", "text", "recipient")


def success_record(code: str) -> dict:
    return {"ok": True, "code": code}


def error_record(exc: MailError) -> dict:
    record = {"ok": False, "code": type(exc).__name__}
    # The SMTP reply code is kept as `smtp_code`: `code` names the error.
    record.update({("smtp_code" if name == "code" else name): getattr(exc, name)
                   for name in _FACTS if getattr(exc, name, None) not in (None, "")})
    return record


WITHHELD = "withheld"


def withheld_record(exc: MailError) -> dict:
    """A failure whose server words are not for the reader (exceptions.message_for): only the kind."""
    return {"ok": False, "code": WITHHELD, "kind": exceptions.withheld_kind(exc) or "odd", "host": exc.host,
            "port": exc.port}


def _error_from(record: dict) -> MailError:
    cls = getattr(exceptions, record.get("code", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, MailError)) or cls is exceptions.RecipientsRefused:
        cls = MailError
    error = cls.__new__(cls)
    Exception.__init__(error, record.get("detail") or cls.__name__)
    error.detail, error.host, error.port = record.get("detail", ""), record.get("host", ""), record.get("port")
    error.code = record.get("smtp_code", 0)
    for name in ("enhanced", "text", "recipient"):
        setattr(error, name, record.get(name, ""))
    return error


def record_text(record: dict) -> str:
    """One side's outcome in the active language."""
    code = record.get("code", "")
    if code == LOGIN_OK:
        return _("login succeeded")
    if code == CONNECT_OK:
        return _("connection succeeded")
    if code == WITHHELD:
        return exceptions.withheld_message(record.get("kind", ""), record.get("host", ""), record.get("port"))
    return _error_from(record).user_message()


def result_text(result: dict) -> str:
    """The whole test ("IMAP: ...\nSMTP: ...") in the active language; "" for none saved."""
    return "\n".join(f"{side.upper()}: {record_text(result[side])}" for side in ("imap", "smtp") if side in result)
