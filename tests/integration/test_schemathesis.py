"""Schemathesis (v4, its CLI) over the served OpenAPI document, against the session's real app.

The app from tests/conftest.py listens on a real local port; schemathesis runs as a subprocess
against it, so its synchronous HTTP client never blocks the event loop that serves it. It runs
both the coverage phase (boundary and negative values derived from every schema) and the fuzzing
phase (random examples, a fixed seed and few per operation) with the checks that hold the
document to what the server answers: no 5xx, every status code, media type, header and body
documented. A failing check makes the run exit non-zero and this test fail with its report.

The caller is the admin of a tenant with data (a plant, an asset with a meter and readings, an
open alert, a work order with a note, a plan and a completed export), and the item routes of
those resources are pinned to their ids so the real handlers answer, not only 404. Excluded:
logout and user edits, which would end the session the run authenticates with.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cmms.domain.jobs import JobStatus
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from tests.integration.support import Tenant, make_tenant, ok, unique

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
EXCLUDED = ("logout", "update_user")  # operationIds: both can revoke the run's own session
SEED = 20261203
MAX_EXAMPLES = 5
SHARDS = 2

pytestmark = pytest.mark.timeout(600)  # a safety net: about a minute of CPU, stretched on a loaded machine


async def _seed(rt: Runtime, client: TestClient) -> tuple[Tenant, dict[str, int]]:
    tenant = await make_tenant(rt, client, {"admin": "admin"})
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant"), "code": unique("P")}), 201)
    asset = ok(
        await admin.post(
            "/api/v1/assets",
            {"name": "Pump", "plant_id": plant["id"], "meters": [{"name": "hours", "min": 0, "max": 1000}]},
        ),
        201,
    )
    readings = [{"meter": "hours", "value": 12.5}, {"meter": "hours", "value": 5000}]  # the second raises an alert
    ok(await admin.post(f"/api/v1/assets/{asset['id']}/readings", {"readings": readings}), 201)
    alerts = ok(await admin.get("/api/v1/alerts", params={"asset_id": asset["id"]}))["items"]
    order = ok(await admin.post("/api/v1/orders", {"title": "Leak at the seal", "asset_id": asset["id"]}), 201)
    ok(await admin.post(f"/api/v1/orders/{order['id']}/notes", {"body": "seen on the night shift"}), 201)
    plan = ok(await admin.post("/api/v1/plans", {"asset_id": asset["id"], "title": "Grease", "interval_days": 30}), 201)
    job = ok(await admin.post("/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}), 202)
    # No workers run in the suite: complete the export by hand, with a file, so its result is served.
    result = rt.data_dir / "results" / f"schemathesis-{job['id']}.csv"
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text("number,title\nWO-1,Leak at the seal\n")
    assert await jobs_service.claim(rt.deps, job["id"], tenant.id)
    done = await jobs_service.finish(
        rt.deps, job["id"], tenant.id, JobStatus.COMPLETED, result_path=str(result), result_type="text/csv"
    )
    assert done is not None
    ids = {"plant": plant["id"], "asset": asset["id"], "order": order["id"], "plan": plan["id"], "job": job["id"]}
    ids["alert"] = alerts[0]["id"]
    return tenant, ids


def _config(ids: dict[str, int]) -> str:
    """Pin `{id}` of the seeded resources' read, edit and sub-resource routes (never their DELETE)."""
    pinned = {
        "plant": r"^/api/v1/plants/\{id\}",
        "asset": r"^/api/v1/assets/\{id\}",
        "order": r"^/api/v1/orders/\{id\}",
        "plan": r"^/api/v1/plans/\{id\}",
        "alert": r"^/api/v1/alerts/\{id\}",
        "job": r"^/api/v1/jobs/\{id\}",
    }
    blocks = []
    for kind, regex in pinned.items():
        blocks.append(
            "[[operations]]\n"
            f"include-path-regex = '{regex}'\n"
            "exclude-method = 'DELETE'\n"
            f"parameters = {{ id = {ids[kind]} }}\n"
        )
    return "\n".join(blocks)


async def _run(args: list[str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(cwd), "COLUMNS": "120"},
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


async def test_every_answer_is_the_one_the_document_describes(
    rt: Runtime, client: TestClient, operation_ids: list[str], tmp_path: Path
) -> None:
    assert SCHEMATHESIS.exists(), "schemathesis is in the dev extra: pip install -e '.[dev]'"
    tenant, ids = await _seed(rt, client)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(ids))
    args = [str(SCHEMATHESIS), "--config-file", str(config), "run", str(client.make_url("/api/openapi.json"))]
    args += ["--header", f"Authorization: Bearer {tenant['admin'].token}"]
    args += ["--phases", "coverage,fuzzing", "--checks", ",".join(CHECKS)]
    args += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"]
    args += ["--generation-database", "none", "--no-shrink", "--warnings", "off"]
    # Nothing timed: a loaded machine makes generation and answers slow, not wrong.
    args += ["--suppress-health-check", "too_slow", "--request-timeout", "60"]
    # Shards in separate processes: the app serves on this process's loop while each shard generates
    # on its own core (schemathesis' threaded workers hit a CPython 3.11 AST race in hypothesis).
    tested = [i for i in operation_ids if i not in EXCLUDED]
    shards = [tested[n::SHARDS] for n in range(SHARDS)]
    runs = await asyncio.gather(
        *(_run([*args, *(a for i in shard for a in ("--include-operation-id", i))], tmp_path) for shard in shards)
    )
    for shard, (code, report) in zip(shards, runs, strict=True):
        assert code == 0, report[-30_000:]
        count = re.search(r"Tested:\s+(\d+)", report)
        assert count is not None, report[-5_000:]
        assert int(count.group(1)) == len(shard), report[-5_000:]


@pytest.fixture
async def operation_ids(client: TestClient) -> list[str]:
    """Every operation of the served document: the shards together must test all but the excluded."""
    async with client.get("/api/openapi.json") as response:
        document: dict[str, Any] = await response.json()
    found = sorted(op["operationId"] for ops in document["paths"].values() for op in ops.values())
    assert set(EXCLUDED) <= set(found)
    return found
