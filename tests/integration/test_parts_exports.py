"""Parts and stock as CSV through the exports job, and the parts CSV import with its per-row report."""

from __future__ import annotations

import orjson

from cmms.runtime import Runtime
from tests.integration.stock_support import move, part, receive, store
from tests.integration.support import Tenant, ok, unique
from tests.integration.test_exports import export, result_text, run_job


async def test_parts_and_stock_exports(rt: Runtime, tenant: Tenant) -> None:
    admin, tech = tenant["admin"], tenant["technician"]
    place = await store(tenant)
    main, bin_ = place["main"]["id"], place["bin"]["id"]
    low = await part(admin, name="=HYPERLINK(1)", min_qty="5", reorder_qty="10", unit="l")
    fine = await part(admin, min_qty="1")
    await receive(admin, low["id"], main, "8", "2.50")
    await receive(admin, fine["id"], bin_, "3", "1.10")
    ok(await move(tech, low["id"], main, "issue", "4.5"), 201)
    rows = {r["number"]: r for r in await export(rt, tenant, tech, "parts")}
    assert rows[low["number"]]["name"] == "'=HYPERLINK(1)"  # protected against spreadsheet formulas
    assert rows[low["number"]]["min_qty"] == "5.000" and rows[low["number"]]["average_cost"] == "2.5000"
    only_low = [r["number"] for r in await export(rt, tenant, tech, "parts", low_only=True)]
    assert low["number"] in only_low and fine["number"] not in only_low
    stock = await export(rt, tenant, tech, "stock", part_id=low["id"])
    assert [(int(r["location_id"]), r["on_hand"], r["available"], r["value"]) for r in stock] == [
        (main, "3.500", "3.500", "8.75")
    ]
    everything = await export(rt, tenant, tech, "stock")
    assert {(int(r["part_id"]), int(r["location_id"])) for r in everything} >= {(low["id"], main), (fine["id"], bin_)}


async def test_parts_import_reports_every_row(rt: Runtime, tenant: Tenant) -> None:
    manager = tenant["manager"]
    taken = await part(manager)
    tag = unique("IMP")
    text = (
        "Number,name,unit,min_qty,reorder_qty,barcode,average_cost\n"
        f"{tag}-1,Deep groove bearing 6204,pcs,2,10,400638133390,9.99\n"
        f"{tag}-2,Gear oil ISO VG 220,l,20.5,100,,\n"
        f"{tag}-1,Twice the same number,pcs,,,,\n"
        f"{taken['number']},Exists already,pcs,,,,\n"
        f"{tag}-3,Too precise,kg,0.0001,,,\n"
        f",No number,pcs,,,,\n"
    )
    refused = await run_job(rt, tenant, manager, {"operation": "import", "entity": "parts", "csv": text})
    report = orjson.loads(await result_text(manager, refused))
    assert (report["rows"], report["valid"], report["invalid"], report["imported"]) == (6, 2, 4, 0)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (4, "number"),
        (5, "number"),
        (6, "min_qty"),
        (7, "number"),
    ]
    assert ok(await manager.get("/api/v1/parts", params={"number": f"{tag}-1"}))["items"] == []
    params = {"operation": "import", "entity": "parts", "csv": text, "valid_rows_only": True}
    done = await run_job(rt, tenant, manager, params)
    report = orjson.loads(await result_text(manager, done))
    assert report["imported"] == 2 and [c["line"] for c in report["created"]] == [2, 3]
    oil = ok(await manager.get("/api/v1/parts", params={"number": f"{tag}-2"}))["items"]
    assert [(p["unit"], p["min_qty"], p["average_cost"]) for p in oil] == [("l", "20.5", "0.0000")]
    bad_header = await run_job(
        rt, tenant, manager, {"operation": "import", "entity": "parts", "csv": "name,colour\nx,red\n"}
    )
    report = orjson.loads(await result_text(manager, bad_header))
    assert report["header_ok"] is False and {e["field"] for e in report["errors"]} == {"colour", "number"}
