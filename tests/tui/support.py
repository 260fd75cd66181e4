"""Helpers for driving the real console with Textual's pilot."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from textual.pilot import Pilot

from cmms_tui.app import CmmsApp, Options, make_app
from cmms_tui.live import Backoff
from cmms_tui.views.base import RecordsView
from tests.tui.server import PASSWORD, TENANT, USERS, Server

if TYPE_CHECKING:
    from cmms_tui.screens.order_detail import OrderDetailScreen

SIZE = (120, 40)


def console_app(
    server: Server,
    config_dir: Path,
    who: str = "technician",
    *,
    clock: Callable[[], datetime] | None = None,
    tenant: str = TENANT,
) -> CmmsApp:
    return make_app(
        Options(
            server=server.url,
            tenant=tenant,
            email=USERS[who][0],
            config_dir=config_dir,
            clock=clock or (lambda: datetime.now(UTC)),
            backoff=lambda: Backoff(first=0.2, cap=1.0),
        )
    )


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object], within: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}\n{screen_text(pilot.app)}")


def screen_text(app: Any) -> str:
    """The screen as plain text (what a user would read), through Textual's compositor."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def view(app: CmmsApp, name: str) -> RecordsView[Any]:
    from cmms_tui.screens.main import MainScreen

    main = next(s for s in app.screen_stack if isinstance(s, MainScreen))
    return main.query_one(f"#{name}", RecordsView)


async def log_in(pilot: Pilot[Any], password: str = PASSWORD) -> CmmsApp:
    """Type the password on the pre-filled login screen and wait for a live, loaded orders view."""
    app: CmmsApp = pilot.app  # type: ignore[assignment]
    await pilot.pause()
    await pilot.press(*password)
    await pilot.press("enter")
    await wait_until_live(pilot)
    return app


async def wait_until_live(pilot: Pilot[Any]) -> None:
    app: CmmsApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.logged_in and app.conn is not None and app.conn.live, 15, "login and live")
    await wait_for(pilot, lambda: view(app, "orders").loaded_once, 10, "orders loaded")


def row_titles(app: CmmsApp, name: str = "orders") -> list[str]:
    table = view(app, name).table
    return [str(table.models[row_id].get("title", "")) for row_id in table.order]


async def open_order(pilot: Pilot[Any], app: CmmsApp, order_id: int) -> OrderDetailScreen:
    """Select the order's row in the Orders view, press enter, and wait for the loaded detail."""
    from cmms_tui.screens.order_detail import OrderDetailScreen

    orders = view(app, "orders")
    await wait_for(pilot, lambda: order_id in orders.table.models, what="the order row")
    orders.table.move_cursor(row=orders.table.get_row_index(str(order_id)))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen), what="the detail")
    screen = app.screen
    assert isinstance(screen, OrderDetailScreen)
    await wait_for(pilot, lambda: screen.order is not None, what="the order to load")
    return screen
