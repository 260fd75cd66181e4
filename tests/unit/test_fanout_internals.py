"""What cmms/realtime/fanout.py relies on inside python-socketio, python-engineio and aiohttp.

These names are private to the libraries; an upgrade that renames or reshapes them must fail
here, loudly, instead of silently bypassing (or worse, reordering) the product's fan-out.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version
from typing import Any

import engineio
import pytest
import socketio
from aiohttp import WSMsgType
from aiohttp._websocket.writer import WebSocketWriter
from aiohttp.base_protocol import BaseProtocol
from aiohttp.web import WebSocketResponse
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as aiohttp_driver
from engineio.async_socket import AsyncSocket
from socketio.async_pubsub_manager import AsyncPubSubManager

from cmms.realtime.fanout import TESTED_WITH, DirectEmit, FanoutRedisManager, UncompressedWebSocket, text_frame


@pytest.mark.parametrize("dist", sorted(TESTED_WITH))
def test_the_installed_versions_are_the_ones_the_fan_out_was_tested_with(dist: str) -> None:
    assert version(dist).startswith(TESTED_WITH[dist] + "."), (
        f"{dist} {version(dist)} is installed; cmms/realtime/fanout.py was written against {TESTED_WITH[dist]}.x: "
        "re-check every internal named in this file, then move TESTED_WITH and the pin in pyproject.toml"
    )


def test_the_manager_keeps_its_attributes_and_the_server_its_packet_sender() -> None:
    manager = FanoutRedisManager("redis://127.0.0.1:1/0", channel="c", write_only=True)
    assert manager.channel == "c"
    assert isinstance(manager.host_id, str)
    assert callable(socketio.AsyncServer._send_eio_packet)
    assert [c.__name__ for c in FanoutRedisManager.__mro__[:5]] == [
        "FanoutRedisManager", "AsyncRedisManager", "AsyncPubSubManager", "DirectEmit", "AsyncManager"]  # fmt: skip


def test_the_pub_sub_manager_still_builds_and_handles_the_message_we_publish() -> None:
    """FanoutRedisManager.emit builds AsyncPubSubManager's message itself, to publish it first."""
    source = inspect.getsource(AsyncPubSubManager.emit)
    for key in ("method", "event", "data", "binary", "namespace", "room", "skip_sid", "callback", "host_id"):
        assert f"'{key}'" in source, key
    handle = inspect.getsource(AsyncPubSubManager._handle_emit)
    assert "super().emit(" in handle and "message['data']" in handle
    assert "ignore_queue=ignore_queue" in inspect.getsource(socketio.AsyncServer.emit)


async def test_the_redis_manager_publishes_before_it_delivers_locally() -> None:
    manager = FanoutRedisManager("redis://127.0.0.1:1/0", channel="c", write_only=True)
    calls: list[tuple[str, dict[str, Any]]] = []

    async def publish(message: dict[str, Any]) -> None:
        calls.append(("publish", message))

    async def local(message: dict[str, Any]) -> None:
        calls.append(("local", message))

    manager._publish, manager._handle_emit = publish, local
    await manager.emit("order:created", {"seq": 1}, "/", room=["a", "b"], ignore_queue=False)
    assert [name for name, _ in calls] == ["publish", "local"]
    assert calls[0][1] == {
        "method": "emit", "event": "order:created", "data": [{"seq": 1}], "binary": False, "namespace": "/",
        "room": ["a", "b"], "skip_sid": None, "callback": None, "host_id": manager.host_id}  # fmt: skip


def test_the_websocket_driver_still_builds_its_response_in_call() -> None:
    assert issubclass(UncompressedWebSocket, aiohttp_driver.WebSocket)
    assert "WebSocketResponse" in inspect.getsource(aiohttp_driver.WebSocket.__call__)
    assert list(inspect.signature(aiohttp_driver.WebSocket.__init__).parameters) == ["self", "handler", "server"]
    assert "send_str" in inspect.getsource(aiohttp_driver.WebSocket.send)
    assert "_async" in vars(engineio.AsyncServer()) and "websocket" in engineio.AsyncServer()._async


def test_the_engineio_socket_hands_itself_to_the_websocket_and_writes_through_poll() -> None:
    """The direct path is safe only if the writer task takes packets in poll() and writes them at once."""
    upgrade = inspect.getsource(AsyncSocket._upgrade_websocket)
    assert "self._websocket_handler, self.server" in upgrade and "self.server._async['websocket']" in upgrade
    handler = inspect.getsource(AsyncSocket._websocket_handler)
    assert "packets = await self.poll()" in handler
    assert "for pkt in packets:\n                        await ws.send(pkt.encode())" in handler
    poll = inspect.getsource(AsyncSocket.poll)
    assert "self.queue.get()" in poll and "self.queue.task_done()" in poll
    send = inspect.getsource(AsyncSocket.send)
    assert "check_ping_timeout" in send and "self.queue.put(pkt)" in send
    assert "self.server.ping_timeout" in inspect.getsource(AsyncSocket.check_ping_timeout)
    assert "self.sockets[sid]" in inspect.getsource(engineio.AsyncServer._get_socket)


async def test_a_socket_keeps_the_flags_and_the_queue_count_the_direct_path_reads() -> None:
    server = engineio.AsyncServer(async_mode="aiohttp")
    sock = AsyncSocket(server, "sid")
    for name in ("upgraded", "upgrading", "closing", "closed"):
        assert getattr(sock, name) is False, name
    assert isinstance(sock.last_ping, float) and isinstance(server.ping_timeout, int | float)
    assert isinstance(sock.queue, asyncio.Queue)
    assert sock.queue._unfinished_tasks == 0
    await sock.queue.put("p")
    sock.queue.get_nowait()
    assert sock.queue._unfinished_tasks == 1  # taken from the queue, not yet done: still counted
    sock.queue.task_done()
    assert sock.queue._unfinished_tasks == 0


async def test_aiohttp_keeps_the_writer_state_the_direct_path_reads() -> None:
    assert WebSocketResponse._writer is None and WebSocketResponse.closed.fget is not None  # type: ignore[attr-defined]
    writer = WebSocketWriter(BaseProtocol(asyncio.get_running_loop()), _Transport())  # type: ignore[arg-type]
    assert writer._closing is False and writer.compress == 0 and writer.use_mask is False
    assert writer.protocol.writing_paused is False
    assert "self.transport.write(header + message)" in inspect.getsource(WebSocketWriter._write_websocket_frame)
    assert WebSocketResponse(compress=False).compress is False


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536, 70_000])
async def test_the_built_frame_is_the_frame_aiohttp_writes(size: int) -> None:
    transport = _Transport()
    protocol = BaseProtocol(asyncio.get_running_loop())
    writer = WebSocketWriter(protocol, transport)  # type: ignore[arg-type]
    payload = ("é" * size).encode()[:size]
    await writer.send_frame(payload, WSMsgType.TEXT)
    assert b"".join(transport.written) == text_frame(payload)


def test_an_engineio_message_packet_is_4_and_the_socketio_packet() -> None:
    encoded = socketio.packet.Packet(socketio.packet.EVENT, namespace="/", data=["e", {"a": 1}]).encode()
    assert encoded == '2["e",{"a":1}]'
    assert eio_packet.Packet(eio_packet.MESSAGE, encoded).encode() == '42["e",{"a":1}]'


def test_direct_emit_is_a_socketio_manager() -> None:
    assert issubclass(DirectEmit, socketio.AsyncManager)
    assert "_fwdm" in inspect.getsource(socketio.AsyncManager.get_participants)


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False
