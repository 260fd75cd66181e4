"""The direct websocket write on a real socket: per-socket order, the fallbacks, no deflate.

A bare python-socketio server with the product's `DirectEmit` manager and websocket driver, on a
loopback port; the client is aiohttp's websocket client speaking Engine.IO v4 by hand (so each
frame and its extension header are visible) or python-socketio's `AsyncClient` over polling
upgraded to websocket. No PostgreSQL or Redis: this is the fan-out module alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from cmms.realtime.fanout import DirectEmit, without_compression

WAIT = 5.0  # seconds a frame may take on a loaded machine


@dataclass
class Bench:
    sio: socketio.AsyncServer
    manager: DirectEmit
    url: str
    http: aiohttp.ClientSession

    def eio_socket(self) -> Any:
        (sock,) = self.sio.eio.sockets.values()
        return sock


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    manager = DirectEmit()
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, logger=False, engineio_logger=False)
    without_compression(sio)

    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        await sio.enter_room(sid, "room")

    sio.on("connect", connect)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        yield Bench(sio, manager, f"http://127.0.0.1:{port}", http)
        for sid in list(sio.manager.get_participants("/", "room")):
            await sio.disconnect(sid[0])
    await runner.cleanup()


async def _open(bench: Bench) -> aiohttp.ClientWebSocketResponse:
    """An Engine.IO v4 websocket connected to namespace '/', offering permessage-deflate."""
    ws = await bench.http.ws_connect(f"{bench.url}/socket.io/?EIO=4&transport=websocket", compress=15)
    assert (await ws.receive_str(timeout=WAIT)).startswith("0{")
    await ws.send_str("40")
    assert (await ws.receive_str(timeout=WAIT)).startswith("40{")
    return ws


async def _events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[list[Any]]:
    events = []
    while len(events) < count:
        text = await ws.receive_str(timeout=WAIT)
        if text.startswith("42"):
            events.append(json.loads(text[2:]))
    return events


async def test_a_websocket_gets_no_deflate_even_when_the_client_offers_it(bench: Bench) -> None:
    ws = await _open(bench)
    assert ws.compress == 0
    assert bench.eio_socket().cmms_websocket._sock.compress == 0
    await ws.close()


async def test_an_emit_to_an_idle_websocket_is_written_directly(bench: Bench) -> None:
    ws = await _open(bench)
    await bench.sio.emit("e", {"n": 1, "text": "é" * 200}, to="room")
    assert (bench.manager.direct, bench.manager.queued) == (1, 0)
    assert bench.eio_socket().queue._unfinished_tasks == 0  # Engine.IO's queue never saw it
    assert await _events(ws, 1) == [["e", {"n": 1, "text": "é" * 200}]]
    await ws.close()


@pytest.mark.parametrize("yields", range(8))
async def test_a_queued_packet_followed_by_a_direct_write_arrives_in_order(bench: Bench, yields: int) -> None:
    """Each loop turn leaves Engine.IO's writer at another step between taking the packet and writing it."""
    ws = await _open(bench)
    sock = bench.eio_socket()
    for n in range(5):
        await bench.sio._send_packet(sock.sid, bench.sio.packet_class(socketio.packet.EVENT, data=["queued", n]))
        for _ in range(yields):
            await asyncio.sleep(0)
        await bench.sio.emit("direct", n, to="room")
    assert await _events(ws, 10) == [[name, n] for n in range(5) for name in ("queued", "direct")]
    if yields == 0:
        assert bench.manager.queued == 5  # the queued packet was still there: every emit fell back
    await asyncio.sleep(0.05)  # the writer has caught up
    await bench.sio.emit("direct", 5, to="room")
    assert bench.manager.direct >= 1
    assert await _events(ws, 1) == [["direct", 5]]
    await ws.close()


async def test_a_paused_transport_falls_back_to_the_queue(bench: Bench) -> None:
    ws = await _open(bench)
    protocol = bench.eio_socket().cmms_websocket._sock._writer.protocol
    protocol.pause_writing()
    await bench.sio.emit("e", 1, to="room")
    assert (bench.manager.direct, bench.manager.queued) == (0, 1)
    protocol.resume_writing()
    assert await _events(ws, 1) == [["e", 1]]
    await ws.close()


async def test_a_python_socketio_client_upgraded_from_polling_receives_direct_writes(bench: Bench) -> None:
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[Any] = asyncio.Queue()
    client.on("e", received.put)
    await client.connect(bench.url, transports=["polling", "websocket"], wait_timeout=WAIT)
    try:
        for _ in range(100):  # the upgrade completes in the background
            if client.transport() == "websocket" and bench.eio_socket().upgraded:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        for n in range(3):
            await bench.sio.emit("e", {"n": n}, to="room")
        assert [await asyncio.wait_for(received.get(), WAIT) for _ in range(3)] == [{"n": n} for n in range(3)]
        assert bench.manager.direct >= 1
    finally:
        await client.disconnect()
