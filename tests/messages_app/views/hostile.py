"""The hostile corpus (tests/fixtures/hostile) and what "no executable content" means, checked
on markup; shared by the server-side tests and the browser tests."""

import re
from html.parser import HTMLParser
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "hostile"
NAMES = sorted(path.stem for path in CORPUS.glob("*.eml"))

# Never allowed in what the user's mail becomes (our own page chrome is checked apart).
FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta", "link",
    "form", "input", "button", "textarea", "select", "svg", "math", "template", "noscript", "portal",
    "isindex", "keygen", "marquee", "video", "audio", "source", "picture", "image", "use", "animate", "xmp",
    "plaintext", "area", "map", "param",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "srcset", "data",
                  "codebase", "ping", "dynsrc", "lowsrc", "cite", "content"}
FETCHING_ATTRIBUTES = {"src", "srcset", "background", "poster", "data", "dynsrc", "lowsrc", "ping", "codebase"}
BAD_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:")
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpeg|webp);base64,", re.IGNORECASE)


def load(name: str, remote_host: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes().replace(b"REMOTE_HOST", remote_host.encode())


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def problems(html: str, *, remote_host: str, allow=lambda tag, attrs: False) -> list[str]:
    """Everything executable or fetching in `html`, in words (empty: safe). `allow(tag, attrs)`
    exempts our own page elements."""
    found = []
    for tag, attrs in elements(html):
        if allow(tag, attrs):
            continue
        if tag in FORBIDDEN_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            squashed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            safe_image = tag == "img" and name == "src" and SAFE_DATA_IMAGE.match(squashed)
            if name in URL_ATTRIBUTES and squashed.startswith(BAD_SCHEMES) and not safe_image:
                found.append(f"<{tag} {name}={value[:40]!r}>")
            if name in FETCHING_ATTRIBUTES and remote_host in value:
                found.append(f"<{tag} {name}> fetches {value[:60]!r}")
            if name == "style" and re.search(r"url\(|expression|behavior|binding|\\|image-set", squashed):
                found.append(f"<{tag} style={value[:60]!r}>")
    return found


def body_part(document: str) -> str:
    """What the message became inside the body document (our own <head> left out)."""
    return document[document.index("<body>") + len("<body>"):document.rindex("</body>")]


def ours(tag: str, attrs: dict[str, str]) -> bool:
    """The list's and reading pane's own controls: their forms and the one sandboxed body frame."""
    if tag == "form":
        return attrs.get("action", "").startswith("/messages/")
    if tag in ("button", "select", "input", "textarea"):
        return True  # inside our forms; the sanitiser never lets mail produce them (checked in the body)
    if tag == "svg":
        return attrs.get("class", "").startswith("icon ")  # our icons (the sanitiser drops every <svg>)
    if tag == "use":  # an icon's symbol, only ever from our own vendored sprite
        return attrs.get("href", "").startswith("/static/vendor/lucide/sprite.")
    if tag == "iframe":
        return attrs.get("class") == "body-frame" and attrs.get("src", "").startswith("/messages/m/")
    return False
