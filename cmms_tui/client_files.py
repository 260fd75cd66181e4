"""File transfers of the API client: attachments listed, uploaded and downloaded with progress.

`ApiClient` (client.py) exposes these as methods; they live here because they stream: an upload
reads the file in chunks as the request body goes out, a download writes chunks under a temporary
name as they arrive, and both report bytes done so the console can draw a progress bar.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, cast

import aiohttp

from cmms_tui.client_errors import SessionExpired, Unreachable, problem_of
from cmms_tui.client_saving import CHUNK, Progress, _safe_name, _save
from cmms_tui.client_session import API

if TYPE_CHECKING:
    from cmms_tui.client import ApiClient

TRANSFER_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=60.0)


class Attachment(TypedDict):
    id: int
    parent_type: str
    parent_id: int
    order_id: int | None
    name: str
    content_type: str
    size: int
    sha256: str
    created_by: int | None
    created_at: str
    version: int


async def _file_chunks(path: Path, size: int, progress: Progress | None) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    done = 0
    try:
        while data := await asyncio.to_thread(f.read, CHUNK):
            done += len(data)
            if progress:
                progress(done, size)
            yield data
    finally:
        f.close()


async def upload(api: ApiClient, parent: str, parent_id: int, path: Path, progress: Progress | None) -> Attachment:
    """POST the file as multipart part `file`; refreshes the token once on 401 and sends again."""
    size = (await asyncio.to_thread(path.stat)).st_size
    url = f"{api.base_url}{API}/{parent}/{parent_id}/attachments"
    await api.ensure_fresh()
    for attempt in range(2):
        form = aiohttp.FormData(quote_fields=False)  # the name as typed, not percent-encoded
        form.add_field("file", _file_chunks(path, size, progress), filename=path.name)
        headers = {"Authorization": f"Bearer {api.tokens.access_token}"} if api.tokens.access_token else {}
        try:
            async with api._http().post(url, data=form, headers=headers, timeout=TRANSFER_TIMEOUT) as response:
                if response.status == 401 and attempt == 0 and api.tokens.refresh_token:
                    await api.refresh(stale=api.tokens.access_token)
                    continue
                if response.status >= 400:
                    raise await problem_of(response)
                return cast(Attachment, await response.json())
        except (aiohttp.ClientConnectionError, TimeoutError, aiohttp.ClientPayloadError) as exc:
            raise Unreachable(f"cannot reach {api.base_url}: {exc or type(exc).__name__}") from exc
    raise await _refused()


async def _refused() -> Exception:
    return SessionExpired(401, "Unauthorized", "the server refused a fresh token")


async def download(api: ApiClient, file_id: int, folder: Path, progress: Progress | None) -> Path:
    """Stream a file into `folder` under its own name (never overwriting); returns where it went."""
    url = f"{api.base_url}{API}/files/{file_id}"
    await api.ensure_fresh()
    for attempt in range(2):
        headers = {"Authorization": f"Bearer {api.tokens.access_token}"} if api.tokens.access_token else {}
        try:
            async with api._http().get(url, headers=headers, timeout=TRANSFER_TIMEOUT) as response:
                if response.status == 401 and attempt == 0 and api.tokens.refresh_token:
                    await api.refresh(stale=api.tokens.access_token)
                    continue
                if response.status >= 400:
                    raise await problem_of(response)
                disposition = response.content_disposition
                name = _safe_name(disposition.filename if disposition else None, f"file-{file_id}")
                return await _save(response.content, folder, name, progress, response.content_length)
        except (aiohttp.ClientConnectionError, TimeoutError, aiohttp.ClientPayloadError) as exc:
            raise Unreachable(f"cannot reach {api.base_url}: {exc or type(exc).__name__}") from exc
    raise await _refused()
