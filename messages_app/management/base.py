"""The base of every Postino management command: a failure is one line on stderr, never a traceback.

The contract (DESIGN.md, README "Command line"): exit 0 on success; on failure a one-line reason on
stderr and a non-zero exit. Commands raise CommandError for the failures they foresee; everything
else that escapes `handle()` is turned into a reason here, in one place, so no command has to
remember the database being locked, an undecryptable secret or a value the database refuses.
`--traceback` still shows the full story for a developer.

`--json` has one shape for every command: JSON Lines, one object per line (see `write_json_rows`).
"""

import argparse
import json
import os
import sys

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, DataError, IntegrityError, OperationalError

from messages_app.crypto import SecretError
from messages_app.exceptions import MailError


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")[0].split())
    return text or type(exc).__name__


def _validation_reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def failure_reason(exc: Exception) -> str:
    """One line, in words, for an exception that escaped a command."""
    if isinstance(exc, MailError):
        return exc.user_message()
    if isinstance(exc, SecretError):
        return f"{exc}: check MAIL_ENCRYPTION_KEYS (the key that encrypted it must still be listed)"
    if isinstance(exc, ImproperlyConfigured):
        return f"configuration: {_first_line(exc)}"
    if isinstance(exc, ValidationError):
        return _validation_reason(exc)
    if isinstance(exc, UnicodeError):
        return f"text with characters the mail protocol cannot carry (non-ASCII): {_first_line(exc)}"
    if isinstance(exc, OperationalError) and "locked" in str(exc).lower():
        return "the database is busy (locked by another process past the busy timeout): try again shortly"
    if isinstance(exc, DataError):
        return f"a value does not fit the database: {_first_line(exc)}"
    if isinstance(exc, IntegrityError):
        return f"the change conflicts with stored data: {_first_line(exc)}"
    if isinstance(exc, DatabaseError):
        return f"database error: {_first_line(exc)}"
    return f"unexpected {type(exc).__name__}: {_first_line(exc)} (run with --traceback for details)"


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (--limit, --account...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1..65535."""
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1..65535, got {value}")
    return value


class _OneLineParser(CommandParser):
    """argparse prints the usage before the error; the contract is one line."""

    def error(self, message):
        if self.called_from_command_line:
            self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
        raise CommandError(f"Error: {message}")


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make the parser and its subcommands' parsers (mail_account create, ...) report in one line."""
    parser.__class__ = _OneLineParser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _one_line_errors(subparser)


class MailCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        _one_line_errors(parser)
        return parser

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (CommandError, BrokenPipeError, KeyboardInterrupt):
            raise
        except Exception as exc:
            if options.get("traceback"):
                raise
            raise CommandError(failure_reason(exc)) from exc

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except BrokenPipeError:
            # The reader went away (`mail_status | head`): stop quietly. Point stdout at /dev/null
            # so the interpreter's final flush does not raise again (Python's documented recipe).
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)

    def write_json_rows(self, rows) -> None:
        """The one `--json` shape: JSON Lines, one object per line, keys as documented per command."""
        for row in rows:
            self.stdout.write(json.dumps(row, default=str))
