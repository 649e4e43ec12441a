"""Cursor pagination: cursors over (timestamp, id), newest first."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Model, Q, QuerySet

from claimdesk.core.errors import InvalidInput
from claimdesk.core.i18n import lazy_text as _

MAX_LIMIT = 200


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "cursor_invalid",
        _("The cursor is not valid. Start again from the first page."),
        {"field": "cursor"},
    )


#: A cursor: the row's timestamp in microseconds since 1970 (UTC), a dot, the row's id.
CURSOR_PATTERN = r"^[0-9]{1,17}\.[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def encode_cursor(value: dt.datetime, pk: int) -> str:
    """Return the cursor that continues after the row (`value`, `pk`)."""
    return f"{(value - _EPOCH) // dt.timedelta(microseconds=1)}.{pk}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """Return (timestamp, id) of `cursor`, or refuse it.

    Every text of the documented form is a cursor (a client may not make one
    up usefully, but it is not refused).
    """
    if not _CURSOR.match(cursor):
        raise _bad_cursor()
    micros, _, pk = cursor.partition(".")
    return _EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)


def page[M: Model](
    queryset: QuerySet[M], *, field: str, cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """Return up to `limit` rows of `queryset` ordered by (`field`, id) descending, and the next cursor."""
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            "limit_invalid",
            _("Ask for 1 to %(max)s rows per page.") % {"max": MAX_LIMIT},
            {"field": "limit"},
        )
    rows = queryset.order_by(f"-{field}", "-id")
    if cursor:
        value, pk = decode_cursor(cursor)
        rows = rows.filter(Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": pk}))
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        last: Any = items[-1]
        next_cursor = encode_cursor(getattr(last, field), last.pk)
    return items, next_cursor
