"""Where a signature goes in a message body: once, above quoted text, in a block of its own so
that choosing another From account swaps it instead of adding a second one.

The block is `<div class="postino-signature">…</div>`. Quoted text starts at the first
`<blockquote>` or at a quote wrapper of ours or of common clients (Gmail, Thunderbird), whose
attribution line ("On …, X wrote:") sits just before the blockquote.
"""

import re

SIGNATURE_CLASS = "postino-signature"
_SIGNATURE_OPEN = re.compile(
    r"""<div\b[^>]*\bclass\s*=\s*["']?[^"'>]*\b""" + SIGNATURE_CLASS + r"""\b[^>]*>""", re.IGNORECASE)
_QUOTE_START = re.compile(
    r"""<blockquote\b|<div\b[^>]*\bclass\s*=\s*["']?[^"'>]*\b(?:postino-quote|gmail_quote|moz-cite-prefix)\b""",
    re.IGNORECASE)
_DIV_TAG = re.compile(r"<(/?)div\b[^>]*>", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _block_end(html: str, content_start: int, limit: int) -> int:
    """End of the div whose content starts at `content_start` (nested divs counted); `limit` when
    it is never closed before there."""
    depth = 1
    for tag in _DIV_TAG.finditer(html, content_start, limit):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end()
    return limit


def _quote_start(html: str) -> int | None:
    match = _QUOTE_START.search(html)
    return match.start() if match else None


def _signature_span(html: str) -> tuple[int, int] | None:
    """Our signature block above the quoted text (one inside a quote belongs to the quoted mail)."""
    quote = _quote_start(html)
    limit = len(html) if quote is None else quote
    opening = _SIGNATURE_OPEN.search(html, 0, limit)
    if opening is None:
        return None
    return opening.start(), _block_end(html, opening.end(), limit)


def with_signature(body_html: str, signature_html: str) -> str:
    """`body_html` with `signature_html` in its one signature block: a previous block is replaced
    in place, otherwise the block goes just above the quoted text, or at the end. An empty
    signature removes the block."""
    block = f'<div class="{SIGNATURE_CLASS}">{signature_html}</div>' if signature_html.strip() else ""
    span = _signature_span(body_html)
    if span is not None:
        start, end = span
        return body_html[:start] + block + body_html[end:]
    if not block:
        return body_html
    at = _quote_start(body_html)
    if at is None:
        body_end = _BODY_END.search(body_html)
        at = body_end.start() if body_end else len(body_html)
    return body_html[:at] + block + body_html[at:]
