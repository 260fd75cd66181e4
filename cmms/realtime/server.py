"""Socket.IO on the daemon's port: JWT at connect, tenant/role/user rooms, server-to-client only.

Every node runs this; deliveries fan out through Redis (`AsyncRedisManager`), so a socket on any
node receives what the single outbox relay emits. Clients may send nothing that changes data:
their events are ignored, and a socket that floods is disconnected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from cmms.domain.errors import Unauthenticated
from cmms.domain.roles import Actor
from cmms.realtime.fanout import FanoutRedisManager, without_compression
from cmms.services import auth
from cmms.services.deps import Deps
from cmms.wire import dumps

log = logging.getLogger(__name__)
CONTROL_CHANNEL = "cmms:socket-control"


def rooms_for(tenant_id: int, audience: Iterable[str]) -> list[str]:
    """Map an event's audience ("tenant", "role:x", "user:n") onto Socket.IO room names."""
    rooms = []
    for item in audience:
        if item == "tenant":
            rooms.append(f"tenant:{tenant_id}")
        elif item.startswith("role:"):
            rooms.append(f"tenant:{tenant_id}:{item}")
        elif item.startswith("user:"):
            rooms.append(item)
    return rooms


@dataclass
class SocketSession:
    actor: Actor
    session_id: str
    expires_at: float
    window_start: float = field(default_factory=time.monotonic)
    packets: int = 0


class _JsonCodec:
    """python-socketio's json hook: our encoder (RFC 3339 'Z' timestamps), stdlib decoder."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return dumps(obj)

    @staticmethod
    def loads(text: str | bytes, **_: Any) -> Any:
        return json.loads(text)


class Realtime:
    def __init__(self, deps: Deps, redis_url: str, *, channel: str = "cmms-socketio", flood_limit: int = 20) -> None:
        self.deps = deps
        self.redis_url = redis_url
        self.flood_limit = flood_limit  # client packets per second before the socket is cut off
        self.sessions: dict[str, SocketSession] = {}
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=FanoutRedisManager(redis_url, channel=channel),
            cors_allowed_origins="*",
            max_http_buffer_size=64 * 1024,
            json=_JsonCodec,
            logger=False,
            engineio_logger=False,
        )
        without_compression(self.sio)
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("*", self._client_event)
        self._control: asyncio.Task[None] | None = None
        self._expiry: asyncio.Task[None] | None = None
        self.expiry_sweep = 15.0  # seconds between checks for expired tokens

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app, socketio_path="socket.io")
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)

    async def deliver(self, envelope: dict[str, Any], audience: list[str]) -> None:
        rooms = rooms_for(envelope["tenant_id"], audience)
        if rooms:
            await self.sio.emit(envelope["type"], envelope, to=rooms)

    async def emit_ephemeral(self, event: str, data: dict[str, Any], user_id: int) -> None:
        await self.sio.emit(event, data, to=f"user:{user_id}")

    async def end_sockets(self, selector: dict[str, Any]) -> None:
        """Disconnect, on every node, the sockets of a user or a session."""
        redis = Redis.from_url(self.redis_url)
        try:
            await redis.publish(CONTROL_CHANNEL, json.dumps(selector))
        except RedisError:
            log.warning("could not publish a socket disconnect; closing local sockets only")
            await self._end_local(selector)
        finally:
            await redis.aclose()

    async def _connect(self, sid: str, environ: dict[str, Any], auth_payload: Any) -> None:
        token = auth_payload.get("token") if isinstance(auth_payload, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("authentication required: send {token: <access token>}")
        try:
            claims = await auth.authenticate(self.deps, token, keys=False)
        except Unauthenticated as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.detail) from None
        actor = claims.actor
        self.sessions[sid] = SocketSession(actor=actor, session_id=claims.session_id, expires_at=claims.expires_at)
        for room in (
            f"tenant:{actor.tenant_id}",
            f"tenant:{actor.tenant_id}:role:{actor.role}",
            f"user:{actor.user_id}",
        ):
            await self.sio.enter_room(sid, room)

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self.sessions.pop(sid, None)

    async def _client_event(self, event: str, sid: str, *args: Any) -> None:
        """Clients change nothing over the socket; count their packets and cut off a flood."""
        session = self.sessions.get(sid)
        if session is None:
            return
        now = time.monotonic()
        if now - session.window_start >= 1.0:
            session.window_start, session.packets = now, 0
        session.packets += 1
        if session.packets > self.flood_limit:
            log.warning("socket flooding: disconnected", extra={"sid": sid, "user_id": session.actor.user_id})
            await self.sio.disconnect(sid)

    async def _end_local(self, selector: dict[str, Any]) -> None:
        for sid, session in list(self.sessions.items()):
            if selector.get("session_id") == session.session_id or (
                selector.get("user_id") is not None and selector.get("user_id") == session.actor.user_id
            ):
                await self.sio.disconnect(sid)

    async def _listen_control(self) -> None:
        while True:
            redis = Redis.from_url(self.redis_url)
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(CONTROL_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await self._end_local(json.loads(message["data"]))
            except (RedisError, OSError, ValueError):
                log.warning("socket control channel lost; reconnecting")
                await asyncio.sleep(1.0)
            finally:
                await redis.aclose()

    async def _expire(self) -> None:
        """Close sockets whose access token has expired; clients reconnect with a fresh one."""
        while True:
            await asyncio.sleep(self.expiry_sweep)
            now = time.time()
            for sid, session in list(self.sessions.items()):
                if session.expires_at <= now:
                    await self.sio.disconnect(sid)

    async def _start(self, app: web.Application) -> None:
        self._control = asyncio.create_task(self._listen_control())
        self._expiry = asyncio.create_task(self._expire())

    async def _stop(self, app: web.Application) -> None:
        for sid in list(self.sessions):
            await self.sio.disconnect(sid)
        for task in (self._control, self._expiry, getattr(self.sio.manager, "thread", None)):
            if isinstance(task, asyncio.Task):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        manager_redis = getattr(self.sio.manager, "redis", None)
        if manager_redis is not None:  # the pub/sub connection of the Redis manager
            await manager_redis.aclose()
