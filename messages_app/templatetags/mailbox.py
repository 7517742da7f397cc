"""Template helpers for the mailbox: dates in the user's zone and language, sizes, addresses."""

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.formats import date_format, time_format
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from messages_app.enums import SpecialFolder
from messages_app.mailbox.scopes import folder_path_label, role_label, special_label

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
        return _lower_names(date_format(local, "j M"))
    return date_format(local, "SHORT_DATE_FORMAT")


def _lower_names(text: str) -> str:
    """Italian writes day and month names in lower case ("martedì 1 dicembre"); Django's
    catalogue capitalises them."""
    return text.lower() if (get_language() or "").startswith("it") else text


@register.filter
def mail_datetime(value):
    if not value:
        return ""
    local = timezone.localtime(value)
    if (get_language() or "").startswith("it"):
        # date_format(local, "l j F Y, H:i") written out: date_format reads its format string
        # afresh on every call, and a timeline page formats 50 dates.
        return (f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month]} {local.year:04d}, "
                f"{local.hour:02d}:{local.minute:02d}").lower()
    return date_format(local, "DATETIME_FORMAT")


@register.filter
def chip(account_id) -> int:
    """Which of the eight account colours (static/css/postino.css .chip-N) an account wears."""
    return int(account_id or 0) % 8


@register.filter
def folder_path(folder) -> str:
    """A local message has no folder: it is in Importata."""
    if folder is None:
        return special_label(SpecialFolder.IMPORTED)
    return folder_path_label(folder)


@register.filter
def folder_name_path(folder) -> str:
    """The folder's own path without the namespace prefix ("Progetti › 2026"), for choosing roles."""
    return " › ".join(folder.path_parts)


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


@register.filter
def quote_lines(html: str):
    """Mark the quoted lines ("> ...") of a plain-text body, already escaped and linkified by
    text_to_html, so they read as a quote. Only whole lines are wrapped: no markup is split."""
    lines = str(html).split("\n")
    out = []
    for index, line in enumerate(lines):
        depth, rest = 0, line
        while rest.startswith("&gt;"):
            depth += 1
            rest = rest[4:].lstrip(" ")
        end = "" if index == len(lines) - 1 else "\n"
        # A quoted line is a block of its own: its newline would add an empty line in pre-wrap.
        # The bar shows the depth: the "> " markers themselves go (rest is still escaped text).
        out.append(f'<span class="quote depth-{min(depth, 3)}">{rest or "&nbsp;"}</span>' if depth else line + end)
    return mark_safe("".join(out))  # noqa: S308 - the input is text_to_html's escaped output


@register.filter
def role_name(role: str) -> str:
    """A folder role code ("drafts") in the user's language ("Bozze")."""
    return role_label(role) if role else ""


@register.filter
def iso_local(value: str) -> str:
    """An ISO timestamp (as the status rows carry it) in the local zone and the user's language."""
    parsed = parse_datetime(value or "")
    return mail_datetime(parsed) if parsed else ""


@register.filter
def link_reason(link) -> str:
    """"Reason: address" in the reader's language: one filter call, where a blocktranslate costs
    several template steps a row (the timeline shows 50)."""
    from django.utils.translation import gettext

    return gettext("Reason: %(reason)s") % {"reason": link.get_reason_display()}


@register.filter
def link_detail(detail: str) -> str:
    """A CRM link's detail ("from: mario@cliente.it", "filter: Clienti") with the header, or the
    filter that made it, named in the reader's language."""
    from django.utils.translation import gettext, pgettext

    header, sep, value = (detail or "").partition(": ")
    labels = {"from": gettext("From"), "to": gettext("To"), "cc": gettext("Cc"),
              "filter": pgettext("crm link made by", "Filter")}
    if not sep or header not in labels:
        return detail
    return f"{labels[header]}: {value}"
