"""The parse's header cache: each distinct Content-* value is parsed once, with the very result
policy.default gives when it parses the value on every access."""

from __future__ import annotations

from email.policy import EmailPolicy, default
from pathlib import Path

import pytest

from messages_app.mime import bounded
from messages_app.mime.dsn import parse_dsn
from messages_app.mime.parse import parse_message
from tests.messages_app.mime.test_parse import ALL_MESSAGES


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure."""


@pytest.mark.parametrize("path", ALL_MESSAGES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_parse_with_the_cache_equals_one_with_plain_policy_default(path: Path, monkeypatch):
    raw = path.read_bytes()
    cached = parse_message(raw), parse_dsn(raw)

    monkeypatch.setattr(bounded, "_PARSE_POLICY", default)
    uncached = parse_message(raw), parse_dsn(raw)

    assert cached == uncached


def test_a_content_type_value_is_parsed_once_however_often_it_is_read(monkeypatch):
    parses: list[str] = []

    class CountingPolicy(EmailPolicy):
        def header_fetch_parse(self, name, value):
            parses.append(name)
            return super().header_fetch_parse(name, value)

    monkeypatch.setattr(bounded, "default", CountingPolicy())
    bounded._parsed_header.cache_clear()
    boundary = "b-only-in-this-test"
    raw = (f'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
           f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--{boundary}--\r\n").encode()

    message = parse_message(raw)
    parse_message(raw)

    assert message.text.strip() == "hello"
    assert sorted(parses) == ["Content-Type", "Content-Type"]  # the two distinct values, once each


def test_an_overlong_value_is_parsed_without_being_kept():
    bounded._parsed_header.cache_clear()
    long_value = "text/plain; " + "; ".join(f"p{n}=v" for n in range(60)) + "; x=" + "a" * 2000

    header = bounded._PARSE_POLICY.header_fetch_parse("Content-Type", long_value)

    assert header.content_type == "text/plain"
    assert bounded._parsed_header.cache_info().currsize == 0
