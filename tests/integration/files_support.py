"""The file-store backends the behavioural suites run over: PostgreSQL, and S3 against moto.

moto in server mode (`ThreadedMotoServer`) is a real S3 implementation run locally: it serves the
S3 REST API over HTTP on a loopback port, so the S3 backend runs through aiobotocore, signing,
multipart uploads and ranged GETs exactly as against AWS or MinIO. It is not a mock of our code.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from cmms.config import FilesSettings
from cmms.files import open_files
from cmms.files.base import FileStore
from cmms.runtime import Runtime

BACKENDS = ["postgres", "s3"]
BUCKET = "cmms-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_settings() -> Iterator[FilesSettings]:
    """A moto S3 server on a free loopback port, and the settings that point at it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield FilesSettings(
            s3_url=f"http://127.0.0.1:{port}",
            s3_bucket=BUCKET,
            s3_access_key="test-key",
            s3_secret_key="test-secret",
            s3_prefix="t/",
        )
    finally:
        server.stop()


@asynccontextmanager
async def open_backend(name: str, rt: Runtime, s3: FilesSettings) -> AsyncIterator[FileStore]:
    settings = FilesSettings() if name == "postgres" else s3
    async with open_files(settings, rt.deps.pool) as store:
        if name == "s3":
            client = store.client  # type: ignore[attr-defined]
            try:
                await client.head_bucket(Bucket=BUCKET)
            except Exception:
                await client.create_bucket(Bucket=BUCKET)
        yield store
