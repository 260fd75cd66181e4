"""How a search box query is read (websearch syntax, the word being typed), and search cursors."""

from __future__ import annotations

import pytest

from cmms.domain.errors import ValidationFailed
from cmms.domain.search import Clause, decode_cursor, encode_cursor, highlight, parse_query


def test_words_phrases_alternatives_and_exclusions() -> None:
    parsed = parse_query('leaking "oil seal" or gasket -filler')
    assert parsed.groups == ((Clause("leaking"),), (Clause("oil seal", phrase=True), Clause("gasket")))
    assert parsed.excluded == (Clause("filler"),)
    assert parsed.prefix is None  # the last item is part of an alternative


def test_the_last_word_is_completed_only_while_being_typed() -> None:
    typing = parse_query("leaking gask")
    assert typing.prefix == "gask" and typing.head == "leaking "
    assert parse_query("leaking gasket ").prefix is None
    assert parse_query('"leaking gask').prefix is None  # inside a phrase
    assert parse_query("gasket -fil").prefix is None  # an exclusion
    assert parse_query("g").prefix is None  # one letter matches too much


@pytest.mark.parametrize("odd", ["", "   ", "-", "- or", '""', "%", "\\", "!&|():*", "\x00", "\ud800", "\x02"])
def test_odd_input_parses_to_nothing_to_search(odd: str) -> None:
    parsed = parse_query(odd)
    assert parsed.empty
    assert "\x00" not in parsed.text and "\x02" not in parsed.text and "\ud800" not in parsed.text


def test_numbers_and_codes() -> None:
    assert parse_query("WO-000123").number == 123
    assert parse_query("123").number == 123
    assert parse_query("WO-0").number is None
    assert parse_query("RIV-PMP-01").code == "RIV-PMP-01"
    assert parse_query("pump").code is None


def test_highlights_escape_everything_but_the_marks() -> None:
    assert highlight("<b>\x02leak\x03</b> & co") == "&lt;b&gt;<mark>leak</mark>&lt;/b&gt; &amp; co"


def test_cursors_round_trip_and_refuse_forgeries() -> None:
    assert decode_cursor(encode_cursor(40)) == 40
    assert decode_cursor(None) == 0
    for bad in ("nope", encode_cursor(10**6), "aWQ6NQ"):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)
