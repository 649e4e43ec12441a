"""Reading and writing spreadsheets (.xlsx and .csv) for bulk work and exports."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from claimdesk.core.i18n import lazy_text as _

from .errors import InvalidInput

MAX_SHEET_BYTES = 5 * 1024 * 1024


def read_rows(upload: IO[bytes], filename: str, *, max_rows: int) -> list[list[str]]:
    """Return the rows of an uploaded .xlsx or .csv as text, header row dropped.

    The format is decided by content (an xlsx is a zip archive), not by name.
    """
    data = upload.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise InvalidInput(
            "file_too_large", _("The file is larger than 5 MB. Split it into smaller sheets.")
        )
    if not data:
        raise InvalidInput("file_empty", _("The file is empty."))
    if zipfile.is_zipfile(io.BytesIO(data)):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if rows and not rows[0][0].strip().isdigit():
        rows = rows[1:]  # a header row
    if len(rows) > max_rows:
        raise InvalidInput(
            "too_many_rows",
            _("The sheet has %(rows)s rows; at most %(max)s are allowed. Split it.")
            % {"rows": len(rows), "max": max_rows},
        )
    return rows


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise InvalidInput(
            "file_unreadable", _("This file is not a readable .xlsx or .csv sheet.")
        ) from exc
    sheet = workbook.worksheets[0]
    rows = [[_cell(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("file_unreadable", _("This file is not a readable .xlsx or .csv sheet."))
    if "\x00" in text:
        raise InvalidInput("file_unreadable", _("This file is not a readable .xlsx or .csv sheet."))
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def xlsx_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """Write `rows` to an .xlsx in write-only mode and yield its bytes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    yield buffer.getvalue()
