"""A small typed HTTP client for the CMMS API (aiohttp).

It keeps the access token fresh: a request that gets 401 refreshes once and retries, and refreshes
are serialised (in this process by a lock, across processes by the optional `TokenKeeper`) because
the server treats a refresh token presented twice as theft and revokes the whole session.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

import aiohttp

from cmms_tui import client_files
from cmms_tui.client_files import Attachment, Progress
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
    TokenPair,
    User,
)

API = "/api/v1"
# Refresh this long before the access token expires, so a request never races its expiry.
REFRESH_MARGIN_S = 60.0
Params = Mapping[str, str | int | None]
T = TypeVar("T")
# Downloads may be large: no overall limit, but a stalled transfer still ends.
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=60.0)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """A problem document (RFC 9457) returned by the server."""

    def __init__(self, status: int, title: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    def by_field(self) -> dict[str, str]:
        """Messages keyed by the first segment of the field path (`readings.0.meter` -> `readings`)."""
        out: dict[str, str] = {}
        for err in self.errors:
            out.setdefault(err.field.split(".")[0], err.message)
        return out


class SessionExpired(ApiError):
    """The refresh token is no longer accepted: the user must log in again."""


class Unreachable(Exception):
    """The server could not be reached (connection refused, DNS, timeout)."""


class TokenKeeper(Protocol):
    """Where the refresh token lives between runs, shared by every console of this user."""

    def locked(self) -> AbstractAsyncContextManager[None]: ...

    def load_refresh_token(self) -> str | None: ...

    def save_refresh_token(self, token: str) -> None: ...


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass
class EventPage:
    items: list[Envelope]
    next_cursor: str | None
    last_seq: int


@dataclass
class Tokens:
    access_token: str = ""
    refresh_token: str = ""
    expires_at: float = 0.0  # time.monotonic()
    user: User | None = field(default=None)

    def set(self, pair: TokenPair) -> None:
        self.access_token = pair["access_token"]
        self.refresh_token = pair["refresh_token"]
        self.expires_at = time.monotonic() + float(pair["expires_in"])
        self.user = pair["user"]


def _problem(status: int, body: Any) -> ApiError:
    if isinstance(body, dict):
        errors = [
            FieldError(str(e.get("field") or ""), str(e.get("message") or ""))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        return ApiError(status, str(body.get("title", "Error")), str(body.get("detail", "")), errors)
    return ApiError(status, "Error", str(body)[:200] if body else f"HTTP {status}")


async def problem_of(response: aiohttp.ClientResponse) -> ApiError:
    """The error of a streamed answer (downloads, uploads): read as the JSON calls read theirs."""
    raw = await response.read()
    body: Any = raw.decode(errors="replace")
    if "json" in response.headers.get("Content-Type", ""):
        body = await response.json(content_type=None)
    error = _problem(response.status, body)
    if response.status == 401:
        return SessionExpired(error.status, error.title, error.detail, error.errors)
    return error


def _clean(params: Params | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}


class ApiClient:
    def __init__(self, base_url: str, *, keeper: TokenKeeper | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.keeper = keeper
        self.tokens = Tokens()
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=5.0)
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = asyncio.Lock()

    # ---- plumbing -----------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> tuple[int, Any, Mapping[str, str]]:
        all_headers = dict(headers or {})
        if auth and self.tokens.access_token:
            all_headers["Authorization"] = f"Bearer {self.tokens.access_token}"
        try:
            async with self._http().request(
                method,
                self.base_url + path,
                params=_clean(params),
                json=body,
                headers=all_headers,
            ) as response:
                raw = await response.read()
                content_type = response.headers.get("Content-Type", "")
                data: Any = None
                if raw and "json" in content_type:
                    data = await response.json(content_type=None)
                elif raw:
                    data = raw.decode(errors="replace")
                return response.status, data, response.headers
        except (aiohttp.ClientConnectionError, TimeoutError, aiohttp.ClientPayloadError) as exc:
            raise Unreachable(f"cannot reach {self.base_url}: {exc or type(exc).__name__}") from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        version: int | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one request; refresh the access token once on 401; raise ApiError on a problem."""
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        if auth:
            await self.ensure_fresh()
        status, data, _ = await self._send(method, path, params=params, body=body, headers=headers, auth=auth)
        if status == 401 and auth and self.tokens.refresh_token:
            await self.refresh(stale=self.tokens.access_token)
            status, data, _ = await self._send(method, path, params=params, body=body, headers=headers)
        if status >= 400:
            error = _problem(status, data)
            if status == 401 and auth:
                raise SessionExpired(error.status, error.title, error.detail, error.errors)
            raise error
        return data

    # ---- session ------------------------------------------------------------------------------

    async def login(self, tenant: str, email: str, password: str) -> TokenPair:
        pair = cast(
            TokenPair,
            await self.request(
                "POST", f"{API}/auth/login", body={"tenant": tenant, "email": email, "password": password}, auth=False
            ),
        )
        self.tokens.set(pair)
        if self.keeper is not None:
            async with self.keeper.locked():
                self.keeper.save_refresh_token(pair["refresh_token"])
        return pair

    async def resume(self, refresh_token: str) -> TokenPair:
        """Start from a saved refresh token (raises SessionExpired when it is no longer valid)."""
        self.tokens.refresh_token = refresh_token
        return await self.refresh(force=True)

    async def ensure_fresh(self) -> None:
        if self.tokens.refresh_token and time.monotonic() > self.tokens.expires_at - REFRESH_MARGIN_S:
            await self.refresh(stale=self.tokens.access_token)

    async def refresh(self, *, stale: str | None = None, force: bool = False) -> TokenPair:
        async with self._refresh_lock:
            if not force and stale is not None and self.tokens.access_token != stale and self.tokens.user:
                # Another task refreshed while this one waited.
                return {
                    "access_token": self.tokens.access_token,
                    "refresh_token": self.tokens.refresh_token,
                    "expires_in": int(self.tokens.expires_at - time.monotonic()),
                    "user": self.tokens.user,
                }
            if self.keeper is None:
                return await self._rotate()
            async with self.keeper.locked():
                saved = self.keeper.load_refresh_token()
                if saved and saved != self.tokens.refresh_token:
                    self.tokens.refresh_token = saved  # another console already rotated it
                pair = await self._rotate()
                self.keeper.save_refresh_token(pair["refresh_token"])
                return pair

    async def _rotate(self) -> TokenPair:
        status, data, _ = await self._send(
            "POST", f"{API}/auth/refresh", body={"refresh_token": self.tokens.refresh_token}, auth=False
        )
        if status >= 400:
            error = _problem(status, data)
            if status in (401, 422):
                raise SessionExpired(error.status, error.title, error.detail, error.errors)
            raise error
        pair = cast(TokenPair, data)
        self.tokens.set(pair)
        return pair

    async def logout(self) -> None:
        """Revoke the session on the server (best effort) and forget the tokens."""
        try:
            if self.tokens.access_token:
                await self._send("POST", f"{API}/auth/logout", body={"refresh_token": self.tokens.refresh_token})
        finally:
            self.tokens = Tokens()

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


def _safe_name(name: str | None, fallback: str) -> str:
    """Only the last part of a server-given file name: it may not climb out of the folder."""
    base = Path(name or "").name.strip().lstrip(".")
    return base or fallback


def _free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `stem (2).ext` and so on when that file exists already."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = folder / f"{stem} ({n}){suffix}"
        n += 1
    return path


async def _save(content: aiohttp.StreamReader, folder: Path, name: str) -> Path:
    """Write under a temporary name, then rename: a broken transfer leaves no half file behind."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    temp = folder / f".{name}.{os.getpid()}.part"
    out = await asyncio.to_thread(temp.open, "wb")
    try:
        async for chunk in content.iter_chunked(1 << 16):
            await asyncio.to_thread(out.write, chunk)
    except BaseException:
        out.close()
        temp.unlink(missing_ok=True)
        raise
    out.close()
    final = _free_path(folder, name)
    await asyncio.to_thread(os.replace, temp, final)
    return final
