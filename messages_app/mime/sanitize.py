"""Make untrusted mail HTML and text safe to show: a strict nh3 allowlist, remote content blocked
until the user asks for it, `cid:` images pointed at our own (signed) URLs.

The result is shown in a sandboxed iframe with its own Content-Security-Policy (see
views/reading.py); this module is the first of those layers, never the only one.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from django.utils.html import escape

TAGS = {
    "a", "abbr", "b", "big", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
}
# Removed together with everything inside them (the text of a <style> is no mail content).
DROPPED_WITH_CONTENT = {
    "script", "style", "title", "head", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "svg", "math", "xmp", "noembed", "noframes", "plaintext", "select", "textarea",
}
_COMMON = {"style", "align", "dir", "lang", "title"}
_CELL = {"width", "height", "valign", "bgcolor", "colspan", "rowspan", "nowrap"}
ATTRIBUTES = {
    "*": _COMMON,
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "border"},
    "font": {"color", "face", "size"},
    "table": {"width", "height", "border", "cellpadding", "cellspacing", "bgcolor"},
    "td": _CELL, "th": _CELL, "tr": {"valign", "bgcolor", "height"},
    "col": {"width", "span"}, "colgroup": {"width", "span"},
    "ol": {"start", "type"}, "li": {"value"},
    "blockquote": {"cite"}, "q": {"cite"},
    "div": {"class"},  # only the markers below survive (see attribute_filter)
}
# Our own block markers, kept so that a sanitized draft still has its one signature block to swap
# (signatures/placement.py) and its quote to put it above; every other class is dropped.
KEPT_CLASSES = {"postino-signature", "postino-quote"}
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "font-variant", "letter-spacing", "line-height", "text-align", "text-decoration", "text-indent",
    "text-transform", "white-space", "word-spacing", "word-break", "overflow-wrap", "vertical-align",
    "direction", "width", "max-width", "min-width", "height", "max-height", "min-height",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color", "border-style",
    "border-width", "border-collapse", "border-spacing", "border-radius", "display", "float", "clear",
    "list-style-type", "table-layout", "text-shadow",
}
# Only with "show images": these are where remote CSS images come from.
REMOTE_STYLE_PROPERTIES = {"background", "background-image"}

_DATA_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp);base64,[a-z0-9+/=\s]+$", re.IGNORECASE)
_REMOTE = re.compile(r"^https?://", re.IGNORECASE)
# Anything in a CSS value that could run code or fetch: url() (unless remote is allowed and the
# URL is plain http(s)), legacy IE expression()/behavior, escapes that hide either, imports.
_CSS_ALWAYS_BAD = re.compile(r"expression|behavior|javascript|vbscript|@import|\\|/\*|-moz-binding|image-set|"
                             r"image\(|cross-fade|element\(", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE)


@dataclass
class SafeHtml:
    html: str
    blocked_remote: int = 0  # remote images and CSS backgrounds left out


def _clean_style(value: str, *, allow_remote: bool) -> tuple[str | None, int]:
    kept, blocked = [], 0
    for declaration in value.split(";"):
        if ":" not in declaration:
            continue
        name, _, css_value = declaration.partition(":")
        name = name.strip().lower()
        css_value = css_value.strip()
        if _CSS_ALWAYS_BAD.search(css_value):
            continue
        urls = _CSS_URL.findall(css_value)
        if "url" in css_value.lower() and not urls:
            continue  # a url( we cannot read: not worth the risk
        if urls:
            if name not in REMOTE_STYLE_PROPERTIES or not all(_REMOTE.match(u) for _q, u in urls):
                continue
            if not allow_remote:
                blocked += 1
                continue
        elif name not in STYLE_PROPERTIES and name not in REMOTE_STYLE_PROPERTIES:
            continue
        if name == "display" and css_value.lower() not in ("block", "inline", "inline-block", "none", "table",
                                                             "table-cell", "table-row", "list-item"):
            continue
        kept.append(f"{name}: {css_value}")
    return ("; ".join(kept) or None), blocked


def clean_html(html: str, *, allow_remote: bool = False,
               cid_url: Callable[[str], str | None] = lambda cid: None) -> SafeHtml:
    """Sanitise `html` for display. `cid_url(content_id)` returns our URL for an inline part (or
    None when the message has no such part)."""
    result = SafeHtml(html="")
    own_urls: set[str] = set()

    def keep_own_url(url: str) -> str | None:
        # Relative URLs in mail are meaningless or hostile; ours (from cid_url) are the exception.
        return url if url in own_urls else None

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class":
            return value if value in KEPT_CLASSES else None
        if attribute == "style":
            cleaned, blocked = _clean_style(value, allow_remote=allow_remote)
            result.blocked_remote += blocked
            return cleaned
        if tag == "img" and attribute == "src":
            if value.lower().startswith("cid:"):
                content_id = value[4:].strip().strip("<>")
                url = cid_url(content_id)
                if url:
                    own_urls.add(url)
                return url
            if _DATA_IMAGE.match(value):
                return value
            if _REMOTE.match(value):
                if allow_remote:
                    return value
                result.blocked_remote += 1
            return None  # the image shows its alt text instead
        if attribute in ("href", "cite"):
            lowered = value.strip().lower()
            if lowered.startswith(("http://", "https://", "mailto:", "tel:")):
                return value
            return None
        return value

    result.html = nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=URL_SCHEMES,
        url_relative=keep_own_url,
        filter_style_properties=STYLE_PROPERTIES | REMOTE_STYLE_PROPERTIES,
    )
    return result


_LINK = re.compile(r"""(?i)\b((?:https?://|www\.)[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}])""")
_MAIL = re.compile(r"(?i)\b(mailto:)?([a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)\b")


def _linkify_mail(text: str) -> str:
    out, last = [], 0
    for match in _MAIL.finditer(text):
        out.append(escape(text[last:match.start()]))
        address = match.group(2)
        out.append(f'<a href="mailto:{escape(address)}">{escape(match.group(0))}</a>')
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def text_to_html(text: str) -> str:
    """Plain-text mail: everything escaped, http(s) links and addresses made clickable."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(_linkify_mail(text[last:match.start()]))
        url = match.group(1)
        href = url if url.lower().startswith("http") else f"https://{url}"
        out.append(f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>')
        last = match.end()
    out.append(_linkify_mail(text[last:]))
    return "".join(out)
