"""Template helpers for the mailbox: dates in the user's zone and language, sizes, addresses."""

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format, time_format

register = template.Library()


@register.filter
def mail_date(value):
    """Today: the time; this year: day and month; older: the short date (localised)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    today = timezone.localdate()
    if local.date() == today:
        return time_format(local, "TIME_FORMAT")
    if local.year == today.year:
        return date_format(local, "j M")
    return date_format(local, "SHORT_DATE_FORMAT")


@register.filter
def mail_datetime(value):
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""


@register.filter
def address(pair):
    """["Mario Rossi", "mario@x.it"] -> 'Mario Rossi <mario@x.it>' (escaped by the template)."""
    if not pair:
        return ""
    name, addr = (list(pair) + ["", ""])[:2]
    if name and addr and name != addr:
        return f"{name} <{addr}>"
    return addr or name


@register.filter
def party(pairs):
    """Short names of a recipient list, for the list row of Sent and Drafts."""
    return ", ".join((p[0] or p[1]) for p in (pairs or []) if p) if pairs else ""


@register.filter
def size(value):
    return filesizeformat(value or 0)


@register.filter
def dom_id(key: str) -> str:
    """A scope key ("folder:12") as an element id part ("folder-12")."""
    return str(key).replace(":", "-")
