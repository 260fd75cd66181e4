"""The CSV import of parts, run by the exports job: validate the whole file, then create each part
through the parts catalog (audit rows and `part:created` events as for any other creation).

Idempotent on the job like the asset import: parts an earlier attempt created carry the job's
request id in their audit rows; their numbers are recognised and not created twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import parts as repo
from cmms.db.repos import users
from cmms.domain import part_import as rules
from cmms.domain.asset_import import RowError
from cmms.domain.errors import DomainError, Forbidden
from cmms.domain.roles import SUPERVISORS, Actor, Role
from cmms.services.deps import Deps
from cmms.services.parts import PARTS

Progress = Callable[[float, str], Awaitable[None]]


async def import_parts(
    deps: Deps, actor: Actor, text: str, *, valid_rows_only: bool, started: datetime, progress: Progress
) -> dict[str, Any]:
    """The report: counts, every row error (line, field, reason) and the parts created."""
    if actor.user_id is not None:
        async with transaction(deps.pool, actor.tenant_id) as cur:
            user = await users.get(cur, actor.tenant_id, actor.user_id)
        if not user["active"] or Role(user["role"]) not in SUPERVISORS:
            raise Forbidden(f"a {user['role']} may not import parts")
    rows, file_errors = rules.parse(text)
    report: dict[str, Any] = {"entity": "parts", "valid_rows_only": valid_rows_only, "rows": len(rows)}
    if any(e.line == 1 for e in file_errors):
        return _report(report, 0, file_errors, [], header_ok=False)
    async with transaction(deps.pool, actor.tenant_id) as cur:
        done = await repo.created_by_request(cur, actor.tenant_id, actor.request_id, started)
        taken = await repo.numbers_taken(cur, actor.tenant_id, sorted(rules.numbers(rows)))
    earlier = {str(d["number"]): int(d["id"]) for d in done}
    checked = rules.check(rows, taken - set(earlier))
    errors = sorted([*file_errors, *checked.errors], key=lambda e: e.line)
    await progress(0.05, f"{len(rows)} rows checked, {len(checked.bad_lines)} with errors")
    created: list[dict[str, Any]] = []
    if errors and not valid_rows_only:
        return _report(report, len(checked.valid), errors, created)
    for i, (line, part) in enumerate(checked.valid, 1):
        if part.number in earlier:
            created.append({"line": line, "id": earlier[part.number], "number": part.number})
            continue
        try:
            row = await PARTS.create(deps, actor, part.model_dump())
        except DomainError as exc:
            errors.append(RowError(line, exc.field or "", exc.detail))
            continue
        created.append({"line": line, "id": row["id"], "number": row["number"]})
        await progress(0.05 + 0.95 * i / len(checked.valid), f"{i} of {len(checked.valid)} parts")
    return _report(report, len(checked.valid), sorted(errors, key=lambda e: e.line), created)


def _report(
    base: dict[str, Any], valid: int, errors: list[RowError], created: list[dict[str, Any]], *, header_ok: bool = True
) -> dict[str, Any]:
    return {
        **base,
        "valid": valid,
        "invalid": len({e.line for e in errors if e.line != 1}),
        "imported": len(created),
        "header_ok": header_ok,
        "errors": [e.as_dict() for e in errors],
        "created": created,
    }
