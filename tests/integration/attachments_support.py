"""Helpers for the attachment tests: multipart bodies built by hand (so a test controls every
byte of a part's headers), and the API served over a chosen file-store backend."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from cmms.api.app import make_app
from cmms.config import FilesSettings
from cmms.files.base import FileStore
from cmms.runtime import Runtime
from tests.integration.files_support import open_backend
from tests.integration.support import Api, Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def multipart(
    data: bytes,
    filename: str | None = "photo.png",
    content_type: str | None = None,
    *,
    field: str = "file",
    disposition: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with one part, and its Content-Type header."""
    boundary = uuid.uuid4().hex
    header = disposition or (
        f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
    )
    lines = [f"--{boundary}", f"Content-Disposition: {header}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def upload(api: Api, path: str, data: bytes, filename: str | None = "photo.png", **kw: Any) -> Reply:
    body, headers = multipart(data, filename, **kw)
    return await api.request("POST", path, data=body, headers=headers)


@dataclass
class Served:
    """The API over one backend; `as_(api)` is the same caller against this app."""

    client: TestClient
    store: FileStore
    rt: Runtime

    def as_(self, api: Api) -> Api:
        return Api(self.client, api.token, user=api.user)


@asynccontextmanager
async def serve(rt: Runtime, backend: str, s3: FilesSettings, **files: Any) -> AsyncIterator[Served]:
    """The app on `backend`, with `[files]` settings overridden by `files` (e.g. max_bytes)."""
    async with open_backend(backend, rt, s3) as store:
        settings = dataclasses.replace(rt.settings, files=dataclasses.replace(rt.settings.files, **files))
        deps = dataclasses.replace(rt.deps, files=store, settings=settings)
        client = TestClient(TestServer(make_app(deps, rt.readiness)))
        await client.start_server()
        try:
            yield Served(client, store, rt)
        finally:
            await client.close()
