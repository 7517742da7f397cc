"""Keyset pagination on (date desc, id desc): the same cost at page 1 and page 5,000."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^(-?\d{1,19})_(\d{1,19})$")


@dataclass(frozen=True)
class Cursor:
    date: datetime
    id: int

    def __str__(self) -> str:
        delta = self.date - _EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}_{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> "Cursor | None":
        match = _CURSOR.match(text or "")
        if not match:
            return None
        try:
            return cls(_EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2)))
        except OverflowError:
            return None


@dataclass
class Page:
    rows: list = field(default_factory=list)
    next_cursor: Cursor | None = None


def after(queryset: QuerySet, cursor: Cursor | None, date_field: str = "date") -> QuerySet:
    """Rows strictly after the cursor in (date desc, id desc) order.

    The redundant `date <= d` lets PostgreSQL bound the index scan; without it the OR makes it
    read everything above the cursor (PERFORMANCE.md).
    """
    if cursor is None:
        return queryset
    return queryset.filter(
        Q(**{f"{date_field}__lt": cursor.date}) | Q(**{date_field: cursor.date, "id__lt": cursor.id}),
        **{f"{date_field}__lte": cursor.date},
    )


def page_of(queryset: QuerySet, cursor: Cursor | None, *, limit: int = PAGE_SIZE,
            date_field: str = "date") -> Page:
    rows = list(after(queryset, cursor, date_field).order_by(f"-{date_field}", "-id")[:limit + 1])
    return page_from_rows(rows, limit, date_field)


def page_from_rows(rows: list, limit: int, date_field: str = "date") -> Page:
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], Cursor(getattr(last, date_field), last.id))
