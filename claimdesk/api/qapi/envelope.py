"""Qoo10's answer envelope in JSON or XML, and the liberal reading of parameters."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 - we only build XML, never parse it

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from claimdesk.core.money import minor_units

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
    """A refusal answered with a Qoo10 result code (HTTP stays 200)."""

    def __init__(self, code: int, message: object = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = str(message) or MESSAGES.get(code, "ERROR")


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


def _xml_value(parent: ET.Element, value: Any, item_name: str) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for key, sub in value.items():
            _xml_value(ET.SubElement(parent, key), sub, item_name)
    elif isinstance(value, list):
        for item in value:
            _xml_value(ET.SubElement(parent, item_name or "Item"), item, item_name)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    else:
        parent.text = str(value)


def render(fmt: str, code: int, message: str, result: Result | None) -> HttpResponse:
    """Return the envelope {ResultCode, ResultMsg, ResultObject} as JSON or XML, with HTTP 200."""
    obj = result.obj if result is not None else None
    if fmt == "xml":
        type_name = result.type_name if result is not None else "String"
        root_name = f"StdCustomResultOf{type_name}" if type_name else "StdResult"
        root = ET.Element(root_name, {"xmlns:xsi": XSI, "xmlns:xsd": XSD})
        if type_name:
            _xml_value(ET.SubElement(root, "ResultObject"), obj, result.item_name if result else "")
        ET.SubElement(root, "ResultCode").text = str(code)
        ET.SubElement(root, "ResultMsg").text = message
        body = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
        return HttpResponse(body, content_type="text/xml; charset=utf-8")
    payload = {"ResultObject": obj, "ResultCode": code, "ResultMsg": message}
    return HttpResponse(
        json.dumps(payload, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
