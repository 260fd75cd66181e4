"""The file-store port, one behavioural suite over both backends (PostgreSQL, S3 on moto).

See `files_support` for what the S3 server is: a real S3 implementation run locally.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from cmms.config import FilesSettings
from cmms.files.base import FileStore, FileTooLarge, read_all
from cmms.runtime import Runtime
from tests.integration.files_support import BACKENDS, open_backend, s3_settings  # noqa: F401
from tests.integration.support import Tenant

MIB = 1024 * 1024


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, rt: Runtime, s3_settings: FilesSettings) -> AsyncIterator[FileStore]:  # noqa: F811
    async with open_backend(request.param, rt, s3_settings) as backend:
        yield backend


async def stream(data: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), piece):
        yield data[i : i + piece]


async def digest(store: FileStore, scope: int | None, key: str) -> tuple[int, str]:
    h, n = hashlib.sha256(), 0
    async for chunk in store.read(scope, key):
        h.update(chunk)
        n += len(chunk)
    return n, h.hexdigest()


@pytest.mark.parametrize("size", [1, MIB, 30 * MIB], ids=["1B", "1MiB", "30MiB"])
async def test_round_trip_keeps_every_byte(store: FileStore, tenant: Tenant, size: int) -> None:
    data = os.urandom(size)
    stored = await store.put(tenant.id, stream(data))
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert await store.size(tenant.id, stored.key) == size
    assert await digest(store, tenant.id, stored.key) == (size, stored.sha256)
    await store.delete(tenant.id, stored.key)


async def test_ranges_cut_across_chunk_and_part_boundaries(store: FileStore, tenant: Tenant) -> None:
    data = os.urandom(6 * MIB + 123)
    stored = await store.put(tenant.id, stream(data, 100_000))
    for start, end in [(0, 1), (5, 300_000), (262_143, 262_145), (6 * MIB, 6 * MIB + 123), (1000, None)]:
        got = b"".join([c async for c in store.read(tenant.id, stored.key, start, end)])
        assert got == data[start:end], (start, end)
    await store.delete(tenant.id, stored.key)


async def test_an_empty_object_is_an_object(store: FileStore, tenant: Tenant) -> None:
    stored = await store.put(tenant.id, stream(b""))
    assert (stored.size, await store.size(tenant.id, stored.key)) == (0, 0)
    assert await read_all(store, tenant.id, stored.key) == b""
    await store.delete(tenant.id, stored.key)


async def test_a_stream_that_fails_leaves_nothing(store: FileStore, other: Tenant) -> None:
    before = await store.keys(other.id)

    async def broken() -> AsyncIterator[bytes]:
        for _ in range(7):  # past one S3 part: a multipart upload was started
            yield os.urandom(MIB)
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError):
        await store.put(other.id, broken())
    assert await store.keys(other.id) == before
    if store.name == "s3":
        assert await store.pending_uploads() == []  # type: ignore[attr-defined]


async def test_the_limit_stops_the_stream_and_leaves_nothing(store: FileStore, other: Tenant) -> None:
    before = await store.keys(other.id)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += MIB
            yield bytes(MIB)

    with pytest.raises(FileTooLarge):
        await store.put(other.id, endless(), limit=6 * MIB)
    assert sent <= 7 * MIB  # stopped at the limit, not at the end of the stream
    assert await store.keys(other.id) == before
    if store.name == "s3":
        assert await store.pending_uploads() == []  # type: ignore[attr-defined]
    exact = await store.put(other.id, stream(bytes(6 * MIB)), limit=6 * MIB)  # the limit itself is allowed
    await store.delete(other.id, exact.key)


async def test_delete_removes_the_object(store: FileStore, tenant: Tenant) -> None:
    stored = await store.put(tenant.id, stream(b"gone soon"))
    assert await store.delete(tenant.id, stored.key) is True
    assert await store.size(tenant.id, stored.key) is None
    assert await read_all(store, tenant.id, stored.key) == b""
    assert await store.delete(tenant.id, stored.key) is False
    assert stored.key not in await store.keys(tenant.id)


async def test_scopes_never_see_each_other(store: FileStore, tenant: Tenant, other: Tenant) -> None:
    stored = await store.put(tenant.id, stream(b"tenant one's secret"))
    assert await store.size(other.id, stored.key) is None
    assert await read_all(store, other.id, stored.key) == b""
    assert await store.size(None, stored.key) is None
    assert await store.delete(other.id, stored.key) is False
    assert await read_all(store, tenant.id, stored.key) == b"tenant one's secret"
    system = await store.put(None, stream(b"system output"))
    assert await store.size(tenant.id, system.key) is None
    assert await read_all(store, None, system.key) == b"system output"
    for scope, key in ((tenant.id, stored.key), (None, system.key)):
        await store.delete(scope, key)


async def test_unknown_keys_are_simply_absent(store: FileStore, tenant: Tenant) -> None:
    for key in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "../../etc/passwd"):
        assert await store.size(tenant.id, key) is None
        assert await read_all(store, tenant.id, key) == b""
        assert await store.delete(tenant.id, key) is False


async def test_created_before_lists_what_the_orphan_sweep_may_consider(store: FileStore, tenant: Tenant) -> None:
    from datetime import UTC, datetime, timedelta

    stored = await store.put(tenant.id, stream(b"an orphan, maybe"))
    now = datetime.now(UTC)
    assert stored.key in await store.created_before(tenant.id, now + timedelta(minutes=5))
    assert stored.key not in await store.created_before(tenant.id, now - timedelta(hours=1))
    assert stored.key not in await store.created_before(None, now + timedelta(minutes=5))
    await store.delete(tenant.id, stored.key)
