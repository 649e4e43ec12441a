"""Pure rules about notes: personal data in text, file types by content, sizes.

No ORM and no settings here, so that the rules are fast to test. The regular
expressions are written in the subset shared by Python and JavaScript: the
dialog sends them to the browser (see `PERSONAL_DATA_PATTERNS`) so that the
live highlight and the server agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024

_DIGIT = "[0-9０-９]"
_DASH = "[-‐－ー―−\\s]?"

#: kind -> pattern. Order matters: earlier kinds win when matches overlap.
PERSONAL_DATA_PATTERNS: dict[str, str] = {
    "email": "[A-Za-z0-9._%+\\-]+[@＠][A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)+",
    # 〒273-0017, 273-0017, 〒2730017 (seven digits alone are too often other numbers).
    "postcode": f"〒\\s?{_DIGIT}{{3}}{_DASH}{_DIGIT}{{4}}|(?<![0-9０-９\\-－])"
    f"{_DIGIT}{{3}}[-－]{_DIGIT}{{4}}(?![0-9０-９\\-－])",
    # 050-3189-7070, 03-1234-5678, 09012345678, +81-50-3189-7070
    "phone": f"(?:[+＋](?:81|８１){_DASH}[1-9１-９]|(?<![0-9０-９])[0０]){_DIGIT}{{0,3}}{_DASH}"
    f"{_DIGIT}{{1,4}}{_DASH}{_DIGIT}{{3,4}}(?![0-9０-９])",
    # 千葉県 船橋市 西浦 3-4-2: a prefecture followed by a city, ward, town or village.
    "address": "(?:東京都|北海道|(?:京都|大阪)府|[一-龥]{2,3}県)\\s?[一-龥ぁ-んァ-ヶ]{1,8}?[市区町村郡]"
    "(?:[一-龥ぁ-んァ-ヶ\\s]{0,12}?[0-9０-９]{1,4}(?:[-－丁目番地号の][0-9０-９]{1,4}){0,3})?",
}

_COMPILED = {kind: re.compile(pattern) for kind, pattern in PERSONAL_DATA_PATTERNS.items()}


@dataclass(frozen=True)
class Span:
    """A piece of text that looks like personal data: [start, end) in characters."""

    start: int
    end: int
    kind: str
    text: str


def personal_data_spans(text: str) -> list[Span]:
    """Return the non-overlapping spans of `text` that look like personal data, in order."""
    found: list[Span] = []
    for kind, pattern in _COMPILED.items():
        for match in pattern.finditer(text):
            start, end = match.span()
            if start == end:
                continue
            if any(start < s.end and s.start < end for s in found):
                continue
            found.append(Span(start, end, kind, match.group()))
    return sorted(found, key=lambda s: s.start)


def split_by_spans(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    """Cut `text` into (piece, kind) pairs; kind is "" outside the spans (for highlighting)."""
    pieces: list[tuple[str, str]] = []
    at = 0
    for span in spans:
        if span.start > at:
            pieces.append((text[at : span.start], ""))
        pieces.append((text[span.start : span.end], span.kind))
        at = span.end
    if at < len(text):
        pieces.append((text[at:], ""))
    return pieces


def char_count(text: str) -> int:
    """Count characters as the reader sees them (code points, not bytes)."""
    return len(text)


#: content type -> (magic prefixes, file extension)
_SIGNATURES: dict[str, tuple[tuple[bytes, ...], str]] = {
    "image/jpeg": ((b"\xff\xd8\xff",), "jpg"),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), "png"),
    "image/gif": ((b"GIF87a", b"GIF89a"), "gif"),
    "application/pdf": ((b"%PDF-",), "pdf"),
}

SNIFF_BYTES = 16


def sniff_content_type(head: bytes) -> str | None:
    """Return the content type the first bytes of a file prove, or None if not an allowed type."""
    for content_type, (magics, _ext) in _SIGNATURES.items():
        if any(head.startswith(magic) for magic in magics):
            return content_type
    return None


def extension_for(content_type: str) -> str:
    """Return the file extension stored for an allowed content type."""
    return _SIGNATURES[content_type][1]


def attachments_fit(sizes: list[int], limit: int = MAX_ATTACHMENT_BYTES) -> bool:
    """Return whether files of `sizes` bytes fit in the per-note limit together."""
    return sum(sizes) <= limit
