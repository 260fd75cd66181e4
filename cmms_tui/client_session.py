"""The API client's authenticated HTTP session: sending requests, keeping the access token fresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import aiohttp

from cmms_tui.client_errors import SessionExpired, Unreachable, _problem
from cmms_tui.models import TokenPair, User

API = "/api/v1"
# Refresh this long before the access token expires, so a request never races its expiry.
REFRESH_MARGIN_S = 60.0
Params = Mapping[str, str | int | None]


class TokenKeeper(Protocol):
    """Where the refresh token lives between runs, shared by every console of this user."""

    def locked(self) -> AbstractAsyncContextManager[None]: ...

    def load_refresh_token(self) -> str | None: ...

    def save_refresh_token(self, token: str) -> None: ...


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


def _clean(params: Params | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}


class ApiSession:
    """Requests with the access token, refreshed once on 401; login, resume, refresh and logout."""

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
