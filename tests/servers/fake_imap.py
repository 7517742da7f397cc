"""A small scripted IMAP server for hostile-server tests: it speaks just enough IMAP4rev1
(CAPABILITY, LOGIN, LIST, STATUS, SELECT, UID FETCH/SEARCH, NOOP, LOGOUT) to get a client
through a login and a sync pass, and lets a test change how it answers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from imapclient.imap_utf7 import encode as utf7_encode

from tests.servers.ports import HOST


def literal(name: str) -> bytes:
    data = utf7_encode(name)
    return b"{%d}\r\n%s" % (len(data), data)


@dataclass
class FakeImap:
    """`folders`: names LIST returns; `literal_names`: send them as {n} literals (legal IMAP).
    `capabilities`: what CAPABILITY answers. `greeting_hook(sock)` runs before the greeting."""
    folders: list[str] = field(default_factory=lambda: ["INBOX"])
    literal_names: bool = False
    capabilities: str = "IMAP4rev1 AUTH=PLAIN"
    greeting_hook: Callable[[socket.socket], None] | None = None
    port: int = 0
    commands: list[str] = field(default_factory=list)

    def start(self) -> FakeImap:
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _name(self, name: str) -> bytes:
        return literal(name) if self.literal_names else b'"' + utf7_encode(name) + b'"'

    def _serve(self, sock: socket.socket) -> None:
        try:
            with sock:
                if self.greeting_hook:
                    self.greeting_hook(sock)
                sock.sendall(b"* OK fake ready\r\n")
                reader = sock.makefile("rb")
                for line in reader:
                    if not self._answer(sock, line.rstrip(b"\r\n").decode(errors="replace")):
                        return
        except OSError:
            return

    def _answer(self, sock: socket.socket, line: str) -> bool:
        tag, _, rest = line.partition(" ")
        command = rest.split(" ", 1)[0].upper()
        self.commands.append(command)
        send = sock.sendall
        if command == "CAPABILITY":
            send(f"* CAPABILITY {self.capabilities}\r\n{tag} OK done\r\n".encode())
        elif command in ("LOGIN", "NOOP", "ENABLE", "UNSELECT", "CLOSE"):
            send(f"{tag} OK done\r\n".encode())
        elif command == "LIST":
            for name in self.folders:
                send(b'* LIST () "/" ' + self._name(name) + b"\r\n")
            send(f"{tag} OK done\r\n".encode())
        elif command == "STATUS":
            name = self.folders[0]
            send(b"* STATUS " + self._name(name) + b" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 7 UNSEEN 0)\r\n")
            send(f"{tag} OK done\r\n".encode())
        elif command in ("SELECT", "EXAMINE"):
            send(f"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 1] n\r\n{tag} OK [READ-WRITE] done\r\n"
                 .encode())
        elif command in ("UID", "FETCH", "SEARCH"):
            send(f"* SEARCH\r\n{tag} OK done\r\n".encode())
        elif command == "LOGOUT":
            send(f"* BYE bye\r\n{tag} OK done\r\n".encode())
            return False
        else:
            send(f"{tag} BAD unknown\r\n".encode())
        return True


def fake_account(owner, server: FakeImap, **overrides):
    from messages_app.models import MailAccount

    fields = {"owner": owner, "preset": "custom", "username": "fake", "imap_host": HOST, "imap_port": server.port,
              "imap_security": "none", "smtp_host": HOST, "smtp_port": server.port, "smtp_security": "none"}
    fields.update(overrides)
    account = MailAccount(**fields)
    account.set_password("fake-pass")
    account.save()
    return account
