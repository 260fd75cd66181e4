"""Live tables: rows inserted and updated in place from events made over HTTP by another user."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, row_titles, screen_text, view, wait_for


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


async def test_orders_made_by_another_user_appear_and_change_in_place(server: Server, tmp_path: Path) -> None:
    for i in range(3):
        server.call("manager", "POST", "/api/v1/orders", {"title": unique(f"seed {i}")})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        orders = view(app, "orders")
        table = orders.table
        await pilot.press("j")  # the cursor on the second row
        await pilot.pause()
        watched = table.selected_id()
        assert watched is not None

        title = unique("[red]x created live")
        created = server.call("manager", "POST", "/api/v1/orders", {"title": title, "priority": "critical"})
        await wait_for(pilot, lambda: created["id"] in table.models, what="the new row")
        assert row_titles(app)[0] == title  # newest first
        assert table.selected_id() == watched  # the cursor stayed on its order
        assert table.cursor_row == 2
        assert table.is_flashing(created["id"])  # highlighted for a moment
        assert title in screen_text(app)  # markup shown literally

        renamed = unique("renamed by the manager")
        server.call("manager", "PATCH", f"/api/v1/orders/{watched}", {"title": renamed, "priority": "high"})
        await wait_for(pilot, lambda: table.models[watched]["title"] == renamed, what="the update")
        assert table.get_row_index(str(watched)) == 2  # in place
        assert table.selected_id() == watched
        await wait_for(pilot, lambda: renamed in screen_text(app), what="the new title on screen")

        server.call("manager", "POST", f"/api/v1/orders/{created['id']}/transition", {"to": "cancelled"})
        await wait_for(pilot, lambda: table.models[created["id"]]["status"] == "cancelled", what="status change")


async def test_a_filtered_table_gains_and_loses_rows_as_they_match(server: Server, tmp_path: Path) -> None:
    me = server.ids.get("technician") or (server.login("technician") and server.ids["technician"])
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        orders = view(app, "orders")
        await pilot.press("m")  # mine: assignee_id = me
        await wait_for(pilot, lambda: "mine" in screen_text(app), what="the filter line")
        await pilot.pause(0.3)
        mine = {int(o["id"]) for o in orders.table.models.values()}
        assert all(orders.table.models[i]["assignee_id"] == me for i in mine)

        order = server.call("manager", "POST", "/api/v1/orders", {"title": unique("for tess")})
        await pilot.pause(0.5)
        assert order["id"] not in orders.table.models  # not assigned yet: not mine
        server.call("manager", "PATCH", f"/api/v1/orders/{order['id']}", {"assignee_id": me})
        await wait_for(pilot, lambda: order["id"] in orders.table.models, what="the assigned order")
        server.call("manager", "PATCH", f"/api/v1/orders/{order['id']}", {"assignee_id": None})
        await wait_for(pilot, lambda: order["id"] not in orders.table.models, what="the unassigned order to go")


async def test_assets_table_is_live(server: Server, tmp_path: Path) -> None:
    plant = server.call("manager", "POST", "/api/v1/plants", {"name": unique("Plant")})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        assets = view(app, "assets")
        await wait_for(pilot, lambda: assets.loaded_once, what="assets")
        asset = server.call(
            "manager", "POST", "/api/v1/assets", {"name": "Pump [b]7", "plant_id": plant["id"], "code": unique("P")}
        )
        await wait_for(pilot, lambda: asset["id"] in assets.table.models, what="the new asset")
        server.call("manager", "PATCH", f"/api/v1/assets/{asset['id']}", {"status": "down"})
        await wait_for(pilot, lambda: assets.table.models[asset["id"]]["status"] == "down", what="asset update")
        assert "Pump [b]7" in screen_text(app)
