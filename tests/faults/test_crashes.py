"""SIGKILL of `cmms serve` in the middle of writes, on external servers and on embedded defaults.

Load: four concurrent writers creating orders as fast as the daemon answers. What must hold:
every order whose 201 reached its writer is stored after a restart, every stored change has its
event (replay from 0 is gapless and names each order), and a killed embedded daemon's servers are
reused or replaced by the next start on the same data directory, with its data.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiohttp
import psutil

from tests.faults.conftest import Plant
from tests.faults.daemon import PASSWORD, Client, Daemon, eventually, login


async def test_sigkill_mid_writes_loses_no_committed_order_or_event(plant: Plant) -> None:
    confirmed: list[int] = []

    async def writer(n: int) -> None:
        i = 0
        while True:
            i += 1
            try:
                status, body, _ = await plant.admin.call("POST", "/api/v1/orders", {"title": f"W{n}-{i}"})
            except (TimeoutError, aiohttp.ClientError):
                return  # the daemon is gone: what was confirmed is what must survive
            if status != 201:
                return
            confirmed.append(body["id"])

    writers = [asyncio.create_task(writer(n)) for n in range(4)]
    await eventually(lambda: asyncio.sleep(0, len(confirmed) >= 40), 20.0)
    plant.daemon.kill()
    await asyncio.wait_for(asyncio.gather(*writers), 10)
    await plant.daemon.start()

    stored: set[int] = set()
    cursor = ""
    while True:
        page = await plant.admin.ok("GET", f"/api/v1/orders?limit=200{cursor}")
        stored |= {o["id"] for o in page["items"]}
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert set(confirmed) <= stored, set(confirmed) - stored
    events: list[dict[str, object]] = []
    after = 0
    while True:
        page = await plant.admin.ok("GET", f"/api/v1/events?after={after}&limit=200")
        events += page["items"]
        if not page["items"]:
            break
        after = int(page["items"][-1]["seq"])
    seqs = [int(e["seq"]) for e in events]  # type: ignore[call-overload]
    assert seqs == list(range(1, len(seqs) + 1))
    created = {e["data"]["id"] for e in events if e["type"] == "order:created"}  # type: ignore[index]
    assert stored <= created


def _servers_of(data_dir: Path) -> list[psutil.Process]:
    """The embedded PostgreSQL and Redis processes working in `data_dir`."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(data_dir) in text and ("postgres" in text or "redis" in text) and "cmms" not in text.split()[0]:
            found.append(proc)
    return found


async def test_a_killed_embedded_daemon_starts_again_on_its_data_dir(scratch: Path) -> None:
    data_dir = scratch / f"embedded-{uuid.uuid4().hex[:6]}"
    daemon = Daemon(data_dir, database_url="", redis_url="")
    await daemon.start()
    try:
        tenant = f"e{uuid.uuid4().hex[:6]}"
        daemon.cli("tenant", "create", tenant)
        daemon.cli("user", "create", "--tenant", tenant, "--email", "admin@embedded.test", "--role", "admin",
                   "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        admin, _ = await login(daemon.url, tenant, "admin@embedded.test")
        order = await admin.ok("POST", "/api/v1/orders", {"title": "Kept across a crash"}, 201)
        assert _servers_of(data_dir), "the embedded servers are found by their data dir"
        daemon.kill()
        await daemon.start()  # the killed daemon's servers are still running, or were left behind
        admin, _ = await login(daemon.url, tenant, "admin@embedded.test")
        assert (await admin.ok("GET", f"/api/v1/orders/{order['id']}"))["title"] == "Kept across a crash"
        assert (await Client(daemon.url).call("GET", "/health/ready"))[0] == 200
    finally:
        assert daemon.stop() == 0, daemon.log_text()[-3000:]
    await eventually(lambda: asyncio.sleep(0, not _servers_of(data_dir)), 15.0)
    assert os.path.isdir(data_dir / "postgres")
