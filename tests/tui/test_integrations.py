"""Integrations: a manager sees the tenant's webhooks live, opens one's delivery log with its
attempts, redelivers a delivery and switches the webhook off."""

from __future__ import annotations

import uuid
from pathlib import Path

from cmms_tui.screens.webhook_deliveries import DeliveriesScreen
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, view, wait_for


async def test_webhooks_their_deliveries_and_a_redelivery(server: Server, tmp_path: Path) -> None:
    url = f"https://hooks.example.invalid/tui-{uuid.uuid4().hex[:8]}"
    hook = server.call("manager", "POST", "/api/v1/webhooks", {"url": url, "events": ["order:created"]})
    server.call("manager", "POST", "/api/v1/orders", {"title": "For the webhook"})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        assert app.view_allowed("integrations")
        await app.action_view("integrations")
        hooks = view(app, "integrations")
        await wait_for(pilot, lambda: hook["id"] in hooks.table.models, what="the webhook row")
        await wait_for(pilot, lambda: url in screen_text(app), what="the URL painted")
        hooks.table.move_cursor(row=hooks.table.get_row_index(str(hook["id"])))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeliveriesScreen), what="the delivery log")
        log = app.screen
        assert isinstance(log, DeliveriesScreen)
        await wait_for(pilot, lambda: len(log.table.models) >= 1, 20, "a delivery")
        # the receiver does not exist: the first attempt fails and is shown with its error
        await wait_for(pilot, lambda: any(d["attempts"] for d in log.table.models.values()), 30, "an attempt")
        log.reload()
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cannot connect" in screen_text(app) or "refused" in screen_text(app),
                       20, "the attempt's error")  # fmt: skip
        await pilot.press("d")
        await wait_for(pilot, lambda: "queued again" in screen_text(app), what="the redelivery notice")
        audit = server.call("manager", "GET", "/api/v1/audit?entity=webhook&limit=50")["items"]
        assert any(e["action"] == "redeliver" and e["entity_id"] == hook["id"] for e in audit)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeliveriesScreen), what="back")
        await pilot.press("o")
        await wait_for(pilot, lambda: not hooks.table.models[hook["id"]]["active"], what="switched off")
        assert server.call("manager", "GET", f"/api/v1/webhooks/{hook['id']}")["active"] is False


async def test_technicians_have_no_integrations_view(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path, "technician")
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert not app.view_allowed("integrations")
        assert "Integrations" not in screen_text(app)
