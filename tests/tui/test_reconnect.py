"""Reconnect with backoff, replay what was missed, reload when replay is impossible; the header tells
the truth meanwhile (reconnecting with a countdown, data possibly stale)."""

from __future__ import annotations

import uuid
from pathlib import Path

from cmms_tui.live import Phase
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, view, wait_for


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def test_a_network_cut_is_shown_and_replay_fills_the_table(server: Server, tmp_path: Path) -> None:
    existing = server.call("manager", "POST", "/api/v1/orders", {"title": unique("before the cut")})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        orders = view(app, "orders")
        await wait_for(pilot, lambda: existing["id"] in orders.table.models)
        server.proxy.cut()
        try:
            await wait_for(pilot, lambda: app.conn is not None and not app.conn.live, what="the loss to show")
            await wait_for(pilot, lambda: "reconnecting" in screen_text(app) or "connecting" in screen_text(app))
            text = screen_text(app)
            assert "down since" in text and "data may be stale" in text and "may be stale" in text

            created = server.call("manager", "POST", "/api/v1/orders", {"title": unique("made while away")})
            renamed = unique("renamed while away")
            server.call("manager", "PATCH", f"/api/v1/orders/{existing['id']}", {"title": renamed})
            await pilot.pause(0.5)
            assert created["id"] not in orders.table.models  # nothing arrives while cut off
        finally:
            server.proxy.restore()
        await wait_for(pilot, lambda: app.conn is not None and app.conn.live, 15, "reconnected")
        await wait_for(pilot, lambda: created["id"] in orders.table.models, what="the replayed insert")
        assert orders.table.models[existing["id"]]["title"] == renamed
        assert app.live is not None and app.live.replayed >= 2
        assert "data may be stale" not in screen_text(app)


async def test_the_console_survives_a_daemon_restart(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        server.stop()  # SIGTERM
        try:
            await wait_for(pilot, lambda: app.conn is not None and app.conn.phase != Phase.CONNECTED, 20)
            await wait_for(pilot, lambda: "data may be stale" in screen_text(app))
        finally:
            server.start()
        await wait_for(pilot, lambda: app.conn is not None and app.conn.live, 20, "reconnected after restart")
        created = server.call("manager", "POST", "/api/v1/orders", {"title": unique("after the restart")})
        orders = view(app, "orders")
        await wait_for(pilot, lambda: created["id"] in orders.table.models, what="live again")


async def test_when_replay_is_impossible_everything_reloads(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        orders = view(app, "orders")
        server.proxy.cut()
        try:
            await wait_for(pilot, lambda: app.conn is not None and not app.conn.live)
            created = server.call("manager", "POST", "/api/v1/orders", {"title": unique("past retention")})
            tenant = server.call("manager", "GET", "/api/v1/me")["tenant"]["id"]
            server.sql("DELETE FROM outbox WHERE tenant_id = %s", (tenant,))  # as if retention dropped them
        finally:
            server.proxy.restore()
        await wait_for(pilot, lambda: app.conn is not None and app.conn.live, 15, "reconnected")
        await wait_for(pilot, lambda: created["id"] in orders.table.models, what="the reload")
        await wait_for(pilot, lambda: "Reloaded:" in screen_text(app), what="the notice")
