"""Keys as CONSOLE.md promises: digits and `:` commands switch views, `?` helps from anywhere, esc goes
back, q quits at the top level only (never from a detail or a form with typed input)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import ContentSwitcher, Input

from cmms_tui.screens.help import HelpScreen
from cmms_tui.screens.main import MainScreen
from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.order_form import OrderFormScreen
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, view, wait_for


def current_view(app: object) -> str | None:
    main = next(s for s in app.screen_stack if isinstance(s, MainScreen))  # type: ignore[attr-defined]
    return main.query_one("#views", ContentSwitcher).current


async def test_switching_views_help_back_and_quit(server: Server, tmp_path: Path) -> None:
    order = server.call("manager", "POST", "/api/v1/orders", {"title": "Keys test"})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await pilot.press("3")
        assert current_view(app) == "alerts"
        await pilot.press("colon", *"assets", "enter")
        await wait_for(pilot, lambda: current_view(app) == "assets", what=":assets")
        await pilot.press("1")
        orders = view(app, "orders")
        await wait_for(pilot, lambda: order["id"] in orders.table.models)
        orders.table.move_cursor(row=orders.table.get_row_index(order["id"]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen), what="the detail")
        await pilot.press("q")  # not at the top level: nothing happens
        await pilot.pause(0.2)
        assert app.is_running and isinstance(app.screen, OrderDetailScreen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert "Work order" in screen_text(app)
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="back at the list")

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderFormScreen), what="the form")
        await pilot.press(*"quick note")  # q types into the field
        assert app.screen.query_one("#title", Input).value == "quick note"
        await pilot.press("escape")  # typed input: asks first
        await wait_for(pilot, lambda: "Discard this new order?" in screen_text(app), what="the question")
        await pilot.press("n")
        assert isinstance(app.screen, OrderFormScreen) and app.screen.query_one("#title", Input).value == "quick note"
        await pilot.press("escape", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="discarded")

        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit from the top level")
