"""Local fan-out that writes each event's frame once-built straight to upgraded websockets.

This is the one module that reaches into python-socketio, python-engineio and aiohttp internals
(`tests/unit/test_fanout_internals.py` pins every one of them, and `TESTED_WITH` the versions).

Why: Engine.IO's `send` puts every packet on a per-socket queue; the socket's writer task then
wakes, runs an `asyncio.wait_for` (a task of its own on Python 3.11), encodes the text to UTF-8
and frames it, for every socket and every event. An uncompressed server-to-client websocket
frame is the same bytes for every socket, so we build it once and write it to each transport
directly when nothing could be ahead of it on that socket; otherwise the packet takes Engine.IO's
own path, which keeps per-socket order. python-socketio stays the protocol implementation: rooms,
the handshake, pings, polling and upgrades are all its own.
"""

from __future__ import annotations

import struct
import time
from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as aiohttp_driver
from socketio import packet

# Versions whose internals this module was written and tested against (pinned in pyproject.toml).
TESTED_WITH = {"python-socketio": "5.18", "python-engineio": "4.15", "aiohttp": "3.14"}
_TEXT = 0x81  # FIN + text opcode, no RSV bits: an uncompressed, unmasked server frame


def text_frame(payload: bytes) -> bytes:
    """One complete websocket text frame (RFC 6455 5.2), as aiohttp's writer would build it."""
    n = len(payload)
    if n < 126:
        return bytes((_TEXT, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", _TEXT, 126, n) + payload
    return struct.pack("!BBQ", _TEXT, 127, n) + payload


class UncompressedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp WebSocket without per-message deflate, able to take direct writes.

    aiohttp compresses each frame for each socket when the client offers deflate (the JS client
    always does); declining it makes every socket's frame identical, which is what lets one
    built frame serve them all. The Engine.IO socket it serves points back at it while it lives.
    """

    async def __call__(self, environ: dict[str, Any]) -> Any:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        self._sending = False
        eio_socket = self.handler.__self__  # the handler is the Engine.IO socket's bound method
        eio_socket.cmms_websocket = self
        try:
            await self.handler(self)
        finally:
            eio_socket.cmms_websocket = None
        return self._sock

    async def send(self, message: str | bytes) -> None:
        # Engine.IO's writer task; while it is inside a send (e.g. waiting for a paused
        # transport to drain) a direct write would overtake the rest of its batch.
        self._sending = True
        try:
            await super().send(message)
        finally:
            self._sending = False

    def write_direct(self, eio_socket: Any, frame: bytes, now: float) -> bool:
        """Write `frame` now if nothing can be ahead of it on this socket; False: use the queue."""
        if (
            self._sending
            or eio_socket.queue._unfinished_tasks  # queued, or taken by the writer and not yet written
            or not eio_socket.upgraded
            or eio_socket.upgrading
            or eio_socket.closing
            or eio_socket.closed
        ):
            return False
        last_ping = eio_socket.last_ping
        if last_ping and now - last_ping > self.server.ping_timeout:
            return False  # Engine.IO's send closes a socket that stopped answering pings
        ws = self._sock
        writer = ws._writer
        if ws.closed or writer is None or writer._closing or writer.compress:
            return False
        transport = writer.transport
        if transport is None or transport.is_closing() or writer.protocol.writing_paused:
            return False
        transport.write(frame)
        return True


class DirectEmit(socketio.AsyncManager):  # type: ignore[misc]
    """Local delivery: the packet encoded once, written directly where it can be, else queued.

    No task per recipient either (python-socketio's manager creates one per socket per emit).
    `direct` and `queued` count deliveries by path, for tests and profiling.
    """

    direct = 0
    queued = 0

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        room = to or room
        namespace = namespace or "/"
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in parts]
        # Binary attachments take several Engine.IO packets; only a single text one is framed here.
        frame = text_frame(packets[0].encode().encode()) if len(packets) == 1 and isinstance(encoded, str) else None
        sockets = self.server.eio.sockets
        now = time.time()
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            if frame is not None:
                eio_socket = sockets.get(eio_sid)
                ws = getattr(eio_socket, "cmms_websocket", None)
                if ws is not None and ws.write_direct(eio_socket, frame, now):
                    self.direct += 1
                    continue
            self.queued += 1
            for pkt in packets:
                await self.server._send_eio_packet(eio_sid, pkt)


class FanoutRedisManager(socketio.AsyncRedisManager, DirectEmit):  # type: ignore[misc]
    """Cross-node delivery through Redis pub/sub; local delivery through `DirectEmit`.

    Method order puts `DirectEmit.emit` between the pub/sub manager and the base manager, so the
    pub/sub layer's local handling goes through it. Unlike `AsyncPubSubManager.emit`, which fans
    out locally first, this publishes first: the other nodes start while this one writes.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        payload = list(data) if isinstance(data, tuple) else [data]
        if callback is not None or kwargs.get("ignore_queue") or packet.Packet.data_is_binary(payload):
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        message = {
            "method": "emit",
            "event": event,
            "data": payload,
            "binary": False,
            "namespace": namespace or "/",
            "room": to or room,
            "skip_sid": skip_sid,
            "callback": None,
            "host_id": self.host_id,
        }
        await self._publish(message)  # other nodes first
        await self._handle_emit(message)  # then this one


def without_compression(sio: socketio.AsyncServer) -> None:
    """Serve every websocket (new, or upgraded from polling) through `UncompressedWebSocket`."""
    sio.eio._async = {**sio.eio._async, "websocket": UncompressedWebSocket}
