"""The console's Parts view against a real daemon: stock per location follows another user's issue
live, low stock is flagged, a part's detail shows its moves, and parts are reserved and issued
from an order's detail."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from textual.widgets import TabbedContent

from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, view, wait_for


def stocked(server: Server, qty: str = "10", min_qty: str = "0") -> tuple[dict[str, Any], dict[str, Any]]:
    tag = uuid.uuid4().hex[:6].upper()
    location = server.call("manager", "POST", "/api/v1/stock-locations", {"name": f"Store {tag}"})
    part = server.call(
        "manager", "POST", "/api/v1/parts", {"number": f"BRG-{tag}", "name": f"Bearing {tag}", "min_qty": min_qty}
    )
    move = {"part_id": part["id"], "location_id": location["id"], "kind": "receive", "qty": qty, "unit_cost": "4.00"}
    server.call("manager", "POST", "/api/v1/stock/moves", move)
    return part, location


async def test_the_parts_view_follows_another_users_issue(server: Server, tmp_path: Path) -> None:
    part, location = stocked(server, "10", min_qty="8")
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("7")
        parts = view(app, "parts")
        await wait_for(pilot, lambda: part["id"] in parts.table.models, what="the part row")
        assert parts.table.models[part["id"]]["available"] == "10"
        assert parts.table.models[part["id"]]["low"] is False
        issue = {"part_id": part["id"], "location_id": location["id"], "kind": "issue", "qty": "3"}
        server.call("technician2", "POST", "/api/v1/stock/moves", issue)
        await wait_for(pilot, lambda: parts.table.models[part["id"]]["available"] == "7", what="the live update")
        assert parts.table.models[part["id"]]["low"] is True  # 7 < 8: flagged
        await wait_for(pilot, lambda: "7 pcs" in screen_text(app), what="7 pcs painted")

        parts.table.move_cursor(row=parts.table.get_row_index(str(part["id"])))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Recent moves" in screen_text(app) and "issue" in screen_text(app), what="moves")
        assert "low: reorder" in screen_text(app)


async def test_reserve_and_issue_from_an_order(server: Server, tmp_path: Path) -> None:
    part, _ = stocked(server, "5")
    tech = server.ids.get("technician") or (server.login("technician") and server.ids["technician"])
    order = server.call("manager", "POST", "/api/v1/orders", {"title": f"Bearing swap {part['number']}",
                                                             "assignee_id": tech})  # fmt: skip
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        screen = await open_order(pilot, app, order["id"])
        screen.query_one(TabbedContent).active = "parts-tab"
        await pilot.pause()
        panel = screen.query_one("#order-parts")
        panel.query_one("OptionList").focus()
        await pilot.press("p")
        await pilot.press(*f"{part['number']} 2")
        await pilot.press("enter")
        lines_url = f"/api/v1/orders/{order['id']}/parts"
        await wait_for(pilot, lambda: len(server.call("manager", "GET", lines_url)["items"]) == 1, what="reserved")
        await wait_for(pilot, lambda: "reserved" in screen_text(app), what="the reserved line shown")
        await pilot.press("i")
        await wait_for(
            pilot, lambda: server.call("manager", "GET", lines_url)["items"][0]["status"] == "issued", what="issued"
        )
        stock = server.call("manager", "GET", f"/api/v1/parts/{part['id']}/stock")
        assert (stock["on_hand"], stock["available"]) == ("3", "3")
        await wait_for(pilot, lambda: "issued" in screen_text(app), what="the issued line shown")


def test_a_stock_event_replaces_its_level_and_the_totals_follow() -> None:
    from cmms_tui.views.parts import with_level

    row = {
        "id": 1,
        "on_hand": "12",
        "available": "10",
        "low": False,
        "locations": [
            {"location_id": 1, "location": "A", "on_hand": "10", "reserved": "2", "available": "8", "low": False},
            {"location_id": 2, "location": "B", "on_hand": "2", "reserved": "0", "available": "2", "low": False},
        ],
    }
    event = {"part_id": 1, "location_id": 2, "on_hand": "0.5", "reserved": "0", "available": "0.5", "low": True}
    after = with_level(row, event, "B")
    assert (after["on_hand"], after["available"], after["low"]) == ("10.5", "8.5", True)
    new_place = with_level(after, {**event, "location_id": 3, "on_hand": "4", "available": "4", "low": False}, None)
    assert [lv["location"] for lv in new_place["locations"]] == ["A", "B", "#3"]
    assert new_place["on_hand"] == "14.5"


def test_what_is_typed_to_reserve() -> None:
    from cmms_tui.widgets.order_parts import parse_request

    assert parse_request("SKF-6205 2") == ("SKF-6205", "2", "")
    assert parse_request("OIL-VG68 2.5 Main store 1") == ("OIL-VG68", "2.5", "Main store 1")
    assert parse_request("SKF-6205") is None
    assert parse_request("SKF-6205 two") is None
