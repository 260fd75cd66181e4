"""Twenty technicians' consoles send `fail` for one item at the same moment: one follow-up order.

The recordings go through HTTP at once (asyncio.gather over the pool); the item's row lock makes
them run one after the other, and every one but the first finds the follow-up already there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.support import Tenant, ok
from tests.integration.work_support import order_with_checklist, record, site

CONCURRENT = 20


async def test_twenty_concurrent_fails_open_exactly_one_follow_up(tenant: Tenant) -> None:
    place = await site(tenant)
    items = [{"label": "Coupling alignment", "type": "pass_fail", "required": True}]
    wo, checklist = await order_with_checklist(tenant, place["asset"]["id"], items)
    item_id = checklist["items"][0]["id"]
    callers = [tenant["technician"], tenant["admin"], tenant["manager"]]

    async def fail(i: int) -> dict[str, Any]:
        return ok(await record(callers[i % len(callers)], wo["id"], item_id, {"value": "fail", "notes": f"try {i}"}))

    results = await asyncio.gather(*(fail(i) for i in range(CONCURRENT)))
    follow_ups = await tenant.sql("SELECT id, title FROM work_orders WHERE follow_up_of = %s", (wo["id"],))
    assert len(follow_ups) == 1, follow_ups
    assert {r["follow_up_id"] for r in results} == {follow_ups[0]["id"]}
    created = await tenant.sql(
        "SELECT count(*) AS n FROM outbox WHERE type = 'order:created' AND (data->>'follow_up_of')::bigint = %s",
        (wo["id"],),
    )
    assert created[0]["n"] == 1
    audit = await tenant.sql(
        "SELECT count(*) AS n FROM audit_log WHERE entity = 'order' AND entity_id = %s AND action = 'record_item'",
        (wo["id"],),
    )
    assert audit[0]["n"] == CONCURRENT  # every recording kept its own audit row
    [row] = await tenant.sql("SELECT version FROM checklist_items WHERE id = %s", (item_id,))
    assert row["version"] == checklist["items"][0]["version"] + CONCURRENT
