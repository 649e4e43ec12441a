"""Reading and writing spreadsheets (.xlsx and .csv) for bulk work and exports."""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from claimdesk.core.i18n import lazy_text as _

from .errors import InvalidInput
from .validation import NOT_XML_CHARS

MAX_SHEET_BYTES = 5 * 1024 * 1024
#: What the parts of an .xlsx may hold once uncompressed (a zip bomb is refused unread).
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
#: Parts an .xlsx may have (a workbook of one sheet has about a dozen).
MAX_ARCHIVE_MEMBERS = 200
#: Columns read per row: what lies further right is ignored.
MAX_COLUMNS = 40
#: Rows without any value that a sheet may hold besides its rows (formatted blank lines).
MAX_BLANK_ROWS = 1000
#: Characters one cell may hold: Excel's own limit (a longer text is refused row by row).
MAX_CELL_CHARS = 32_767


def _unreadable() -> InvalidInput:
    return InvalidInput("file_unreadable", _("This file is not a readable .xlsx or .csv sheet."))


def _too_many_rows(max_rows: int) -> InvalidInput:
    return InvalidInput(
        "too_many_rows",
        _("The sheet has more than %(max)s rows. Split it.") % {"max": max_rows},
    )


def read_rows(
    upload: IO[bytes], filename: str, *, max_rows: int, keep_header: bool = False
) -> list[list[str]]:
    """Return the rows of an uploaded .xlsx or .csv as text, header row dropped.

    `keep_header`: keep the first row, for sheets whose columns go by name.

    The format is decided by content (an xlsx is a zip archive), not by name.
    The size the archive unpacks to, the rows and each cell's length are
    checked as the sheet is read, so that a crafted file is refused before it
    fills the memory.
    """
    data = upload.read(MAX_SHEET_BYTES + 1)
    if len(data) > MAX_SHEET_BYTES:
        raise InvalidInput(
            "file_too_large", _("The file is larger than 5 MB. Split it into smaller sheets.")
        )
    if not data:
        raise InvalidInput("file_empty", _("The file is empty."))
    if zipfile.is_zipfile(io.BytesIO(data)):
        raw = _xlsx_rows(data)
    else:
        raw = _csv_rows(data)
    rows = _checked(raw, max_rows)
    first = rows[0][0].strip() if rows else ""
    if rows and not keep_header and not (first.isascii() and first.isdigit()):
        rows = rows[1:]  # a header row
    if len(rows) > max_rows:
        raise InvalidInput(
            "too_many_rows",
            _("The sheet has %(rows)s rows; at most %(max)s are allowed. Split it.")
            % {"rows": len(rows), "max": max_rows},
        )
    return rows


def _checked(raw: Iterator[list[str]], max_rows: int) -> list[list[str]]:
    """Return the rows of `raw` with a value, refusing a long cell or too many rows on the way."""
    rows: list[list[str]] = []
    blank = 0
    for line, row in enumerate(raw, start=1):
        del row[MAX_COLUMNS:]
        for cell in row:
            if len(cell) > MAX_CELL_CHARS:
                raise InvalidInput(
                    "cell_too_long",
                    _(
                        "Row %(line)s has a cell of %(length)s characters; at most %(max)s are "
                        "allowed. Shorten it."
                    )
                    % {"line": line, "length": len(cell), "max": MAX_CELL_CHARS},
                    {"line": line},
                )
        if any(cell.strip() for cell in row):
            rows.append(row)
            if len(rows) > max_rows + 1:  # the rows and a header
                raise _too_many_rows(max_rows)
        else:
            blank += 1
            if blank > MAX_BLANK_ROWS:
                raise _too_many_rows(max_rows)
    return rows


def _check_archive(data: bytes) -> None:
    """Refuse an archive that unpacks to more than MAX_UNCOMPRESSED_BYTES, before unpacking it.

    The sizes are the ones the archive declares; Python's zipfile never
    unpacks more than a part declares (a part that would is unreadable).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise _unreadable() from exc
    unpacked = sum(member.file_size for member in members)
    if len(members) > MAX_ARCHIVE_MEMBERS or unpacked > MAX_UNCOMPRESSED_BYTES:
        raise InvalidInput(
            "file_too_large",
            _(
                "The sheet unpacks to more than %(size)s MB. Remove what is not needed "
                "or split it into smaller sheets."
            )
            % {"size": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)},
        )


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, KeyError, zipfile.BadZipFile, ValueError, SyntaxError) as exc:
        # SyntaxError: XML that does not parse (ElementTree's ParseError is one)
        raise _unreadable() from exc
    try:
        if not workbook.worksheets:
            raise _unreadable()
        sheet = workbook.worksheets[0]
        try:
            for row in sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS):
                yield [_cell(value) for value in row]
        except (KeyError, ValueError, TypeError, SyntaxError, zipfile.BadZipFile) as exc:
            raise _unreadable() from exc
    finally:
        workbook.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise _unreadable()
    if "\x00" in text:
        raise _unreadable()
    try:
        for row in csv.reader(io.StringIO(text)):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:
        raise _unreadable() from exc


# --- writing: an .xlsx streamed as it is compressed ----------------------------------------
#
# openpyxl's write-only sheet builds a Cell per value and writes it element by element
# (11 s of CPU per 100,000 rows of 16 columns, against 1.5 s here: docs/benchmarks/export.md).
# The rows written here are plain text and whole numbers, so the sheet's XML is written
# directly, and the zip is streamed as it is compressed; the rest of the package
# (workbook, styles, theme, content types) is openpyxl's own, from an empty workbook
# with the header row.

SHEET_PART = "xl/worksheets/sheet1.xml"
#: What a text cell must escape or leave out (NOT_XML_CHARS: openpyxl would refuse them).
_SPECIAL = re.compile(r"[&<>\r]|" + NOT_XML_CHARS.pattern)
#: Rows compressed between two chunks handed to the response.
CHUNK_ROWS = 2000


def _text(value: str) -> str:
    if _SPECIAL.search(value):
        value = (
            NOT_XML_CHARS.sub("", value)
            .replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace("\r", "&#13;")
        )
    return value


#: How a text that a spreadsheet program would take for a formula may begin (OWASP's list,
#: with the full-width forms a Japanese input method types).
FORMULA_STARTS = tuple("=+-@\t\r＝＋－＠")
#: The cell style (index in cellXfs) that marks a text as text even when edited: quotePrefix.
_QUOTED_STYLE = 1


def _row_xml(number: int, values: Sequence[Any], letters: Sequence[str]) -> str:
    """Return one `<row>` of inline strings and numbers, as openpyxl writes them.

    A text beginning like a formula (`=`, `+`, `-`, `@` ...) is an inline string with
    the quote-prefix style: what Excel marks with a leading apostrophe, so that no
    spreadsheet program evaluates it, not even after the cell is edited.
    """
    cells = [f'<row r="{number}">']
    for letter, value in zip(letters, values, strict=False):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            space = ' xml:space="preserve"' if value != value.strip() else ""
            style = f' s="{_QUOTED_STYLE}"' if value.startswith(FORMULA_STARTS) else ""
            cells.append(
                f'<c r="{letter}{number}"{style} t="inlineStr"><is><t{space}>{_text(value)}</t></is></c>'
            )
        elif isinstance(value, int) and not isinstance(value, bool):
            cells.append(f'<c r="{letter}{number}" t="n"><v>{value}</v></c>')
        else:
            raise TypeError(f"an export cell holds text or a whole number, not {value!r}")
    cells.append("</row>")
    return "".join(cells)


STYLES_PART = "xl/styles.xml"


def _with_quoted_style(styles: bytes) -> bytes:
    """Return openpyxl's styles with a second cell format: the first one plus quotePrefix."""
    head, found, rest = styles.partition(b'<cellXfs count="1">')
    first, closing, tail = rest.partition(b"</cellXfs>")
    if not found or not closing or b'quotePrefix="0"' not in first:
        raise RuntimeError("openpyxl's styles.xml no longer has the expected single cell format")
    quoted = first.replace(b'quotePrefix="0"', b'quotePrefix="1"')
    return head + b'<cellXfs count="2">' + first + quoted + closing + tail


@functools.cache
def _package(header: tuple[str, ...]) -> tuple[list[tuple[zipfile.ZipInfo, bytes]], bytes, bytes]:
    """Return openpyxl's parts of a one-sheet workbook with `header`, and its sheet split in two.

    The sheet's XML is cut where the rows end: the data rows go between the halves.
    """
    workbook = Workbook(write_only=True)
    workbook.create_sheet().append(list(header))
    buffer = io.BytesIO()
    workbook.save(buffer)
    parts = []
    with zipfile.ZipFile(buffer) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename == STYLES_PART:
                data = _with_quoted_style(data)
            parts.append((info, data))
    sheet = dict((info.filename, data) for info, data in parts)[SHEET_PART]
    cut = sheet.index(b"</sheetData>")
    return parts, sheet[:cut], sheet[cut:]


class _Chunks(io.RawIOBase):
    """A write-only, unseekable file that keeps what was written until it is taken."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def xlsx_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """Yield an .xlsx with `header` and `rows` (text and whole numbers) as it is compressed.

    Empty texts and None leave the cell out, as an empty cell reads back the same.
    """
    parts, sheet_head, sheet_tail = _package(tuple(str(h) for h in header))
    letters = [get_column_letter(i) for i in range(1, len(header) + 1)]
    out = _Chunks()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts:
            if info.filename != SHEET_PART:
                archive.writestr(info.filename, data)
                continue
            with archive.open(SHEET_PART, "w") as sheet:
                sheet.write(sheet_head)
                batch: list[str] = []
                for number, row in enumerate(rows, start=2):
                    batch.append(_row_xml(number, row, letters))
                    if len(batch) == CHUNK_ROWS:
                        sheet.write("".join(batch).encode())
                        batch.clear()
                        if chunk := out.take():
                            yield chunk
                sheet.write("".join(batch).encode())
                sheet.write(sheet_tail)
    yield out.take()
