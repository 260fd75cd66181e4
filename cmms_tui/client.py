"""A small typed HTTP client for the CMMS API (aiohttp).

It keeps the access token fresh: a request that gets 401 refreshes once and retries, and refreshes
are serialised (in this process by a lock, across processes by the optional `TokenKeeper`) because
the server treats a refresh token presented twice as theft and revokes the whole session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import aiohttp

from cmms_tui import client_files
from cmms_tui.client_errors import ApiError, SessionExpired, Unreachable, problem_of
from cmms_tui.client_files import Attachment, Progress
from cmms_tui.client_saving import _safe_name, _save
from cmms_tui.client_session import API, ApiSession, Params
from cmms_tui.models import (
    Alert,
    Asset,
    AuditEntry,
    Envelope,
    Job,
    Kpis,
    Me,
    Note,
    Order,
    Person,
    Plan,
    Plant,
    Reading,
    SearchHit,
    User,
)

T = TypeVar("T")
# Downloads may be large: no overall limit, but a stalled transfer still ends.
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=60.0)


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass
class EventPage:
    items: list[Envelope]
    next_cursor: str | None
    last_seq: int


class ApiClient(ApiSession):
    """The API's endpoints as typed methods (the session it sends them in: client_session.py)."""

    async def me(self) -> Me:
        return cast(Me, await self.request("GET", f"{API}/me"))

    # ---- lists --------------------------------------------------------------------------------

    async def _page(self, path: str, params: Params | None = None) -> Page[Any]:
        data = await self.request("GET", path, params=params)
        return Page(items=list(data.get("items", [])), next_cursor=data.get("next_cursor"))

    async def _all(self, path: str, params: Params | None = None, *, cap: int = 5000) -> list[Any]:
        out: list[Any] = []
        cursor: str | None = None
        while True:
            page = await self._page(path, {**(params or {}), "limit": 200, "cursor": cursor})
            out.extend(page.items)
            cursor = page.next_cursor
            if not cursor or len(out) >= cap:
                return out

    async def orders(self, params: Params | None = None) -> Page[Order]:
        return await self._page(f"{API}/orders", params)

    async def assets(self, params: Params | None = None) -> Page[Asset]:
        return await self._page(f"{API}/assets", params)

    async def alerts(self, params: Params | None = None) -> Page[Alert]:
        return await self._page(f"{API}/alerts", params)

    async def plans(self, params: Params | None = None) -> Page[Plan]:
        return await self._page(f"{API}/plans", params)

    async def plants(self) -> list[Plant]:
        return await self._all(f"{API}/plants")

    async def users(self, role: str | None = None) -> list[User]:
        return await self._all(f"{API}/users", {"role": role})

    async def people(self) -> list[Person]:
        """The tenant's directory of names (every role may read it)."""
        data = await self.request("GET", f"{API}/directory/users")
        return cast(list[Person], data.get("items", []))

    async def all_assets(self, cap: int = 2000) -> list[Asset]:
        return await self._all(f"{API}/assets", cap=cap)

    # ---- orders -------------------------------------------------------------------------------

    async def order(self, order_id: int) -> Order:
        return cast(Order, await self.request("GET", f"{API}/orders/{order_id}"))

    async def create_order(self, body: dict[str, Any]) -> Order:
        return cast(Order, await self.request("POST", f"{API}/orders", body=body))

    async def update_order(self, order_id: int, body: dict[str, Any], version: int | None = None) -> Order:
        return cast(Order, await self.request("PATCH", f"{API}/orders/{order_id}", body=body, version=version))

    async def transition(self, order_id: int, to: str, note: str | None = None, version: int | None = None) -> Order:
        body: dict[str, Any] = {"to": to}
        if note:
            body["note"] = note
        return cast(
            Order, await self.request("POST", f"{API}/orders/{order_id}/transition", body=body, version=version)
        )

    async def notes(self, order_id: int, limit: int = 100) -> Page[Note]:
        return await self._page(f"{API}/orders/{order_id}/notes", {"limit": limit})

    async def add_note(self, order_id: int, body: str) -> Note:
        return cast(Note, await self.request("POST", f"{API}/orders/{order_id}/notes", body={"body": body}))

    async def history(self, order_id: int, limit: int = 100) -> Page[AuditEntry]:
        return await self._page(f"{API}/orders/{order_id}/history", {"limit": limit})

    # ---- assets, alerts -----------------------------------------------------------------------

    async def asset(self, asset_id: int) -> Asset:
        return cast(Asset, await self.request("GET", f"{API}/assets/{asset_id}"))

    async def readings(self, asset_id: int, meter: str | None = None, limit: int = 60) -> Page[Reading]:
        return await self._page(f"{API}/assets/{asset_id}/readings", {"meter": meter, "limit": limit})

    async def acknowledge(self, alert_id: int, version: int | None = None) -> Alert:
        return cast(Alert, await self.request("POST", f"{API}/alerts/{alert_id}/ack", version=version))

    async def resolve(self, alert_id: int, version: int | None = None) -> Alert:
        return cast(Alert, await self.request("POST", f"{API}/alerts/{alert_id}/resolve", version=version))

    # ---- search -------------------------------------------------------------------------------

    async def has_search(self) -> bool:
        """Does this server answer GET /api/v1/search? (404/405: the route does not exist)."""
        try:
            await self.request("GET", f"{API}/search", params={"q": "a", "type": "orders,assets"})
        except ApiError as exc:
            if exc.status in (404, 405):
                return False
            raise
        return True

    async def search(self, q: str) -> list[SearchHit]:
        data = await self.request("GET", f"{API}/search", params={"q": q, "type": "orders,assets"})
        return cast(list[SearchHit], data.get("items", []))

    # ---- jobs and KPIs -------------------------------------------------------------------------

    async def jobs(self, params: Params | None = None) -> Page[Job]:
        return await self._page(f"{API}/jobs", params)

    async def job(self, job_id: int) -> Job:
        return cast(Job, await self.request("GET", f"{API}/jobs/{job_id}"))

    async def start_job(self, kind: str, params: dict[str, Any]) -> Job:
        return cast(Job, await self.request("POST", f"{API}/jobs", body={"kind": kind, "params": params}))

    async def cancel_job(self, job_id: int) -> Job:
        """Cancel: a queued job at once, a running one at its next checkpoint (409 once finished)."""
        return cast(Job, await self.request("DELETE", f"{API}/jobs/{job_id}"))

    async def kpis(self, params: Params | None = None) -> Kpis:
        return cast(Kpis, await self.request("GET", f"{API}/kpis", params=params))

    async def download_result(self, job_id: int, folder: Path, prefix: str = "") -> Path:
        """Stream a completed job's result into `folder` under the server's file name (with `prefix`),
        never overwriting a file already there; returns where it was saved."""
        await self.ensure_fresh()
        url = f"{self.base_url}{API}/jobs/{job_id}/result"
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.tokens.access_token}"} if self.tokens.access_token else {}
            try:
                async with self._http().get(url, headers=headers, timeout=DOWNLOAD_TIMEOUT) as response:
                    if response.status == 401 and attempt == 0 and self.tokens.refresh_token:
                        await self.refresh(stale=self.tokens.access_token)
                        continue
                    if response.status >= 400:
                        raise await problem_of(response)
                    disposition = response.content_disposition
                    name = _safe_name(disposition.filename if disposition else None, f"job-{job_id}")
                    return await _save(response.content, folder, prefix + name)
            except (aiohttp.ClientConnectionError, TimeoutError, aiohttp.ClientPayloadError) as exc:
                raise Unreachable(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from exc
        raise SessionExpired(401, "Unauthorized", "the server refused a fresh token")

    # ---- files (streamed: cmms_tui/client_files.py) ---------------------------------------------

    async def attachments(self, parent: str, parent_id: int) -> list[Attachment]:
        """The files of an order or asset (`parent`: "orders" or "assets"), newest first."""
        return await self._all(f"{API}/{parent}/{parent_id}/attachments", cap=1000)

    async def upload_attachment(
        self, parent: str, parent_id: int, path: Path, progress: Progress | None = None
    ) -> Attachment:
        return await client_files.upload(self, parent, parent_id, path, progress)

    async def download_file(self, file_id: int, folder: Path, progress: Progress | None = None) -> Path:
        return await client_files.download(self, file_id, folder, progress)

    async def delete_file(self, file_id: int, version: int | None = None) -> None:
        await self.request("DELETE", f"{API}/files/{file_id}", version=version)

    # ---- events -------------------------------------------------------------------------------

    async def events(self, after: int, limit: int = 500) -> EventPage:
        """Replay after `after`; ApiError 410 when the server no longer holds all of them."""
        data = await self.request("GET", f"{API}/events", params={"after": after, "limit": limit})
        return EventPage(
            items=cast(list[Envelope], data.get("items", [])),
            next_cursor=data.get("next_cursor"),
            last_seq=int(data.get("last_seq", 0)),
        )

    async def current_seq(self) -> int:
        """The tenant's latest event number (replay from beyond the end returns only `last_seq`)."""
        return (await self.events(after=2**62, limit=1)).last_seq

    async def replay(self, after: int, page_size: int = 500) -> AsyncIterator[EventPage]:
        """Every page of events after `after`, following next_cursor."""
        while True:
            page = await self.events(after, page_size)
            yield page
            if not page.next_cursor:
                return
            after = int(page.next_cursor)
