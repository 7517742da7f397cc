"""The text/plain version of an HTML signature: lines where the HTML breaks them, link targets
kept beside their words, images as their alt text."""

import re
from html.parser import HTMLParser

_LINE_BREAKING = frozenset({"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                            "blockquote", "pre", "hr", "dl", "dt", "dd"})
_SKIPPED = frozenset({"script", "style", "title", "head", "template"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str, int]] = []  # (href, index of the first piece of its words)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br" or tag in _LINE_BREAKING:
            self.pieces.append("\n")
        elif tag in ("td", "th"):
            self.pieces.append(" ")
        elif tag == "img" and attributes.get("alt"):
            self.pieces.append(f" {attributes['alt']} ")
        elif tag == "a":
            self.links.append((attributes.get("href") or "", len(self.pieces)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _LINE_BREAKING:
            self.pieces.append("\n")
        elif tag == "a" and self.links:
            href, first = self.links.pop()
            words = "".join(self.pieces[first:]).strip()
            target = href[7:] if href.lower().startswith("mailto:") else href
            shown = href.lower().startswith(("http://", "https://", "mailto:"))
            if shown and target and target != words:
                self.pieces.append(f" <{target}>")

    def handle_data(self, data):
        if not self.skipping:
            self.pieces.append(data.replace("\n", " "))


def signature_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(collector.pieces).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
