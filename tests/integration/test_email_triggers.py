"""Assignments and alerts become e-mail jobs through the outbox relay; a daily digest is scheduled."""

from __future__ import annotations

from cmms.jobs.schedule import periodic_jobs
from cmms.realtime.outbox import email_handler
from cmms.runtime import Runtime
from tests.integration.support import Tenant, ok


async def _email_jobs(tenant: Tenant) -> list[dict]:
    return await tenant.sql("SELECT params FROM jobs WHERE kind = 'email' ORDER BY id")


async def _relay(rt: Runtime, tenant: Tenant, event_type: str) -> None:
    rows = await tenant.sql(
        "SELECT seq, type, at, tenant_id, audience, data FROM outbox WHERE type = %s ORDER BY seq", (event_type,)
    )
    handle = email_handler(rt.deps)
    for row in rows:
        await handle(row)


async def test_an_assignment_queues_an_order_assigned_email(rt: Runtime, tenant: Tenant) -> None:
    order = ok(
        await tenant["manager"].post(
            "/api/v1/orders", {"title": "Mail me", "assignee_id": tenant.users["technician"]["id"]}
        ),
        201,
    )
    await _relay(rt, tenant, "notification")
    assert {"template": "order_assigned", "order_id": order["id"]} in [j["params"] for j in await _email_jobs(tenant)]


async def test_an_alert_queues_an_alert_email(rt: Runtime, tenant: Tenant) -> None:
    alert = ok(await tenant["technician"].post("/api/v1/alerts", {"kind": "leak", "message": "Oil on the floor"}), 201)
    await _relay(rt, tenant, "alert:triggered")
    assert {"template": "alert_triggered", "alert_id": alert["id"]} in [j["params"] for j in await _email_jobs(tenant)]


def test_a_daily_digest_is_among_the_periodic_jobs() -> None:
    digest = [p for p in periodic_jobs(900, 86_400, 86_400) if p.name == "digest"]
    assert len(digest) == 1 and digest[0].period == 86_400 and digest[0].params == {"template": "digest"}
