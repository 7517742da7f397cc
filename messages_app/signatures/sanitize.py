"""A signature's HTML as it may be stored: the mail sanitizer's allowlist (mime/sanitize.py), with
images kept only when they travel with the mail (data:) or come over https, and links kept."""

import re

import nh3

from messages_app.mime.sanitize import ATTRIBUTES, DROPPED_WITH_CONTENT, STYLE_PROPERTIES, TAGS, clean_html

# Longer than any real signature; keeps one paste from filling every outgoing message.
MAX_SIGNATURE_CHARS = 200_000
_DATA_IMAGE = re.compile(r"^data:image/(png|jpe?g|gif|webp);base64,", re.IGNORECASE)


def _images_https_or_data(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        return None  # the body's block markers are placement's to write, never a signature's
    if tag == "img" and attribute == "src":
        stripped = value.strip()
        return stripped if stripped.lower().startswith("https://") or _DATA_IMAGE.match(stripped) else None
    if attribute == "style" and "http://" in value.lower():
        # a plain-http background would be fetched by the reader's client in clear
        return ";".join(d for d in value.split(";") if "http://" not in d.lower()) or None
    return value


def clean_signature_html(html: str) -> str:
    """Scripts, handlers, forms and frames gone; styles filtered as for mail; no http images."""
    # The mail sanitizer does the real work; remote images are allowed there (a signature's logo is
    # not a tracker set by a stranger), then a second pass keeps only the https ones.
    safe = clean_html(html[:MAX_SIGNATURE_CHARS], allow_remote=True).html
    return nh3.clean(
        safe,
        tags=TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_images_https_or_data,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes={"http", "https", "mailto", "tel", "data"},
        filter_style_properties=STYLE_PROPERTIES | {"background", "background-image"},
    ).strip()
