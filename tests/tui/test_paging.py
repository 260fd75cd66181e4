"""Server-side paging: the first page only, then next_cursor pages as the cursor nears the end."""

from __future__ import annotations

from pathlib import Path

from cmms_tui.app import Options, make_app
from cmms_tui.live import Backoff
from cmms_tui.views.base import PAGE
from tests.tui.server import PASSWORD, Server
from tests.tui.support import SIZE, log_in, screen_text, view, wait_for

TENANT = "paging"
COUNT = 450


async def test_rows_are_paged_in_from_the_server(server: Server, tmp_path: Path) -> None:
    server.cli("tenant", "create", TENANT)
    server.cli("user", "create", "--tenant", TENANT, "--email", "tess@paging.test", "--role", "technician",
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    server.sql(
        "INSERT INTO work_orders (tenant_id, number, title, status)"
        " SELECT t.id, n, 'Paged order ' || n, 'open' FROM generate_series(1, %s) AS n,"
        " (SELECT id FROM tenants WHERE name = %s) AS t",
        (COUNT, TENANT),
    )
    server.sql("UPDATE tenants SET order_seq = %s WHERE name = %s", (COUNT, TENANT))
    options = Options(server=server.url, tenant=TENANT, email="tess@paging.test", config_dir=tmp_path)
    options.backoff = lambda: Backoff(first=0.2, cap=1.0)
    app = make_app(options)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        orders = view(app, "orders")
        assert orders.table.row_count == PAGE and orders.next_cursor is not None
        assert f"{PAGE}+ shown" in screen_text(app)
        await pilot.press("G")  # to the end: the next page comes in
        await wait_for(pilot, lambda: orders.table.row_count > PAGE, what="the second page")
        for _ in range(5):
            await pilot.press("G")
            await pilot.pause(0.3)
            if orders.next_cursor is None:
                break
        await wait_for(pilot, lambda: orders.table.row_count == COUNT and orders.next_cursor is None)
        numbers = [orders.table.models[i]["number"] for i in orders.table.order]
        assert numbers[0] == f"WO-{COUNT:06d}" and numbers[-1] == "WO-000001" and len(set(numbers)) == COUNT
        assert f"{COUNT} shown" in screen_text(app)
