"""Bad uploads and downloads, over both file-store backends (S3: moto, a real S3 implementation
run locally): each is a 4xx problem document, and afterwards neither the store nor the database
holds anything of it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from cmms.config import FilesSettings
from cmms.runtime import Runtime
from tests.integration.attachments_support import PNG, Served, multipart, serve, upload
from tests.integration.files_support import BACKENDS, s3_settings  # noqa: F401
from tests.integration.support import Api, Tenant, assert_problem, make_tenant, ok, unique

MIB = 1024 * 1024
LIMIT = MIB


@pytest.fixture(params=BACKENDS, scope="module")
async def app(request: pytest.FixtureRequest, rt: Runtime, s3_settings: FilesSettings) -> AsyncIterator[Served]:  # noqa: F811
    async with serve(rt, request.param, s3_settings, max_bytes=LIMIT) as served:
        yield served


@pytest.fixture(scope="module")
async def tenant(app: Served, rt: Runtime) -> Tenant:
    return await make_tenant(rt, app.client, {"manager": "manager", "technician": "technician"})


@pytest.fixture(scope="module")
async def order(tenant: Tenant) -> int:
    return int(ok(await tenant["manager"].post("/api/v1/orders", {"title": "Broken seal"}), 201)["id"])


async def nothing_stored(app: Served, tenant: Tenant) -> tuple[list[str], int]:
    rows = await tenant.sql("SELECT count(*) AS n FROM attachments")
    keys = sorted(await app.store.keys(tenant.id))
    if app.store.name == "s3":
        assert await app.store.pending_uploads() == []  # type: ignore[attr-defined]
    return keys, int(rows[0]["n"])


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no file field", 422),
        ("no filename", 422),
        ("empty file", 422),
        ("over the limit", 413),
        ("path traversal", 422),
        ("windows path", 422),
        ("NUL in the name", 422),
        ("NUL in filename*", 422),
        ("control character", 422),
        ("lying content type", 415),
        ("not multipart", 415),
    ],
)
async def test_bad_uploads_store_nothing(app: Served, tenant: Tenant, order: int, case: str, status: int) -> None:
    tech = app.as_(tenant["technician"])
    path = f"/api/v1/orders/{order}/attachments"
    before = await nothing_stored(app, tenant)
    cases = {
        "no file field": lambda: multipart(PNG, "a.png", field="photo"),
        "no filename": lambda: multipart(PNG, None),
        "empty file": lambda: multipart(b"", "empty.txt"),
        "over the limit": lambda: multipart(PNG + os.urandom(LIMIT), "huge.png"),
        "path traversal": lambda: multipart(b"root:x:0:0", "../../etc/passwd"),
        "windows path": lambda: multipart(
            b"hello", disposition="form-data; name=\"file\"; filename*=UTF-8''C%3A%5Cx.png"
        ),
        "NUL in the name": lambda: multipart(b"hello", "photo\x00.php"),
        "NUL in filename*": lambda: multipart(
            b"hello", disposition="form-data; name=\"file\"; filename*=UTF-8''a%00.txt"
        ),
        "control character": lambda: multipart(b"hello", "bell\x07.txt"),
        "lying content type": lambda: multipart(
            b"<html><script>alert(1)</script></html>", "cat.png", content_type="image/png"
        ),
        "not multipart": lambda: (b'{"file": "aGVsbG8="}', {"Content-Type": "application/json"}),
    }
    body, headers = cases[case]()
    reply = await tech.request("POST", path, data=body, headers=headers)
    assert_problem(reply, status)
    assert await nothing_stored(app, tenant) == before


async def test_a_declared_length_past_the_limit_is_refused_before_reading(
    app: Served, tenant: Tenant, order: int
) -> None:
    """Content-Length says 1 GiB: 413 from the headers alone; the client never sends a byte."""
    answer, sent = await _raw_upload(app, tenant["technician"], order, declared=1 << 30)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent == 0


async def test_a_1_gib_stream_is_cut_at_the_limit(app: Served, tenant: Tenant, order: int) -> None:
    """A chunked upload with no length: refused once past the limit, long before 1 GiB is sent."""
    before = await nothing_stored(app, tenant)
    answer, sent = await _raw_upload(app, tenant["technician"], order, declared=None)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 64 * MIB, sent  # the server answered at ~1 MiB; the rest is what sat in socket buffers
    assert await nothing_stored(app, tenant) == before


async def _raw_upload(app: Served, api: Api, order: int, *, declared: int | None) -> tuple[bytes, int]:
    """POST a multipart body of up to 1 GiB over a raw socket, stopping when the answer arrives."""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    length = f"Content-Length: {declared}\r\n" if declared is not None else "Transfer-Encoding: chunked\r\n"
    request = (
        f"POST /api/v1/orders/{order}/attachments HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {api.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"{length}Expect: 100-continue\r\n\r\n"
    ).encode()
    server = app.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    try:
        first = await asyncio.wait_for(answer, 30)
        assert first.startswith(b"HTTP/1.1 100"), first  # aiohttp says Continue before the handler runs
        answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
        if declared is not None:
            return await asyncio.wait_for(answer, 30), 0
        piece = head + bytes(256 * 1024)
        while not answer.done() and sent < 1 << 30:
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
            piece = bytes(256 * 1024)
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                break
            await asyncio.sleep(0)
        return await asyncio.wait_for(answer, 30), sent
    finally:
        answer.cancel()
        writer.close()


async def test_the_tenant_quota_counts_distinct_bytes(rt: Runtime, s3_settings: FilesSettings) -> None:  # noqa: F811
    async with serve(rt, "postgres", s3_settings, tenant_quota_bytes=3000) as app:
        tenant = await make_tenant(rt, app.client, {"manager": "manager"})
        manager = tenant["manager"]
        order = ok(await manager.post("/api/v1/orders", {"title": "Quota"}), 201)["id"]
        path = f"/api/v1/orders/{order}/attachments"
        data = os.urandom(2000)
        ok(await upload(manager, path, data, "a.bin"), 201)
        ok(await upload(manager, path, data, "same bytes again.bin"), 201)  # identical content costs nothing
        assert_problem(await upload(manager, path, os.urandom(1001), "b.bin"), 413)
        ok(await upload(manager, path, os.urandom(1000), "c.bin"), 201)
        assert_problem(await upload(manager, path, b"x", "d.txt"), 413)


async def test_unknown_and_other_tenant_ids_are_404(app: Served, tenant: Tenant, order: int, rt: Runtime) -> None:
    tech = app.as_(tenant["technician"])
    stranger_tenant = await make_tenant(rt, app.client, {"admin": "admin"})
    stranger = stranger_tenant["admin"]
    theirs = ok(await stranger.post("/api/v1/orders", {"title": unique("theirs")}), 201)["id"]
    their_file = ok(await upload(stranger, f"/api/v1/orders/{theirs}/attachments", b"secret", "s.txt"), 201)["id"]
    before = await nothing_stored(app, tenant)
    for path in (
        f"/api/v1/orders/{theirs}/attachments",
        "/api/v1/orders/999999999/attachments",
        "/api/v1/assets/999999999/attachments",
    ):
        assert_problem(await upload(tech, path, b"hello", "x.txt"), 404)
        assert_problem(await tech.get(path), 404)
    for method in ("GET", "DELETE"):
        for file_id in (their_file, 999999999):
            assert_problem(await tech.request(method, f"/api/v1/files/{file_id}"), 404)
    assert_problem(await tech.get("/api/v1/files/0"), 422)
    assert await nothing_stored(app, tenant) == before
    assert (await stranger.get(f"/api/v1/files/{their_file}")).text == "secret"
