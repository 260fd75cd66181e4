"""Editing an order from its detail screen: the create form reused, only the fields the role may
change, If-Match, the server's field errors beside the fields, and a stale version (412)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, TextArea

from cmms_tui.app import CmmsApp
from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.order_form import OrderFormScreen
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, view, wait_for


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def user_id(server: Server, who: str) -> int:
    if who not in server.ids:
        server.login(who)
    return server.ids[who]


async def edit(pilot: Pilot[Any], app: CmmsApp, order_id: int) -> tuple[OrderDetailScreen, OrderFormScreen]:
    detail = await open_order(pilot, app, order_id)
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, OrderFormScreen), what="the edit form")
    form = app.screen
    assert isinstance(form, OrderFormScreen)
    return detail, form


def error(form: OrderFormScreen, field: str) -> str:
    return str(form.query_one(f"#error-{field}", Static).render()).strip()


def status(form: OrderFormScreen) -> str:
    return str(form.query_one("#form-status", Static).render())


async def test_a_manager_edits_title_priority_due_and_asset(server: Server, tmp_path: Path) -> None:
    plant = server.call("manager", "POST", "/api/v1/plants", {"name": unique("Edit plant")})
    code = unique("PMP").replace(" ", "-")
    asset = server.call("manager", "POST", "/api/v1/assets", {"name": "Pump", "plant_id": plant["id"], "code": code})
    order = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Before"), "priority": "low"})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await wait_for(pilot, lambda: app.directory is not None and asset["id"] in app.directory.assets, what="assets")
        detail, form = await edit(pilot, app, order["id"])
        assert form.fields == (
            "title", "description", "priority", "type", "asset_id", "due_at", "assignee_id", "downtime_minutes",
        )  # fmt: skip
        assert form.query_one("#title", Input).value == order["title"]  # filled in from the order
        title = unique("After [b]edit")
        form.query_one("#title", Input).value = title
        form.query_one("#priority", Select).value = "critical"
        form.query_one("#due_at", Input).value = "2031-07-01"
        form.query_one("#asset_id", Input).value = code
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is detail, what="back on the detail")
        assert detail.order is not None
        assert (detail.order["title"], detail.order["priority"]) == (title, "critical")
        assert detail.order["asset_id"] == asset["id"] and str(detail.order["due_at"]).startswith("2031-0")
        text = screen_text(app)
        assert title in text and code in text and "2031-07-01" in text and "critical" in text
        await wait_for(pilot, lambda: "title" in str(detail.query_one("#history", Static).render()), what="history")

        await pilot.press("escape")
        orders = view(app, "orders")
        await wait_for(pilot, lambda: orders.table.models[order["id"]]["title"] == title, what="the row")
        row = next(line for line in screen_text(app).splitlines() if title[:25] in line)
        assert "critical" in row and code[:10] in row


async def test_server_field_errors_appear_beside_the_fields_and_keep_the_input(server: Server, tmp_path: Path) -> None:
    order = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Errors")})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        _, form = await edit(pilot, app, order["id"])
        form.query_one("#title", Input).value = ""
        form.query_one("#description", TextArea).text = "Typed and kept"
        form.query_one("#due_at", Input).value = "next tuesday"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: error(form, "title") != "", what="the title error")
        assert "at least 1 character" in error(form, "title")
        assert error(form, "due_at") != ""  # the server names both fields in one problem document
        assert "Check the marked fields" in status(form)
        assert isinstance(app.screen, OrderFormScreen)
        assert form.query_one("#description", TextArea).text == "Typed and kept"
        assert form.query_one("#due_at", Input).value == "next tuesday"
        assert server.call("manager", "GET", f"/api/v1/orders/{order['id']}")["title"] == order["title"]


async def test_a_stale_version_says_so_and_reload_keeps_what_was_typed(server: Server, tmp_path: Path) -> None:
    order = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Stale"), "priority": "low"})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        detail, form = await edit(pilot, app, order["id"])
        form.query_one("#description", TextArea).text = "Mine"
        theirs = server.call("manager", "PATCH", f"/api/v1/orders/{order['id']}", {"priority": "high"})
        assert theirs["version"] > order["version"]
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Someone else changed" in status(form), what="the 412 message")
        assert isinstance(app.screen, OrderFormScreen)
        assert "Reload the order" in screen_text(app)
        assert form.query_one("#description", TextArea).text == "Mine"

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Reloaded version" in status(form), what="the reload")
        assert form.query_one("#priority", Select).value == "high"  # their change is shown
        assert form.query_one("#description", TextArea).text == "Mine"  # mine is kept
        assert "description" in status(form)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is detail, what="saved")
        saved = server.call("manager", "GET", f"/api/v1/orders/{order['id']}")
        assert (saved["description"], saved["priority"]) == ("Mine", "high")


async def test_a_technician_edits_only_what_the_role_allows(server: Server, tmp_path: Path) -> None:
    me = user_id(server, "technician")
    mine = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Assigned"), "assignee_id": me})
    other = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Someone else's")})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        detail = await open_order(pilot, app, other["id"])
        assert not detail.check_action("edit", ())
        assert "Edit" not in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen is detail
        await pilot.press("escape")

        detail, form = await edit(pilot, app, mine["id"])
        assert form.fields == ("description", "downtime_minutes")
        assert not form.query("#title") and not form.query("#priority")
        form.query_one("#downtime_minutes", Input).value = "many"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: error(form, "downtime_minutes") != "", what="the local error")
        form.query_one("#downtime_minutes", Input).value = "45"
        form.query_one("#description", TextArea).text = "Bearing worn"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is detail, what="saved")
        assert detail.order is not None
        assert (detail.order["downtime_minutes"], detail.order["description"]) == (45, "Bearing worn")
        assert "45 min" in screen_text(app) and "Bearing worn" in screen_text(app)


async def test_a_requester_edits_the_request_until_it_is_approved(server: Server, tmp_path: Path) -> None:
    request = server.call("requester", "POST", "/api/v1/orders", {"title": unique("Door squeaks")})
    app = console_app(server, tmp_path, "requester")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        detail, form = await edit(pilot, app, request["id"])
        assert form.fields == ("title", "description", "priority", "asset_id")
        title = unique("Door squeaks loudly")
        form.query_one("#title", Input).value = title
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is detail, what="saved")
        assert detail.order is not None and detail.order["title"] == title

        server.call("manager", "POST", f"/api/v1/orders/{request['id']}/transition", {"to": "open"})
        await wait_for(pilot, lambda: detail.order is not None and detail.order["status"] == "open", what="approval")
        assert not detail.check_action("edit", ())
        await wait_for(pilot, lambda: "Edit" not in screen_text(app), what="the edit offer to go")


async def test_the_form_says_at_once_when_someone_else_saves_the_order(server: Server, tmp_path: Path) -> None:
    order = server.call("manager", "POST", "/api/v1/orders", {"title": unique("Watched")})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        _, form = await edit(pilot, app, order["id"])
        form.query_one("#title", Input).value = "Mine, unsaved"
        server.call("manager", "PATCH", f"/api/v1/orders/{order['id']}", {"description": "theirs"})
        await wait_for(pilot, lambda: "changed elsewhere" in status(form), what="the live warning")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "Reloaded version" in status(form), what="the reload")
        assert form.query_one("#description", TextArea).text == "theirs"
        assert form.query_one("#title", Input).value == "Mine, unsaved"
