"""The CSV import of assets: the validation of an import file (pure: the caller supplies the lookups).

Rules of the import:
- The header names the columns, in any order, case-insensitively: `name` and `plant_id` or `plant`
  (the plant's name) are required; `parent_code, code, type, manufacturer, model, serial,
  criticality, status` are optional; `id, parent_id, created_at, updated_at, version` (what an
  export adds) are ignored; any other column is an error, so a misspelt column is never a silent
  no-op.
- An empty cell means "not given" (the default applies). Line numbers are the file's physical
  lines, the header being line 1.
- A parent is named by code: an asset already in the tenant, or a row earlier in the file (parents
  before children); it must be in the same plant. A code may appear once in the file and must not
  exist in the tenant yet.
- Cells the export protected against spreadsheet formulas (a leading `'` before `= + - @`) are
  read back without that apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from cmms.domain.exports import unprotect
from cmms.domain.model import AssetIn

REQUIRED = ("name",)
OPTIONAL = ("plant_id", "plant", "parent_code", "code", "type", "manufacturer", "model", "serial")
LOWERED = ("criticality", "status")  # enum cells: "High" reads as "high"
IGNORED = frozenset({"id", "parent_id", "created_at", "updated_at", "version"})
COLUMNS = frozenset({*REQUIRED, *OPTIONAL, *LOWERED})
ASSET_FIELDS = ("name", "code", "type", "manufacturer", "model", "serial", "criticality", "status")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class Row:
    """One data row: its first physical line and its cells by (lower-case) column name."""

    line: int
    cells: dict[str, str]
    extra: bool = False  # more cells than the header has columns


@dataclass
class Parsed:
    columns: list[str]
    rows: list[Row]
    errors: list[RowError]


@dataclass(frozen=True)
class ExistingAsset:
    id: int
    plant_id: int


@dataclass
class Candidate:
    """A row that passed validation: what to create, and its parent (an id, or a code from the file)."""

    line: int
    asset: AssetIn
    parent_id: int | None = None
    parent_code: str | None = None


@dataclass
class Checked:
    rows: int
    valid: list[Candidate]
    errors: list[RowError]
    bad_lines: set[int] = field(default_factory=set)


def parse(text: str) -> Parsed:
    """Read the header and the rows; a broken file or header is reported, never raised."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return Parsed([], [], [RowError(1, "", f"unreadable header: {exc}")])
    if header is None or not any(h.strip() for h in header):
        return Parsed([], [], [RowError(1, "", "the file is empty: a header row is required")])
    columns = [h.strip().lower() for h in header]
    errors += _check_header(columns)
    rows: list[Row] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, "", f"unreadable row: {exc}"))
            start = reader.line_num + 1
            continue
        if cells and any(c.strip() for c in cells):
            named = {col: unprotect(cell.strip()) for col, cell in zip(columns, cells, strict=False)}
            rows.append(Row(start, named, extra=len(cells) > len(columns)))
        start = reader.line_num + 1
    return Parsed(columns, rows, errors)


def _check_header(columns: list[str]) -> list[RowError]:
    errors = []
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            errors.append(RowError(1, col, "the column appears twice"))
        seen.add(col)
        if col not in COLUMNS and col not in IGNORED:
            expected = ", ".join(sorted(COLUMNS))
            errors.append(RowError(1, col or "(blank)", f"unknown column; the columns are {expected}"))
    if "name" not in seen:
        errors.append(RowError(1, "name", "the name column is required"))
    if "plant_id" not in seen and "plant" not in seen:
        errors.append(RowError(1, "plant_id", "a plant_id or plant (name) column is required"))
    return errors


@dataclass(frozen=True)
class References:
    """What the rows point at, for the caller to look up in the tenant."""

    plant_ids: set[int]
    plant_names: set[str]
    codes: set[str]


def references(rows: Iterable[Row]) -> References:
    ids: set[int] = set()
    names: set[str] = set()
    codes: set[str] = set()
    for row in rows:
        plant_id = _int(row.cells.get("plant_id", ""))
        if plant_id is not None:
            ids.add(plant_id)
        if row.cells.get("plant"):
            names.add(row.cells["plant"])
        for col in ("code", "parent_code"):
            if row.cells.get(col):
                codes.add(row.cells[col])
    return References(ids, names, codes)


def _int(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 1 <= value < 2**63 else None


def check(
    rows: list[Row],
    plants_by_id: Mapping[int, str],
    plants_by_name: Mapping[str, int],
    existing: Mapping[str, ExistingAsset],
) -> Checked:
    """Validate every row against AssetIn and the tenant's plants and asset codes.

    `plants_by_name` may hold lower-cased names too: an exact name wins, then a case-insensitive one.
    `existing` maps the codes already in the tenant (among those the file mentions) to their asset.
    """
    errors: list[RowError] = []
    valid: list[Candidate] = []
    bad: set[int] = set()
    in_file: dict[str, tuple[int, int | None]] = {}  # code -> (line, plant_id) of an earlier row
    later = {r.cells["code"]: r.line for r in reversed(rows) if r.cells.get("code")}
    for row in rows:
        row_errors = _check_row(row, plants_by_id, plants_by_name, existing, in_file, later, bad)
        code = row.cells.get("code") or None
        if row_errors:
            errors += row_errors
            bad.add(row.line)
        if code is not None and code not in in_file:
            in_file[code] = (row.line, _row_plant(row, plants_by_id, plants_by_name))
        if not row_errors:
            asset, parent_id, parent_code = _candidate(row, plants_by_id, plants_by_name, existing)
            valid.append(Candidate(row.line, asset, parent_id, parent_code))
    return Checked(len(rows), valid, errors, bad)


def _row_plant(row: Row, by_id: Mapping[int, str], by_name: Mapping[str, int]) -> int | None:
    plant_id = _int(row.cells.get("plant_id", ""))
    if plant_id is not None:
        return plant_id if plant_id in by_id else None
    name = row.cells.get("plant", "")
    return by_name.get(name, by_name.get(name.lower())) if name else None


def _check_row(
    row: Row,
    by_id: Mapping[int, str],
    by_name: Mapping[str, int],
    existing: Mapping[str, ExistingAsset],
    in_file: Mapping[str, tuple[int, int | None]],
    later: Mapping[str, int],
    bad: set[int],
) -> list[RowError]:
    line, cells = row.line, row.cells
    errors: list[RowError] = []
    if row.extra:
        errors.append(RowError(line, "", "the row has more cells than the header has columns"))
    plant_id = _plant_errors(row, by_id, by_name, errors)
    fields: dict[str, Any] = {k: cells[k] for k in ASSET_FIELDS if cells.get(k)}
    for k in LOWERED:
        if k in fields:
            fields[k] = fields[k].lower()
    try:
        AssetIn.model_validate({**fields, "plant_id": plant_id or 1})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            errors.append(RowError(line, name, err["msg"]))
    code = cells.get("code") or None
    if code is not None:
        if code in in_file:
            errors.append(RowError(line, "code", f"code {code} is already used on line {in_file[code][0]}"))
        elif code in existing:
            errors.append(RowError(line, "code", f"an asset with code {code} already exists"))
    parent = cells.get("parent_code") or None
    if parent is not None:
        errors += _parent_errors(line, parent, code, plant_id, existing, in_file, later, bad)
    return errors


def _plant_errors(row: Row, by_id: Mapping[int, str], by_name: Mapping[str, int], errors: list[RowError]) -> int | None:
    line, cells = row.line, row.cells
    text_id, name = cells.get("plant_id", ""), cells.get("plant", "")
    plant_id: int | None = None
    if text_id:
        plant_id = _int(text_id)
        if plant_id is None:
            errors.append(RowError(line, "plant_id", f"{text_id!r} is not a plant id"))
            return None
        if plant_id not in by_id:
            errors.append(RowError(line, "plant_id", f"plant {plant_id} not found"))
            return None
        if name and by_id[plant_id].lower() != name.lower():
            errors.append(RowError(line, "plant", f"plant {plant_id} is named {by_id[plant_id]!r}, not {name!r}"))
        return plant_id
    if name:
        found = by_name.get(name, by_name.get(name.lower()))
        if found is None:
            errors.append(RowError(line, "plant", f"no plant is named {name!r}"))
        return found
    errors.append(RowError(line, "plant_id", "a plant_id or plant is required"))
    return None


def _parent_errors(
    line: int,
    parent: str,
    code: str | None,
    plant_id: int | None,
    existing: Mapping[str, ExistingAsset],
    in_file: Mapping[str, tuple[int, int | None]],
    later: Mapping[str, int],
    bad: set[int],
) -> list[RowError]:
    if parent == code:
        return [RowError(line, "parent_code", "an asset cannot be its own parent")]
    if parent in in_file:
        parent_line, parent_plant = in_file[parent]
        if parent_line in bad:
            return [RowError(line, "parent_code", f"the parent {parent} (line {parent_line}) has errors")]
        if plant_id is not None and parent_plant != plant_id:
            return [RowError(line, "parent_code", f"the parent {parent} (line {parent_line}) is in another plant")]
        return []
    if parent in existing:
        if plant_id is not None and existing[parent].plant_id != plant_id:
            return [RowError(line, "parent_code", f"the parent {parent} belongs to another plant")]
        return []
    if parent in later:
        return [
            RowError(line, "parent_code", f"the parent {parent} comes later (line {later[parent]}); list parents first")
        ]
    return [RowError(line, "parent_code", f"no asset has code {parent}")]


def _candidate(
    row: Row, by_id: Mapping[int, str], by_name: Mapping[str, int], existing: Mapping[str, ExistingAsset]
) -> tuple[AssetIn, int | None, str | None]:
    cells = row.cells
    values: dict[str, Any] = {k: cells[k] for k in ASSET_FIELDS if cells.get(k)}
    for k in LOWERED:
        if k in values:
            values[k] = values[k].lower()
    asset = AssetIn.model_validate({**values, "plant_id": _row_plant(row, by_id, by_name)})
    parent = cells.get("parent_code") or None
    if parent is None:
        return asset, None, None
    if parent in existing:
        return asset, existing[parent].id, None
    return asset, None, parent
