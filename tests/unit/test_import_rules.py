"""The CSV import rules and export filters, without a database."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cmms.domain.asset_import import ExistingAsset, check, parse
from cmms.domain.exports import export_filters, protect, unprotect

PLANTS = {1: "North", 2: "South"}
BY_NAME = {"North": 1, "north": 1, "South": 2, "south": 2}


def test_lines_are_physical_lines_even_with_quoted_newlines() -> None:
    text = 'name,plant_id\n"Two\nlines",1\n\n  ,  \nThird,2\n'
    parsed = parse(text)
    assert parsed.errors == []
    assert [(r.line, r.cells["name"]) for r in parsed.rows] == [(2, "Two\nlines"), (6, "Third")]


def test_header_rules() -> None:
    parsed = parse("\ufeffName, Plant ,name,colour\n")
    assert [(e.line, e.field) for e in parsed.errors] == [(1, "name"), (1, "colour")]
    assert [e.field for e in parse("code,type\n").errors] == ["name", "plant_id"]
    assert [e.line for e in parse("").errors] == [1]


def test_an_unreadable_row_is_reported_and_the_rest_read() -> None:
    parsed = parse('name,plant_id\n"open quote,1\n')
    assert [e.line for e in parsed.errors] == [2]


def test_extra_cells_and_plant_disagreement() -> None:
    parsed = parse("name,plant_id,plant\nA,1,north,extra\nB,1,South\nC,,SOUTH\n")
    checked = check(parsed.rows, PLANTS, BY_NAME, {})
    assert [(e.line, e.field) for e in checked.errors] == [(2, ""), (3, "plant")]
    assert [(c.line, c.asset.plant_id) for c in checked.valid] == [(4, 2)]


def test_parents_in_the_file_and_in_the_tenant() -> None:
    existing = {"ROOT": ExistingAsset(id=7, plant_id=1), "FAR": ExistingAsset(id=8, plant_id=2)}
    text = "name,plant_id,code,parent_code,criticality\nA,1,A,ROOT,HIGH\nB,1,B,A,\nC,1,C,FAR,\nD,1,D,D,\n"
    checked = check(parse(text).rows, PLANTS, BY_NAME, existing)
    assert [(e.line, e.field) for e in checked.errors] == [(4, "parent_code"), (5, "parent_code")]
    a, b = checked.valid
    assert (a.parent_id, a.parent_code, a.asset.criticality) == (7, None, "high")
    assert (b.parent_id, b.parent_code) == (None, "A")


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx"])
def test_formula_guard_round_trips(text: str) -> None:
    assert protect(text) == "'" + text
    assert unprotect(protect(text)) == text
    assert unprotect("'plain") == "'plain" and protect("plain") == "plain"


def test_export_filters() -> None:
    f = export_filters("orders", {"status": "open,on_hold", "from": "2026-01-01T00:00:00Z"})
    assert f.model_dump(by_alias=True, exclude_none=True, mode="json") == {
        "status": ["open", "on_hold"],
        "from": "2026-01-01T00:00:00Z",
    }
    for entity, bad in [
        ("orders", {"status": "lost"}),
        ("orders", {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("assets", {"q": "x"}),
        ("readings", {"since": "2026-01-01T00:00:00"}),  # naive time
        ("audit", {"actor_id": 0}),
    ]:
        with pytest.raises(ValidationError):
            export_filters(entity, bad)
