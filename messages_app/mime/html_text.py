"""Visible text of mail HTML and the one-line preview shown in message lists, in linear time."""

from __future__ import annotations

import html as html_module
import re

PREVIEW_CHARS = 200
_WHITESPACE_RUN_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INVISIBLE_RE = re.compile(r"[\u00ad\u034f\u200b-\u200d\u2060-\u2064\ufeff]")


def make_preview(text: str, html: str, limit: int = PREVIEW_CHARS) -> str:
    """The first `limit` visible characters, whitespace collapsed; from the HTML when there is no text."""
    source = text if text.strip() else html_to_text(html, max_chars=limit * 20)
    source = _INVISIBLE_RE.sub("", _CONTROL_RE.sub(" ", source[: limit * 20]))
    return _WHITESPACE_RUN_RE.sub(" ", source).strip()[:limit]


def html_to_text(html: str, max_chars: int = 100_000, max_scan: int = 2 * 1024 * 1024) -> str:
    """Visible text of HTML, roughly: tags and comments removed, script/style/title dropped.

    A single linear scan by design: html.parser and backtracking regexes can go quadratic on
    unclosed comments and runs of "<", which is exactly what hostile mail contains.
    """
    source = html[:max_scan]
    lower = source.translate(_ASCII_LOWER)  # str.lower() can change the length ("İ"), shifting indexes
    pieces: list[str] = []
    collected = 0
    pos = 0
    while pos < len(source) and collected < max_chars:
        start = source.find("<", pos)
        if start < 0:
            pieces.append(source[pos:])
            break
        pieces.append(source[pos:start])
        collected += start - pos
        if lower.startswith("<!--", start):
            end = source.find("-->", start + 4)
            pos = len(source) if end < 0 else end + 3
            continue
        tag = _TAG_RE.match(lower, start)
        if tag is None:  # a bare "<" in text
            pieces.append("<")
            collected += 1
            pos = start + 1
            continue
        end = source.find(">", start)
        if end < 0:
            break
        name = tag.group(2)
        pos = end + 1
        if not tag.group(1) and name in _HIDDEN_ELEMENTS:
            close = lower.find(f"</{name}", pos)
            pos = len(source) if close < 0 else close
        pieces.append(" " if name in _BLOCK_ELEMENTS else "")
    return html_module.unescape("".join(pieces))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TAG_RE = re.compile(r"<(/?)([a-z][a-z0-9]*|!|\?)")
# Not "head": without its (optional) end tag, hiding it would hide the whole message.
_HIDDEN_ELEMENTS = frozenset({"script", "style", "title", "template"})
_BLOCK_ELEMENTS = frozenset(
    {"!", "?", "br", "p", "div", "tr", "td", "th", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre", "hr", "section", "article", "header", "footer", "img", "body", "html"}
)
