"""Helpers for the inventory tests: a store with two locations, parts, moves, and the ledger as rows."""

from __future__ import annotations

from typing import Any

from tests.integration.support import Api, Reply, Tenant, ok, unique


async def store(tenant: Tenant) -> dict[str, Any]:
    """A plant with two stock locations (a main store and a bin)."""
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    main = ok(await admin.post("/api/v1/stock-locations", {"name": unique("store"), "plant_id": plant["id"]}), 201)
    bin_ = ok(await admin.post("/api/v1/stock-locations", {"name": unique("bin"), "plant_id": plant["id"]}), 201)
    return {"plant": plant, "main": main, "bin": bin_}


async def part(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"number": unique("P"), "name": "Deep groove ball bearing 6205", **fields}
    return ok(await api.post("/api/v1/parts", body), 201)


async def move(api: Api, part_id: int, location_id: int, kind: str, qty: str, **fields: Any) -> Reply:
    body = {"part_id": part_id, "location_id": location_id, "kind": kind, "qty": qty, **fields}
    return await api.post("/api/v1/stock/moves", body)


async def receive(api: Api, part_id: int, location_id: int, qty: str, unit_cost: str = "1.00") -> dict[str, Any]:
    return ok(await move(api, part_id, location_id, "receive", qty, unit_cost=unit_cost), 201)


async def levels(tenant: Tenant, part_id: int) -> dict[int, dict[str, Any]]:
    rows = await tenant.sql(
        "SELECT location_id, on_hand, reserved, low FROM stock_levels WHERE part_id = %s", (part_id,)
    )
    return {r["location_id"]: r for r in rows}


async def ledger(tenant: Tenant, part_id: int) -> list[dict[str, Any]]:
    return await tenant.sql("SELECT * FROM stock_moves WHERE part_id = %s ORDER BY id", (part_id,))


async def snapshot(tenant: Tenant) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was: moves, levels, lines, averages."""
    moves = await tenant.sql("SELECT count(*) AS n FROM stock_moves")
    lv = await tenant.sql("SELECT part_id, location_id, on_hand, reserved FROM stock_levels ORDER BY 1, 2")
    lines = await tenant.sql("SELECT id, status, qty FROM order_parts ORDER BY id")
    costs = await tenant.sql("SELECT id, average_cost FROM parts ORDER BY id")
    return moves[0]["n"], lv, lines, costs
