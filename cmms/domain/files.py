"""Rules for files people upload and download: names, content types, ranges, download headers.

Pure functions, so every rule is testable without I/O. Nothing a client says about a file is
trusted: the name is checked, the content type is sniffed from the first bytes, and a declared
type that contradicts the bytes is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from cmms.domain.errors import RangeNotSatisfiable, UnsupportedMedia, ValidationFailed

SNIFF_BYTES = 512  # what `sniff` needs to see; the upload keeps this much of its head
OCTET = "application/octet-stream"
MAX_NAME_BYTES = 255

# (signature at offset 0, content type); longer, more specific signatures first.
MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # old .doc/.xls/.msg
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
]
# Container formats whose brand sits after the box header: RIFF (WebP, WAV, AVI), ISO BMFF (MP4, HEIC).
RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
FTYP = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"qt  ": "video/quicktime"}
# Types whose bytes we recognise: a client declaring one of these must be telling the truth.
VERIFIABLE = {t for _, t in MAGIC} | set(RIFF.values()) | set(FTYP.values()) | {"video/mp4"}
# Declared types that a sniffed type may stand for (zip-based office files, common aliases).
ALIASES = {
    "application/zip": ("application/x-zip-compressed", "application/vnd.openxmlformats-", "application/vnd.oasis."),
    "application/gzip": ("application/x-gzip",),
    "image/jpeg": ("image/jpg", "image/pjpeg"),
    "application/x-ole-storage": ("application/msword", "application/vnd.ms-"),
}
# Never served as themselves: a browser would render or run them.
ACTIVE = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml", "text/javascript"}
_MARKUP = re.compile(rb"^\s*(<\?xml|<!doctype\s+html|<html|<svg|<script|<head|<body|<iframe)", re.IGNORECASE)


def sanitise_name(raw: str | None) -> str:
    """The stored file name: one path segment of printable text, NFC, at most 255 UTF-8 bytes.

    A name with path parts or control characters is refused rather than repaired: a client that
    sends `../../etc/passwd` or a NUL is not sending a photo's name by accident.
    """
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise ValidationFailed("the file needs a name (the filename of the `file` part)", field="file")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise ValidationFailed("the file name contains control characters", field="file")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ValidationFailed("the file name must not contain a path (/, \\ or ..)", field="file")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise ValidationFailed(f"the file name is longer than {MAX_NAME_BYTES} bytes", field="file")
    return name


def sniff(head: bytes) -> str:
    """The content type of a file from its first bytes (at least `SNIFF_BYTES` when it has them)."""
    for signature, kind in MAGIC:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] in RIFF:
        return RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return FTYP.get(head[8:12], "video/mp4")
    if not head:
        return OCTET
    text = head.lstrip(b"\xef\xbb\xbf")
    if _MARKUP.match(text):
        return "image/svg+xml" if b"<svg" in text.lower() else "text/html"
    if _is_text(text):
        return "text/plain"
    return OCTET


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data) - 3:  # a character cut at the end of the sniffed head is fine
            return False
    return not any(b < 9 or 13 < b < 32 for b in data if b != 27)


def check_declared(declared: str | None, sniffed: str) -> None:
    """Refuse a declared type that the bytes contradict (a "photo" that is really an HTML page)."""
    kind = (declared or "").split(";")[0].strip().lower()
    if not kind or kind == OCTET or kind == sniffed:
        return
    if kind.startswith(ALIASES.get(sniffed, ())):
        return
    if sniffed == "text/plain" and kind.startswith("text/") and kind not in ACTIVE:
        return  # CSV, Markdown, logs: text the sniffer cannot tell apart
    if kind in VERIFIABLE or kind in ACTIVE or sniffed in VERIFIABLE or sniffed in ACTIVE:
        raise UnsupportedMedia(f"the file's content is {sniffed}, not {kind} as declared", field="file")


def served_type(stored: str) -> str:
    """What a download says it is: active content only ever as opaque bytes."""
    return OCTET if stored in ACTIVE else stored


def content_disposition(name: str) -> str:
    """RFC 6266 `attachment` with an ASCII fallback and the exact name as RFC 8187 `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=a-b`, `a-` or `-n` range (RFC 9110); None: send the whole file.

    A header that is not a single byte range is ignored, as the RFC allows; a range that starts
    past the end is refused.
    """
    if not header:
        return None
    found = _RANGE.match(header.strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(size - suffix, 0), size)
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # invalid syntax: ignore the header
    if start >= size:
        raise RangeNotSatisfiable(size)
    return ByteRange(start, end)
