"""The stock ledger (`stock_moves`, append-only) and the levels kept with it (`stock_levels`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, fetchall, fetchone

MOVES = "stock_moves"
LEVELS = "stock_levels"
Page = tuple[list[dict[str, Any]], str | None]


async def lock_level(
    cur: Cursor, tenant_id: int, part_id: int, location_id: int, *, create: bool
) -> dict[str, Any] | None:
    """The (part, location) level row, locked FOR UPDATE until commit: the point where concurrent
    moves of the same part at the same place queue up, each reading the count the last one left.

    With `create`, a missing row is inserted at zero first (ON CONFLICT DO NOTHING lets two first
    receipts race safely); without it, a part never stocked there is None.
    """
    if create:
        await cur.execute(
            "INSERT INTO stock_levels (tenant_id, part_id, location_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant_id, part_id, location_id),
        )
    return await fetchone(
        cur,
        "SELECT * FROM stock_levels WHERE tenant_id = %s AND part_id = %s AND location_id = %s FOR UPDATE",
        (tenant_id, part_id, location_id),
    )


async def write_level(
    cur: Cursor, tenant_id: int, part_id: int, location_id: int, on_hand: Decimal, reserved: Decimal, low: bool
) -> dict[str, Any]:
    row = await fetchone(
        cur,
        "UPDATE stock_levels SET on_hand = %s, reserved = %s, low = %s, updated_at = now()"
        " WHERE tenant_id = %s AND part_id = %s AND location_id = %s RETURNING *",
        (on_hand, reserved, low, tenant_id, part_id, location_id),
    )
    assert row is not None
    return row


async def part_on_hand(cur: Cursor, tenant_id: int, part_id: int) -> Decimal:
    row = await fetchone(
        cur,
        "SELECT COALESCE(sum(on_hand), 0) AS total FROM stock_levels WHERE tenant_id = %s AND part_id = %s",
        (tenant_id, part_id),
    )
    return Decimal(row["total"]) if row else Decimal(0)


async def set_average(cur: Cursor, tenant_id: int, part_id: int, average: Decimal) -> None:
    await cur.execute(
        "UPDATE parts SET average_cost = %s WHERE tenant_id = %s AND id = %s", (average, tenant_id, part_id)
    )


async def insert_move(cur: Cursor, values: dict[str, Any]) -> dict[str, Any]:
    return await crud.insert(cur, MOVES, values)


async def levels(cur: Cursor, tenant_id: int, part_id: int) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT * FROM stock_levels WHERE tenant_id = %s AND part_id = %s ORDER BY location_id",
        (tenant_id, part_id),
    )


async def page_moves(
    cur: Cursor,
    tenant_id: int,
    part_id: int | None,
    order_id: int | None,
    location_id: int | None,
    limit: int,
    cursor: str | None,
) -> Page:
    where = crud.Where(tenant_id).eq("part_id", part_id).eq("order_id", order_id)
    if location_id is not None:
        where.raw("(location_id = %s OR to_location_id = %s)", location_id, location_id)
    return await crud.page(cur, MOVES, where, limit=limit, cursor=cursor)


async def low_levels(cur: Cursor, tenant_id: int, limit: int) -> list[dict[str, Any]]:
    """Levels whose available quantity is below the part's minimum, worst shortfall first."""
    return await fetchall(
        cur,
        "SELECT l.part_id, l.location_id, l.on_hand, l.reserved, p.number, p.name, p.unit, p.min_qty,"
        " p.reorder_qty, s.name AS location FROM stock_levels l"
        " JOIN parts p ON p.tenant_id = l.tenant_id AND p.id = l.part_id"
        " JOIN stock_locations s ON s.tenant_id = l.tenant_id AND s.id = l.location_id"
        " WHERE l.tenant_id = %s AND p.min_qty > 0 AND l.on_hand - l.reserved < p.min_qty"
        " ORDER BY (l.on_hand - l.reserved) / p.min_qty, p.number, l.location_id LIMIT %s",
        (tenant_id, limit),
    )


async def levels_of(cur: Cursor, tenant_id: int, part_ids: list[int]) -> list[dict[str, Any]]:
    """The levels of these parts, with their locations' names, in part then location order."""
    return await fetchall(
        cur,
        "SELECT l.*, s.name AS location FROM stock_levels l"
        " JOIN stock_locations s ON s.tenant_id = l.tenant_id AND s.id = l.location_id"
        " WHERE l.tenant_id = %s AND l.part_id = ANY(%s) ORDER BY l.part_id, l.location_id",
        (tenant_id, part_ids),
    )
