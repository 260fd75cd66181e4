"""Webhooks end to end against a real HTTP receiver on loopback (private targets allowed here).

Events come from real API calls; the tenant's outbox rows go through the relay's webhook handler
and the senders run in this process, as on a worker (see webhook_support).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cmms.domain import webhooks as rules
from cmms.jobs.webhooks import Senders, sweep
from cmms.runtime import Runtime
from tests.integration.support import Api, Tenant, assert_problem, make_tenant, ok, unique
from tests.integration.webhook_support import Pipeline, Receiver, as_caller, open_app, start_receiver, webhook_deps


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    found, runner = await start_receiver()
    yield found
    found.release.set()
    await runner.cleanup()


@pytest.fixture(scope="module")
async def hooks_app(rt: Runtime) -> AsyncIterator[TestClient]:
    client = await open_app(webhook_deps(rt))
    yield client
    await client.close()


@pytest.fixture
async def world(rt: Runtime, client: TestClient, hooks_app: TestClient) -> AsyncIterator[dict[str, Any]]:
    """A fresh tenant (so seq and deliveries start clean), its admin on the webhook-enabled app,
    and a pipeline whose senders are closed afterwards."""
    tenant = await make_tenant(rt, client, {"admin": "admin", "manager": "manager"})
    deps = webhook_deps(rt)
    senders = Senders(deps)
    pipeline = Pipeline(deps, tenant.id, senders)
    yield {"tenant": tenant, "admin": as_caller(hooks_app, tenant["admin"]), "pipeline": pipeline}
    await senders.close()


@asynccontextmanager
async def custom_world(rt: Runtime, client: TestClient, **settings: Any) -> AsyncIterator[dict[str, Any]]:
    """Like `world`, with other webhook settings (its own app, since the app carries them)."""
    tenant = await make_tenant(rt, client, {"admin": "admin"})
    deps = webhook_deps(rt, **settings)
    app = await open_app(deps)
    senders = Senders(deps)
    try:
        yield {
            "tenant": tenant,
            "admin": as_caller(app, tenant["admin"]),
            "pipeline": Pipeline(deps, tenant.id, senders),
        }
    finally:
        await senders.close()
        await app.close()


async def subscribe(admin: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    return ok(await admin.post("/api/v1/webhooks", {"url": url, "events": events or ["order:*"]}), 201)


async def new_order(admin: Api, title: str = "Leak") -> dict[str, Any]:
    return ok(await admin.post("/api/v1/orders", {"title": title}), 201)


async def deliveries(admin: Api, hook: dict[str, Any]) -> list[dict[str, Any]]:
    return ok(await admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"limit": 200}))["items"]


async def settled(admin: Api, hook: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Until `count` deliveries are no longer pending (bounded only against a broken run)."""
    async with asyncio.timeout(30):
        while True:
            found = await deliveries(admin, hook)
            if len(found) >= count and all(d["status"] != "pending" for d in found):
                return found
            await asyncio.sleep(0.05)


async def test_a_delivery_is_signed_with_the_secret_shown_once(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/signed-{unique()}"
    hook = await subscribe(admin, receiver.url + path)
    secret = hook["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    order = await new_order(admin, "Signed")
    await pipeline.pump()
    [got] = await receiver.wait_for(path, 1)
    stamp = int(got.headers["X-CMMS-Timestamp"])
    assert rules.verify(secret, stamp, got.body, got.headers["X-CMMS-Signature"], now=time.time())
    assert not rules.verify("whsec_other", stamp, got.body, got.headers["X-CMMS-Signature"], now=time.time())
    assert got.headers["X-CMMS-Event"] == "order:created"
    envelope = got.json
    assert envelope["type"] == "order:created" and envelope["data"]["id"] == order["id"]
    assert set(envelope) == {"seq", "type", "at", "tenant_id", "data"}
    [delivery] = await settled(admin, hook, 1)
    assert delivery["status"] == "delivered" and str(delivery["id"]) == got.delivery
    assert [a["status_code"] for a in delivery["attempt_log"]] == [200]
    assert len(delivery["attempt_log"][0]["response"]) == 1024  # the first KiB of the answer is kept
    # The secret never appears again: reads, lists, events and the audit trail.
    shown = [
        await admin.get(f"/api/v1/webhooks/{hook['id']}"),
        await admin.get("/api/v1/webhooks"),
        await admin.get("/api/v1/events", params={"after": 0}),
        await admin.get("/api/v1/audit", params={"entity": "webhook"}),
        await admin.get(f"/api/v1/webhooks/{hook['id']}/deliveries"),
    ]
    for reply in shown:
        assert reply.status == 200, reply
        assert secret not in reply.text
    assert "secret" not in ok(shown[0])


async def test_events_before_the_subscription_and_unmatched_types_are_not_delivered(
    world: dict[str, Any], receiver: Receiver
) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    await new_order(admin, "Before")
    path = f"/later-{unique()}"
    hook = await subscribe(admin, receiver.url + path, ["order:status-changed", "plant:*"])
    await new_order(admin, "Not a status change")
    ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    await pipeline.pump()
    [got] = await receiver.wait_for(path, 1)
    assert got.json["type"] == "plant:created"
    assert len(await deliveries(admin, hook)) == 1


async def test_a_500_is_retried_with_the_same_delivery_id(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/fail/{unique()}/2"
    hook = await subscribe(admin, receiver.url + path)
    await new_order(admin)
    await pipeline.pump()
    got = await receiver.wait_for(path, 3)
    assert len({r.delivery for r in got}) == 1
    assert len({r.body for r in got}) == 1  # the same bytes on every attempt
    [delivery] = await settled(admin, hook, 1)
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3
    log = delivery["attempt_log"]
    assert [a["status_code"] for a in log] == [500, 500, 200]
    assert [a["number"] for a in log] == [1, 2, 3]
    assert log[0]["error"] == "HTTP 500" and log[0]["response"] == "boom"


async def test_a_timeout_is_retried_with_the_same_delivery_id(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/hang-once/{unique()}"
    hook = await subscribe(admin, receiver.url + path)
    await new_order(admin)
    await pipeline.pump()
    got = await receiver.wait_for(path, 2)
    assert got[0].delivery == got[1].delivery
    [delivery] = await settled(admin, hook, 1)
    assert delivery["status"] == "delivered"
    first, second = delivery["attempt_log"]
    assert first["status_code"] is None and "timed out" in first["error"]
    assert second["status_code"] == 200


async def test_a_delivery_that_keeps_failing_gives_up_after_max_attempts(
    world: dict[str, Any], receiver: Receiver
) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/fail/{unique()}/99"
    hook = await subscribe(admin, receiver.url + path)
    await new_order(admin, "first")
    await new_order(admin, "second")
    await pipeline.pump()
    found = await settled(admin, hook, 2)
    assert [d["status"] for d in found] == ["failed", "failed"]
    assert all(d["attempts"] == 4 for d in found)  # max_attempts in these tests
    # held back in order: every attempt of the first came before any of the second
    ids = [r.delivery for r in receiver.at(path)]
    first, second = sorted({*ids}, key=int)
    assert ids == [first] * 4 + [second] * 4


async def test_each_webhook_gets_its_events_in_seq_order_under_concurrent_events(
    world: dict[str, Any], receiver: Receiver
) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    flaky, steady = f"/flaky/{unique()}", f"/steady-{unique()}"
    hooks = [await subscribe(admin, receiver.url + flaky), await subscribe(admin, receiver.url + steady)]
    others = [as_caller(admin.client, world["tenant"]["manager"]), admin]

    async def writer(api: Api, n: int) -> None:
        for i in range(n):
            await new_order(api, f"concurrent {i}")

    stop = asyncio.Event()
    pumping = asyncio.create_task(_pump_until(pipeline, stop))
    try:
        await asyncio.gather(*(writer(api, 12) for api in others))
    finally:
        stop.set()
        await pumping
    await pipeline.pump()
    for hook, path in zip(hooks, (flaky, steady), strict=True):
        found = await settled(admin, hook, 24)
        assert all(d["status"] == "delivered" for d in found)
        firsts: list[int] = []
        for got in receiver.at(path):
            seq = got.json["seq"]
            if seq not in firsts:
                firsts.append(seq)
        assert len(firsts) == 24
        assert firsts == sorted(firsts), f"{path}: out of order {firsts}"
        # a retried event is re-sent before any later one: the sequence of all requests never goes back
        every = [g.json["seq"] for g in receiver.at(path)]
        assert every == sorted(every)
    assert len(receiver.at(flaky)) > 24  # the flaky one really retried


async def _pump_until(pipeline: Pipeline, stop: asyncio.Event) -> None:
    """Relay while the writers write, as the daemon's relay would (no cancellation mid-query)."""
    while not stop.is_set():
        await pipeline.pump()
        await asyncio.sleep(0.01)


async def test_a_hanging_receiver_does_not_delay_another_webhook(
    rt: Runtime, client: TestClient, receiver: Receiver
) -> None:
    """The hanging receiver never answers within the (long) timeout while the other is served."""
    async with custom_world(rt, client, timeout=600.0) as world:
        await _hanging_and_fast(world, receiver)


async def _hanging_and_fast(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    fast = f"/fast-{unique()}"
    slow_hook = await subscribe(admin, receiver.url + "/hang")
    fast_hook = await subscribe(admin, receiver.url + fast)
    await new_order(admin)
    await pipeline.pump()
    await receiver.wait_for(fast, 1)
    [fast_delivery] = await settled(admin, fast_hook, 1)
    assert fast_delivery["status"] == "delivered"
    # the hanging one is still in its first attempt: nothing recorded yet
    [slow_delivery] = await deliveries(admin, slow_hook)
    assert slow_delivery["status"] == "pending" and slow_delivery["attempts"] == 0


async def test_a_huge_answer_is_cut_and_a_redirect_is_not_followed(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    big = await subscribe(admin, receiver.url + "/big")
    redirect = await subscribe(admin, receiver.url + "/redirect")
    before = len(receiver.got)
    await new_order(admin)
    await pipeline.pump()
    [big_delivery] = await settled(admin, big, 1)
    assert big_delivery["status"] == "delivered"
    assert len(big_delivery["attempt_log"][0]["response"]) == 1024
    found = await deliveries(admin, redirect)
    async with asyncio.timeout(30):
        while not found[0]["attempt_log"]:
            await asyncio.sleep(0.05)
            found = await deliveries(admin, redirect)
    attempt = found[0]["attempt_log"][0]
    assert attempt["status_code"] == 302 and "not followed" in attempt["error"]
    assert all(not r.path.startswith("/steal") for r in receiver.got[before:])


async def test_redeliver_sends_the_same_delivery_again(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/again-{unique()}"
    hook = await subscribe(admin, receiver.url + path)
    await new_order(admin)
    await pipeline.pump()
    [delivery] = await settled(admin, hook, 1)
    reply = ok(await admin.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver"), 202)
    assert reply["id"] == delivery["id"] and reply["status"] == "pending"
    await pipeline.pump()  # the requeue event wakes the sender
    got = await receiver.wait_for(path, 2)
    assert got[0].delivery == got[1].delivery and got[0].body == got[1].body
    [again] = await settled(admin, hook, 1)
    assert again["status"] == "delivered" and again["attempts"] == 2
    assert_problem(await admin.post(f"/api/v1/webhooks/{hook['id']}/deliveries/999999999/redeliver"), 404)


async def test_a_replayed_event_makes_no_second_delivery(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/once-{unique()}"
    hook = await subscribe(admin, receiver.url + path)
    await new_order(admin)
    await pipeline.pump()
    pipeline.after = 0  # the relay crashed before recording its position: it relays everything again
    await pipeline.pump()
    await settled(admin, hook, 1)
    assert len(await deliveries(admin, hook)) == 1
    assert len(receiver.at(path)) == 1


async def test_the_sweep_sends_what_a_lost_wake_up_left(world: dict[str, Any], receiver: Receiver) -> None:
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/swept-{unique()}"
    hook = await subscribe(admin, receiver.url + path)
    pipeline.lose_kicks = True
    await new_order(admin)
    await pipeline.pump()
    assert pipeline.kicks and not receiver.at(path)

    async def wake(tenant_id: int, webhook_id: int) -> None:
        pipeline.senders.wake(tenant_id, webhook_id)

    assert await sweep(pipeline.deps, wake) >= 1
    await receiver.wait_for(path, 1)
    assert (await settled(admin, hook, 1))[0]["status"] == "delivered"


async def test_a_webhook_failing_too_long_is_switched_off_and_its_creator_told(
    rt: Runtime, client: TestClient, receiver: Receiver
) -> None:
    async with custom_world(rt, client, disable_after_seconds=0) as world:
        admin, pipeline = world["admin"], world["pipeline"]
        hook = await subscribe(admin, receiver.url + f"/fail/{unique()}/99")
        await new_order(admin)
        await pipeline.pump()
        async with asyncio.timeout(30):
            while ok(await admin.get(f"/api/v1/webhooks/{hook['id']}"))["active"]:
                await asyncio.sleep(0.05)
        off = ok(await admin.get(f"/api/v1/webhooks/{hook['id']}"))
        assert off["disabled_reason"] and off["failing_since"]
        replay = ok(await admin.get("/api/v1/events", params={"after": 0}))["items"]
        notices = [e for e in replay if e["type"] == "notification" and e["data"].get("kind") == "webhook_disabled"]
        assert [n["data"]["webhook_id"] for n in notices] == [hook["id"]]
        # switched on again: failing_since starts afresh
        back = ok(await admin.patch(f"/api/v1/webhooks/{hook['id']}", {"active": True}))
        assert back["active"] and back["failing_since"] is None and back["disabled_reason"] is None


async def test_a_name_resolving_to_a_private_address_is_refused_after_dns(
    rt: Runtime, client: TestClient, receiver: Receiver
) -> None:
    """With private targets off, a host name (not a literal) that resolves to loopback is refused
    by the sender's resolver; nothing reaches the receiver."""
    import socket

    host = socket.gethostname()
    if not rules.blocked_address(socket.gethostbyname(host)):
        pytest.skip("this machine's name does not resolve to a private address")
    async with custom_world(rt, client, allow_private_targets=False) as world:
        admin = world["admin"]
        port = receiver.url.rsplit(":", 1)[1]
        path = f"/private-{unique()}"
        hook = await subscribe(admin, f"http://{host}:{port}{path}")
        await new_order(admin)
        await world["pipeline"].pump()
        async with asyncio.timeout(30):
            while not (found := await deliveries(admin, hook))[0]["attempt_log"]:
                await asyncio.sleep(0.05)
        attempt = found[0]["attempt_log"][0]
        assert attempt["status_code"] is None and attempt["error"].startswith("refused")
        assert not receiver.at(path)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "ftp://files.example.com/x", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/", "events": ["*"]}, "url"),
        ({"url": "http://localhost/", "events": ["*"]}, "url"),
        ({"url": "http://169.254.169.254/", "events": ["*"]}, "url"),
        ({"url": "http://[::1]/", "events": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/", "events": []}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["nope:*"]}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["order:exploded"]}, "events"),
        ({"url": "https://hooks.example.com/"}, "events"),
        ({"events": ["*"]}, "url"),
    ],
)
async def test_bad_input_is_422_naming_the_field_and_creates_nothing(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    """On the suite's app, private targets are not allowed (the default)."""
    admin = tenant["admin"]
    before = ok(await admin.get("/api/v1/webhooks", params={"limit": 200}))["items"]
    assert_problem(await admin.post("/api/v1/webhooks", body), 422, field)
    assert ok(await admin.get("/api/v1/webhooks", params={"limit": 200}))["items"] == before


async def test_patch_validates_like_create(tenant: Tenant) -> None:
    admin = tenant["admin"]
    hook = await subscribe(admin, "https://hooks.example.com/" + unique())
    path = f"/api/v1/webhooks/{hook['id']}"
    assert_problem(await admin.patch(path, {"url": "gopher://x"}), 422, "url")
    assert_problem(await admin.patch(path, {"url": "http://10.0.0.7/"}), 422, "url")
    assert_problem(await admin.patch(path, {"events": []}), 422, "events")
    assert_problem(await admin.patch(path, {"active": None}), 422, "active")
    assert_problem(await admin.patch(path, {"events": ["*"]}, headers={"If-Match": '"99"'}), 412)
    changed = ok(await admin.patch(path, {"events": ["alert:triggered", "stock:changed"]}, headers={"If-Match": '"1"'}))
    assert changed["events"] == ["alert:triggered", "stock:changed"] and changed["version"] == 2
    ok(await admin.delete(path), 204)
    assert_problem(await admin.get(path), 404)


@pytest.mark.parametrize("role", ["technician", "requester"])
async def test_only_admins_and_managers_touch_webhooks(tenant: Tenant, role: str) -> None:
    hook = await subscribe(tenant["manager"], "https://hooks.example.com/" + unique())
    assert hook["role"] == "manager"
    caller = tenant[role]
    base = f"/api/v1/webhooks/{hook['id']}"
    for reply in [
        await caller.get("/api/v1/webhooks"),
        await caller.post("/api/v1/webhooks", {"url": "https://hooks.example.com/", "events": ["*"]}),
        await caller.get(base),
        await caller.patch(base, {"active": False}),
        await caller.delete(base),
        await caller.get(f"{base}/deliveries"),
        await caller.post(f"{base}/deliveries/1/redeliver"),
    ]:
        assert_problem(reply, 403)
    assert ok(await tenant["admin"].get(base))["active"] is True


async def test_a_managers_webhook_sees_what_a_manager_may_see(world: dict[str, Any], receiver: Receiver) -> None:
    """User-only events (another user's notification) are not sent to a webhook."""
    admin, pipeline = world["admin"], world["pipeline"]
    path = f"/all-{unique()}"
    hook = await subscribe(as_caller(admin.client, world["tenant"]["manager"]), receiver.url + path, ["*"])
    technician = await world["tenant"].add_user("tech", "technician")
    await admin.post("/api/v1/orders", {"title": "assigned", "assignee_id": technician.user_id})
    await pipeline.pump()
    found = await settled(admin, hook, 1)
    types = {d["event"] for d in found}
    assert "order:created" in types and "notification" not in types
