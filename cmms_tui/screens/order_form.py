"""Create a work order (supervisors) or a request (everyone else: a supervisor approves it).

Validation comes from the server's problem document: each `errors[].field` message appears beside
its field, and a failed submit keeps everything typed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from cmms_tui.client import ApiError
from cmms_tui.failures import ReportsFailures
from cmms_tui.models import ORDER_TYPES, PRIORITIES
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

FIELDS = ("title", "description", "priority", "type", "asset_id", "due_at", "assignee_id")


def parse_due(text: str) -> str:
    """YYYY-MM-DD [HH:MM] in local time becomes RFC 3339; anything else goes as typed (the server judges)."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).astimezone().isoformat()
        except ValueError:
            continue
    return text


class OrderFormScreen(ReportsFailures, Screen[None]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Create", priority=True),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    OrderFormScreen #form { padding: 0 2; }
    OrderFormScreen .row { height: auto; }
    OrderFormScreen .row > Label { width: 14; padding-top: 1; }
    OrderFormScreen .row > Input, OrderFormScreen .row > Select { width: 1fr; max-width: 70; }
    OrderFormScreen .row > TextArea { width: 1fr; max-width: 70; height: 5; }
    OrderFormScreen .error { color: $error; padding: 1 0 0 1; width: 1fr; height: auto; }
    OrderFormScreen #form-status { height: auto; margin: 1 0; }
    OrderFormScreen #submit { margin-left: 14; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.technicians: list[tuple[str, int]] = []

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    def compose(self) -> ComposeResult:
        d = self.directory
        codes = sorted({str(a["code"]) for a in d.assets.values() if a.get("code")})
        yield AppHeader()
        with VerticalScroll(id="form"):
            intro = (
                "New work order: it opens ready to work."
                if d.is_supervisor
                else "New request: a supervisor approves it before work starts."
            )
            yield Static(Text(intro, style="bold"), id="intro")
            yield from self._row("title", "Title *", Input(id="title", placeholder="What needs doing"))
            yield from self._row("description", "Description", TextArea(id="description"))
            yield from self._row(
                "priority",
                "Priority",
                Select([(p, p) for p in PRIORITIES], value="medium", allow_blank=False, id="priority"),
            )
            yield from self._row(
                "type", "Type", Select([(t, t) for t in ORDER_TYPES], value="corrective", allow_blank=False, id="type")
            )
            yield from self._row(
                "asset_id",
                "Asset",
                Input(
                    id="asset_id",
                    placeholder="asset code or #id",
                    suggester=SuggestFromList(codes, case_sensitive=False),
                ),
            )
            yield from self._row("due_at", "Due", Input(id="due_at", placeholder="YYYY-MM-DD or YYYY-MM-DD HH:MM"))
            if d.is_supervisor:
                yield from self._row("assignee_id", "Assignee", Select[int]([], prompt="nobody", id="assignee_id"))
            yield Static(id="form-status")
            yield Button("Create (ctrl+s)", id="submit", variant="primary")
        yield Footer(compact=True)

    @staticmethod
    def _row(name: str, label: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
            yield Static("", id=f"error-{name}", classes="error")

    def on_mount(self) -> None:
        self.query_one(AppHeader).crumb = self.cmms.title_text("Orders", "New")
        self.query_one("#title", Input).focus()
        if self.directory.is_supervisor:
            self.load_technicians()

    @work(exit_on_error=False, name="loading technicians")
    async def load_technicians(self) -> None:
        assert self.cmms.api is not None
        people = [u for u in await self.cmms.api.users(role="technician") if u["active"]]
        options = [(u.get("name") or u["email"], u["id"]) for u in people]
        self.query_one("#assignee_id", Select).set_options(sorted(options))

    @property
    def dirty(self) -> bool:
        return bool(
            self.query_one("#title", Input).value.strip()
            or self.query_one("#description", TextArea).text.strip()
            or self.query_one("#asset_id", Input).value.strip()
            or self.query_one("#due_at", Input).value.strip()
        )

    def _errors(self, errors: dict[str, str]) -> None:
        for name in FIELDS:
            found = self.query(f"#error-{name}")
            if found:
                found.first(Static).update(Text(errors.get(name, "")))

    def _body(self) -> tuple[dict[str, Any], dict[str, str]]:
        body: dict[str, Any] = {"title": self.query_one("#title", Input).value}
        local: dict[str, str] = {}
        description = self.query_one("#description", TextArea).text
        if description.strip():
            body["description"] = description
        body["priority"] = self.query_one("#priority", Select).value
        body["type"] = self.query_one("#type", Select).value
        asset = self.query_one("#asset_id", Input).value.strip()
        if asset:
            asset_id = self._asset_id(asset)
            if asset_id is None:
                local["asset_id"] = f"no asset with code {asset!r}"
            else:
                body["asset_id"] = asset_id
        due = self.query_one("#due_at", Input).value.strip()
        if due:
            body["due_at"] = parse_due(due)
        if self.directory.is_supervisor:
            assignee = self.query_one("#assignee_id", Select).value
            if isinstance(assignee, int):
                body["assignee_id"] = assignee
        return body, local

    def _asset_id(self, text: str) -> int | None:
        if text.lstrip("#").isdigit():
            return int(text.lstrip("#"))
        for asset in self.directory.assets.values():
            if (asset.get("code") or "").lower() == text.lower():
                return int(asset["id"])
        return None

    @on(Button.Pressed, "#submit")
    def _pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        body, local = self._body()
        self._errors(local)
        if local:
            self.query_one("#form-status", Static).update(Text("Check the marked fields.", style="bold red"))
            return
        self.query_one("#form-status", Static).update(Text("Saving…"))
        self.submit(body)

    @work(exclusive=True, group="submit", exit_on_error=False, name="creating the order")
    async def submit(self, body: dict[str, Any]) -> None:
        api = self.cmms.api
        assert api is not None
        try:
            order = await api.create_order(body)
        except ApiError as exc:
            errors = exc.by_field()
            self._errors(errors)
            known = [f for f in errors if f in FIELDS]
            message = exc.detail if not known else "Check the marked fields."
            self.query_one("#form-status", Static).update(Text(message, style="bold red"))
            if known:
                self.query_one(f"#{known[0]}").focus()
            return
        kind = "Work order" if order["status"] != "requested" else "Request"
        self.notify(f"{kind} {order['number']} created.", timeout=4, markup=False)
        self.dismiss()

    async def action_back(self) -> None:
        if self.dirty:
            from cmms_tui.screens.dialogs import Confirm

            def leave(discard: bool | None) -> None:
                if discard:
                    self.dismiss()

            self.app.push_screen(Confirm("Discard this new order?", yes="Discard", no="Keep editing"), leave)
            return
        self.dismiss()
