"""Crafted spreadsheets uploaded for bulk cancellation: refused with a reason, never a 500."""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from claimdesk.claims.models import BulkCancelJob
from claimdesk.core import sheets

pytestmark = pytest.mark.django_db

SHEET = "xl/worksheets/sheet1.xml"


def _xlsx_with_sheet(write_sheet: Callable[[zipfile.ZipFile], None]) -> bytes:
    """A real workbook from openpyxl whose first sheet's XML is replaced by `write_sheet`."""
    book = Workbook()
    book.active.append(["order_no", "reason", "memo"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename == SHEET:
                write_sheet(target)
            else:
                target.writestr(info.filename, source.read(info))
    return out.getvalue()


def _sheet_xml(rows_xml: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows_xml}</sheetData></worksheet>"
    )


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def bomb_cell() -> bytes:
    """Under 5 MB packed, one memo cell of 60 MB unpacked."""

    def write(target: zipfile.ZipFile) -> None:
        head, tail = _sheet_xml("<!--cut-->").split("<!--cut-->")
        with target.open(SHEET, "w") as part:
            part.write((head + '<row r="1">' + _inline("A1", "1000000001")).encode())
            part.write(b'<c r="B1" t="inlineStr"><is><t>')
            block = b"A" * (1024 * 1024)
            for _ in range(60):
                part.write(block)
            part.write(("</t></is></c></row>" + tail).encode())

    return _xlsx_with_sheet(write)


def malformed_xml() -> bytes:
    """The sheet's XML breaks off in the middle of a row."""
    return _xlsx_with_sheet(
        lambda t: t.writestr(SHEET, _sheet_xml('<row r="1">' + _inline("A1", "1"))[:-30])
    )


def long_cell() -> bytes:
    """A small file with one cell longer than a cell may be."""
    text = "x" * (sheets.MAX_CELL_CHARS + 1)
    row = '<row r="2">' + _inline("A2", "1000000001") + _inline("C2", text) + "</row>"
    return _xlsx_with_sheet(lambda t: t.writestr(SHEET, _sheet_xml(row)))


def far_row() -> bytes:
    """Two rows a million lines apart: the blank lines between are not all read."""
    rows = (
        '<row r="2">'
        + _inline("A2", "1000000001")
        + '</row><row r="1048576">'
        + _inline("A1048576", "1000000002")
        + "</row>"
    )
    return _xlsx_with_sheet(lambda t: t.writestr(SHEET, _sheet_xml(rows)))


def wide_row() -> bytes:
    """One row with a cell in the last column Excel has."""
    row = '<row r="2">' + _inline("A2", "1000000001") + _inline("XFD2", "x") + "</row>"
    return _xlsx_with_sheet(lambda t: t.writestr(SHEET, _sheet_xml(row)))


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (bomb_cell, "file_too_large"),
        (malformed_xml, "file_unreadable"),
        (long_cell, "cell_too_long"),
        (far_row, "too_many_rows"),
    ],
)
def test_crafted_sheets_are_refused_with_a_reason(client, seller, make, code) -> None:  # type: ignore[no-untyped-def]
    """The upload page refuses the sheet in the seller's language and records no job."""
    data = make()
    assert len(data) < sheets.MAX_SHEET_BYTES
    with pytest.raises(Exception) as refused:
        sheets.read_rows(io.BytesIO(data), "s.xlsx", max_rows=10_000)
    assert getattr(refused.value, "code", None) == code
    client.force_login(seller)
    response = client.post(
        reverse("seller:bulk_cancel"), {"sheet": io.BytesIO(data)}, format="multipart", follow=True
    )
    assert response.status_code < 500
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        reason = html.escape(str(refused.value.message))  # type: ignore[attr-defined]
    assert reason in response.content.decode()
    assert not BulkCancelJob.objects.exists()


def test_a_cell_far_to_the_right_is_ignored(seller) -> None:  # type: ignore[no-untyped-def]
    """Columns beyond the sheet's width are not read (no row of 16,384 cells)."""
    rows = sheets.read_rows(io.BytesIO(wide_row()), "s.xlsx", max_rows=10)
    assert rows == [["1000000001"] + [""] * (sheets.MAX_COLUMNS - 1)]
