"""The HTTP side of a delivery: one POST with the contract's headers, bounded in time and size.

Names are checked after DNS resolution (a resolver that drops local and private addresses), IP
literals before connecting, redirects are never followed, and at most `max_response_bytes` of
an answer are read, so a receiver can neither reach inside the network nor hold a sender long.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from cmms.config import WebhookSettings
from cmms.domain import webhooks as rules

USER_AGENT = "cmms-webhooks/1"


class RefusedTarget(OSError):
    """The receiver's address is local or private and the installation does not allow that."""


class GuardedResolver(AbstractResolver):
    """Resolves with the default resolver, then keeps only public addresses."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if not rules.blocked_address(r["host"])]
        if not allowed:
            raise RefusedTarget(f"{host} resolves only to loopback, private or link-local addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def open_session(settings: WebhookSettings) -> aiohttp.ClientSession:
    resolver: AbstractResolver = DefaultResolver() if settings.allow_private_targets else GuardedResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, limit=0, ttl_dns_cache=60, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(
        total=settings.timeout, connect=settings.connect_timeout, sock_connect=settings.connect_timeout
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        # no cookies kept: one receiver must not influence the requests to another
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: float
    error: str | None
    response: str

    def as_row(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "response": self.response,
        }


def headers(secret: str, event: str, delivery_id: int, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CMMS-Event": event,
        "X-CMMS-Delivery": str(delivery_id),
        "X-CMMS-Timestamp": str(timestamp),
        "X-CMMS-Signature": rules.sign(secret, timestamp, body),
    }


async def post(
    session: aiohttp.ClientSession, settings: WebhookSettings, url: str, hdrs: dict[str, str], body: bytes
) -> Outcome:
    """Send once; never raises for the receiver's faults (they are the outcome's `error`)."""
    started = time.perf_counter()

    def took() -> float:
        return round((time.perf_counter() - started) * 1000, 2)

    if not settings.allow_private_targets and rules.private_target(url):
        return Outcome(None, took(), "refused: the URL names a loopback, private or link-local address", "")
    try:
        async with session.post(url, data=body, headers=hdrs, allow_redirects=False) as resp:
            kept = await _read_limited(resp, settings.keep_response_bytes, settings.max_response_bytes)
            error = None
            if 300 <= resp.status < 400:
                error = f"redirect to {resp.headers.get('Location', '?')} not followed"
            elif not 200 <= resp.status < 300:
                error = f"HTTP {resp.status}"
            return Outcome(resp.status, took(), error, kept)
    except TimeoutError:
        return Outcome(
            None, took(), f"timed out (connect {settings.connect_timeout} s, total {settings.timeout} s)", ""
        )
    except RefusedTarget as exc:
        return Outcome(None, took(), f"refused: {exc}", "")
    except aiohttp.ClientConnectorError as exc:
        cause = exc.os_error
        if isinstance(cause, RefusedTarget):
            return Outcome(None, took(), f"refused: {cause}", "")
        return Outcome(None, took(), f"cannot connect: {cause}", "")
    except (aiohttp.ClientError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        return Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:500], "")


async def _read_limited(resp: aiohttp.ClientResponse, keep: int, limit: int) -> str:
    """The first `keep` bytes of the answer; reading stops after `limit` (the rest is dropped)."""
    kept = bytearray()
    read = 0
    while read < limit:
        chunk = await resp.content.read(min(16_384, limit - read))
        if not chunk:
            break
        read += len(chunk)
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
    if read >= limit:
        resp.close()  # a receiver sending more is cut off instead of read to its end
    return kept.decode("utf-8", "replace")
