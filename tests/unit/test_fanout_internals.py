"""What cmms/realtime/fanout.py relies on inside python-socketio and python-engineio.

These names are private to the libraries; an upgrade that renames or reshapes them must fail
here, loudly, instead of silently bypassing the product's fan-out.
"""

from __future__ import annotations

import inspect

import socketio
from engineio.async_drivers import aiohttp as aiohttp_driver

from cmms.realtime.fanout import FanoutRedisManager, UncompressedWebSocket


def test_the_manager_keeps_its_attributes_and_the_server_its_packet_sender() -> None:
    manager = FanoutRedisManager("redis://127.0.0.1:1/0", channel="c", write_only=True)
    assert manager.channel == "c"
    assert callable(socketio.AsyncServer._send_eio_packet)
    assert [c.__name__ for c in FanoutRedisManager.__mro__[:3]] == [
        "FanoutRedisManager", "AsyncRedisManager", "AsyncPubSubManager"]  # fmt: skip


def test_the_websocket_driver_still_builds_its_response_in_call() -> None:
    assert issubclass(UncompressedWebSocket, aiohttp_driver.WebSocket)
    assert "WebSocketResponse" in inspect.getsource(aiohttp_driver.WebSocket.__call__)
