"""Email jobs against a real SMTP server (aiosmtpd on a free local port) and, without SMTP, the
`.eml` outbox in the data dir. Jobs are created through the API and run here with a Worker."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from cmms.config import UrlSettings
from cmms.jobs.delayed import KEY as DELAYED_KEY
from cmms.jobs.delayed import DelayedJobs
from cmms.jobs.tasks.email import smtp_target
from cmms.jobs.worker import Worker
from cmms.runtime import Runtime
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps
from tests.integration.support import Tenant, ok, unique

Emit = Callable[[dict[str, Any], int | None], Awaitable[None]]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smtp:
    port: int
    collector: Collector

    @property
    def received(self) -> list[Received]:
        return self.collector.received

    def deps(self, rt: Runtime, url: str | None = None) -> Deps:
        url = url or f"smtp://127.0.0.1:{self.port}?from=maintenance@example.com"
        return replace(rt.deps, settings=replace(rt.settings, smtp=UrlSettings(url=url)))


@pytest.fixture
async def smtp() -> AsyncIterator[Smtp]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield Smtp(port, collector)
    finally:
        await asyncio.to_thread(controller.stop)


async def _no_emit(data: dict[str, Any], user_id: int | None) -> None:
    return None


async def run_email(rt: Runtime, tenant: Tenant, params: dict[str, Any], deps: Deps | None = None) -> dict[str, Any]:
    api = tenant["manager"]
    job = ok(await api.post("/api/v1/jobs", {"kind": "email", "params": params}), 202)
    return await run_again(rt, tenant, job["id"], deps)


async def run_again(rt: Runtime, tenant: Tenant, job_id: int, deps: Deps | None = None) -> dict[str, Any]:
    delayed = DelayedJobs(rt.deps.redis, rt.job_system.queue)
    await Worker(deps or rt.deps, rt.data_dir, _no_emit, delayed).run(job_id, tenant.id)
    for _ in range(300):
        job: dict[str, Any] = ok(await tenant["manager"].get(f"/api/v1/jobs/{job_id}"))
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still running")


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def email_of(tenant: Tenant, key: str) -> str:
    return str(tenant.users[key]["email"])


@pytest.fixture(scope="module")
async def site(tenant: Tenant) -> dict[str, Any]:
    m = tenant["manager"]
    plant = ok(await m.post("/api/v1/plants", {"name": unique("plant")}), 201)
    asset = ok(await m.post("/api/v1/assets", {"name": "Boiler 2", "plant_id": plant["id"], "code": unique("B")}), 201)
    return {"plant": plant, "asset": asset}


# ---- SMTP -------------------------------------------------------------------------------------


async def test_order_assigned_reaches_the_assignee(
    rt: Runtime, tenant: Tenant, site: dict[str, Any], smtp: Smtp
) -> None:
    m = tenant["manager"]
    body = {
        "title": "Replace gasket",
        "asset_id": site["asset"]["id"],
        "assignee_id": tenant.users["technician"]["id"],
        "priority": "high",
        "due_at": "2030-05-01T08:00:00Z",
    }
    order = ok(await m.post("/api/v1/orders", body), 201)
    job = await run_email(rt, tenant, {"template": "order_assigned", "order_id": order["id"]}, smtp.deps(rt))
    assert job["status"] == "completed", job
    assert job["result"]["transport"] == "smtp" and job["result"]["recipients"] == 1
    assert job["result"]["sent"] == 1
    assert len(smtp.received) == 1
    got = smtp.received[0]
    assert got.rcpt_tos == [email_of(tenant, "technician")]
    assert got.mail_from == "maintenance@example.com"
    msg = got.message
    assert msg["Subject"] == f"[CMMS] {order['number']} assigned to you: Replace gasket"
    assert email_of(tenant, "technician") in msg["To"]
    assert (
        msg["Message-ID"]
        == f"<cmms.job-{job['id']}.order_assigned.user-{tenant.users['technician']['id']}@example.com>"
    )
    assert msg.get_content_type() == "multipart/alternative"
    text, html = parts(msg)
    for expected in (order["number"], "Replace gasket", "Boiler 2", site["asset"]["code"], "2030-05-01 08:00 UTC"):
        assert expected in text and expected in html
    assert (
        f"/api/v1/orders/{order['id']}" in text and f'href="http://127.0.0.1:8080/api/v1/orders/{order["id"]}"' in html
    )


async def test_alert_goes_to_managers_and_technicians(
    rt: Runtime, tenant: Tenant, site: dict[str, Any], smtp: Smtp
) -> None:
    body = {
        "kind": "overheat",
        "severity": "critical",
        "message": "Temperature <120 °C> & rising",
        "asset_id": site["asset"]["id"],
    }
    alert = ok(await tenant["technician"].post("/api/v1/alerts", body), 201)
    job = await run_email(rt, tenant, {"template": "alert_triggered", "alert_id": alert["id"]}, smtp.deps(rt))
    assert job["status"] == "completed", job
    wanted = {email_of(tenant, "manager"), email_of(tenant, "technician")}
    assert {r for got in smtp.received for r in got.rcpt_tos} == wanted
    assert len(smtp.received) == 2  # one message each: nobody sees the others' addresses
    for got in smtp.received:
        assert got.message["Subject"] == "[CMMS] Critical alert on Boiler 2: overheat"
        text, html = parts(got.message)
        assert "Temperature <120 °C> & rising" in text
        assert "Temperature &lt;120 °C&gt; &amp; rising" in html

    # A retry finds who was already sent to and sends nothing twice.
    await tenant.sql("UPDATE jobs SET status = 'queued' WHERE id = %s RETURNING id", (job["id"],))
    again = await run_again(rt, tenant, job["id"], smtp.deps(rt))
    assert again["status"] == "completed", again
    assert (again["result"]["sent"], again["result"]["already_sent"]) == (0, 2)
    assert len(smtp.received) == 2


async def test_chosen_recipients_stay_in_the_tenant(
    rt: Runtime, tenant: Tenant, other: Tenant, site: dict[str, Any], smtp: Smtp
) -> None:
    alert = ok(await tenant["manager"].post("/api/v1/alerts", {"kind": "leak", "message": "Drip"}), 201)
    foreign = other.users["admin"]["id"]
    params = {
        "template": "alert_triggered",
        "alert_id": alert["id"],
        "user_ids": [tenant.users["admin"]["id"], foreign],
    }
    job = await run_email(rt, tenant, params, smtp.deps(rt))
    assert job["status"] == "completed", job
    assert [got.rcpt_tos for got in smtp.received] == [[email_of(tenant, "admin")]]
    assert job["result"]["unknown_user_ids"] == [foreign]
    assert "no asset" in smtp.received[0].message["Subject"]


async def test_header_injection_is_defused(rt: Runtime, tenant: Tenant, smtp: Smtp) -> None:
    title = "Fix pump\r\nBcc: victim@example.com"
    body = {"title": title, "assignee_id": tenant.users["technician"]["id"]}
    order = ok(await tenant["manager"].post("/api/v1/orders", body), 201)
    job = await run_email(rt, tenant, {"template": "order_assigned", "order_id": order["id"]}, smtp.deps(rt))
    assert job["status"] == "completed", job
    [got] = smtp.received
    assert got.rcpt_tos == [email_of(tenant, "technician")]
    assert got.message["Bcc"] is None
    assert got.message["Subject"] == f"[CMMS] {order['number']} assigned to you: Fix pump Bcc: victim@example.com"


async def test_an_unreachable_smtp_server_fails_the_attempt(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    alert = ok(await tenant["manager"].post("/api/v1/alerts", {"kind": "x", "message": "y"}), 201)
    deps = replace(rt.deps, settings=replace(rt.settings, smtp=UrlSettings(url=f"smtp://127.0.0.1:{free_port()}")))
    job = await run_email(rt, tenant, {"template": "alert_triggered", "alert_id": alert["id"]}, deps)
    assert job["status"] == "queued" and job["attempts"] == 1, job  # retried later, with the error kept
    assert job["error"] and "connect" in job["error"].lower()
    await jobs_service.cancel(rt.deps, tenant.operator, job["id"])
    await rt.deps.redis.zrem(DELAYED_KEY, f"{job['id']}:{tenant.id}")


# ---- outbox -----------------------------------------------------------------------------------


async def test_without_smtp_the_digest_lands_in_the_outbox(rt: Runtime, tenant: Tenant, site: dict[str, Any]) -> None:
    assert rt.settings.smtp.url == ""
    m = tenant["manager"]
    late = {"title": "Late lubrication", "priority": "critical", "due_at": "2020-01-01T00:00:00Z"}
    late_order = ok(await m.post("/api/v1/orders", late), 201)
    ok(await m.post("/api/v1/alerts", {"kind": "vibration", "severity": "warning", "message": "Shaking"}), 201)
    job = await run_email(rt, tenant, {"template": "digest"})
    assert job["status"] == "completed", job
    result = job["result"]
    assert result["transport"] == "outbox" and result["recipients"] == 1
    assert result["overdue"] >= 1 and result["open_alerts"] >= 1 and result["open_orders"] >= 1
    outbox = Path(result["outbox"])
    assert outbox == rt.data_dir / "outbox"
    mine = sorted(outbox.glob(f"job-{job['id']}-*"))
    assert [p.name for p in mine] == [f"job-{job['id']}-digest-user-{tenant.users['manager']['id']}.eml"]
    assert list(outbox.glob(".*.part")) == []
    msg = message_from_bytes(mine[0].read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert email_of(tenant, "manager") in msg["To"]
    assert msg["Subject"].startswith(f"[CMMS] Daily digest for {tenant.name}:")
    text, html = parts(msg)
    assert late_order["number"] in text and "Late lubrication" in html
    assert "Shaking" in text and "Overdue orders" in text

    # Run again (a retry): the same file is rewritten, never a second one.
    await tenant.sql("UPDATE jobs SET status = 'queued' WHERE id = %s RETURNING id", (job["id"],))
    again = await run_again(rt, tenant, job["id"])
    assert again["status"] == "completed"
    assert sorted(outbox.glob(f"job-{job['id']}-*")) == mine


async def test_order_without_assignee_sends_nothing(rt: Runtime, tenant: Tenant) -> None:
    order = ok(await tenant["manager"].post("/api/v1/orders", {"title": "Nobody's"}), 201)
    job = await run_email(rt, tenant, {"template": "order_assigned", "order_id": order["id"]})
    assert job["status"] == "completed" and job["result"]["recipients"] == 0, job
    assert list((rt.data_dir / "outbox").glob(f"job-{job['id']}-*")) == []


async def test_email_jobs_are_for_supervisors(tenant: Tenant) -> None:
    reply = await tenant["technician"].post("/api/v1/jobs", {"kind": "email", "params": {"template": "digest"}})
    assert reply.status == 403, reply


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, None, None, None)),
        ("smtps://u%40x:p%3Aw@mail.example.com", ("mail.example.com", 465, True, None, "u@x", "p:w")),
        ("smtp://mail:2525?starttls=true&from=a@b.c", ("mail", 2525, False, True, None, None)),
    ],
)
def test_smtp_urls(url: str, expected: tuple[Any, ...]) -> None:
    t = smtp_target(url)
    assert (t.hostname, t.port, t.use_tls, t.start_tls, t.username, t.password) == expected


def test_a_bad_smtp_url_is_refused() -> None:
    with pytest.raises(ValueError, match="smtp://"):
        smtp_target("http://mail.example.com")
