"""Snapshots of the main screens, as the plain text a user reads (layout, columns, words).

A separate tenant with fixed data and a frozen clock keeps them stable; times display in UTC here.
Text rather than SVG: it diffs readably and does not depend on the terminal's colours. Refresh with
CMMS_TUI_UPDATE_SNAPSHOTS=1 after a deliberate change, and read the diff.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cmms_tui.app import CmmsApp, Options, make_app
from cmms_tui.live import Backoff
from tests.tui.server import PASSWORD, Server, http
from tests.tui.support import log_in, screen_text, view, wait_for

SNAPSHOTS = Path(__file__).parent / "snapshots"
FROZEN = datetime(2030, 1, 15, 9, 30, tzinfo=UTC)
TENANT = "snap"


@pytest.fixture(scope="module")
def snap(server: Server) -> dict[str, Any]:
    """A tenant with fixed data: one plant, three assets, six orders (two for the technician)."""
    server.cli("tenant", "create", TENANT, "--display-name", "Snapshot Works")
    for email, role, name in (
        ("max@snap.test", "manager", "Max Manager"),
        ("tess@snap.test", "technician", "Tess Tech"),
    ):
        server.cli("user", "create", "--tenant", TENANT, "--email", email, "--role", role, "--name", name,
                   "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    _, login = http("POST", server.base + "/api/v1/auth/login",
                    {"tenant": TENANT, "email": "max@snap.test", "password": PASSWORD})  # fmt: skip
    token = login["access_token"]
    _, tess = http("POST", server.base + "/api/v1/auth/login",
                   {"tenant": TENANT, "email": "tess@snap.test", "password": PASSWORD})  # fmt: skip

    def post(path: str, body: dict[str, Any]) -> Any:
        status, data = http("POST", server.base + path, body, token)
        assert status == 201, data
        return data

    plant = post("/api/v1/plants", {"name": "North Works", "code": "NW"})
    assets = [
        post("/api/v1/assets", {"name": name, "plant_id": plant["id"], "code": code, "criticality": crit})
        for name, code, crit in (
            ("Feed Pump", "NW-PMP-1", "high"),
            ("Conveyor Belt", "NW-CNV-2", "medium"),
            ("Air Compressor", "NW-CMP-3", "critical"),
        )
    ]
    me = tess["user"]["id"]
    for title, priority, asset, assignee, due in (
        ("Replace mechanical seal", "high", 0, me, "2031-05-04T08:00:00Z"),
        ("Inspect belt tension", "low", 1, None, "2031-06-01T08:00:00Z"),
        ("Compressor trips on overload", "critical", 2, me, "2029-12-30T08:00:00Z"),
        ("Quarterly lubrication", "medium", 1, None, None),
        ("Title with [red]markup[/red] shown literally", "medium", None, None, None),
        ("Check pressure switch", "high", 2, None, "2031-02-10T08:00:00Z"),
    ):
        body: dict[str, Any] = {"title": title, "priority": priority}
        if asset is not None:
            body["asset_id"] = assets[asset]["id"]
        if assignee is not None:
            body["assignee_id"] = assignee
        if due is not None:
            body["due_at"] = due
        post("/api/v1/orders", body)
    return {"plant": plant, "assets": assets}


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def snapshot_app(server: Server, tmp_path: Path) -> CmmsApp:
    return make_app(
        Options(
            server=server.url,
            tenant=TENANT,
            email="tess@snap.test",
            config_dir=tmp_path,
            clock=lambda: FROZEN,
            backoff=lambda: Backoff(first=0.2, cap=1.0),
        )
    )


def check(name: str, text: str) -> None:
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text).rstrip("\n")  # the server's port varies
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("CMMS_TUI_UPDATE_SNAPSHOTS") or not path.exists():
        if not os.environ.get("CMMS_TUI_UPDATE_SNAPSHOTS") and os.environ.get("CI"):
            pytest.fail(f"snapshot {path.name} is missing; run with CMMS_TUI_UPDATE_SNAPSHOTS=1")
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text + "\n")
        return
    expected = path.read_text().rstrip("\n")
    assert text == expected, f"{name} differs from {path}:\n{text}"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_login_screen(server: Server, snap: dict[str, Any], tmp_path: Path, size: tuple[int, int]) -> None:
    app = snapshot_app(server, tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        check(f"login-{size[0]}x{size[1]}", screen_text(app))


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_main_screens(server: Server, snap: dict[str, Any], tmp_path: Path, size: tuple[int, int]) -> None:
    app = snapshot_app(server, tmp_path)
    suffix = f"{size[0]}x{size[1]}"
    async with app.run_test(size=size) as pilot:
        await log_in(pilot)
        await wait_for(pilot, lambda: view(app, "orders").table.row_count == 6)
        await wait_for(pilot, lambda: app.directory is not None and len(app.directory.assets) == 3, what="names")
        await pilot.pause(1.8)  # past any flash
        check(f"orders-{suffix}", screen_text(app))

        await pilot.press("2")
        await wait_for(pilot, lambda: view(app, "assets").table.row_count == 3)
        await pilot.pause()
        check(f"assets-{suffix}", screen_text(app))

        await pilot.press("1", "f")
        await pilot.pause(0.3)
        check(f"filter-{suffix}", screen_text(app))
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.3)
        check(f"help-{suffix}", screen_text(app))


async def test_no_color_keeps_the_meaning_in_words(
    server: Server, snap: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = snapshot_app(server, tmp_path)
    assert app.no_color
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await wait_for(pilot, lambda: view(app, "orders").table.row_count == 6)
        text = screen_text(app)
        for word in ("critical", "high", "low", "open", "late", "● connected"):
            assert word in text
