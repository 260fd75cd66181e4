"""API keys in the console: a manager opens them from Integrations (k), creates one (the secret is
shown once, copied, then forgotten), sees it listed here and on the server, revokes it, and the
server refuses the key at once; a role above the manager's is refused beside the role field."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widgets import Input, Select, Static

from cmms_tui.screens.api_keys import ApiKeysScreen, KeyFormDialog, SecretDialog
from cmms_tui.screens.dialogs import Confirm
from tests.tui.server import Server, http
from tests.tui.support import SIZE, console_app, log_in, screen_text, wait_for


async def test_create_see_the_secret_once_and_revoke(server: Server, tmp_path: Path) -> None:
    name = f"erp-sync-{uuid.uuid4().hex[:6]}"
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await app.action_view("integrations")
        await pilot.pause(0.3)
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), what="the API keys screen")
        keys = app.screen
        assert isinstance(keys, ApiKeysScreen)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyFormDialog), what="the form")
        form = app.screen
        assert isinstance(form, KeyFormDialog)
        assert form.roles == ("manager", "technician", "requester")  # nothing above the viewer's role
        await pilot.press(*name)
        form.query_one("#role", Select).value = "technician"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SecretDialog), what="the secret")
        dialog = app.screen
        assert isinstance(dialog, SecretDialog)
        secret = dialog.secret
        assert secret
        await wait_for(pilot, lambda: "shown once: copy it now" in screen_text(app), what="the warning")
        assert secret in screen_text(app)
        await pilot.press("c")
        assert app.clipboard == secret
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is keys, what="back to the keys")
        assert dialog.secret is None
        assert secret not in screen_text(app)
        mine = [k for k in keys.table.models.values() if k["name"] == name]
        assert len(mine) == 1 and "secret" not in mine[0]
        key_id = mine[0]["id"]
        await wait_for(pilot, lambda: name in screen_text(app), what="the key's row")
        listed = server.call("manager", "GET", "/api/v1/api-keys?limit=100")["items"]
        assert any(k["id"] == key_id and k["role"] == "technician" for k in listed)
        assert http("GET", server.base + "/api/v1/me", token=secret)[0] == 200

        keys.table.move_cursor(row=keys.table.get_row_index(str(key_id)))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: keys.table.models[key_id]["revoked_at"] is not None, what="revoked")
        row = next(line for line in screen_text(app).splitlines() if name in line)
        assert "revoked" in row
        assert http("GET", server.base + "/api/v1/me", token=secret)[0] == 401


async def test_a_role_above_the_managers_is_refused_beside_the_field(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await app.action_view("integrations")
        await pilot.pause(0.3)
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen), what="the API keys screen")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyFormDialog), what="the form")
        form = app.screen
        assert isinstance(form, KeyFormDialog)
        await pilot.press(*"too-strong")
        # the form offers no admin; send what an older console (or a changed rule) would
        form.submit({"name": "too-strong", "role": "admin", "expires_at": ""})
        error = form.query_one("#error-role", Static)
        await wait_for(pilot, lambda: "admin" in str(error.render()), what="the 403 beside the role")
        assert isinstance(app.screen, KeyFormDialog)  # still open
        assert form.query_one("#name", Input).value == "too-strong"  # what was typed stays
        assert not any(k["name"] == "too-strong" for k in server.call("manager", "GET", "/api/v1/api-keys")["items"])
