"""Qoo10's answer envelope in JSON or XML, the liberal reading of parameters, and who calls."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from claimdesk.accounts.models import ApiToken, User
from claimdesk.core.money import minor_units
from claimdesk.core.validation import NOT_XML_CHARS

XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

#: Messages of the common result codes, as Qoo10 words them.
MESSAGES = {
    0: "SUCCESS",
    -10000: "Please check the Seller Authorization Key.",
    -90001: "The API does not exist",
    -90002: "You are not authorized for this.",
    -90003: "You are not authorized for this.",
    -90004: "Seller authorization key is expired. Use a new key.",
    -90005: "Seller authorization key is expired. Use a new key.",
}


class QapiError(Exception):
    """A refusal answered with a Qoo10 result code (HTTP stays 200).

    `message` is fixed English text tools may match on; `detail` is the
    explanation in the key owner's language, answered in `ResultDetail`.
    """

    def __init__(self, code: int, message: str = "", detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message or MESSAGES.get(code, "ERROR")
        self.detail = detail


@dataclass(frozen=True)
class Result:
    """What a method answers: the object and the XML type name of StdCustomResultOf<Type>."""

    obj: Any = None
    type_name: str = ""  # "" = a plain StdResult without ResultObject
    item_name: str = ""  # element name of list items in XML
    message: str = "SUCCESS"


def norm(name: str) -> str:
    """Normalise a parameter name: any case, with or without underscores."""
    return name.replace("_", "").replace("-", "").lower()


class Params:
    """Request parameters from the query string and the form, read liberally.

    Names match in any case and with or without underscores (`user_id` =
    `userId`, `rcv_zip_code` = `rcv_zipCode`); an empty string means unset.
    """

    def __init__(self, request: HttpRequest) -> None:
        self._values: dict[str, str] = {}
        for source in (request.GET, request.POST):
            for key in source:
                value = source.get(key, "")
                if value is not None and str(value).strip() != "":
                    self._values.setdefault(norm(key), str(value).strip())

    def get(self, *names: str) -> str:
        """Return the first non-empty value among `names`, or ""."""
        for name in names:
            value = self._values.get(norm(name))
            if value:
                return value
        return ""


@dataclass(frozen=True)
class Context:
    """Who calls: the key's token (None before a key is issued) and the key as sent."""

    token: ApiToken | None
    api_key: str

    @property
    def actor(self) -> User:
        assert self.token is not None  # noqa: S101 - only methods that need a key get here
        return self.token.user


#: A QAPI method: the caller and the parameters to the answer.
Handler = Callable[[Context, Params], Result]


def money_value(minor: int, currency: str) -> int | float:
    """Return an amount in major units the way Qoo10's Decimal fields carry it."""
    places = minor_units(currency)
    if places == 0:
        return minor
    return float(Decimal(minor) / (10**places))


def date_text(value: dt.datetime | dt.date | None) -> str:
    """Return a date-time as Qoo10 writes it (`yyyy-MM-dd HH:mm:ss`, local time)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d")


def date_texts() -> Callable[[dt.datetime | None], str]:
    """Return `date_text` for the many dates of one answer, each distinct value formatted once.

    The zone is read once; `str(local)[:19]` is `yyyy-MM-dd HH:mm:ss` for any
    year from 1000 on, half the cost of `strftime`.
    """
    tz = timezone.get_current_timezone()
    texts: dict[dt.datetime | None, str] = {None: ""}

    def text(value: dt.datetime | None) -> str:
        known = texts.get(value)
        if known is not None:
            return known
        assert value is not None  # noqa: S101 - None is in the cache
        if value.__class__ is not dt.datetime or value.tzinfo is None:
            known = date_text(value)  # a date, or a naive time (which localtime refuses)
        else:
            local = value.astimezone(tz)
            known = str(local)[:19] if local.year >= 1000 else date_text(value)
        texts[value] = known
        return known

    return text


def _xml_escape(text: str) -> str:
    """Escape character data as ElementTree does (&, < and >; quotes stay).

    Unlike ElementTree, characters XML cannot hold are dropped instead of written
    as they are, which would leave the integrator with an answer no parser reads.
    """
    if not text.isprintable():  # cheap test first: most texts have no control character
        text = NOT_XML_CHARS.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_write(out: list[str], tag: str, value: Any, item_name: str) -> None:
    """Append `value` as the element `tag`, byte for byte as ElementTree.tostring wrote it.

    None, "" and an empty dict or list are `<tag />`; a dict is one child per
    key, a list one `item_name` child per item, a bool true/false, anything
    else its str(). Flat dicts of scalars (the rows of the list answers) are
    written inline, without a call per field.
    """
    if isinstance(value, dict):
        if not value:
            out.append(f"<{tag} />")
            return
        append = out.append
        append(f"<{tag}>")
        for key, sub in value.items():
            cls = sub.__class__
            if cls is str:
                text = sub
            elif cls is int or cls is float:
                text = str(sub)
            elif sub is None:
                text = ""
            elif cls is bool:
                text = "true" if sub else "false"
            else:
                _xml_write(out, key, sub, item_name)
                continue
            if not text:
                append(f"<{key} />")
            elif "&" in text or "<" in text or ">" in text or not text.isprintable():
                append(f"<{key}>{_xml_escape(text)}</{key}>")
            else:
                append(f"<{key}>{text}</{key}>")
        append(f"</{tag}>")
    elif isinstance(value, list):
        if not value:
            out.append(f"<{tag} />")
            return
        out.append(f"<{tag}>")
        name = item_name or "Item"
        for item in value:
            _xml_write(out, name, item, item_name)
        out.append(f"</{tag}>")
    else:
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        out.append(f"<{tag}>{_xml_escape(text)}</{tag}>" if text else f"<{tag} />")


def render(
    fmt: str, code: int, message: str, result: Result | None, detail: str = ""
) -> HttpResponse:
    """Return the envelope {ResultCode, ResultMsg, ResultObject} as JSON or XML, with HTTP 200.

    A refusal's `detail` (the key owner's language) follows as `ResultDetail`.
    """
    obj = result.obj if result is not None else None
    if fmt == "xml":
        type_name = result.type_name if result is not None else "String"
        root_name = f"StdCustomResultOf{type_name}" if type_name else "StdResult"
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n',
            f'<{root_name} xmlns:xsi="{XSI}" xmlns:xsd="{XSD}">',
        ]
        if type_name:
            _xml_write(out, "ResultObject", obj, result.item_name if result else "")
        out.append(f"<ResultCode>{code}</ResultCode>")
        _xml_write(out, "ResultMsg", message, "")
        if detail:
            _xml_write(out, "ResultDetail", detail, "")
        out.append(f"</{root_name}>")
        return HttpResponse("".join(out), content_type="text/xml; charset=utf-8")
    payload = {"ResultObject": obj, "ResultCode": code, "ResultMsg": message}
    if detail:
        payload["ResultDetail"] = detail
    return HttpResponse(
        json.dumps(payload, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
