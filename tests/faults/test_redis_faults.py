"""Redis restarted empty, stopped, and hung (SIGSTOP), under a running `cmms serve`.

Load: the requests of each test (logins, reads, writes, jobs, a live socket). What must hold:
no revoked token is accepted at any moment, jobs queued before, during and after the fault run
exactly once, the cache never serves an entry older than a committed write, live events resume
and replay fills the gap, readiness tells the truth, and no request waits past its timeout.
Recovery is expected within 10 s of Redis answering again.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg2
import redis
import socketio

from tests.faults.conftest import Plant
from tests.faults.daemon import Client, eventually

RECOVERY = 10.0


def _redis(plant: Plant) -> redis.Redis:
    return redis.Redis.from_url(plant.redis.url)


async def _job_done(client: Client, job_id: int) -> Any:
    async def check() -> Any:
        job = await client.ok("GET", f"/api/v1/jobs/{job_id}")
        assert job["status"] in ("queued", "running", "completed"), job
        return job if job["status"] == "completed" else None

    return await eventually(check, RECOVERY)


async def test_revoked_tokens_stay_revoked_when_redis_restarts_empty(plant: Plant) -> None:
    user, first = await plant.user("technician")
    _, second = await plant.user("technician")
    same_user_other_session = Client(plant.daemon.url, second["access_token"])
    await user.ok("POST", "/api/v1/auth/logout", status=204)
    _, demoted_login = await plant.user("technician")
    await plant.admin.ok("PATCH", f"/api/v1/users/{demoted_login['user']['id']}", {"role": "requester"})
    for token in (first["access_token"], demoted_login["access_token"]):
        assert (await Client(plant.daemon.url, token).call("GET", "/api/v1/me"))[0] == 401

    plant.redis.restart()  # empty: every revocation key is gone
    deadline = time.monotonic() + 3.0
    checks = 0
    while time.monotonic() < deadline:  # from the first moment on, not only after a rebuild
        for token in (first["access_token"], demoted_login["access_token"]):
            status, body, _ = await Client(plant.daemon.url, token).call("GET", "/api/v1/me")
            assert status == 401, body
        assert (await same_user_other_session.call("GET", "/api/v1/me"))[0] == 200
        checks += 1
    assert checks > 5
    # The copy in Redis is rebuilt from PostgreSQL.
    await eventually(lambda: asyncio.to_thread(_redis(plant).exists, "cmms:revoked:ready"), RECOVERY)
    assert (await Client(plant.daemon.url, first["access_token"]).call("GET", "/api/v1/me"))[0] == 401


async def test_a_logout_while_redis_is_down_holds_after_it_returns_empty(plant: Plant) -> None:
    user, _ = await plant.user("manager")
    plant.redis.stop()
    try:
        await user.ok("POST", "/api/v1/auth/logout", status=204)
        assert (await user.call("GET", "/api/v1/me"))[0] == 401
        status, body, _ = await plant.admin.call("GET", "/health/ready")
        assert status == 503 and body["checks"]["redis"]["ok"] is False, body
    finally:
        plant.redis.start()
    assert (await user.call("GET", "/api/v1/me"))[0] == 401
    await eventually(lambda: _ready(plant.admin), RECOVERY)


async def _ready(client: Client) -> bool:
    status, body, _ = await client.call("GET", "/health/ready")
    return status == 200 and body["checks"]["redis"]["ok"] is True


async def test_jobs_run_after_redis_restarts_empty(plant: Plant) -> None:
    before = await plant.admin.ok("POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}, 202)
    await _job_done(plant.admin, before["id"])
    plant.redis.restart()  # the stream and its consumer group are gone
    after = await plant.admin.ok("POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "assets"}}, 202)
    job = await _job_done(plant.admin, after["id"])
    assert job["attempts"] == 1


async def test_a_job_queued_while_redis_is_down_runs_once_when_it_returns(plant: Plant) -> None:
    plant.redis.stop()
    try:
        job = await plant.admin.ok("POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}, 202)
        await asyncio.sleep(1.0)
        assert (await plant.admin.ok("GET", f"/api/v1/jobs/{job['id']}"))["status"] == "queued"
    finally:
        plant.redis.start()
    done = await _job_done(plant.admin, job["id"])
    assert done["attempts"] == 1


async def test_a_delayed_retry_lost_with_redis_runs_when_due(plant: Plant) -> None:
    plant.redis.stop()
    try:
        job = await plant.admin.ok("POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}}, 202)
        # As a failed attempt leaves it: queued, its retry due in 3 s (kept in Redis, now lost).
        delay = "UPDATE jobs SET run_after = now() + interval '3 seconds' WHERE id = %s RETURNING run_after"
        (due,) = _sql(plant, delay, job["id"])
    finally:
        plant.redis.start()
    done = await _job_done(plant.admin, job["id"])
    (started,) = _sql(plant, "SELECT started_at FROM jobs WHERE id = %s", job["id"])
    assert started >= due, (started, due)  # it waited for its time
    assert done["attempts"] == 1


def _sql(plant: Plant, statement: str, *params: Any) -> Any:
    conn = psycopg2.connect(plant.daemon.database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone() if cur.description else None
    finally:
        conn.close()


async def _asset(plant: Plant) -> dict[str, Any]:
    site = await plant.admin.ok("POST", "/api/v1/plants", {"name": f"Site {time.monotonic_ns()}"}, 201)
    return await plant.admin.ok("POST", "/api/v1/assets", {"name": "Pump", "plant_id": site["id"]}, 201)


async def test_the_cache_never_serves_an_entry_from_before_redis_restarted(plant: Plant) -> None:
    asset = await _asset(plant)
    path = f"/api/v1/assets/{asset['id']}"
    await plant.admin.ok("PATCH", path, {"serial": "before"})
    for _ in range(3):
        assert (await plant.admin.ok("GET", path))["serial"] == "before"  # cached, in Redis and in process
    tenant_id = (await plant.admin.ok("GET", "/api/v1/me"))["tenant"]["id"]
    version_key = f"cmms:v:{tenant_id}:assets"
    old_version = _redis(plant).get(version_key)
    plant.redis.restart()
    await eventually(lambda: _ready(plant.admin), RECOVERY)
    await plant.admin.ok("PATCH", path, {"serial": "after"})
    await asyncio.sleep(0.5)  # the relay bumps the version too
    _redis(plant).set(version_key, old_version)  # the counter has counted up to where it was
    for _ in range(5):
        assert (await plant.admin.ok("GET", path))["serial"] == "after"


async def test_a_write_while_redis_hangs_is_never_hidden_by_the_cache(plant: Plant) -> None:
    asset = await _asset(plant)
    path = f"/api/v1/assets/{asset['id']}"
    for _ in range(3):
        await plant.admin.ok("GET", path)  # cached
    plant.redis.pause()
    try:
        await plant.admin.ok("PATCH", path, {"serial": "during"})  # its version bump cannot reach Redis
    finally:
        plant.redis.resume()
    deadline = time.monotonic() + 7.0  # past the breaker's cool-down and its probe
    while time.monotonic() < deadline:
        assert (await plant.admin.ok("GET", path))["serial"] == "during"
        await asyncio.sleep(0.1)


async def test_no_request_waits_past_its_timeout_while_redis_hangs(plant: Plant) -> None:
    asset = await _asset(plant)
    plant.redis.pause()
    try:
        for path in ("/api/v1/me", f"/api/v1/assets/{asset['id']}", "/api/v1/orders", "/health/ready"):
            started = time.monotonic()
            status, body, _ = await plant.admin.call("GET", path)
            assert time.monotonic() - started < 5.0, path
            assert status in (200, 503), (path, status, body)
        order = await plant.admin.ok("POST", "/api/v1/orders", {"title": "Written while Redis hangs"}, 201)
    finally:
        plant.redis.resume()
    assert (await plant.admin.ok("GET", f"/api/v1/orders/{order['id']}"))["title"] == "Written while Redis hangs"


async def test_live_events_resume_and_replay_fills_the_gap_after_redis_restarts(plant: Plant) -> None:
    received: list[dict[str, Any]] = []
    sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
    sio.on("*", lambda event, data: received.append(data) if isinstance(data, dict) and "seq" in data else None)
    await sio.connect(plant.daemon.url, transports=["websocket"], auth={"token": plant.admin.token},
                      wait_timeout=10)  # fmt: skip
    try:
        first = await plant.admin.ok("POST", "/api/v1/orders", {"title": "Before the restart"}, 201)
        await eventually(lambda: _has(received, first["id"]), RECOVERY)
        plant.redis.restart()
        titles = []

        async def live_again() -> bool:
            order = await plant.admin.ok("POST", "/api/v1/orders", {"title": f"After {len(titles)}"}, 201)
            titles.append(order["id"])
            await asyncio.sleep(0.3)
            return await _has(received, order["id"])

        await eventually(live_again, RECOVERY, every=0.2)
    finally:
        await sio.disconnect()
    # What the socket missed while Redis was away, replay returns: together, every stored event.
    seen = {e["seq"] for e in received}
    after = min(seen)
    replay = await plant.admin.ok("GET", f"/api/v1/events?after={after}&limit=200")
    stored = {e["seq"] for e in replay["items"]}
    assert stored, replay
    assert set(range(after + 1, max(stored) + 1)) == stored  # gapless in PostgreSQL
    created = {e["data"]["id"] for e in replay["items"] if e["type"] == "order:created"}
    assert set(titles) <= created


async def _has(received: list[dict[str, Any]], order_id: int) -> bool:
    return any(e.get("type") == "order:created" and e["data"].get("id") == order_id for e in received)


async def test_live_events_resume_within_seconds_after_a_long_redis_outage(plant: Plant) -> None:
    received: list[dict[str, Any]] = []
    sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
    sio.on("order:created", lambda data: received.append(data))
    await sio.connect(plant.daemon.url, transports=["websocket"], auth={"token": plant.admin.token},
                      wait_timeout=10)  # fmt: skip
    try:
        plant.redis.stop()
        await asyncio.sleep(12)  # past the first reconnection attempts
        plant.redis.start()
        started = time.monotonic()
        sent: list[int] = []

        async def live_again() -> bool:
            order = await plant.admin.ok("POST", "/api/v1/orders", {"title": "After a long outage"}, 201)
            sent.append(order["id"])
            await asyncio.sleep(0.3)
            return await _has(received, order["id"])

        await eventually(live_again, RECOVERY, every=0.2)
        assert time.monotonic() - started < RECOVERY
    finally:
        await sio.disconnect()
