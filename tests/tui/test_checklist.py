"""An order's checklist on its detail screen against a real daemon: shown with what is still
required, recorded with the keyboard, the server's refusal beside the input, a colleague's tick
live, and a procedure attached to an order without one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from cmms_tui.client_work import typed_value
from cmms_tui.screens.checklist_input import ItemInputDialog, ProcedurePicker
from cmms_tui.widgets.checklist import ChecklistList, ChecklistPanel
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, wait_for

ITEMS: list[dict[str, Any]] = [
    {"label": "Safety", "type": "heading"},
    {"label": "Lock out and tag out", "type": "checkbox", "required": True},
    {"label": "Coupling guard intact", "type": "pass_fail", "required": True},
    {"label": "Vibration DE bearing", "type": "number", "unit": "mm/s", "min": 0, "max": 4.5, "required": True},
    {"label": "Seal condition", "type": "choice", "options": ["dry", "weeping", "leaking"]},
    {"label": "Remarks", "type": "text"},
]


def technician_id(server: Server) -> int:
    if "technician" not in server.ids:
        server.login("technician")
    return server.ids["technician"]


def order_with_checklist(server: Server, *, attach: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    tag = uuid.uuid4().hex[:5]
    procedure = server.call("manager", "POST", "/api/v1/procedures", {"name": f"Pump inspection {tag}", "items": ITEMS})
    body = {"title": f"Inspect pump {tag}", "assignee_id": technician_id(server)}
    order = server.call("manager", "POST", "/api/v1/orders", body)
    if attach:
        server.call("manager", "POST", f"/api/v1/orders/{order['id']}/checklist", {"procedure_id": procedure["id"]})
    return order, procedure


def items_on_server(server: Server, order_id: int) -> dict[str, dict[str, Any]]:
    checklist = server.call("manager", "GET", f"/api/v1/orders/{order_id}/checklist")
    return {item["label"]: item for item in checklist["items"]}


def move_to(panel: ChecklistPanel, label: str) -> None:
    assert panel.checklist is not None
    index = next(i for i, item in enumerate(panel.checklist["items"]) if item["label"] == label)
    panel.query_one(ChecklistList).highlighted = index


async def test_the_checklist_is_shown_and_recorded_with_keys(server: Server, tmp_path: Path) -> None:
    order, _ = order_with_checklist(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(ChecklistPanel)
        await wait_for(pilot, lambda: panel.checklist is not None, what="the checklist")
        text = screen_text(app)
        assert "0/5 done · 3 required still open" in text
        assert "[ ] Lock out and tag out" in text and "* required" in text
        assert "(0 to 4.5 mm/s)" in text

        await pilot.press("c")  # to the checklist: the cursor on the first open item
        assert isinstance(app.focused, ChecklistList)
        await pilot.press("space")
        url = f"/api/v1/orders/{order['id']}"
        await wait_for(pilot, lambda: items_on_server(server, order["id"])["Lock out and tag out"]["value"] is True)
        await wait_for(pilot, lambda: "[x] Lock out and tag out" in screen_text(app), what="the tick shown")

        move_to(panel, "Coupling guard intact")
        await pilot.press("l")  # flag
        await wait_for(pilot, lambda: items_on_server(server, order["id"])["Coupling guard intact"]["result"] == "flag")
        await wait_for(pilot, lambda: "! flag Coupling guard intact" in screen_text(app), what="the flag shown")

        move_to(panel, "Vibration DE bearing")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemInputDialog), what="the input")
        await pilot.press(*"fast", "enter")  # not a number: the server's message beside the input
        error = app.screen.query_one("#value-error", Static)
        await wait_for(pilot, lambda: error.has_class("-shown"), what="the field error")
        assert "number" in str(error.render()).lower()
        value = app.screen.query_one("#value", Input)
        assert value.value == "fast"  # what was typed stays
        value.value = ""
        await pilot.press(*"7.1", "enter")  # above the 4.5 limit: fail
        await wait_for(pilot, lambda: not isinstance(app.screen, ItemInputDialog), what="the input closed")
        vibration = items_on_server(server, order["id"])["Vibration DE bearing"]
        assert (vibration["value"], vibration["result"]) == (7.1, "fail")
        await wait_for(pilot, lambda: "✗ FAIL Vibration DE bearing  7.1 mm/s" in screen_text(app), what="the fail")

        move_to(panel, "Seal condition")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ItemInputDialog), what="the choice")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: items_on_server(server, order["id"])["Seal condition"]["value"] == "weeping")
        await wait_for(pilot, lambda: "all required done" in screen_text(app), what="nothing required left")
        assert server.call("manager", "GET", f"{url}/checklist")["missing_required"] == []
        if os.environ.get("CMMS_TUI_CAPTURE"):
            Path(os.environ["CMMS_TUI_CAPTURE"]).write_text(screen_text(app))


async def test_completing_with_required_items_open_goes_to_the_first(server: Server, tmp_path: Path) -> None:
    from cmms_tui.screens.dialogs import TransitionDialog

    order, _ = order_with_checklist(server)
    server.call("technician", "POST", f"/api/v1/orders/{order['id']}/transition", {"to": "in_progress"})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(ChecklistPanel)
        await wait_for(pilot, lambda: panel.checklist is not None, what="the checklist")
        screen.action_transition("completed")
        await wait_for(pilot, lambda: isinstance(app.screen, TransitionDialog), what="the dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.focused, ChecklistList), what="the checklist focused")
        assert panel.selected is not None and panel.selected["label"] == "Lock out and tag out"
        await wait_for(pilot, lambda: "Lock out and tag out" in "".join(str(n.message) for n in app._notifications))
        assert server.call("manager", "GET", f"/api/v1/orders/{order['id']}")["status"] == "in_progress"


async def test_a_colleagues_tick_appears_live(server: Server, tmp_path: Path) -> None:
    order, _ = order_with_checklist(server)
    items = items_on_server(server, order["id"])
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(ChecklistPanel)
        await wait_for(pilot, lambda: panel.checklist is not None, what="the checklist")
        assert "[ ] Lock out and tag out" in screen_text(app)
        item = items["Lock out and tag out"]
        server.call("technician", "PATCH", f"/api/v1/orders/{order['id']}/checklist/items/{item['id']}",
                    {"value": True, "notes": "padlock 7"})  # fmt: skip
        await wait_for(pilot, lambda: "[x] Lock out and tag out" in screen_text(app), what="the colleague's tick")
        assert "padlock 7" in screen_text(app)
        assert "2 required still open" in screen_text(app)


async def test_a_procedure_is_attached_to_an_order_without_one(server: Server, tmp_path: Path) -> None:
    order, procedure = order_with_checklist(server, attach=False)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(ChecklistPanel)
        await wait_for(pilot, lambda: panel.loaded, what="the checklist looked up")
        assert "Checklist: none attached" in screen_text(app)
        await pilot.press("c")
        picker = None
        await wait_for(pilot, lambda: isinstance(app.screen, ProcedurePicker), what="the procedures")
        picker = app.screen
        from textual.widgets import OptionList

        options = picker.query_one(OptionList)
        await wait_for(pilot, lambda: any(
            options.get_option_at_index(i).id == str(procedure["id"]) for i in range(options.option_count)
        ), what="the procedure listed")  # fmt: skip
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index(str(procedure["id"]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.checklist is not None, what="attached")
        attached = server.call("manager", "GET", f"/api/v1/orders/{order['id']}/checklist")
        assert attached["procedure_id"] == procedure["id"]
        assert procedure["name"] in screen_text(app)


async def test_a_requester_sees_no_checklist(server: Server, tmp_path: Path) -> None:
    requester = server.login("requester") and server.ids["requester"]
    order = server.call("requester", "POST", "/api/v1/orders", {"title": f"Door squeaks {uuid.uuid4().hex[:4]}"})
    assert requester
    app = console_app(server, tmp_path, "requester")
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        assert not screen.query(ChecklistPanel)
        assert "Checklist" not in screen_text(app) and "Timer" not in screen_text(app)


def test_what_is_typed_for_a_measured_item() -> None:
    assert typed_value("number", "7") == 7
    assert typed_value("number", " 4.25 ") == 4.25
    assert typed_value("meter", "1e3") == 1000.0
    assert typed_value("number", "nan") == "nan"  # not finite: sent as typed, the server names it
    assert typed_value("number", "fast") == "fast"
    assert typed_value("text", "  ") is None


async def test_at_80x24_the_checklist_scrolls_into_view_and_records(server: Server, tmp_path: Path) -> None:
    order, _ = order_with_checklist(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        panel = screen.query_one(ChecklistPanel)
        await wait_for(pilot, lambda: panel.checklist is not None, what="the checklist")
        await pilot.press("c")
        await wait_for(pilot, lambda: "Lock out and tag out" in screen_text(app), what="the checklist in view")
        await pilot.press("space")
        await wait_for(pilot, lambda: items_on_server(server, order["id"])["Lock out and tag out"]["value"] is True)
        await wait_for(pilot, lambda: "[x] Lock out and tag out" in screen_text(app), what="the tick in view")
        if os.environ.get("CMMS_TUI_CAPTURE"):
            Path(os.environ["CMMS_TUI_CAPTURE"] + ".80x24").write_text(screen_text(app))
