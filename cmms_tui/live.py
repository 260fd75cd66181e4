"""Live events: a Socket.IO connection that reconnects with backoff and replays what it missed.

After every connect it asks GET /api/v1/events?after=<last seq> (following next_cursor) before it
reports itself connected, so the console's tables are exact; live events arriving meanwhile are held
and delivered after the replay, and anything at or below the last seq is dropped as a duplicate.
When the server can no longer replay (410), it asks the console to reload everything. Ephemeral
events (job:progress) carry no seq and pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import socketio

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError, SessionExpired, Unreachable
from cmms_tui.models import Envelope

log = logging.getLogger(__name__)


class Phase(StrEnum):
    CONNECTING = "connecting"
    SYNCING = "syncing"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


@dataclass(frozen=True)
class ConnState:
    phase: Phase
    since: datetime  # connected since, or down since
    next_try_at: float | None = None  # time.monotonic() of the next attempt while reconnecting
    detail: str = ""

    @property
    def live(self) -> bool:
        return self.phase == Phase.CONNECTED

    def retry_in(self, now: float | None = None) -> int | None:
        if self.next_try_at is None:
            return None
        return max(0, round(self.next_try_at - (time.monotonic() if now is None else now)))


@dataclass(frozen=True)
class LiveEvent:
    type: str
    data: dict[str, Any]
    seq: int | None
    replayed: bool
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class Backoff:
    """Exponential delays with jitter: 0.5 s, 1 s, 2 s … up to `cap`."""

    first: float = 0.5
    cap: float = 30.0
    jitter: float = 0.2
    attempt: int = 0

    def next(self) -> float:
        delay: float = min(self.cap, self.first * 2.0**self.attempt)
        self.attempt += 1
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        self.attempt = 0


def _now() -> datetime:
    return datetime.now(UTC)


class LiveEvents:
    def __init__(
        self,
        api: ApiClient,
        *,
        on_event: Callable[[LiveEvent], None],
        on_state: Callable[[ConnState], None],
        on_reload: Callable[[], None],
        last_seq: int = 0,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = _now,
        page_size: int = 500,
    ) -> None:
        self.api = api
        self.on_event = on_event
        self.on_state = on_state
        self.on_reload = on_reload
        self.last_seq = last_seq
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.page_size = page_size
        self.state = ConnState(Phase.CONNECTING, clock())
        self.replayed = 0  # events delivered by replay since start (shown in the help screen, used by tests)
        self._sio: socketio.AsyncClient | None = None
        self._lost = asyncio.Event()
        self._stopped = False
        self._stop_requested = asyncio.Event()
        self._syncing = False
        self._held: list[Envelope] = []
        self._refused: str | None = None

    # ---- public -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, replay, stay connected; on loss wait (backoff) and start again. Until stop()."""
        down_since = self.clock()
        try:
            while not self._stopped:
                self._set(ConnState(Phase.CONNECTING, down_since))
                try:
                    await self._connect()
                    self._set(ConnState(Phase.SYNCING, down_since))
                    await self._catch_up()
                except SessionExpired as exc:
                    await self._drop()
                    self._set(ConnState(Phase.OFFLINE, down_since, detail=f"session ended: {exc.detail}"))
                    return
                except (Unreachable, ApiError, socketio.exceptions.SocketIOError, OSError, TimeoutError) as exc:
                    await self._drop()
                    await self._wait_retry(down_since, self._refused or str(exc) or type(exc).__name__)
                    continue
                self.backoff.reset()
                self._set(ConnState(Phase.CONNECTED, self.clock()))
                await self._lost.wait()
                await self._drop()
                if self._stopped:
                    break
                down_since = self.clock()
                await self._wait_retry(down_since, "connection lost")
        finally:
            await self._drop()
            if self._stopped:
                self._set(ConnState(Phase.OFFLINE, self.clock(), detail="stopped"))

    async def stop(self) -> None:
        self._stopped = True
        self._stop_requested.set()
        self._lost.set()
        await self._drop()

    # ---- internals ----------------------------------------------------------------------------

    def _set(self, state: ConnState) -> None:
        self.state = state
        self.on_state(state)

    async def _wait_retry(self, down_since: datetime, reason: str) -> None:
        delay = self.backoff.next()
        self._set(ConnState(Phase.RECONNECTING, down_since, time.monotonic() + delay, detail=reason))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), delay)

    async def _auth(self) -> dict[str, str]:
        await self.api.ensure_fresh()
        return {"token": self.api.tokens.access_token}

    async def _connect(self) -> None:
        self._lost = asyncio.Event()
        self._refused = None
        sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        sio.on("disconnect", self._on_disconnect)
        sio.on("connect_error", self._on_connect_error)
        sio.on("*", self._on_any)
        self._sio = sio
        self._syncing = True
        self._held = []
        try:
            await sio.connect(
                self.api.base_url, auth=self._auth, transports=["websocket"], socketio_path="socket.io", wait_timeout=10
            )
        except socketio.exceptions.ConnectionError:
            if self._refused is not None and _about_credentials(self._refused):
                # The server refused the token: get a new pair (SessionExpired ends the loop).
                await self.api.refresh(force=True)
            raise
        if self._refused is not None:
            raise socketio.exceptions.ConnectionError(self._refused)

    async def _catch_up(self) -> None:
        """Replay after last_seq, then release the events that arrived live meanwhile."""
        try:
            async for page in self.api.replay(self.last_seq, self.page_size):
                for envelope in page.items:
                    self._deliver(envelope, replayed=True)
                if page.next_cursor is None:
                    self.last_seq = max(self.last_seq, page.last_seq)
        except ApiError as exc:
            if exc.status != 410:
                raise
            self.last_seq = await self.api.current_seq()
            self.on_reload()
        held, self._held, self._syncing = self._held, [], False
        for envelope in sorted(held, key=lambda e: e.get("seq", 0)):
            self._deliver(envelope, replayed=False)

    def _deliver(self, envelope: Envelope, *, replayed: bool) -> None:
        seq = envelope.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                return
            self.last_seq = seq
        if replayed:
            self.replayed += 1
        data = envelope.get("data")
        self.on_event(
            LiveEvent(type=envelope["type"], data=data if isinstance(data, dict) else {}, seq=seq, replayed=replayed)
        )

    async def _drop(self) -> None:
        sio, self._sio = self._sio, None
        if sio is not None:
            with contextlib.suppress(Exception):
                await sio.disconnect()

    # ---- socket handlers ----------------------------------------------------------------------

    async def _on_any(self, event: str, payload: Any = None) -> None:
        if isinstance(payload, dict) and "type" in payload and "data" in payload:
            envelope: Envelope = payload  # type: ignore[assignment]
        else:
            envelope = {"type": event, "data": payload if isinstance(payload, dict) else {}}
        if self._syncing and envelope.get("seq") is not None:
            self._held.append(envelope)
        else:
            self._deliver(envelope, replayed=False)

    async def _on_disconnect(self, reason: Any = None) -> None:
        self._lost.set()

    async def _on_connect_error(self, data: Any = None) -> None:
        message = data.get("message") if isinstance(data, dict) else data
        self._refused = f"refused: {message}" if message else "connection refused"


def _about_credentials(reason: str) -> bool:
    return any(word in reason for word in ("token", "session", "expired", "authentication"))
