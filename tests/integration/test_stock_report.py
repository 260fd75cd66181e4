"""The inventory sections of the reports job: stock value per location, parts used per asset and
plant in the period (at the cost they were issued at, returns deducted), and the low-stock list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cmms.runtime import Runtime
from tests.integration.stock_support import part, receive, store
from tests.integration.support import Api, Tenant, ok
from tests.integration.test_exports import result_text, settled, worker
from tests.integration.work_support import order


async def run_report(rt: Runtime, tenant: Tenant, api: Api, params: dict[str, Any]) -> str:
    job = ok(await api.post("/api/v1/jobs", {"kind": "reports", "params": params}), 202)
    await worker(rt).run(job["id"], tenant.id)
    return await result_text(api, await settled(api, job["id"]))


async def test_inventory_in_the_report(rt: Runtime, tenant: Tenant) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    place = await store(tenant)
    plant, main = place["plant"], place["main"]["id"]
    asset = ok(await admin.post("/api/v1/assets", {"name": "Feed pump P-101", "plant_id": plant["id"]}), 201)
    seal = await part(admin, name="Mechanical seal 35 mm", min_qty="3", reorder_qty="6")
    grease = await part(admin, name="Bearing grease", unit="kg")
    await receive(admin, seal["id"], main, "4", "80.00")
    await receive(admin, grease["id"], place["bin"]["id"], "2.5", "12.40")
    wo = await order(tenant, asset["id"], plant_id=plant["id"])
    lines = []
    for body in (
        {"part_id": seal["id"], "location_id": main, "qty": "2"},
        {"part_id": seal["id"], "location_id": main, "qty": "1"},
    ):
        line = ok(await tech.post(f"/api/v1/orders/{wo['id']}/parts", body), 201)
        ok(await tech.post(f"/api/v1/orders/{wo['id']}/parts/{line['id']}/issue"))
        lines.append(line)
    ok(await tech.delete(f"/api/v1/orders/{wo['id']}/parts/{lines[1]['id']}"), 204)  # one seal came back
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    text = await run_report(rt, tenant, admin, {"format": "json", "plant_id": plant["id"], **period})
    inv = orjson.loads(text)["inventory"]
    values = {r["location_id"]: r["value"] for r in inv["locations"]}
    # 2 seals left at 80.00 in the store; 2.5 kg of grease at 12.40 in the bin
    assert values == {main: "160.00", place["bin"]["id"]: "31.00"}
    assert inv["stock_value"] == "191.00"
    assert [(r["id"], r["issues"], r["cost"]) for r in inv["used_by_asset"]] == [(asset["id"], 2, "160.00")]
    assert [(r["id"], r["cost"]) for r in inv["used_by_plant"]] == [(plant["id"], "160.00")]
    assert [(r["part_id"], r["available"], r["reorder_qty"]) for r in inv["low_stock"]] == [(seal["id"], "2", "6")]
    page = await run_report(rt, tenant, admin, {"format": "html", "plant_id": plant["id"], **period})
    assert "<h2>Inventory</h2>" in page and "Mechanical seal 35 mm" in page and page.rstrip().endswith("</html>")
    markdown = await run_report(rt, tenant, admin, {"format": "md", "plant_id": plant["id"], **period})
    assert "## Inventory" in markdown and "Feed pump P-101" in markdown
