"""A narrow ManageSieve adapter over sievelib (RFC 5804): log in, list, read, upload, activate and
remove scripts. Nothing outside gateways/ imports sievelib. The connection goes to the address
netguard checked (Endpoint.address) while TLS verifies the name."""

import contextlib
import warnings
from dataclasses import dataclass, field

from sievelib import managesieve

from messages_app.enums import Security
from messages_app.exceptions import AuthFailed, MailError, ProtocolError
from messages_app.gateways.errors import network_errors
from messages_app.netguard import Endpoint


@dataclass(frozen=True)
class SieveConfig:
    endpoint: Endpoint
    security: str
    username: str
    password: str = field(repr=False, default="")
    timeout: float = 15.0


class SieveConnection:
    def __init__(self, client: managesieve.Client, config: SieveConfig):
        self._client = client
        self.config = config

    def __enter__(self) -> "SieveConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _refused(self, what: str) -> MailError:
        reason = (self._client.errmsg or b"").decode("utf-8", "replace") if isinstance(self._client.errmsg, bytes) \
            else str(self._client.errmsg or "")
        return ProtocolError(f"{what} refused by the ManageSieve server: {reason}".strip(),
                             host=self.config.endpoint.host)

    def extensions(self) -> set[str]:
        return {e.lower() for e in (self._client.get_sieve_capabilities() or [])}

    def scripts(self) -> tuple[str | None, list[str]]:
        """(the active script's name or None, the other scripts' names)."""
        with network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
            active, others = self._client.listscripts()
        return active, list(others)

    def get(self, name: str) -> str:
        with network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
            text = self._client.getscript(name)
        if text is None:
            raise self._refused(f"GETSCRIPT {name}")
        return text

    def put_and_activate(self, name: str, text: str) -> None:
        with network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
            if not self._client.putscript(name, text):
                raise self._refused(f"PUTSCRIPT {name}")
            if not self._client.setactive(name):
                raise self._refused(f"SETACTIVE {name}")

    def deactivate_and_delete(self, name: str) -> None:
        with network_errors(self.config.endpoint.host, self.config.endpoint.port, connected=True):
            active, others = self._client.listscripts()
            if active == name:
                self._client.setactive("")
            if name in (active, *others) and not self._client.deletescript(name):
                raise self._refused(f"DELETESCRIPT {name}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._client.logout()


def connect(config: SieveConfig) -> SieveConnection:
    endpoint = config.endpoint
    client = managesieve.Client(endpoint.address, endpoint.port, srvhostname=endpoint.host)
    with network_errors(endpoint.host, endpoint.port), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "credentials over an unencrypted connection": the user chose none
        try:
            ok = client.connect(config.username, config.password, starttls=config.security == Security.STARTTLS,
                                ssl=config.security == Security.SSL, authmech="PLAIN")
        except managesieve.Error as exc:
            text = str(exc).replace(config.password, "***") if config.password else str(exc)
            if "Connection to server failed" in text:
                raise OSError(text) from None
            raise ProtocolError(text, host=endpoint.host, port=endpoint.port) from None
        except TimeoutError as exc:
            raise OSError(str(exc)) from None
    if not ok:
        raise AuthFailed("ManageSieve login refused", host=endpoint.host)
    client.sock.settimeout(config.timeout)
    return SieveConnection(client, config)
