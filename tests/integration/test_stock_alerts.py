"""Low stock: one `low_stock` alert per crossing below the minimum, through today's alerts (event to
staff, an e-mail job via the relay), the reorder suggestion, and nothing more until stock was back."""

from __future__ import annotations

from typing import Any

from cmms.realtime.outbox import email_handler
from cmms.runtime import Runtime
from tests.integration.stock_support import move, part, receive, store
from tests.integration.support import Tenant, ok
from tests.integration.work_support import order


async def low_alerts(tenant: Tenant, number: str) -> list[dict[str, Any]]:
    return await tenant.sql(
        "SELECT id, message FROM alerts WHERE kind = 'low_stock' AND message LIKE %s ORDER BY id", (f"%{number}%",)
    )


async def test_one_alert_per_crossing(rt: Runtime, tenant: Tenant) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    place = await store(tenant)
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    p = await part(admin, min_qty="5", reorder_qty="20", unit="l")
    await receive(admin, p["id"], main, "10")
    after = ok(await admin.get("/api/v1/me"))["last_seq"]
    ok(await move(tech, p["id"], main, "issue", "4"), 201)  # 6: not below 5
    assert await low_alerts(tenant, p["number"]) == []
    ok(await move(tech, p["id"], main, "issue", "2"), 201)  # 4: crosses
    ok(await move(tech, p["id"], main, "issue", "1.5"), 201)  # 2.5: still low, no second alert
    alerts = await low_alerts(tenant, p["number"])
    assert len(alerts) == 1
    assert "2.5" not in alerts[0]["message"] and "4 l available" in alerts[0]["message"]
    assert "reorder 20 l" in alerts[0]["message"]
    level = ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))["locations"][0]
    assert level["low"] is True and level["reorder_qty"] == "20"
    low = ok(await tech.get("/api/v1/stock/low"))["items"]
    assert [
        (x["part_id"], x["location_id"], x["available"], x["reorder_qty"]) for x in low if x["part_id"] == p["id"]
    ] == [(p["id"], main, "2.5", "20")]
    # another location is its own level: its first crossing is its own alert
    await receive(admin, p["id"], bin_, "6")
    ok(await move(tech, p["id"], bin_, "issue", "2"), 201)
    assert len(await low_alerts(tenant, p["number"])) == 2
    # back to the minimum clears the flag; the next crossing alerts again
    await receive(admin, p["id"], main, "2.5")  # 5: no longer below
    assert ok(await admin.get(f"/api/v1/parts/{p['id']}/stock"))["locations"][0]["low"] is False
    ok(await move(tech, p["id"], main, "issue", "0.001"), 201)
    assert len(await low_alerts(tenant, p["number"])) == 3
    # the alerts are today's: alert:triggered to staff, and the relay queues their e-mail
    events = ok(await tech.get("/api/v1/events", params={"after": after}))["items"]
    triggered = [e for e in events if e["type"] == "alert:triggered" and e["data"]["kind"] == "low_stock"]
    assert [e["data"]["id"] for e in triggered] == [a["id"] for a in await low_alerts(tenant, p["number"])]
    rows = await tenant.sql(
        "SELECT seq, type, at, tenant_id, audience, data FROM outbox WHERE type = 'alert:triggered' AND seq > %s",
        (after,),
    )
    for row in rows:
        await email_handler(rt.deps)(row)
    jobs = [j["params"] for j in await tenant.sql("SELECT params FROM jobs WHERE kind = 'email'")]
    for alert in await low_alerts(tenant, p["number"]):
        assert {"template": "alert_triggered", "alert_id": alert["id"]} in jobs


async def test_a_reservation_can_cross_the_minimum(tenant: Tenant) -> None:
    admin = tenant["admin"]
    place = await store(tenant)
    main = place["main"]["id"]
    p = await part(admin, min_qty="3", reorder_qty="6")
    await receive(admin, p["id"], main, "4")
    wo = await order(tenant)
    body = {"part_id": p["id"], "location_id": main, "qty": "2"}
    line = ok(await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/parts", body), 201)
    assert len(await low_alerts(tenant, p["number"])) == 1  # available 2 < 3 though on hand is 4
    ok(await tenant["technician"].post(f"/api/v1/orders/{wo['id']}/parts/{line['id']}/issue"))
    assert len(await low_alerts(tenant, p["number"])) == 1  # issuing the reserved line changes no availability
