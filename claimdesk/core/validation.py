"""Input checks shared by the services: text length, dates, codes."""

from __future__ import annotations

import datetime as dt
import re

from claimdesk.core.i18n import lazy_text as _

from .conf import setting
from .errors import InvalidInput

#: Characters XML 1.0 cannot hold at all. Texts written into XML (the Excel sheets, QAPI's
#: XML answers) leave them out: a buyer's text may carry one, and one is enough to make
#: the whole document unreadable.
NOT_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_memo(text: str | None, *, required: bool = False, field: str = "memo") -> str:
    """Return `text` stripped; refuse it if empty when required or longer than the limit."""
    value = (text or "").strip()
    limit = setting("MEMO_MAX_CHARS")
    if required and not value:
        raise InvalidInput(
            f"{field}_required", _("Enter a message for the buyer."), {"field": field}
        )
    if len(value) > limit:
        raise InvalidInput(
            "text_too_long",
            _("The text is %(length)s characters long; at most %(limit)s are allowed. Shorten it.")
            % {"length": len(value), "limit": limit},
            {"field": field, "length": len(value), "limit": limit},
        )
    return value


def clean_short(
    text: str | None, *, field: str, max_length: int = 100, required: bool = True
) -> str:
    """Return a short required text field (carrier, tracking number) stripped."""
    value = (text or "").strip()
    if required and not value:
        raise InvalidInput(
            f"{field}_required",
            _("This field is required: %(field)s.") % {"field": field},
            {"field": field},
        )
    if len(value) > max_length:
        raise InvalidInput(
            "text_too_long",
            _("%(field)s is too long (at most %(limit)s characters).")
            % {"field": field, "limit": max_length},
            {"field": field},
        )
    return value


def parse_date(value: dt.date | str | None, *, field: str) -> dt.date:
    """Accept a date or `YYYY-MM-DD`/`YYYYMMDD` text; refuse anything else."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(
        "date_invalid",
        _("%(value)s is not a date. Use the form YYYY-MM-DD.") % {"value": text or "—"},
        {"field": field},
    )


#: The largest value a database id (a signed 64-bit integer) holds.
MAX_ID = 2**63 - 1


def parse_whole(value: str | None, *, maximum: int = MAX_ID) -> int | None:
    """Return the whole number `value` spells in ASCII digits (0 to `maximum`), else None.

    `str.isdigit` also accepts "²" and "①", which `int()` then refuses: every number
    typed or posted into a page is read through here instead.
    """
    text = (value or "").strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdecimal()):
        return None
    number = int(text)
    return number if number <= maximum else None


def posted_id(value: str | None) -> int:
    """Return a posted id, or 0 (which matches no row) when it is not a valid id."""
    return parse_whole(value) or 0
