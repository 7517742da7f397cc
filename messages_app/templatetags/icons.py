"""Lucide icons from the vendored sprite (static/vendor/lucide, built by scripts/vendor_lucide.py)."""

from functools import cache, lru_cache

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@cache
def _sprite_url() -> str:
    """Resolved once per process: a page draws dozens of icons, and the manifest lookup is the cost."""
    return static("vendor/lucide/sprite.svg")


@register.simple_tag
def icon(name: str, css_class: str = ""):
    """An inline <svg> that uses one symbol of the sprite; decorative, so hidden from screen readers."""
    return _icon_markup(str(name), str(css_class))


@lru_cache(maxsize=256)
def _icon_markup(name: str, css_class: str):
    """Kept per (name, class): the same few dozen icons are drawn on every page."""
    href = f"{_sprite_url()}#{name}"
    return format_html('<svg class="icon {}" aria-hidden="true" focusable="false"><use href="{}"></use></svg>',
                       css_class, href)


ROLE_ICONS = {"inbox": "inbox", "drafts": "file-pen-line", "sent": "send", "spam": "shield-alert", "trash": "trash-2",
              "archive": "archive"}
SPECIAL_ICONS = {"shared": "share-2", "imported": "download", "flagged": "star", "scheduled": "clock"}


@register.filter
def entry_icon(entry) -> str:
    """The icon of a folder-tree entry: its role's, its special folder's, else a plain folder."""
    if entry.role in ROLE_ICONS:
        return ROLE_ICONS[entry.role]
    kind, _, name = entry.key.partition(":")
    return SPECIAL_ICONS.get(name, "folder") if kind == "special" else "folder"
