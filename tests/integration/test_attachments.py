"""Attachments through the API over both file-store backends (PostgreSQL, and S3 on moto, a real
S3 implementation run locally: see files_support): round trips, dedup, serving headers, ranges,
deletion, visibility, events."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from cmms.config import FilesSettings
from cmms.runtime import Runtime
from tests.integration.attachments_support import PNG, Served, serve, upload
from tests.integration.files_support import BACKENDS, s3_settings  # noqa: F401
from tests.integration.support import Tenant, assert_problem, make_tenant, ok, unique

MIB = 1024 * 1024


@pytest.fixture(params=BACKENDS, scope="module")
async def app(request: pytest.FixtureRequest, rt: Runtime, s3_settings: FilesSettings) -> AsyncIterator[Served]:  # noqa: F811
    async with serve(rt, request.param, s3_settings) as served:
        yield served


@pytest.fixture(scope="module")
async def tenant(app: Served, rt: Runtime) -> Tenant:
    """A tenant per backend: blobs are per tenant, and each backend has its own bytes."""
    return await make_tenant(rt, app.client)


@pytest.fixture(scope="module")
async def world(tenant: Tenant) -> dict[str, int]:
    """An order of the requester, one of the manager, and an asset."""
    manager, requester = tenant["manager"], tenant["requester"]
    mine = ok(await requester.post("/api/v1/orders", {"title": "Leak under the sink"}), 201)
    theirs = ok(await manager.post("/api/v1/orders", {"title": "Replace the seal"}), 201)
    plant = ok(await manager.post("/api/v1/plants", {"name": unique("plant"), "code": unique("P")}), 201)
    asset = ok(await manager.post("/api/v1/assets", {"name": "Pump", "plant_id": plant["id"]}), 201)
    return {"requester_order": mine["id"], "order": theirs["id"], "asset": asset["id"]}


@pytest.mark.parametrize("size", [1, MIB], ids=["1B", "1MiB"])
async def test_upload_list_download_round_trip(app: Served, tenant: Tenant, world: dict[str, int], size: int) -> None:
    tech = app.as_(tenant["technician"])
    data = PNG + os.urandom(size) if size > 1 else b"x"
    reply = await upload(
        tech,
        f"/api/v1/orders/{world['order']}/attachments",
        data,
        "seal.png",
        content_type="image/png" if size > 1 else "text/plain",
    )
    row = ok(reply, 201)
    assert row["size"] == len(data)
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["content_type"] == ("image/png" if size > 1 else "text/plain")
    assert row["created_by"] == tenant["technician"].user_id
    assert reply.headers["Location"] == f"/api/v1/files/{row['id']}"
    listed = ok(await tech.get(f"/api/v1/orders/{world['order']}/attachments"))["items"]
    assert row["id"] in [r["id"] for r in listed]
    async with app.client.get(f"/api/v1/files/{row['id']}", headers={"Authorization": f"Bearer {tech.token}"}) as r:
        body = await r.read()
        assert r.status == 200
        assert r.headers["Content-Disposition"] == "attachment; filename=\"seal.png\"; filename*=UTF-8''seal.png"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Length"] == str(len(data))
    assert hashlib.sha256(body).hexdigest() == row["sha256"]


async def test_identical_content_is_stored_once(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    tech = app.as_(tenant["technician"])
    data = b"the same manual, twice " + os.urandom(64)
    before = set(await app.store.keys(tenant.id))
    first = ok(await upload(tech, f"/api/v1/orders/{world['order']}/attachments", data, "manual.txt"), 201)
    second = ok(await upload(tech, f"/api/v1/assets/{world['asset']}/attachments", data, "manual copy.txt"), 201)
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    assert len(set(await app.store.keys(tenant.id)) - before) == 1
    assert ok(await tech.delete(f"/api/v1/files/{first['id']}"), 204) is None
    assert len(set(await app.store.keys(tenant.id)) - before) == 1  # the asset's copy still needs the bytes
    assert (await tech.get(f"/api/v1/files/{second['id']}")).text == data.decode("utf-8", "replace")
    ok(await tech.delete(f"/api/v1/files/{second['id']}"), 204)
    assert set(await app.store.keys(tenant.id)) == before


async def test_names_are_kept_exactly_and_served_per_rfc_6266(
    app: Served, tenant: Tenant, world: dict[str, int]
) -> None:
    tech = app.as_(tenant["technician"])
    name = 'Prüfbericht "Dichtung" 3%.pdf'
    row = ok(
        await upload(
            tech,
            f"/api/v1/orders/{world['order']}/attachments",
            b"%PDF-1.7\n" + os.urandom(100),
            content_type="application/pdf",
            disposition="form-data; name=\"file\"; filename*=UTF-8''Pr%C3%BCfbericht%20%22Dichtung%22%203%25.pdf",
        ),
        201,
    )
    assert (row["name"], row["content_type"]) == (name, "application/pdf")
    reply = await tech.get(f"/api/v1/files/{row['id']}")
    assert reply.headers["Content-Disposition"] == (
        'attachment; filename="Pr_fbericht _Dichtung_ 3_.pdf"; '
        "filename*=UTF-8''Pr%C3%BCfbericht%20%22Dichtung%22%203%25.pdf"
    )


async def test_html_and_svg_are_never_served_as_themselves(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    tech = app.as_(tenant["technician"])
    for data, stored in (
        (b"<!DOCTYPE html><script>alert(1)</script>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
    ):
        row = ok(
            await upload(tech, f"/api/v1/orders/{world['order']}/attachments", data, "page.html", content_type=None),
            201,
        )
        assert row["content_type"] == stored
        reply = await tech.get(f"/api/v1/files/{row['id']}")
        assert reply.status == 200 and reply.content_type == "application/octet-stream"
        assert reply.headers["Content-Disposition"].startswith("attachment;")
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


async def test_ranges_answer_206_and_416_outside_the_file(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    tech = app.as_(tenant["technician"])
    data = PNG + os.urandom(400_000)
    row = ok(await upload(tech, f"/api/v1/orders/{world['order']}/attachments", data, "big.png"), 201)
    path = f"/api/v1/files/{row['id']}"
    for header, want in (
        ("bytes=0-9", data[:10]),
        ("bytes=300000-", data[300000:]),
        ("bytes=-5", data[-5:]),
        ("bytes=262140-262150", data[262140:262151]),
    ):
        async with app.client.get(path, headers={"Authorization": f"Bearer {tech.token}", "Range": header}) as r:
            assert r.status == 206, header
            assert await r.read() == want, header
            start = len(data) - len(want) if header.startswith("bytes=-") else int(header[6:].split("-")[0])
            assert r.headers["Content-Range"] == f"bytes {start}-{start + len(want) - 1}/{len(data)}"
    reply = await tech.get(path, headers={"Range": f"bytes={len(data)}-"})
    assert_problem(reply, 416)
    assert reply.headers["Content-Range"] == f"bytes */{len(data)}"


async def test_delete_is_for_the_uploader_or_a_supervisor(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    if "technician2" not in tenant.apis:
        await tenant.add_user("technician2", "technician")
    tech, tech2, manager = (app.as_(tenant[k]) for k in ("technician", "technician2", "manager"))
    path = f"/api/v1/orders/{world['order']}/attachments"
    row = ok(await upload(tech, path, b"by tech " + os.urandom(16), "a.txt"), 201)
    assert_problem(await tech2.delete(f"/api/v1/files/{row['id']}"), 403)
    ok(await tech.delete(f"/api/v1/files/{row['id']}"), 204)
    assert_problem(await tech.get(f"/api/v1/files/{row['id']}"), 404)
    other = ok(await upload(tech, path, b"by tech, removed by the manager " + os.urandom(16), "b.txt"), 201)
    ok(await manager.delete(f"/api/v1/files/{other['id']}"), 204)
    assert other["id"] not in [r["id"] for r in ok(await tech.get(path))["items"]]


async def test_visibility_follows_the_parent(app: Served, tenant: Tenant, other: Tenant, world: dict[str, int]) -> None:
    requester, tech, stranger = (app.as_(a) for a in (tenant["requester"], tenant["technician"], other["admin"]))
    own = ok(
        await upload(requester, f"/api/v1/orders/{world['requester_order']}/attachments", b"my photo", "a.txt"), 201
    )
    staff = ok(await upload(tech, f"/api/v1/orders/{world['order']}/attachments", b"staff only", "b.txt"), 201)
    assert (await requester.get(f"/api/v1/files/{own['id']}")).text == "my photo"
    assert_problem(await requester.get(f"/api/v1/files/{staff['id']}"), 404)
    assert_problem(await requester.get(f"/api/v1/orders/{world['order']}/attachments"), 404)
    assert_problem(await upload(requester, f"/api/v1/orders/{world['order']}/attachments", b"x", "x.txt"), 404)
    assert_problem(await upload(requester, f"/api/v1/assets/{world['asset']}/attachments", b"x", "x.txt"), 403)
    for path in (
        f"/api/v1/files/{own['id']}",
        f"/api/v1/files/{own['id']}/info",
        f"/api/v1/orders/{world['order']}/attachments",
        f"/api/v1/assets/{world['asset']}/attachments",
    ):
        assert_problem(await stranger.get(path), 404)
    assert_problem(await stranger.delete(f"/api/v1/files/{own['id']}"), 404)
    assert_problem(await upload(stranger, f"/api/v1/orders/{world['order']}/attachments", b"x", "x.txt"), 404)
    assert (await tech.get(f"/api/v1/files/{own['id']}")).status == 200


async def test_events_reach_the_parents_audience(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    requester, tech = app.as_(tenant["requester"]), app.as_(tenant["technician"])
    seq = (
        ok(await requester.get("/api/v1/me"))["last_event_seq"]
        if "last_event_seq" in ok(await requester.get("/api/v1/me"))
        else 0
    )
    staff = ok(
        await upload(tech, f"/api/v1/orders/{world['order']}/attachments", b"staff " + os.urandom(8), "s.txt"), 201
    )
    mine = ok(await upload(tech, f"/api/v1/orders/{world['requester_order']}/attachments", b"for you", "y.txt"), 201)
    ok(await tech.delete(f"/api/v1/files/{mine['id']}"), 204)
    seen = ok(await requester.get("/api/v1/events", params={"after": seq}))["items"]
    typed = [(e["type"], e["data"]["id"]) for e in seen if e["type"].startswith("attachment:")]
    assert ("attachment:added", mine["id"]) in typed and ("attachment:removed", mine["id"]) in typed
    assert ("attachment:added", staff["id"]) not in typed
    staff_seen = ok(await tech.get("/api/v1/events", params={"after": seq}))["items"]
    assert ("attachment:added", staff["id"]) in [(e["type"], e["data"]["id"]) for e in staff_seen]
    audit = await tenant.sql(
        "SELECT action FROM audit_log WHERE entity = 'attachment' AND entity_id = %s", (mine["id"],)
    )
    assert sorted(a["action"] for a in audit) == ["create", "delete"]


async def test_checklist_item_files_follow_the_checklist(app: Served, tenant: Tenant, world: dict[str, int]) -> None:
    from tests.integration.work_support import order_with_checklist

    wo, checklist = await order_with_checklist(tenant, world["asset"])
    item = checklist["items"][0]["id"]
    tech, requester = app.as_(tenant["technician"]), app.as_(tenant["requester"])
    path = f"/api/v1/orders/{wo['id']}/checklist/items/{item}/attachments"
    row = ok(await upload(tech, path, PNG, "failed seal.png"), 201)
    assert (row["parent_type"], row["parent_id"], row["order_id"]) == ("checklist_item", item, wo["id"])
    assert [r["id"] for r in ok(await tech.get(path))["items"]] == [row["id"]]
    assert row["id"] not in [r["id"] for r in ok(await tech.get(f"/api/v1/orders/{wo['id']}/attachments"))["items"]]
    assert_problem(await requester.get(path), 404)  # not their order; on their own: 403 (checklists are staff work)
    assert_problem(await requester.get(f"/api/v1/files/{row['id']}"), 404)
    assert_problem(await upload(tech, f"/api/v1/orders/{world['order']}/checklist/items/{item}/attachments", PNG), 404)
