"""The CSV import of parts: columns, and the validation of every row before anything is created.

Rules (the same shape as the asset import of `cmms.domain.asset_import`):
- The header names the columns in any order, case-insensitively: `number` and `name` are required;
  `unit, description, barcode, min_qty, reorder_qty` are optional; what a parts export adds
  (`id, average_cost, on_hand, available, created_at, updated_at, version`) is ignored; any other
  column is an error. Line numbers are the file's physical lines, the header being line 1.
- A row is a `PartIn`: quantities are decimal strings with at most three places. A number may
  appear once in the file and must not exist in the tenant yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from cmms.domain import asset_import
from cmms.domain.asset_import import Row, RowError
from cmms.domain.inventory import PartIn

REQUIRED = ("number", "name")
OPTIONAL = ("unit", "description", "barcode", "min_qty", "reorder_qty")
IGNORED = frozenset({"id", "average_cost", "on_hand", "available", "created_at", "updated_at", "version"})
COLUMNS = frozenset({*REQUIRED, *OPTIONAL})


@dataclass
class Checked:
    rows: int
    valid: list[tuple[int, PartIn]]
    errors: list[RowError]
    bad_lines: set[int] = field(default_factory=set)


def parse(text: str) -> tuple[list[Row], list[RowError]]:
    """The rows and the file's errors (header and unreadable rows), never raising."""
    parsed = asset_import.parse(text)
    errors = [e for e in parsed.errors if e.line != 1 or not parsed.columns]
    if parsed.columns:
        errors += _check_header(parsed.columns)
    return parsed.rows, sorted(errors, key=lambda e: e.line)


def _check_header(columns: list[str]) -> list[RowError]:
    errors, seen = [], set()
    for col in columns:
        if col in seen:
            errors.append(RowError(1, col, "the column appears twice"))
        seen.add(col)
        if col not in COLUMNS and col not in IGNORED:
            errors.append(
                RowError(1, col or "(blank)", f"unknown column; the columns are {', '.join(sorted(COLUMNS))}")
            )
    errors += [RowError(1, col, f"the {col} column is required") for col in REQUIRED if col not in seen]
    return errors


def numbers(rows: Iterable[Row]) -> set[str]:
    return {r.cells["number"] for r in rows if r.cells.get("number")}


def check(rows: list[Row], taken: set[str]) -> Checked:
    """Validate every row; `taken` holds the numbers (of those the file names) the tenant already has."""
    checked = Checked(len(rows), [], [])
    first_line: dict[str, int] = {}
    for row in rows:
        errors = []
        if row.extra:
            errors.append(RowError(row.line, "", "the row has more cells than the header has columns"))
        values = {k: row.cells[k] for k in (*REQUIRED, *OPTIONAL) if row.cells.get(k)}
        part = None
        try:
            part = PartIn.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                errors.append(RowError(row.line, str(err["loc"][0]) if err["loc"] else "", err["msg"]))
        number = part.number if part is not None else row.cells.get("number", "")
        if number and number in first_line:
            errors.append(RowError(row.line, "number", f"number {number} is already used on line {first_line[number]}"))
        elif number and number in taken:
            errors.append(RowError(row.line, "number", f"a part with number {number} already exists"))
        if number:
            first_line.setdefault(number, row.line)
        if errors or part is None:
            checked.errors += errors
            checked.bad_lines.add(row.line)
        else:
            checked.valid.append((row.line, part))
    return checked
