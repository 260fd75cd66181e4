"""Local fan-out without a task per socket.

python-socketio's manager creates one asyncio task per recipient for every emit; with a thousand
sockets that scheduling dominates delivery time. Handing the already-encoded packet to each
socket's send queue in a plain loop does the same work without the tasks: Engine.IO's `send`
only enqueues, and each socket's own writer task puts it on the wire.
"""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as aiohttp_driver
from socketio import packet


class _DirectEmit(socketio.AsyncManager):  # type: ignore[misc]
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
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
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            for frame in frames:
                await self.server._send_eio_packet(eio_sid, frame)


class FanoutRedisManager(socketio.AsyncRedisManager, _DirectEmit):  # type: ignore[misc]
    """Cross-node delivery through Redis pub/sub; local delivery through `_DirectEmit`.

    Method order puts `_DirectEmit.emit` between the pub/sub manager and the base manager, so the
    pub/sub layer still publishes to every node and only the local delivery changes.
    """


class UncompressedWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp WebSocket without per-message deflate.

    aiohttp compresses each frame for each socket; with a thousand sockets, zlib on every
    delivery of a small JSON envelope cost a tenth of the server's time and bought little.
    """

    async def __call__(self, environ: dict[str, Any]) -> Any:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(max_msg_size=self.server.max_http_buffer_size, compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def without_compression(sio: socketio.AsyncServer) -> None:
    sio.eio._async = {**sio.eio._async, "websocket": UncompressedWebSocket}
