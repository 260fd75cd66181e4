"""Create a work order (supervisors) or a request (everyone else: a supervisor approves it), or edit
one: the same form, showing only the fields this role may change.

Validation comes from the server's problem document: each `errors[].field` message appears beside
its field, and a failed submit keeps everything typed. An edit sends only what changed, with
If-Match; when someone else saved first (412), reloading takes their version and keeps what was
typed here.
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
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from cmms_tui.client_errors import ApiError
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import full_time
from cmms_tui.live import LiveEvent
from cmms_tui.models import ORDER_TYPES, PRIORITIES, Order
from cmms_tui.permissions import editable_fields
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

FIELDS = ("title", "description", "priority", "type", "asset_id", "due_at", "assignee_id", "downtime_minutes")
CREATE_FIELDS = FIELDS[:-1]  # downtime is recorded on work that exists
LABELS = {
    "title": "Title *",
    "description": "Description",
    "priority": "Priority",
    "type": "Type",
    "asset_id": "Asset",
    "due_at": "Due",
    "assignee_id": "Assignee",
    "downtime_minutes": "Downtime min",
}
NEW = {"title": "", "description": "", "priority": "medium", "type": "corrective", "asset_id": "", "due_at": ""}


def parse_due(text: str) -> str:
    """YYYY-MM-DD [HH:MM] in local time becomes RFC 3339; anything else goes as typed (the server judges)."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).astimezone().isoformat()
        except ValueError:
            continue
    return text


class OrderFormScreen(ReportsFailures, Screen["Order | None"]):
    BINDINGS = [
        Binding("ctrl+s", "submit('create')", "Create", priority=True),
        Binding("ctrl+s", "submit('save')", "Save", priority=True),
        Binding("ctrl+r", "reload", "Reload the order"),
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
    OrderFormScreen #submit, OrderFormScreen #reload { margin-left: 14; }
    OrderFormScreen #reload { display: none; }
    OrderFormScreen.-stale #reload { display: block; }
    """

    def __init__(self, order: Order | None = None) -> None:
        """Without an order: a new one. With one: edit it (the version it was read at is the If-Match)."""
        super().__init__()
        self.order = order
        self.fields: tuple[str, ...] = ()
        self.initial: dict[str, Any] = {}  # the form's values as loaded: what "changed" is measured from
        self.stale = False
        self.saving = False  # while a save is in flight, its own event is not someone else's change

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    # ---- building -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        d = self.directory
        if self.order is None:
            self.fields = tuple(f for f in CREATE_FIELDS if f != "assignee_id" or d.is_supervisor)
            self.initial = {**NEW, "assignee_id": None}
            intro = (
                "New work order: it opens ready to work."
                if d.is_supervisor
                else "New request: a supervisor approves it before work starts."
            )
        else:
            allowed = editable_fields(d.role, d.my_id, self.order)
            self.fields = tuple(f for f in FIELDS if f in allowed)
            self.initial = self.values_of(self.order)
            intro = f"Edit {self.order['number']}: {self.order['title']}"
        yield AppHeader()
        with VerticalScroll(id="form"):
            yield Static(Text(intro, style="bold"), id="intro")
            for name in self.fields:
                with Horizontal(classes="row"):
                    yield Label(LABELS[name])
                    yield self._widget(name, self.initial.get(name))
                    yield Static("", id=f"error-{name}", classes="error")
            yield Static(id="form-status")
            yield Button("Save (ctrl+s)" if self.order else "Create (ctrl+s)", id="submit", variant="primary")
            yield Button("Reload the order (ctrl+r)", id="reload")
        yield Footer(compact=True)

    def _widget(self, name: str, value: Any) -> Widget:
        if name == "description":
            return TextArea(value or "", id=name)
        if name in ("priority", "type"):
            choices = PRIORITIES if name == "priority" else ORDER_TYPES
            return Select([(c, c) for c in choices], value=value, allow_blank=False, id=name)
        if name == "assignee_id":
            people = [(self.directory.person_name(p["id"]), p["id"]) for p in self.directory.technicians()]
            if isinstance(value, int) and value not in {i for _, i in people}:
                people.append((self.directory.person_name(value), value))  # someone no longer a technician
            return Select[int](people, prompt="nobody", value=value if value is not None else Select.NULL, id=name)
        if name == "asset_id":
            codes = sorted({str(a["code"]) for a in self.directory.assets.values() if a.get("code")})
            suggester = SuggestFromList(codes, case_sensitive=False)
            return Input(value, id=name, placeholder="asset code or #id", suggester=suggester)
        placeholder = {"title": "What needs doing", "due_at": "YYYY-MM-DD or YYYY-MM-DD HH:MM"}.get(name, "")
        return Input(value, id=name, placeholder=placeholder)

    def values_of(self, order: Order) -> dict[str, Any]:
        """An order as the form shows it (the text a user would type for each field)."""
        asset_id = order["asset_id"]
        asset = self.directory.assets.get(asset_id) if asset_id is not None else None
        asset_text = "" if asset_id is None else (asset["code"] if asset and asset.get("code") else f"#{asset_id}")
        return {
            "title": order["title"],
            "description": order["description"] or "",
            "priority": order["priority"],
            "type": order["type"],
            "asset_id": asset_text,
            "due_at": full_time(order["due_at"]),
            "assignee_id": order["assignee_id"],
            "downtime_minutes": str(order["downtime_minutes"]),
        }

    def on_mount(self) -> None:
        crumb = ("Orders", "New") if self.order is None else ("Orders", self.order["number"], "Edit")
        self.query_one(AppHeader).crumb = self.cmms.title_text(*crumb)
        if self.order is not None:
            self.cmms.live_signal.subscribe(self, self._live)
        if self.fields:
            self.query_one(f"#{self.fields[0]}").focus()
        else:
            self._status(Text("Nothing on this order is yours to change.", style="dim"))

    def _live(self, event: LiveEvent) -> None:
        """Say at once when someone else saves this order, rather than at the 412 of the next save."""
        order, data = self.order, event.data
        if order is None or self.saving or self.stale or not event.type.startswith("order:"):
            return
        if data.get("id") != order["id"]:
            return
        if int(data.get("version") or 0) > order["version"]:
            self._mark_stale(f"{order['number']} was just changed elsewhere.")

    # ---- reading the fields -------------------------------------------------------------------

    def typed(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.fields:
            widget = self.query_one(f"#{name}")
            if isinstance(widget, TextArea):
                out[name] = widget.text
            elif isinstance(widget, Select):
                out[name] = None if widget.value is Select.NULL else widget.value
            else:
                value = cast(Input, widget).value
                out[name] = value if name == "title" else value.strip()
        return out

    def _put(self, name: str, value: Any) -> None:
        widget = self.query_one(f"#{name}")
        if isinstance(widget, TextArea):
            widget.text = value or ""
        elif isinstance(widget, Select):
            widget.value = Select.NULL if value is None else value
        else:
            cast(Input, widget).value = value or ""

    def changed(self) -> list[str]:
        typed = self.typed()
        return [name for name in self.fields if typed[name] != self.initial.get(name)]

    @property
    def dirty(self) -> bool:
        return bool(self.changed())

    def body(self) -> tuple[dict[str, Any], dict[str, str]]:
        """What to send (a new order: every filled field; an edit: the changed ones), and local errors."""
        typed = self.typed()
        names = self.fields if self.order is None else self.changed()
        body: dict[str, Any] = {}
        local: dict[str, str] = {}
        for name in names:
            value = typed[name]
            if name == "asset_id" and value:
                value = self._asset_id(value)
                if value is None:
                    local[name] = f"no asset with code {typed[name]!r}"
            elif name == "due_at" and value:
                value = parse_due(value)
            elif name == "downtime_minutes":
                if not value.isdigit():
                    local[name] = "a whole number of minutes"
                value = int(value) if value.isdigit() else value
            elif name in ("asset_id", "due_at"):
                value = None  # emptied: clear it
            body[name] = value
        if self.order is None:
            body = {k: v for k, v in body.items() if k == "title" or v not in (None, "")}
        return body, local

    def _asset_id(self, text: str) -> int | None:
        if text.lstrip("#").isdigit():
            return int(text.lstrip("#"))
        for asset in self.directory.assets.values():
            if (asset.get("code") or "").lower() == text.lower():
                return int(asset["id"])
        return None

    def _errors(self, errors: dict[str, str]) -> None:
        for name in self.fields:
            self.query_one(f"#error-{name}", Static).update(Text(errors.get(name, "")))

    def _status(self, message: Text) -> None:
        self.query_one("#form-status", Static).update(message)

    # ---- submitting ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "submit":
            return (parameters == ("create",)) == (self.order is None) and bool(self.fields)
        if action == "reload":
            return self.stale
        return True

    @on(Button.Pressed, "#submit")
    def _pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#reload")
    def _reload_pressed(self) -> None:
        self.action_reload()

    def action_submit(self, mode: str = "") -> None:
        body, local = self.body()
        self._errors(local)
        if local:
            self._status(Text("Check the marked fields.", style="bold red"))
            return
        if self.order is not None and not body:
            self._status(Text("Nothing changed.", style="dim"))
            return
        self._status(Text("Saving…"))
        self.saving = True
        self.submit(body)

    @work(exclusive=True, group="submit", exit_on_error=False, name="saving the order")
    async def submit(self, body: dict[str, Any]) -> None:
        api = self.cmms.api
        assert api is not None
        try:
            if self.order is None:
                order = await api.create_order(body)
            else:
                order = await api.update_order(self.order["id"], body, version=self.order["version"])
        except ApiError as exc:
            self._refused(exc)
            return
        finally:
            self.saving = False
        if self.order is not None:
            self.notify(f"{order['number']} saved.", timeout=4, markup=False)
        else:
            kind = "Work order" if order["status"] != "requested" else "Request"
            self.notify(f"{kind} {order['number']} created.", timeout=4, markup=False)
        self.dismiss(order)

    def _refused(self, exc: ApiError) -> None:
        if exc.status == 412 and self.order is not None:
            self._errors({})
            self._mark_stale(f"Someone else changed {self.order['number']} while you were editing.")
            return
        errors = exc.by_field()
        self._errors(errors)
        known = [f for f in errors if f in self.fields]
        self._status(Text(exc.detail if not known else "Check the marked fields.", style="bold red"))
        if known:
            self.query_one(f"#{known[0]}").focus()

    def _mark_stale(self, what: str) -> None:
        self.stale = True
        self.add_class("-stale")
        self.refresh_bindings()
        message = f"{what} Reload it (ctrl+r) to see their version; what you typed here stays."
        self._status(Text(message, style="bold red"))

    @work(exclusive=True, group="submit", exit_on_error=False, name="reloading the order")
    async def action_reload(self) -> None:
        """Take the server's version; fields changed here keep what was typed, the others follow it."""
        api, order = self.cmms.api, self.order
        assert api is not None
        if order is None:
            return
        fresh = await api.order(order["id"])
        kept = self.changed()
        theirs = self.values_of(fresh)
        for name in self.fields:
            if name not in kept:
                self._put(name, theirs[name])
        self.order, self.initial, self.stale = fresh, theirs, False
        self.remove_class("-stale")
        self.refresh_bindings()
        still = [name for name in kept if self.typed()[name] != theirs[name]]
        mine = f" Your changes to {', '.join(still)} are kept: ctrl+s saves them." if still else ""
        self._status(Text(f"Reloaded version {fresh['version']}.{mine}", style="bold"))

    async def action_back(self) -> None:
        if self.dirty:
            from cmms_tui.screens.dialogs import Confirm

            def leave(discard: bool | None) -> None:
                if discard:
                    self.dismiss(None)

            question = "Discard this new order?" if self.order is None else "Discard your changes?"
            self.app.push_screen(Confirm(question, yes="Discard", no="Keep editing"), leave)
            return
        self.dismiss(None)
