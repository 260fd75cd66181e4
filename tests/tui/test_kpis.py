"""The KPI dashboard against the real daemon: the numbers it shows are GET /api/v1/kpis's for the same
period and plant, on a tenant seeded with known work (repairs with downtime, PM on time and missed,
planned work, a backlog); the period and plant keys ask again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from cmms_tui.app import CmmsApp, Options, make_app
from cmms_tui.live import Backoff
from cmms_tui.views.kpis import Card, KpisView
from cmms_tui.widgets.charts import BigNumber
from tests.tui.server import PASSWORD, Server, http
from tests.tui.support import SIZE, log_in, screen_text, view, wait_for

TENANT = "kpis"
MANAGER = "max@kpis.test"
# The console's clock runs two days ahead, so PM due tomorrow and done today falls inside its period.
BLOCKS = "█▏▎▍▌▋▊▉"
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


@pytest.fixture(scope="module")
def seeded(server: Server) -> Iterator[dict[str, Any]]:
    server.cli("tenant", "create", TENANT)
    for email, role in ((MANAGER, "manager"), ("tess@kpis.test", "technician")):
        server.cli("user", "create", "--tenant", TENANT, "--email", email, "--role", role,
                   "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    _, login = http("POST", server.base + "/api/v1/auth/login", {"tenant": TENANT, "email": MANAGER,
                                                                 "password": PASSWORD})  # fmt: skip
    token = login["access_token"]

    def call(method: str, path: str, body: Any = None) -> Any:
        status, data = http(method, server.base + path, body, token)
        assert status < 400, (status, data)
        return data

    plant = call("POST", "/api/v1/plants", {"name": "Kpi Works", "code": "KW"})
    other = call("POST", "/api/v1/plants", {"name": "Other Works", "code": "OW"})
    pump = call("POST", "/api/v1/assets", {"name": "Pump", "code": "KW-PMP-1", "plant_id": plant["id"]})
    belt = call("POST", "/api/v1/assets", {"name": "Belt", "code": "KW-CNV-2", "plant_id": plant["id"]})
    call("POST", "/api/v1/assets", {"name": "Fan", "code": "OW-FAN-1", "plant_id": other["id"]})
    today = datetime.now(UTC)

    def order(title: str, *, done: bool = False, downtime: int = 0, **fields: Any) -> None:
        created = call("POST", "/api/v1/orders", {"title": title, **fields})
        if done:
            call("POST", f"/api/v1/orders/{created['id']}/transition", {"to": "in_progress"})
            if downtime:
                call("PATCH", f"/api/v1/orders/{created['id']}", {"downtime_minutes": downtime})
            call("POST", f"/api/v1/orders/{created['id']}/transition", {"to": "completed"})

    order("Pump seal leaks", type="corrective", priority="high", asset_id=pump["id"], done=True, downtime=90)
    order("Belt snapped", type="emergency", priority="critical", asset_id=belt["id"], done=True, downtime=30)
    order("Grease the pump", type="preventive", asset_id=pump["id"], done=True,
          due_at=(today + timedelta(days=1)).isoformat())  # fmt: skip
    order("Check the belt", type="preventive", asset_id=belt["id"], due_at=(today - timedelta(days=1)).isoformat())
    order("Inspect guards", type="inspection", asset_id=belt["id"], done=True)
    order("Noisy bearing", type="corrective", priority="high", asset_id=pump["id"])
    order("Loose panel", priority="low")
    yield {"plant": plant, "pump": pump, "token": token}


def kpi_app(server: Server, tmp_path: Path) -> CmmsApp:
    return make_app(
        Options(
            server=server.url,
            tenant=TENANT,
            email=MANAGER,
            config_dir=tmp_path,
            clock=lambda: NOW,
            backoff=lambda: Backoff(first=0.2, cap=1.0),
        )
    )


def from_server(server: Server, token: str, days: int, plant_id: int | None = None) -> dict[str, Any]:
    query = {"from": (NOW - timedelta(days=days)).isoformat(), "to": NOW.isoformat()}
    if plant_id is not None:
        query["plant_id"] = str(plant_id)
    status, data = http("GET", f"{server.base}/api/v1/kpis?{urlencode(query)}", token=token)
    assert status == 200, data
    return dict(data)


def assert_same(shown: Any, expected: dict[str, Any]) -> None:
    """Equal but for what depends on the moment of the request (as_of and the hours observed so far)."""
    assert shown is not None
    for key in ("mttr", "pm_compliance", "planned_percentage", "backlog", "orders", "top_assets_by_downtime"):
        assert shown[key] == expected[key], key
    assert shown["period"]["from"] == expected["period"]["from"] and shown["period"]["to"] == expected["period"]["to"]
    assert shown["mtbf"]["failures"] == expected["mtbf"]["failures"]
    assert shown["mtbf"]["hours"] == pytest.approx(expected["mtbf"]["hours"], rel=1e-3)


def big(kpis: KpisView, key: str) -> str:
    return kpis.query_one(f"#kpi-{key}", Card).query_one(BigNumber).value


async def test_the_dashboard_shows_the_servers_numbers(server: Server, seeded: dict[str, Any], tmp_path: Path) -> None:
    token = seeded["token"]
    app = kpi_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await pilot.press("6")
        main_kpis = view(app, "orders").screen.query_one("#kpis", KpisView)
        await wait_for(pilot, lambda: main_kpis.kpis is not None, what="the KPIs")
        expected = from_server(server, token, 30)
        assert_same(main_kpis.kpis, expected)

        # The seeded work, computed by hand: two repairs of 90 and 30 minutes, PM one on time and one
        # missed, two planned of four completed, backlog high 6 h + medium 4 h + low 2 h for one technician.
        assert expected["mttr"]["hours"] == 1.0 and expected["mttr"]["repairs"] == 2
        assert expected["pm_compliance"]["on_time"] == 1 and expected["pm_compliance"]["missed"] == 1
        assert expected["planned_percentage"]["percent"] == 50.0
        assert expected["backlog"]["hours"] == 12.0 and expected["backlog"]["crew_weeks"] == 0.3
        assert big(main_kpis, "mttr") == "1.0h"
        assert big(main_kpis, "pm") == "50%"
        assert big(main_kpis, "planned") == "50%"
        assert big(main_kpis, "backlog") == "12h"
        assert big(main_kpis, "crew") == "0.3"
        mtbf = expected["mtbf"]["hours"]
        assert big(main_kpis, "mtbf") in (f"{mtbf:.0f}h", f"{mtbf / 24:.0f}d")

        text = screen_text(app)
        lines = text.splitlines()
        assert "last 30 days" in text and "every plant" in text
        assert any("KW-PMP-1" in line and "1.5 h" in line for line in lines)  # top downtime
        assert any("KW-CNV-2" in line and "0.5 h" in line for line in lines)
        completed = expected["orders"]["by_status"]["completed"]
        assert re.search(rf"│ completed +[{BLOCKS}]+ +{completed} +│", text), text
        assert "2 repairs" in text and "1/2 on time" in text

        await pilot.press("d")  # 30 -> 90 days
        await wait_for(pilot, lambda: main_kpis.kpis is not None and main_kpis.days == 90
                       and main_kpis.kpis["period"]["from"] == from_server(server, token, 90)["period"]["from"],
                       what="the 90-day KPIs")  # fmt: skip
        assert_same(main_kpis.kpis, from_server(server, token, 90))
        assert "last 90 days" in screen_text(app)

        await pilot.press("p")  # every plant -> the first plant
        plant = seeded["plant"]
        await wait_for(pilot, lambda: main_kpis.kpis is not None
                       and main_kpis.kpis["period"]["plant_id"] == plant["id"], what="the plant's KPIs")  # fmt: skip
        assert_same(main_kpis.kpis, from_server(server, token, 90, plant["id"]))
        assert "Kpi Works" in screen_text(app)

        http("POST", server.base + "/api/v1/orders", {"title": "After", "asset_id": seeded["pump"]["id"]}, token)
        await wait_for(pilot, lambda: "orders changed since" in screen_text(app), what="the outdated mark")
        await pilot.press("r")
        await wait_for(pilot, lambda: "orders changed since" not in screen_text(app), what="the refresh")
        assert main_kpis.kpis is not None and main_kpis.kpis["backlog"]["hours"] == 14.0


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_dashboard_fits_the_screen(
    server: Server, seeded: dict[str, Any], tmp_path: Path, size: tuple[int, int]
) -> None:
    app = kpi_app(server, tmp_path)
    async with app.run_test(size=size, notifications=True) as pilot:
        await log_in(pilot)
        await pilot.press("6")
        kpis = view(app, "orders").screen.query_one("#kpis", KpisView)
        await wait_for(pilot, lambda: kpis.kpis is not None, what="the KPIs")
        await pilot.pause(0.3)
        text = screen_text(app)
        for title in ("MTTR", "MTBF", "Planned", "Backlog", "Orders created, by status", "Top assets by downtime"):
            assert title in text, title
        assert "d Days 7/30/90" in text.splitlines()[-1] and "p Plant" in text.splitlines()[-1]
        if size[0] >= 110:
            assert "PM compliance" in text and "Crew-weeks" in text and "Backlog by priority" in text
