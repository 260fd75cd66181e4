"""API keys (from Integrations, `k`): the tenant's keys and their state, a new key, revoking one.

A key's secret exists in the create answer only: the dialog showing it is the one place it
lives in the console, and closing it forgets it. The form offers only roles at or below the
viewer's (the server refuses others with 403 on `role`, shown beside the field like any
other field error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from cmms_tui.client_errors import ApiError
from cmms_tui.client_keys import ApiKey, ApiKeyCreated, api_keys, create_key, revoke_key, roles_up_to
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import parse_time, plain, short_time
from cmms_tui.screens.dialogs import DIALOG_CSS, Confirm
from cmms_tui.widgets.header import AppHeader
from cmms_tui.widgets.table import LiveTable
from cmms_tui.widgets.table_lines import Column

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

FORM_FIELDS = ("name", "role", "expires_at")
STATE_STYLE = {"active": "green", "expired": "yellow", "revoked": "dim"}


def key_state(key: ApiKey, now: datetime) -> str:
    if key["revoked_at"]:
        return "revoked"
    expires = parse_time(key["expires_at"])
    return "expired" if expires is not None and expires <= now else "active"


def parse_expiry(text: str) -> str:
    """YYYY-MM-DD [HH:MM] in local time becomes RFC 3339 in UTC with Z (what the server asks for);
    anything else goes as typed, so the server's message says what is wrong with it."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, pattern).astimezone().astimezone(UTC)
        except ValueError:
            continue
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return text


class KeyFormDialog(ReportsFailures, ModalScreen["ApiKeyCreated | None"]):
    """Name, role, optional expiry. A refused submit marks the fields and keeps what was typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Create", priority=True)]
    DEFAULT_CSS = (
        DIALOG_CSS.format(name="KeyFormDialog")
        + """
    KeyFormDialog .row { height: auto; }
    KeyFormDialog .row > Label { width: 10; padding-top: 1; }
    KeyFormDialog .row > Input, KeyFormDialog .row > Select { width: 1fr; }
    KeyFormDialog .error { color: $error; padding: 0 0 0 10; height: auto; }
    KeyFormDialog #form-status { height: auto; }
    """
    )

    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__()
        self.roles = roles

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("New API key", style="bold"))
            with Horizontal(classes="row"):
                yield Label("Name *")
                yield Input(id="name", placeholder="what uses it, e.g. the ERP sync")
            yield Static("", id="error-name", classes="error")
            with Horizontal(classes="row"):
                yield Label("Role")
                yield Select([(r, r) for r in self.roles], value=self.roles[-1], allow_blank=False, id="role")
            yield Static("", id="error-role", classes="error")
            with Horizontal(classes="row"):
                yield Label("Expires")
                yield Input(id="expires_at", placeholder="optional: YYYY-MM-DD or YYYY-MM-DD HH:MM")
            yield Static("", id="error-expires_at", classes="error")
            yield Static(id="form-status")
            yield Static("ctrl+s creates · esc cancels", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create (ctrl+s)", id="create", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def typed(self) -> dict[str, str]:
        role = self.query_one("#role", Select).value
        return {
            "name": self.query_one("#name", Input).value.strip(),
            "role": str(role) if role is not Select.NULL else "",
            "expires_at": parse_expiry(self.query_one("#expires_at", Input).value.strip()),
        }

    def show_errors(self, errors: dict[str, str], status: str = "") -> None:
        for name in FORM_FIELDS:
            self.query_one(f"#error-{name}", Static).update(Text(errors.get(name, "")))
        self.query_one("#form-status", Static).update(Text(status, style="bold red"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def action_submit(self) -> None:
        body = self.typed()
        if not body["name"]:
            self.show_errors({"name": "a name says what uses the key"}, "Check the marked fields.")
            return
        self.submit(body)

    @work(exclusive=True, group="submit", exit_on_error=False, name="creating the API key")
    async def submit(self, body: dict[str, str]) -> None:
        api = cast("CmmsApp", self.app).api
        assert api is not None
        try:
            created = await create_key(api, body["name"], body["role"], body.get("expires_at") or None)
        except ApiError as exc:
            errors = exc.by_field()
            known = [f for f in errors if f in FORM_FIELDS]
            self.show_errors(errors, "Check the marked fields." if known else (exc.detail or exc.title))
            if known:
                self.query_one(f"#{known[0]}").focus()
            return
        self.dismiss(created)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class SecretDialog(ModalScreen[None]):
    """The new key's secret, once: `c` copies it; closing drops the only reference the console had."""

    BINDINGS = [
        Binding("c", "copy", "Copy"),
        Binding("escape,enter", "close", "Close"),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="SecretDialog") + "SecretDialog #secret { margin: 1 0; }"

    def __init__(self, created: ApiKeyCreated) -> None:
        super().__init__()
        self.name_of_key = created["name"]
        self.secret: str | None = created["secret"]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("API key ", "bold"), (self.name_of_key, "bold")))
            yield Static(Text(self.secret or "", style="bold yellow"), id="secret")
            yield Static(Text("shown once: copy it now", style="bold red"))
            yield Static("c copies · esc or enter closes", classes="hint")

    def action_copy(self) -> None:
        if self.secret:
            self.app.copy_to_clipboard(self.secret)
            self.notify("Secret copied to the clipboard.", timeout=3)

    def action_close(self) -> None:
        self.secret = None
        self.query_one("#secret", Static).update("")
        self.dismiss()


class ApiKeysScreen(ReportsFailures, Screen[None]):
    DEFAULT_CSS = """
    ApiKeysScreen #title { height: 1; padding: 0 1; background: $boost; }
    ApiKeysScreen LiveTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "new", "New key"),
        Binding("x", "revoke", "Revoke"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.table: LiveTable[ApiKey] = LiveTable(self._columns(), sort_key=lambda k: -int(k["id"]), id="api-keys")

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def _columns(self) -> list[Column[ApiKey]]:
        def state(key: ApiKey) -> Text:
            name = key_state(key, self.cmms.now())
            return plain(name, STATE_STYLE[name])

        def when(value: str | None) -> Text:
            return plain(short_time(value, self.cmms.now()) or "—", "dim" if not value else "")

        return [
            Column("name", "Name", lambda k: plain(k["name"])),
            Column("role", "Role", lambda k: plain(k["role"]), width=11),
            Column("prefix", "Prefix", lambda k: plain(k["prefix"], "dim"), width=14),
            Column("state", "State", state, width=8),
            Column("used", "Last used", lambda k: when(k["last_used_at"]), width=12),
            Column("expires", "Expires", lambda k: when(k["expires_at"]), width=12),
        ]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static(Text.assemble(("API keys", "bold"), ("  n: new · x: revoke · r: refresh", "dim")), id="title")
        yield self.table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.table.focus()

    @work(exclusive=True, group="load", exit_on_error=False, name="loading API keys")
    async def reload(self) -> None:
        assert self.cmms.api is not None
        page = await api_keys(self.cmms.api, {"limit": 100})
        self.table.set_rows(page.items)

    def action_refresh(self) -> None:
        self.reload()

    def action_new(self) -> None:
        assert self.cmms.directory is not None
        self.app.push_screen(KeyFormDialog(roles_up_to(self.cmms.directory.role)), self._created)

    def _created(self, created: ApiKeyCreated | None) -> None:
        if created is None:
            return
        shown: ApiKey = {k: v for k, v in created.items() if k != "secret"}  # type: ignore[assignment]
        self.table.upsert(shown)
        self.table.move_cursor(row=self.table.get_row_index(str(created["id"])))
        self.app.push_screen(SecretDialog(created))

    def action_revoke(self) -> None:
        row_id = self.table.selected_id()
        key = self.table.models.get(row_id) if row_id is not None else None
        if key is None or key["revoked_at"]:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._revoke(key)

        question = f"Revoke the API key {key['name']!r} ({key['prefix']})? Whatever uses it stops at once."
        self.app.push_screen(Confirm(question, yes="Revoke"), answered)

    @work(exclusive=True, group="revoke", exit_on_error=False, name="revoking the API key")
    async def _revoke(self, key: ApiKey) -> None:
        assert self.cmms.api is not None
        await revoke_key(self.cmms.api, key["id"])
        self.notify(f"API key {key['name']} revoked.", timeout=4, markup=False)
        self.reload()
