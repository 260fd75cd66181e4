"""The pure file rules: names, sniffing, declared types, ranges and download headers."""

from __future__ import annotations

import pytest

from cmms.domain import files as rules
from cmms.domain.errors import RangeNotSatisfiable, UnsupportedMedia, ValidationFailed


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "a/b.png", "C:\\x.png", "..", ".", "", "   ", "a\x00.php", "bell\x07", "rtl\u202e.exe"]
)
def test_names_with_paths_or_controls_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed):
        rules.sanitise_name(name)


def test_names_are_trimmed_normalised_and_bounded() -> None:
    assert rules.sanitise_name("  Cafe\u0301 photo.JPG ") == "Café photo.JPG"
    assert rules.sanitise_name("ü" * 127) == "ü" * 127
    with pytest.raises(ValidationFailed):
        rules.sanitise_name("ü" * 128)  # 256 UTF-8 bytes


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0..JFIF", "image/jpeg"),
        (b"%PDF-1.7", "application/pdf"),
        (b"PK\x03\x04....", "application/zip"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"\x00\x00\x00\x18ftypisom", "video/mp4"),
        (b"<!DOCTYPE html><p>", "text/html"),
        (b"  <svg xmlns='http://www.w3.org/2000/svg'>", "image/svg+xml"),
        (b"\xef\xbb\xbfid;name\n1;Pump\n", "text/plain"),
        (b"caf\xc3", "text/plain"),  # a UTF-8 character cut at the end of the head
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_sniffing_reads_the_bytes(head: bytes, kind: str) -> None:
    assert rules.sniff(head) == kind


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [
        (None, "image/png"),
        ("application/octet-stream", "text/html"),
        ("image/jpg", "image/jpeg"),
        ("text/csv; charset=utf-8", "text/plain"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"),
        ("application/x-custom", "application/octet-stream"),
    ],
)
def test_compatible_declarations_pass(declared: str | None, sniffed: str) -> None:
    rules.check_declared(declared, sniffed)


@pytest.mark.parametrize(
    ("declared", "sniffed"),
    [
        ("image/png", "text/html"),
        ("image/png", "image/jpeg"),
        ("application/pdf", "application/octet-stream"),
        ("text/html", "text/plain"),
        ("text/plain", "image/svg+xml"),
    ],
)
def test_lying_declarations_are_refused(declared: str, sniffed: str) -> None:
    with pytest.raises(UnsupportedMedia):
        rules.check_declared(declared, sniffed)


def test_active_content_is_served_as_bytes() -> None:
    assert rules.served_type("text/html") == rules.served_type("image/svg+xml") == "application/octet-stream"
    assert rules.served_type("image/png") == "image/png"


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    assert rules.content_disposition('Ölstand "neu".png') == (
        "attachment; filename=\"_lstand _neu_.png\"; filename*=UTF-8''%C3%96lstand%20%22neu%22.png"
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=5-", (5, 100)),
        ("bytes=-10", (90, 100)),
        ("bytes=-500", (0, 100)),
        ("bytes=90-200", (90, 100)),
        ("bytes=9-3", None),  # invalid: ignored, the whole file
        ("bytes=0-1,5-6", None),  # several ranges: not supported, the whole file
        ("items=0-1", None),
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    got = rules.parse_range(header, 100)
    assert (None if got is None else (got.start, got.end)) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-200", "bytes=-0"])
def test_ranges_outside_the_file_are_refused(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        rules.parse_range(header, 100)
