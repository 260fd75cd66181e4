"""Exports jobs on the real PostgreSQL and Redis: CSV of each entity with its filters and never
another tenant's rows, a 100k-row export in bounded memory, a cancelled export leaving no file,
and the CSV import of assets with its per-row report.

Jobs are created through the API and run here with a Worker (no background workers: the tests
share the Redis stream)."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from cmms.domain.roles import Actor, Role
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import exports as exports_service
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps
from tests.integration.support import Api, Tenant, assert_problem, make_tenant, ok, unique

Emit = Callable[[dict[str, Any], int | None], Awaitable[None]]
MiB = 1024 * 1024
BULK = 100_000

ORDER_HEADER = (
    "id,number,title,status,priority,type,plant_id,plant,asset_id,asset_code,asset_name,assignee_id,"
    "assignee_email,requested_by,plan_id,due_at,started_at,completed_at,closed_at,downtime_minutes,"
    "description,created_at,updated_at"
).split(",")
ASSET_HEADER = (
    "id,code,name,plant_id,plant,parent_id,parent_code,type,manufacturer,model,serial,criticality,status,"
    "created_at,updated_at"
).split(",")
READING_HEADER = ["id", "asset_id", "asset_code", "asset_name", "meter", "value", "at"]
AUDIT_HEADER = ["id", "at", "actor_id", "actor_email", "action", "entity", "entity_id", "request_id", "changes"]


async def _no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


def worker(rt: Runtime, emit: Emit = _no_emit, deps: Deps | None = None) -> Worker:
    return Worker(deps or rt.deps, rt.data_dir, emit, DelayedJobs(rt.deps.redis, rt.job_system.queue))


async def settled(api: Api, job_id: int) -> dict[str, Any]:
    """The job once no worker holds it any more (it ran here, or elsewhere after a duplicate claim)."""
    for _ in range(300):
        job = ok(await api.get(f"/api/v1/jobs/{job_id}"))
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still running")


async def run_job(rt: Runtime, tenant: Tenant, api: Api, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
    job = ok(await api.post("/api/v1/jobs", {"kind": "exports", "params": params}), 202)
    await worker(rt, **kw).run(job["id"], tenant.id)
    return await settled(api, job["id"])


async def result_text(api: Api, job: dict[str, Any]) -> str:
    assert job["status"] == "completed", job
    reply = await api.get(f"/api/v1/jobs/{job['id']}/result")
    assert reply.status == 200, reply
    return reply.text


async def export(rt: Runtime, tenant: Tenant, api: Api, kind: str, /, **filters: Any) -> list[dict[str, str]]:
    job = await run_job(rt, tenant, api, {"entity": kind, "filters": filters})
    assert job["result_type"] == "text/csv"
    text = await result_text(api, job)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert job["result"]["rows"] == len(rows)
    return rows


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def site(tenant: Tenant, other: Tenant) -> dict[str, Any]:
    m = tenant["manager"]
    p1 = ok(await m.post("/api/v1/plants", {"name": unique("north")}), 201)
    p2 = ok(await m.post("/api/v1/plants", {"name": unique("south")}), 201)
    meters = [{"name": "temp"}, {"name": "hours"}]

    async def asset(plant: dict[str, Any], **body: Any) -> dict[str, Any]:
        return ok(await m.post("/api/v1/assets", {"plant_id": plant["id"], "meters": meters, **body}), 201)

    a1 = await asset(p1, name="Pump A", code=unique("PA"), criticality="high")
    a2 = await asset(p1, name="Fan B", code=unique("FB"), criticality="low", status="down", parent_id=a1["id"])
    a3 = await asset(p2, name='=HYPERLINK("http://evil")', code=unique("EV"), criticality="high")
    tech = tenant.users["technician"]["id"]
    o1 = ok(
        await m.post(
            "/api/v1/orders",
            {"title": "Fix pump", "priority": "high", "asset_id": a1["id"], "assignee_id": tech},
        ),
        201,
    )
    o2 = ok(await m.post("/api/v1/orders", {"title": "Oil fan", "priority": "low", "asset_id": a2["id"]}), 201)
    o3 = ok(
        await m.post("/api/v1/orders", {"title": "Inspect south", "priority": "critical", "type": "inspection"}), 201
    )
    ok(await m.post(f"/api/v1/orders/{o2['id']}/transition", {"to": "cancelled"}))
    readings = [
        {"meter": "temp", "value": 40.5, "at": "2026-01-01T00:00:00Z"},
        {"meter": "temp", "value": 41.25, "at": "2026-01-02T00:00:00Z"},
        {"meter": "temp", "value": 42, "at": "2026-01-03T00:00:00Z"},
        {"meter": "hours", "value": 1000, "at": "2026-01-02T00:00:00Z"},
    ]
    ok(await m.post(f"/api/v1/assets/{a1['id']}/readings", {"readings": readings}), 201)
    ok(
        await m.post(
            f"/api/v1/assets/{a2['id']}/readings", [{"meter": "temp", "value": 7, "at": "2026-01-02T00:00:00Z"}]
        ),
        201,
    )

    # Another tenant's rows, with a marker that must never show up in this tenant's exports.
    o = other["admin"]
    op = ok(await o.post("/api/v1/plants", {"name": "OTHER-SECRET plant"}), 201)
    oa = ok(await o.post("/api/v1/assets", {"name": "OTHER-SECRET asset", "plant_id": op["id"], "meters": meters}), 201)
    ok(await o.post("/api/v1/orders", {"title": "OTHER-SECRET order", "asset_id": oa["id"]}), 201)
    ok(await o.post(f"/api/v1/assets/{oa['id']}/readings", [{"meter": "temp", "value": 999.5}]), 201)
    return {"p1": p1, "p2": p2, "a1": a1, "a2": a2, "a3": a3, "o1": o1, "o2": o2, "o3": o3}


# ---- exports ----------------------------------------------------------------------------------


async def test_assets_export_with_filters(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    job = await run_job(rt, tenant, tenant["manager"], {"entity": "assets"})
    text = await result_text(tenant["manager"], job)
    assert header(text) == ASSET_HEADER
    assert text.endswith("\r\n")
    everything = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["id"]) for r in everything] == sorted(int(r["id"]) for r in everything)
    assert "OTHER-SECRET" not in text

    rows = await export(rt, tenant, tenant["manager"], "assets", plant_id=site["p1"]["id"], criticality="high")
    assert [r["code"] for r in rows] == [site["a1"]["code"]]
    row = rows[0]
    assert row["name"] == "Pump A" and row["plant"] == site["p1"]["name"] and row["parent_code"] == ""
    assert row["created_at"].endswith("Z")

    rows = await export(rt, tenant, tenant["manager"], "assets", status=["down"], plant_id=site["p1"]["id"])
    assert [(r["code"], r["parent_code"], r["parent_id"]) for r in rows] == [
        (site["a2"]["code"], site["a1"]["code"], str(site["a1"]["id"]))
    ]
    # A cell a spreadsheet would run as a formula is neutralised.
    rows = await export(rt, tenant, tenant["manager"], "assets", plant_id=site["p2"]["id"])
    assert [r["name"] for r in rows] == ['\'=HYPERLINK("http://evil")']


async def test_orders_export_with_filters(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    tech = tenant["technician"]  # staff may export orders
    job = await run_job(rt, tenant, tech, {"entity": "orders"})
    text = await result_text(tech, job)
    assert header(text) == ORDER_HEADER
    assert "OTHER-SECRET" not in text
    ids = {site[k]["id"] for k in ("o1", "o2", "o3")}
    assert ids <= {int(r["id"]) for r in csv.DictReader(io.StringIO(text))}

    rows = await export(rt, tenant, tech, "orders", priority="high,critical", status=["open"])
    picked = [r for r in rows if int(r["id"]) in ids]
    assert [int(r["id"]) for r in picked] == [site["o1"]["id"], site["o3"]["id"]]
    first = picked[0]
    assert first["number"] == site["o1"]["number"] and first["number"].startswith("WO-")
    assert first["asset_code"] == site["a1"]["code"] and first["plant"] == site["p1"]["name"]
    assert first["assignee_email"] == tenant.users["technician"]["email"]

    rows = await export(rt, tenant, tech, "orders", assignee_id=tenant.users["technician"]["id"])
    assert site["o1"]["id"] in {int(r["id"]) for r in rows}
    rows = await export(rt, tenant, tech, "orders", status="cancelled", asset_id=site["a2"]["id"])
    assert [int(r["id"]) for r in rows] == [site["o2"]["id"]]
    rows = await export(rt, tenant, tech, "orders", type="inspection", plant_id=site["p1"]["id"])
    assert rows == []
    created = site["o3"]["created_at"]
    rows = await export(rt, tenant, tech, "orders", **{"from": created})
    assert site["o3"]["id"] in {int(r["id"]) for r in rows} and site["o1"]["id"] not in {int(r["id"]) for r in rows}
    rows = await export(rt, tenant, tech, "orders", to=created)
    assert site["o3"]["id"] not in {int(r["id"]) for r in rows} and site["o1"]["id"] in {int(r["id"]) for r in rows}


async def test_readings_export_with_filters(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    m = tenant["manager"]
    job = await run_job(rt, tenant, m, {"entity": "readings"})
    text = await result_text(m, job)
    assert header(text) == READING_HEADER
    assert "OTHER-SECRET" not in text and "999.5" not in text
    a1 = site["a1"]["id"]
    rows = await export(
        rt, tenant, m, "readings", asset_id=a1, meter="temp", since="2026-01-02T00:00:00Z", until="2026-01-03T00:00:00Z"
    )
    assert [(r["meter"], r["value"], r["at"]) for r in rows] == [("temp", "41.25", "2026-01-02T00:00:00Z")]
    assert rows[0]["asset_code"] == site["a1"]["code"]
    rows = await export(rt, tenant, m, "readings", asset_id=a1)
    assert sorted(float(r["value"]) for r in rows) == [40.5, 41.25, 42, 1000]


async def test_audit_export_with_filters(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    m = tenant["manager"]
    job = await run_job(rt, tenant, m, {"entity": "audit"})
    text = await result_text(m, job)
    assert header(text) == AUDIT_HEADER
    assert "OTHER-SECRET" not in text
    manager_id = tenant.users["manager"]["id"]
    rows = await export(rt, tenant, m, "audit", entity="asset", actor_id=manager_id)
    assert rows and {(r["entity"], r["actor_id"]) for r in rows} == {("asset", str(manager_id))}
    assert {site[k]["id"] for k in ("a1", "a2", "a3")} <= {int(r["entity_id"]) for r in rows}
    assert all(r["changes"].startswith("{") for r in rows)
    rows = await export(rt, tenant, m, "audit", entity="asset", since="2100-01-01T00:00:00Z")
    assert rows == []
    rows = await export(rt, tenant, m, "audit", entity="order", until="2000-01-01T00:00:00Z")
    assert rows == []


async def test_audit_export_is_for_supervisors(tenant: Tenant) -> None:
    reply = await tenant["technician"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "audit"}})
    assert_problem(reply, 403)


# ---- 100k rows --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def bulk(rt: Runtime, client: Any, database_url: str) -> AsyncIterator[Tenant]:
    """A tenant of its own with 100k work orders, inserted in one statement as the superuser
    (and deleted afterwards, so later tests that scan every tenant do not pay for them)."""
    t = await make_tenant(rt, client, {"manager": "manager"})
    await asyncio.to_thread(
        _superuser,
        database_url,
        "INSERT INTO work_orders (tenant_id, number, title, description, priority, status, type,"
        " requested_by, due_at)"
        " SELECT %(t)s, g, 'Bulk order ' || g, repeat('lorem ipsum ', 10),"
        " (ARRAY['low','medium','high','critical'])[1 + g %% 4], 'open', 'corrective', %(u)s,"
        " now() + make_interval(days => g %% 30)"
        " FROM generate_series(1, %(n)s) g;"
        " UPDATE tenants SET order_seq = %(n)s WHERE id = %(t)s",
        {"t": t.id, "u": t.users["manager"]["id"], "n": BULK},
    )
    yield t
    await asyncio.to_thread(_superuser, database_url, "DELETE FROM work_orders WHERE tenant_id = %s", (t.id,))


def _superuser(dsn: str, query: str, params: Any) -> None:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query, params)
    finally:
        conn.close()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_export_of_100k_rows_in_bounded_memory(rt: Runtime, bulk: Tenant, tmp_path: Path) -> None:
    m = bulk["manager"]
    job = ok(await m.post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    peak_rss = baseline = _rss()
    sampling = True

    async def sample() -> None:
        nonlocal peak_rss
        while sampling:
            peak_rss = max(peak_rss, _rss())
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    tracemalloc.start()
    started = time.perf_counter()
    try:
        await worker(rt).run(job["id"], bulk.id)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sampling = False
        await sampler
    seconds = time.perf_counter() - started
    job = await settled(m, job["id"])
    assert job["status"] == "completed", job
    assert job["result"]["rows"] == BULK
    path = tmp_path / "export.csv"  # the result lives in the file store: download it
    path.write_bytes((await m.get(f"/api/v1/jobs/{job['id']}/result")).text.encode())
    assert not list((rt.data_dir / "results" / str(bulk.id)).glob(f"*job-{job['id']}.csv*"))  # nothing on disk
    size = path.stat().st_size
    lines = await asyncio.to_thread(_count_rows, path)
    rss_growth = peak_rss - baseline
    print(
        f"\n100k export: tracemalloc peak {traced_peak / MiB:.1f} MiB, RSS growth {rss_growth / MiB:.1f} MiB,"
        f" file {size / MiB:.1f} MiB, {seconds:.1f} s (with tracemalloc on)"
    )
    assert lines == BULK
    assert size > 20 * MiB  # holding it all in memory would have shown
    assert traced_peak < 50 * MiB
    assert rss_growth < 50 * MiB


def _count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        assert next(reader) == ORDER_HEADER
        return sum(1 for _ in reader)


async def test_a_cancelled_export_leaves_no_file(rt: Runtime, bulk: Tenant) -> None:
    m = bulk["manager"]
    job = ok(await m.post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    folder = rt.data_dir / "results" / str(bulk.id)
    seen_parts: list[str] = []
    manager = Actor(bulk.id, bulk.users["manager"]["id"], Role.MANAGER)

    async def emit(data: dict[str, Any], user_id: int | None) -> None:
        if data["status"] == "running" and data["progress"] > 0 and not seen_parts:
            seen_parts.extend(p.name for p in folder.glob(f".job-{job['id']}.csv.*.part"))
            await jobs_service.cancel(rt.deps, manager, job["id"])

    await worker(rt, emit).run(job["id"], bulk.id)
    job = await settled(m, job["id"])
    assert job["status"] == "cancelled", job
    assert seen_parts, "the export was cancelled while writing its file"
    assert list(folder.glob(f"*job-{job['id']}*")) == []
    assert_problem(await m.get(f"/api/v1/jobs/{job['id']}/result"), 409)


# ---- import -----------------------------------------------------------------------------------


async def imported(tenant: Tenant, codes: list[str]) -> dict[str, dict[str, Any]]:
    rows = await tenant.sql("SELECT id, code, name, plant_id, parent_id FROM assets WHERE code = ANY(%s)", (codes,))
    return {r["code"]: r for r in rows}


async def import_job(rt: Runtime, tenant: Tenant, text: str, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    api = tenant["manager"]
    job = await run_job(rt, tenant, api, {"operation": "import", "entity": "assets", "csv": text, **params})
    assert job["status"] == "completed", job
    assert job["result_type"] == "application/json"
    reply = await api.get(f"/api/v1/jobs/{job['id']}/result")
    assert reply.status == 200, reply
    return job, reply.json


async def test_import_of_a_good_file(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    tag = unique("IMP")
    p1, p2 = site["p1"], site["p2"]
    text = (
        "Name,Plant_ID,plant,parent_code,code,type,manufacturer,model,serial,criticality,status\n"
        f"Line {tag},{p1['id']},,,{tag}-L,line,,,,High,\n"
        f"Motor {tag},,{p1['name'].upper()},{tag}-L,{tag}-M,motor,ABB,M3,SN-1,,maintenance\n"
        f'"Gear, {tag}",,{p2["name"]},,{tag}-G,,,,,low,\n'
        f"Existing child {tag},{p1['id']},,{site['a1']['code']},,,,,,,\n"
    )
    job, report = await import_job(rt, tenant, text)
    assert report["errors"] == [] and report["rows"] == 4 and report["imported"] == 4
    assert job["result"]["imported"] == 4 and job["result"]["error_count"] == 0
    got = await imported(tenant, [f"{tag}-L", f"{tag}-M", f"{tag}-G"])
    assert got[f"{tag}-M"]["parent_id"] == got[f"{tag}-L"]["id"]
    assert got[f"{tag}-G"]["plant_id"] == p2["id"] and got[f"{tag}-G"]["name"] == f"Gear, {tag}"
    assert [c["line"] for c in report["created"]] == [2, 3, 4, 5]
    child = await tenant.sql("SELECT parent_id, criticality FROM assets WHERE name = %s", (f"Existing child {tag}",))
    assert child == [{"parent_id": site["a1"]["id"], "criticality": "medium"}]
    motor = await tenant.sql("SELECT * FROM assets WHERE code = %s", (f"{tag}-M",))
    assert (motor[0]["manufacturer"], motor[0]["status"], motor[0]["criticality"]) == ("ABB", "maintenance", "medium")
    # Through the service: audit rows by the requester, tagged with the job.
    audit = await tenant.sql(
        "SELECT actor_id, request_id FROM audit_log WHERE entity = 'asset' AND action = 'create' AND entity_id = %s",
        (got[f"{tag}-L"]["id"],),
    )
    assert audit == [{"actor_id": tenant.users["manager"]["id"], "request_id": f"job-{job['id']}"}]


BAD_ROWS = [
    (3, "criticality"),  # not an allowed value
    (4, "plant_id"),  # no such plant
    (5, "code"),  # same code as line 2
    (6, "parent_code"),  # parent comes later
    (7, "name"),  # missing
    (8, "plant"),  # unknown plant name
    (9, "code"),  # exists in the tenant already
    (10, "parent_code"),  # parent in another plant
    (11, "parent_code"),  # parent row (line 4) has errors
]


def bad_file(tag: str, site: dict[str, Any]) -> str:
    p1, p2 = site["p1"]["id"], site["p2"]["id"]
    return (
        "name,plant_id,plant,parent_code,code,criticality\n"
        f"Good one,{p1},,,{tag}-1,\n"  # 2
        f"Bad crit,{p1},,,{tag}-2,extreme\n"  # 3
        f"No plant,999999999,,,{tag}-3,\n"  # 4
        f"Dup code,{p1},,,{tag}-1,\n"  # 5
        f"Early child,{p1},,{tag}-9,{tag}-5,\n"  # 6
        f",{p1},,,{tag}-6,\n"  # 7
        f"Plant name,,Nowhere {tag},,{tag}-7,\n"  # 8
        f"Taken,{p1},,,{site['a1']['code']},\n"  # 9
        f"Cross plant,{p2},,{tag}-1,{tag}-8,\n"  # 10
        f"Orphan,{p1},,{tag}-3,{tag}-10,\n"  # 11
        f"Late parent,{p1},,,{tag}-9,\n"  # 12
        f"Good child,{p1},,{tag}-1,{tag}-11,critical\n"  # 13
    )


async def test_bad_rows_are_reported_and_nothing_is_imported(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    tag = unique("BAD")
    job, report = await import_job(rt, tenant, bad_file(tag, site))
    assert [(e["line"], e["field"]) for e in report["errors"]] == BAD_ROWS
    assert all(e["reason"] for e in report["errors"])
    by_line = {e["line"]: e["reason"] for e in report["errors"]}
    assert "line 2" in by_line[5] and "later" in by_line[6] and "line 4" in by_line[11]
    assert (report["rows"], report["valid"], report["invalid"], report["imported"]) == (12, 3, 9, 0)
    assert job["result"]["error_count"] == 9 and len(job["result"]["errors"]) == 9
    assert await tenant.sql("SELECT id FROM assets WHERE code LIKE %s", (f"{tag}%",)) == []


async def test_valid_rows_only_imports_the_good_ones(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    tag = unique("VRO")
    _, report = await import_job(rt, tenant, bad_file(tag, site), valid_rows_only=True)
    assert [(e["line"], e["field"]) for e in report["errors"]] == BAD_ROWS
    assert report["imported"] == 3 and [c["line"] for c in report["created"]] == [2, 12, 13]
    got = await imported(tenant, [f"{tag}-{i}" for i in range(1, 12)])
    assert sorted(got) == sorted([f"{tag}-1", f"{tag}-9", f"{tag}-11"])
    assert got[f"{tag}-11"]["parent_id"] == got[f"{tag}-1"]["id"]


async def test_a_broken_header_imports_nothing(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    text = f"name,plant_id,colour\nThing,{site['p1']['id']},red\n"
    _, report = await import_job(rt, tenant, text, valid_rows_only=True)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(1, "colour")]
    assert report["imported"] == 0 and report["header_ok"] is False
    _, report = await import_job(rt, tenant, "", valid_rows_only=True)
    assert [e["line"] for e in report["errors"]] == [1] and report["imported"] == 0


async def test_an_exported_file_reads_back(rt: Runtime, tenant: Tenant) -> None:
    """Export columns are accepted by the import (extra ones ignored); existing codes are refused."""
    m = tenant["manager"]
    plant = ok(await m.post("/api/v1/plants", {"name": unique("west")}), 201)
    body = {"name": "-40 freezer", "plant_id": plant["id"], "code": unique("FRZ"), "model": "@home"}
    asset = ok(await m.post("/api/v1/assets", body), 201)
    job = await run_job(rt, tenant, m, {"entity": "assets", "filters": {"plant_id": plant["id"]}})
    text = await result_text(m, job)
    assert "'-40 freezer" in text and "'@home" in text
    _, report = await import_job(rt, tenant, text)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(2, "code")]
    _, report = await import_job(rt, tenant, text.replace(asset["code"], unique("COPY")))
    assert report["imported"] == 1
    copy = await tenant.sql("SELECT name, model, plant_id FROM assets WHERE id = %s", (report["created"][0]["id"],))
    assert copy == [{"name": "-40 freezer", "model": "@home", "plant_id": plant["id"]}]  # the guard is undone


async def test_an_import_resumes_instead_of_duplicating(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    """A retry after a crash mid-import finds what the first attempt created (its audit rows)."""
    tag = unique("RES")
    p1 = site["p1"]["id"]
    text = "name,plant_id,code,parent_code\n" + "".join(
        f"Part {i},{p1},{tag}-{i},{f'{tag}-{i - 1}' if i > 1 else ''}\n" for i in range(1, 6)
    )
    job = ok(await tenant["manager"].post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    actor = Actor(tenant.id, tenant.users["manager"]["id"], Role.ADMIN, request_id=f"job-{job['id']}")
    calls = 0

    class Crash(Exception):
        pass

    async def crash_after_two(fraction: float, message: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # 1: validated; 2, 3: after the first and second asset
            raise Crash()

    async def quiet(fraction: float, message: str) -> None:
        return None

    started = datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
    with pytest.raises(Crash):
        await exports_service.import_assets(
            rt.deps, actor, text, valid_rows_only=False, started=started, progress=crash_after_two
        )
    assert len(await imported(tenant, [f"{tag}-{i}" for i in range(1, 6)])) == 2
    report = await exports_service.import_assets(
        rt.deps, actor, text, valid_rows_only=False, started=started, progress=quiet
    )
    assert report["errors"] == [] and report["imported"] == 5
    got = await imported(tenant, [f"{tag}-{i}" for i in range(1, 6)])
    assert len(got) == 5
    assert [c["id"] for c in report["created"]] == [got[f"{tag}-{i}"]["id"] for i in range(1, 6)]
    assert all(got[f"{tag}-{i}"]["parent_id"] == got[f"{tag}-{i - 1}"]["id"] for i in range(2, 6))
    await jobs_service.cancel(rt.deps, actor, job["id"])


async def test_a_technician_cannot_import(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    tag = unique("TEC")
    params = {"operation": "import", "csv": f"name,plant_id,code\nX,{site['p1']['id']},{tag}\n"}
    reply = await tenant["technician"].post("/api/v1/jobs", {"kind": "exports", "params": params})
    if reply.status == 403:  # refused at enqueue
        return
    job = ok(reply, 202)
    await worker(rt).run(job["id"], tenant.id)
    job = await settled(tenant["technician"], job["id"])
    assert job["status"] in ("queued", "failed") and "may not import" in job["error"], job
    assert await tenant.sql("SELECT id FROM assets WHERE code = %s", (tag,)) == []
    if job["status"] == "queued":  # waiting for a retry: stop it
        await jobs_service.cancel(rt.deps, tenant.operator, job["id"])
