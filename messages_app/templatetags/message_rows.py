"""The rows of the message list, drawn in Python: a page has 50 of them, and through the template
engine each cost an include, a dozen tags and a date_format; here the per-page parts (labels,
icons, URLs, date formats) are worked out once and a row is one f-string.

The output is byte for byte what templates/messages_app/_row.html and _thread_row.html drew
(tests/messages_app/views/test_list_render.py compares them): every value that comes from a
message goes through `html.escape`, as the template's autoescape did.
"""

from html import escape
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from messages_app.templatetags.icons import icon
from messages_app.templatetags.mailbox import _lower_names, chip, party

register = template.Library()

_SENTINEL = 987654321  # a message id no URL prefix contains, to split a reversed URL around


def _url_parts(name: str) -> tuple[str, str] | None:
    """A URL pattern with one integer argument as (before, after) the argument, escaped as the
    {% url %} tag escapes; None if the sentinel cannot be told apart (then each row reverses)."""
    url = reverse(name, args=[_SENTINEL])
    if url.count(str(_SENTINEL)) != 1:
        return None
    before, after = url.split(str(_SENTINEL))
    return escape(before), escape(after)


class ListDates:
    """The list's date column for one page: mail_date's rules (today: the time; this year: day and
    month; older: the short date), with the zone, today and the labels of each day read once."""

    def __init__(self):
        self.zone = timezone.get_current_timezone()
        self.today = timezone.localdate()
        self._by_day: dict = {}

    def local(self, value):
        return value.astimezone(self.zone)

    def label(self, local) -> str:
        day = local.date()
        if day == self.today:
            return escape(time_format(local, "TIME_FORMAT"))
        text = self._by_day.get(day)
        if text is None:
            if local.year == self.today.year:
                text = _lower_names(date_format(local, "j M"))
            else:
                text = date_format(local, "SHORT_DATE_FORMAT")
            text = self._by_day[day] = escape(text)
        return text


class RowRenderer:
    """Everything the rows of one list share: the scope's key and layout, the labels in the
    user's language, the icons, the URL patterns, the dates."""

    def __init__(self, scope, preferences):
        self.scope_key = escape(scope.key) if scope is not None else ""
        self.scope_key_query = escape(quote(scope.key, safe="/")) if scope is not None else ""
        self.shows_recipients = bool(scope is not None and scope.shows_recipients)
        self.shows_account = scope is None or scope.kind != "folder"
        self.show_preview = bool(getattr(preferences, "show_preview", False))
        self.dates = ListDates()
        self.select = escape(gettext("Select"))
        self.flag, self.unflag = escape(gettext("Flag")), escape(gettext("Unflag"))
        self.no_recipients = gettext("(no recipients)")
        self.unknown_sender = gettext("(unknown sender)")
        self.no_subject = gettext("(no subject)")
        self.show_conversation = escape(gettext("Show the conversation"))
        self.actions_url = escape(reverse("messages_app:actions"))
        self.star = str(icon("star"))
        self.attachments = (f'<span class="has-attachments" title="{escape(gettext("Attachments"))}">'
                            f'{icon("paperclip")}</span>')
        self.message_url = _url_parts("messages_app:message")
        self.thread_url = _url_parts("messages_app:thread")

    def _open_url(self, pk: int) -> str:
        if self.message_url is None:
            return escape(reverse("messages_app:message", args=[pk]))
        return f"{self.message_url[0]}{pk}{self.message_url[1]}"

    def _thread_url(self, pk: int) -> str:
        if self.thread_url is None:
            return escape(reverse("messages_app:thread", args=[pk]))
        return f"{self.thread_url[0]}{pk}{self.thread_url[1]}"

    def _star(self, ids: str, flagged: bool) -> str:
        title, action, pressed = (self.unflag, "unflag", "true") if flagged else (self.flag, "flag", "false")
        return (f'  <button type="button" class="star" title="{title}" aria-pressed="{pressed}"\n'
                f'          hx-post="{self.actions_url}" hx-swap="none"\n'
                f'          hx-vals=\'{{"ids": "{ids}", "action": "{action}", "scope": "{self.scope_key}"}}\'>'
                f'{self.star}</button>\n')

    def _body(self, m, has_attachments: bool, with_account: bool) -> str:
        """The link that opens the message: who, when, subject, preview, account."""
        open_url = self._open_url(m.pk)
        if self.shows_recipients:
            who = party(m.to) or self.no_recipients
        else:
            who = m.from_name or m.from_addr or self.unknown_sender
        if m.date is None:
            iso = when = ""
        else:
            local = self.dates.local(m.date)
            iso, when = local.isoformat(), self.dates.label(local)
        clip = self.attachments if has_attachments else ""
        preview = f'<span class="preview">{escape(m.preview)}</span>' if self.show_preview and m.preview else ""
        where = ""
        if with_account:
            account = m.account
            email = escape(account.email) if account is not None else ""
            where = f'<span class="where"><span class="chip chip-{chip(m.account_id)}"></span>{email}</span>'
        return (f'  <a class="open" href="{open_url}" hx-get="{open_url}" hx-target="#reading" hx-push-url="true">\n'
                f'    <span class="who">{escape(who)}</span>\n'
                f'    <time class="when" datetime="{iso}">{when}</time>\n'
                f'    <span class="subject">{clip}{escape(m.subject or self.no_subject)}</span>\n'
                f'    {preview}\n'
                f'    {where}\n'
                f'  </a>\n')

    def message_row(self, m, oob: bool = False) -> str:
        classes = "row" + ("" if m.is_seen else " unread") + (" flagged" if m.is_flagged else "")
        swap = ' hx-swap-oob="true"' if oob else ""
        return (f'<li class="{classes}" id="m-{m.pk}" data-id="{m.pk}"{swap}>\n'
                f'  <input type="checkbox" name="ids" value="{m.pk}" form="selection" aria-label="{self.select}">\n'
                f'{self._star(str(m.pk), m.is_flagged)}'
                f'{self._body(m, m.has_attachments, self.shows_account and bool(m.account_id))}'
                f'</li>\n')

    def thread_row(self, row) -> str:
        m = row.latest
        classes = "row thread" + (" unread" if row.unread else "") + (" flagged" if row.flagged else "")
        ids = ",".join(str(pk) for pk in row.member_ids)
        count = row.thread.message_count
        expand = ""
        if count > 1:
            expand = (f'<button type="button" class="thread-count" title="{self.show_conversation}" '
                      f'aria-expanded="false" aria-controls="tc-{row.id}"\n'
                      f'          hx-get="{self._thread_url(row.id)}?scope={self.scope_key_query}" '
                      f'hx-target="#tc-{row.id}">{count}</button>')
        return (f'<li class="{classes}" id="t-{row.id}" data-id="{m.pk}">\n'
                f'  <input type="checkbox" name="ids" value="{ids}" form="selection" aria-label="{self.select}">\n'
                f'{self._star(ids, row.flagged)}'
                f'{self._body(m, row.has_attachments, self.shows_account)}'
                f'  {expand}\n'
                f'  <ul class="thread-children" id="tc-{row.id}"></ul>\n'
                f'</li>\n')


def _renderer(context) -> RowRenderer:
    """One per render: the rows of a page, and an action's changed rows, share it."""
    renderer = context.render_context.get(RowRenderer)
    if renderer is None:
        renderer = context.render_context[RowRenderer] = RowRenderer(context.get("scope"),
                                                                      context.get("preferences"))
    return renderer


@register.simple_tag(takes_context=True)
def message_rows(context, rows, threaded=False):
    """The rows of a page, each followed by a newline (as _rows.html's loop drew them)."""
    renderer = _renderer(context)
    draw = renderer.thread_row if threaded else renderer.message_row
    return mark_safe("".join(f"{draw(row)}\n" for row in rows))  # noqa: S308 - every value is escaped above


@register.simple_tag(takes_context=True)
def message_row(context, m, oob=False):
    """One message's row (the list, a conversation's messages, an action's out-of-band update)."""
    return mark_safe(_renderer(context).message_row(m, oob=bool(oob)))  # noqa: S308 - escaped above
