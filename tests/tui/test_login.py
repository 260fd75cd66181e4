"""Login: pre-filled fields and focus, errors beside fields, the saved session (0600), logout."""

from __future__ import annotations

import stat
from pathlib import Path

from textual.widgets import Input

from cmms_tui.app import Options, make_app
from cmms_tui.screens.login import LoginScreen
from cmms_tui.screens.main import MainScreen
from tests.tui.server import TENANT, Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, wait_for, wait_until_live


async def test_login_is_prefilled_and_focuses_the_first_empty_field(server: Server, tmp_path: Path) -> None:
    app = make_app(Options(server=server.url, tenant=TENANT, config_dir=tmp_path))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#server", Input).value == server.url
        assert app.screen.query_one("#tenant", Input).value == TENANT
        assert app.focused is app.screen.query_one("#email", Input)


async def test_wrong_password_is_reported_beside_the_field_and_keeps_the_input(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        await pilot.press(*"not-the-password", "enter")
        await wait_for(pilot, lambda: "invalid tenant, email or password" in screen_text(app), what="the error")
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#password", Input).value == "not-the-password"
        assert not (tmp_path / "tui-session.json").exists()


async def test_login_shows_who_and_where_then_the_saved_session_needs_no_password(
    server: Server, tmp_path: Path
) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        text = screen_text(app)
        assert "tuitest  Tess Technician (technician)  TUI Test Works" in text
        assert "● connected since" in text
        assert "Work orders" in text
    saved = tmp_path / "tui-session.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert "refresh_token" in saved.read_text()

    again = console_app(server, tmp_path)  # a new start: POST /auth/refresh, no password typed
    async with again.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until_live(pilot)
        assert isinstance(again.screen, MainScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Log out")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(again.screen, LoginScreen), what="the login screen")
        assert "Logged out." in screen_text(again)
    assert not saved.exists()

    third = console_app(server, tmp_path)  # the revoked session is not resumed
    async with third.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause(0.5)
        assert isinstance(third.screen, LoginScreen)
        assert third.focused is third.screen.query_one("#password", Input)
