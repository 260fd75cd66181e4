"""Alerts: a toast (severity colour) when a manager raises one; the alerts view acknowledges and resolves."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widgets._toast import Toast

from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, view, wait_for


def toasts(app: object) -> list[Toast]:
    return list(app.screen.query(Toast))  # type: ignore[attr-defined]


async def test_an_alert_raised_over_http_pops_a_toast_and_can_be_handled(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        message = f"Bearing [blink]temperature 97 °C {uuid.uuid4().hex[:6]}"
        alert = server.call("manager", "POST", "/api/v1/alerts", {"kind": "sensor", "severity": "critical",
                                                                 "message": message})  # fmt: skip
        await wait_for(pilot, lambda: any(message in str(t.render()) for t in toasts(app)), what="the toast")
        toast = next(t for t in toasts(app) if message in str(t.render()))
        assert toast.has_class("-error")  # critical is red
        await wait_for(pilot, lambda: "CRITICAL alert" in screen_text(app), what="the toast painted")

        warning = server.call("manager", "POST", "/api/v1/alerts", {"kind": "sensor", "severity": "warning",
                                                                   "message": "Oil level low"})  # fmt: skip
        await wait_for(pilot, lambda: any("Oil level low" in str(t.render()) for t in toasts(app)), what="toast 2")
        assert next(t for t in toasts(app) if "Oil level low" in str(t.render())).has_class("-warning")

        await pilot.press("3")
        alerts = view(app, "alerts")
        await wait_for(pilot, lambda: alert["id"] in alerts.table.models and warning["id"] in alerts.table.models)
        alerts.table.move_cursor(row=alerts.table.get_row_index(str(alert["id"])))
        await pilot.press("a")
        await wait_for(pilot, lambda: alerts.table.models[alert["id"]]["status"] == "acknowledged", what="ack")
        await pilot.press("x")
        await wait_for(pilot, lambda: alert["id"] not in alerts.table.models, what="resolved alert to leave the view")
        assert alerts.table.selected_id() is not None  # the cursor moved to a neighbour


async def test_a_notification_event_is_a_toast(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        me = server.ids["technician"] if "technician" in server.ids else None
        if me is None:
            server.login("technician")
            me = server.ids["technician"]
        order = server.call("manager", "POST", "/api/v1/orders", {"title": "Assigned over HTTP", "assignee_id": me})
        await wait_for(pilot, lambda: any(f"{order['number']} assigned to you" in str(t.render()) for t in toasts(app)))
