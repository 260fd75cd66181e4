"""CSV exports streamed from one tenant transaction, and the CSV import of assets.

An export declares a server-side cursor and fetches it in chunks of 2,000 rows, each written to
the file before the next is read, so memory stays flat however many rows there are. Progress is
relative to a count taken first (rows committed meanwhile may make it approximate).

The import validates the whole file before creating anything (rules in `cmms.domain.asset_import`), and
then creates each asset through `assets.create`, so audit rows, events and caches stay right. It is
idempotent on the job: assets an earlier attempt created are recognised by the audit rows carrying
the job's request id, and the import resumes after them instead of creating them twice.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from cmms.db.pool import transaction
from cmms.db.repos import exports as repo
from cmms.db.repos import users
from cmms.domain import asset_import
from cmms.domain import exports as rules
from cmms.domain.errors import Conflict, DomainError, Forbidden, ValidationFailed
from cmms.domain.roles import SUPERVISORS, Actor, Role
from cmms.domain.workflow import format_number
from cmms.services import assets
from cmms.services.deps import Deps

Progress = Callable[[float, str], Awaitable[None]]
CHUNK = 2000
SUMMARY_ERRORS = 20  # row errors repeated in the job summary; the report file has them all


def filters_of(entity: str, filters: dict[str, Any], *, prefix: str = "filters") -> rules.Filters:
    """The validated filters; ValidationFailed names the field (`prefix` + its name) otherwise."""
    try:
        return rules.export_filters(entity, filters)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in (prefix, *first["loc"]))
        raise ValidationFailed(f"{loc}: {first['msg']}", field=loc) from None


# ---- export -----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return rules.protect(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # numbers: csv writes repr(), exact for floats


def _rows(rows: Iterable[dict[str, Any]], number_at: int | None) -> Iterable[list[Any]]:
    for row in rows:
        cells = [_cell(v) for v in row.values()]
        if number_at is not None:
            cells[number_at] = format_number(row["number"])
        yield cells


class _CsvFile:
    """A CSV file written from a thread, one chunk at a time, so the event loop never blocks on disk."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.writer = csv.writer(file)

    @classmethod
    async def open(cls, path: Path) -> _CsvFile:
        file = await asyncio.to_thread(path.open, "w", encoding="utf-8", newline="")
        return cls(file)

    async def write(self, rows: Iterable[list[Any]]) -> None:
        await asyncio.to_thread(self.writer.writerows, rows)

    async def close(self) -> None:
        await asyncio.to_thread(self.file.close)


async def export_csv(
    deps: Deps, actor: Actor, entity: str, filters: dict[str, Any], path: Path, progress: Progress
) -> dict[str, Any]:
    """Write the entity's rows matching `filters` as CSV with a header row; the summary of it."""
    chosen = filters_of(entity, filters)
    select = repo.export_select(entity, actor.tenant_id, chosen)
    number_at = select.columns.index("number") if entity == "orders" else None
    out = await _CsvFile.open(path)
    done = 0
    try:
        await out.write([select.columns])
        async with transaction(deps.pool, actor.tenant_id) as cur:
            total = await repo.count(cur, select)
            await progress(0.0, f"exporting {total} {entity}")
            async for chunk in repo.stream(cur, select, CHUNK):
                await out.write(_rows(chunk, number_at))
                done += len(chunk)
                await progress(done / max(total, 1), f"{done} of {total} {entity}")
    finally:
        await out.close()
    return {
        "entity": entity,
        "rows": done,
        "columns": select.columns,
        "filters": chosen.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


# ---- import -----------------------------------------------------------------------------------


async def _check_requester(deps: Deps, actor: Actor) -> None:
    """The job acts as the tenant's operator; the person who asked for it must be allowed to create
    assets themselves (enqueue lets staff start exports, and their role may have changed since)."""
    if actor.user_id is None:
        return
    async with transaction(deps.pool, actor.tenant_id) as cur:
        user = await users.get(cur, actor.tenant_id, actor.user_id)
    if not user["active"] or Role(user["role"]) not in SUPERVISORS:
        raise Forbidden(f"a {user['role']} may not import assets")


async def import_assets(
    deps: Deps,
    actor: Actor,
    text: str,
    *,
    valid_rows_only: bool,
    started: datetime,
    progress: Progress,
) -> dict[str, Any]:
    """Validate the CSV and create its assets (all, or with `valid_rows_only` the valid ones).

    `actor.request_id` identifies the job; `started` is when it was created (earlier attempts'
    audit rows are looked for from then on). Returns the report: counts, row errors, created ids.
    """
    await _check_requester(deps, actor)
    parsed = asset_import.parse(text)
    report: dict[str, Any] = {"entity": "assets", "valid_rows_only": valid_rows_only, "rows": len(parsed.rows)}
    header_bad = any(e.line == 1 for e in parsed.errors)
    if header_bad:
        return _report(report, [], parsed.errors, [], rows_checked=False)
    refs = asset_import.references(parsed.rows)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        plants = await repo.plants_named(cur, actor.tenant_id, sorted(refs.plant_ids), sorted(refs.plant_names))
        found = await repo.assets_by_code(cur, actor.tenant_id, sorted(refs.codes))
        done = await repo.created_by_request(cur, actor.tenant_id, actor.request_id, started)
    done_ids = {d["id"] for d in done}
    by_id = {int(p["id"]): str(p["name"]) for p in plants}
    by_name: dict[str, int] = {}
    for p in sorted(plants, key=lambda p: p["id"]):
        by_name.setdefault(str(p["name"]).lower(), int(p["id"]))
    by_name.update({str(p["name"]): int(p["id"]) for p in plants})
    existing = {
        str(a["code"]): asset_import.ExistingAsset(int(a["id"]), int(a["plant_id"]))
        for a in found
        if a["id"] not in done_ids
    }
    checked = asset_import.check(parsed.rows, by_id, by_name, existing)
    errors = sorted([*parsed.errors, *checked.errors], key=lambda e: e.line)
    await progress(0.05, f"{len(parsed.rows)} rows checked, {len(checked.bad_lines)} with errors")
    if errors and not valid_rows_only:
        return _report(report, checked.valid, errors, [])
    created = _resume(checked.valid, done)
    await _create(deps, actor, checked.valid, created, errors, progress)
    return _report(report, checked.valid, errors, list(created.values()))


def _resume(valid: list[asset_import.Candidate], done: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Match what an earlier attempt created with the first valid rows (they are created in order)."""
    created: dict[int, dict[str, Any]] = {}
    for cand, row in zip(valid, done, strict=False):
        if row["code"] != cand.asset.code or row["plant_id"] != cand.asset.plant_id:
            raise Conflict(
                f"an earlier attempt of this import created asset {row['id']}, which line {cand.line}"
                " no longer describes; the file or the tenant changed in between"
            )
        created[cand.line] = {"line": cand.line, "id": row["id"], "code": row["code"]}
    if len(done) > len(valid):
        raise Conflict("an earlier attempt of this import created more assets than the file now holds")
    return created


async def _create(
    deps: Deps,
    actor: Actor,
    valid: list[asset_import.Candidate],
    created: dict[int, dict[str, Any]],
    errors: list[asset_import.RowError],
    progress: Progress,
) -> None:
    ids_by_code = {c["code"]: c["id"] for c in created.values() if c["code"]}
    lines_by_code = {cand.asset.code: cand.line for cand in valid if cand.asset.code}
    for i, cand in enumerate(valid, 1):
        if cand.line in created:
            continue
        parent_id = cand.parent_id
        if cand.parent_code is not None:
            parent_id = ids_by_code.get(cand.parent_code)
            if parent_id is None:
                line = lines_by_code.get(cand.parent_code)
                reason = f"the parent (line {line}) was not imported"
                errors.append(asset_import.RowError(cand.line, "parent_code", reason))
                continue
        try:
            row = await assets.create(deps, actor, cand.asset.model_copy(update={"parent_id": parent_id}))
        except DomainError as exc:
            errors.append(asset_import.RowError(cand.line, exc.field or "", exc.detail))
            continue
        created[cand.line] = {"line": cand.line, "id": row["id"], "code": row["code"]}
        if row["code"]:
            ids_by_code[row["code"]] = row["id"]
        await progress(0.05 + 0.95 * i / len(valid), f"{i} of {len(valid)} assets")
    errors.sort(key=lambda e: e.line)


def _report(
    base: dict[str, Any],
    valid: list[asset_import.Candidate],
    errors: list[asset_import.RowError],
    created: list[dict[str, Any]],
    *,
    rows_checked: bool = True,
) -> dict[str, Any]:
    bad_lines = {e.line for e in errors if e.line != 1}
    return {
        **base,
        "valid": len(valid) if rows_checked else 0,
        "invalid": len(bad_lines),
        "imported": len(created),
        "header_ok": not any(e.line == 1 for e in errors),
        "errors": [e.as_dict() for e in errors],
        "created": sorted(created, key=lambda c: c["line"]),
    }


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its long lists, for the job record."""
    short = {k: v for k, v in report.items() if k not in ("errors", "created")}
    short["errors"] = report["errors"][:SUMMARY_ERRORS]
    short["error_count"] = len(report["errors"])
    return short
