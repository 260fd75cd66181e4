"""Order detail (transitions offered exactly as the server allows, notes, history, assign) and the form."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widgets import Button, Input, OptionList, Static, TextArea

from cmms_tui.screens.dialogs import AssignDialog, TransitionDialog
from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.order_form import OrderFormScreen
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, view, wait_for


def technician_id(server: Server) -> int:
    if "technician" not in server.ids:
        server.login("technician")
    return server.ids["technician"]


def buttons(screen: OrderDetailScreen) -> list[str]:
    return [str(b.label) for b in screen.query("#actions Button").results(Button)]


async def test_a_technician_is_offered_exactly_the_allowed_transitions(server: Server, tmp_path: Path) -> None:
    me = technician_id(server)
    mine = server.call("manager", "POST", "/api/v1/orders", {"title": f"Fix {uuid.uuid4().hex[:5]}", "assignee_id": me})
    other = server.call("manager", "POST", "/api/v1/orders", {"title": "Not mine"})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, other["id"])
        assert buttons(screen) == []
        assert "No status change is open to you" in screen_text(app)
        await pilot.press("escape")

        screen = await open_order(pilot, app, mine["id"])
        assert screen.order is not None and screen.order["allowed_transitions"] == ["in_progress"]
        assert buttons(screen) == ["Start work", "Edit…"]
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TransitionDialog), what="the dialog")
        assert app.screen.query_one(OptionList).option_count == 1
        await pilot.press(*"Parts on site", "enter")
        await wait_for(pilot, lambda: screen.order is not None and screen.order["status"] == "in_progress")
        await wait_for(pilot, lambda: buttons(screen) == ["Put on hold", "Complete", "Edit…"], what="transitions")
        await wait_for(pilot, lambda: "Parts on site" in screen_text(app), what="the transition note")

        await pilot.press("n")
        await pilot.press(*"Bearing [b]replaced", "enter")
        await wait_for(pilot, lambda: any(n["body"] == "Bearing [b]replaced" for n in screen.notes), what="the note")
        await wait_for(pilot, lambda: "Bearing [b]replaced" in screen_text(app), what="the note shown literally")
        history = str(screen.query_one("#history", Static).render())
        assert "transition" in history and "in progress" in history
        await pilot.press("escape")
        orders = view(app, "orders")
        await wait_for(pilot, lambda: orders.table.models[mine["id"]]["status"] == "in_progress")


async def test_a_manager_assigns_from_the_technician_list(server: Server, tmp_path: Path) -> None:
    order = server.call("manager", "POST", "/api/v1/orders", {"title": f"Assign me {uuid.uuid4().hex[:5]}"})
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        assert buttons(screen) == ["Start work", "Cancel", "Edit…", "Assign…"]
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignDialog), what="the dialog")
        people = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: people.option_count == 3, what="nobody + two technicians")
        labels = [str(people.get_option_at_index(i).prompt) for i in range(people.option_count)]
        assert labels[1:] == ["Tess Technician", "Theo Technician"]
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: screen.order is not None and screen.order["assignee_id"] is not None)
        assert "Theo Technician" in screen_text(app)


async def test_the_form_shows_server_errors_beside_fields_and_keeps_the_input(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderFormScreen), what="the form")
        form = app.screen
        assert "New request" in screen_text(app)  # a technician files a request
        form.query_one("#description", TextArea).text = "Noise from the gearbox"
        form.query_one("#due_at", Input).value = "next tuesday"
        await pilot.press("ctrl+s")
        error = form.query_one("#error-title", Static)
        await wait_for(pilot, lambda: str(error.render()).strip() != "", what="the title error")
        assert "at least 1 character" in str(error.render())
        assert form.query_one("#description", TextArea).text == "Noise from the gearbox"
        assert isinstance(app.screen, OrderFormScreen)

        title = f"Gearbox noise {uuid.uuid4().hex[:5]}"
        form.query_one("#title", Input).value = title
        await pilot.press("ctrl+s")
        due_error = form.query_one("#error-due_at", Static)
        await wait_for(pilot, lambda: str(due_error.render()).strip() != "", what="the due error")
        assert str(error.render()).strip() == ""
        form.query_one("#due_at", Input).value = "2031-05-04"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, OrderFormScreen), what="the form to close")
        orders = view(app, "orders")
        await wait_for(pilot, lambda: any(o["title"] == title for o in orders.table.models.values()))
        created = next(o for o in orders.table.models.values() if o["title"] == title)
        assert created["status"] == "requested" and created["due_at"].startswith("2031-05-0")
