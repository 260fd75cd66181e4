"""Time and cost on an order's detail against a real daemon: the timer started with one key runs in
the header on every screen and its stop records an entry; time logged and a cost added by hand show
in the cost summary; a refusal shows beside its field; a timer started elsewhere shows live."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.work_forms import CostForm, TimeEntryForm, minutes_of
from cmms_tui.widgets.header import AppHeader
from cmms_tui.widgets.work_panes import TimeCostPanel
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, wait_for


def my_order(server: Server) -> dict[str, Any]:
    if "technician" not in server.ids:
        server.login("technician")
    body = {"title": f"Realign motor {uuid.uuid4().hex[:5]}", "assignee_id": server.ids["technician"]}
    return dict(server.call("manager", "POST", "/api/v1/orders", body))


def header_timer(app: Any) -> str:
    return str(app.screen.query_one(AppHeader).query_one("#timer", Static).render())


async def test_the_timer_runs_in_the_header_and_its_stop_records_an_entry(server: Server, tmp_path: Path) -> None:
    order = my_order(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await open_order(pilot, app, order["id"])
        assert header_timer(app) == ""
        await pilot.press("w")
        await wait_for(pilot, lambda: server.call("technician", "GET", "/api/v1/me/timer")["timer"] is not None)
        await wait_for(pilot, lambda: f"⏱ timer {order['number']} · 0 min" in screen_text(app), what="the header")

        await pilot.press("escape")  # the orders list shows it too
        await wait_for(pilot, lambda: not isinstance(app.screen, OrderDetailScreen), what="back to the list")
        await wait_for(pilot, lambda: f"⏱ timer {order['number']}" in screen_text(app), what="the list's header")

        screen = await open_order(pilot, app, order["id"])
        await pilot.press("w")
        time_url = f"/api/v1/orders/{order['id']}/time"
        await wait_for(pilot, lambda: len(server.call("technician", "GET", time_url)["items"]) == 1, what="the entry")
        entry = server.call("technician", "GET", time_url)["items"][0]
        assert (entry["source"], entry["minutes"]) == ("timer", 1)
        assert server.call("technician", "GET", "/api/v1/me/timer")["timer"] is None
        await wait_for(pilot, lambda: "⏱ timer" not in screen_text(app), what="the header cleared")
        panel = screen.query_one(TimeCostPanel)
        await wait_for(pilot, lambda: len(panel.entries) == 1, what="the entry listed")


async def test_time_and_a_cost_by_hand_show_in_the_summary(server: Server, tmp_path: Path) -> None:
    order = my_order(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(TimeCostPanel)
        await wait_for(pilot, lambda: panel.cost is not None, what="the summary")
        assert panel.cost is not None and panel.cost["total"] == "0.00"

        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, TimeEntryForm), what="the time form")
        await pilot.press(*"1:30", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, TimeEntryForm), what="the time form closed")
        await wait_for(pilot, lambda: panel.cost is not None and panel.cost["labor_minutes"] == 90, what="90 min")

        await pilot.press("dollar_sign")
        await wait_for(pilot, lambda: isinstance(app.screen, CostForm), what="the cost form")
        await pilot.press(*"12.505", "enter")  # three decimals: refused, beside the amount
        error = app.screen.query_one("#amount-error", Static)
        await wait_for(pilot, lambda: error.has_class("-shown"), what="the amount's error")
        amount = app.screen.query_one("#amount", Input)
        assert amount.value == "12.505"
        amount.value = "186.40"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CostForm), what="the cost form closed")
        await wait_for(pilot, lambda: panel.cost is not None and panel.cost["other"] == "186.40", what="the cost")
        summary = server.call("manager", "GET", f"/api/v1/orders/{order['id']}/cost")
        assert panel.cost == summary
        await wait_for(pilot, lambda: f"total {summary['total']} {summary['currency']}" in screen_text(app))
        assert "other 186.40" in screen_text(app)


async def test_a_timer_started_elsewhere_shows_live(server: Server, tmp_path: Path) -> None:
    order = my_order(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        server.call("technician", "POST", f"/api/v1/orders/{order['id']}/timer/start", {"category": "travel"})
        await wait_for(pilot, lambda: f"⏱ timer {order['number']} · 0 min · travel" in screen_text(app))
        server.call("technician", "POST", f"/api/v1/orders/{order['id']}/timer/stop")
        await wait_for(pilot, lambda: "⏱ timer" not in screen_text(app), what="stopped elsewhere")


def test_durations_as_typed() -> None:
    assert [minutes_of(t) for t in ("90", "1:30", "1h30", "2h", "45m", " 1 h 5 min")] == [90, 90, 90, 120, 45, 65]
    assert minutes_of("soon") == "soon"  # sent as typed: the server names the field
    assert minutes_of("") == ""
