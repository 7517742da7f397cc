"""Translate socket, TLS and protocol exceptions into the MailError family."""

import functools
import os
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from messages_app.exceptions import (
    ConnectionDropped,
    ConnectionRefused,
    ConnectTimeout,
    HostNotFound,
    HostUnreachable,
    MailError,
    TlsCertificateError,
    TlsError,
)


def client_ssl_context() -> ssl.SSLContext:
    """Verify certificates against the system store (plus MAIL_TLS_CA_FILE, for private CAs).

    One context per trust store, shared by every connection of the process: a context holds the
    whole CA store parsed (about 0.8 MB here, and about 40 ms to build), so one per connection
    made each account an IDLE listener holds cost that much. Nothing changes a context after
    this (connections only wrap sockets with it, which is safe from many threads); a CA file
    that is edited in place gets a new context (its size and mtime are part of the key)."""
    cafile = settings.MAIL_TLS_CA_FILE or ""
    try:
        stat = os.stat(cafile) if cafile else None
    except OSError:
        stat = None  # load_verify_locations below reports the missing file, as before
    return _shared_context(cafile, (stat.st_mtime_ns, stat.st_size) if stat else None)


@functools.lru_cache(maxsize=8)
def _shared_context(cafile: str, _version: tuple[int, int] | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile=cafile)
    return context


@contextmanager
def network_errors(host: str, port: int, *, connected: bool = False) -> Iterator[None]:
    """Map low-level errors to MailError. `connected`: errors now mean a dropped connection."""
    try:
        yield
    except MailError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise TlsCertificateError(exc.verify_message or str(exc), host=host, port=port) from None
    except ssl.SSLError as exc:
        raise TlsError(exc.reason or str(exc), host=host, port=port) from None
    except socket.gaierror as exc:
        # EAI_AGAIN is the resolver failing for now, not the name being wrong: retry it.
        raise HostNotFound(str(exc), host=host, port=port,
                           permanent=False if exc.errno == socket.EAI_AGAIN else None) from None
    except ConnectionRefusedError as exc:
        raise ConnectionRefused(str(exc), host=host, port=port) from None
    except TimeoutError as exc:
        raise ConnectTimeout(str(exc), host=host, port=port) from None
    except (ConnectionResetError, BrokenPipeError, EOFError) as exc:
        raise ConnectionDropped(str(exc) or "connection closed", host=host, port=port) from None
    except OSError as exc:
        if connected:
            raise ConnectionDropped(str(exc), host=host, port=port) from None
        raise HostUnreachable(exc.strerror or str(exc), host=host, port=port) from None
