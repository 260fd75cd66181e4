"""Start a background job: an export (which records, which plant) or a KPI report (period, plant,
format). The server judges the parameters; its messages appear beside the fields they name, and a
refused submit keeps every choice."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from cmms_tui.client_errors import ApiError
from cmms_tui.failures import ReportsFailures
from cmms_tui.models import EXPORT_ENTITIES, REPORT_FORMATS, Job
from cmms_tui.screens.dialogs import DIALOG_CSS
from cmms_tui.screens.order_form import parse_due

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

PERIODS = (7, 30, 90)
CUSTOM = 0
PLANT_ENTITIES = ("orders", "assets")  # the exports that take a plant filter
FIELDS = ("entity", "plant_id", "period", "from", "to", "format")
DAY_FORMAT = "%Y-%m-%d %H:%M"
DAY_HINT = "YYYY-MM-DD [HH:MM]"
FIXED: dict[str, Any] = {"allow_blank": False, "compact": True}  # a Select that always has a value
ANY_PLANT: dict[str, Any] = {"prompt": "every plant", "compact": True}


def field_of(path: str, message: str) -> str:
    """The form field a server message is about: `params.filters.plant_id` -> plant_id,
    `params.from` -> from; a message on the whole of params that names a field goes there."""
    parts = [p for p in path.split(".") if p not in ("params", "filters")]
    name = parts[0] if parts else ""
    name = {"from_": "from", "kind": "entity"}.get(name, name)
    if name in FIELDS:
        return name
    for candidate in ("from", "to", "entity", "format", "plant_id"):
        if message.lower().startswith(candidate + " ") or f" {candidate} " in f" {message.lower()} ":
            return candidate
    return ""


def shown_message(path: str, message: str) -> str:
    """The server prefixes its message with the field path (`params.entity: ...`): drop that."""
    prefix = f"{path}: "
    message = message[len(prefix) :] if path and message.startswith(prefix) else message
    return message.removeprefix("Value error, ")


class JobFormScreen(ReportsFailures, ModalScreen[Job | None]):
    BINDINGS = [
        Binding("ctrl+s", "submit", "Start", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]
    DEFAULT_CSS = (
        DIALOG_CSS.format(name="JobFormScreen")
        + """
    JobFormScreen > Vertical { width: 84; }
    JobFormScreen .row { height: auto; margin-top: 1; }
    JobFormScreen .row > Label { width: 10; }
    JobFormScreen .row > Select, JobFormScreen .row > Input { width: 28; }
    JobFormScreen .error { color: $error; padding: 0 0 0 1; width: 1fr; height: auto; }
    JobFormScreen #form-status { height: auto; margin-top: 1; }
    """
    )

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        directory = self.cmms.directory
        assert directory is not None
        plants = [(p["name"], pid) for pid, p in sorted(directory.plants.items())]
        with Vertical():
            if self.kind == "exports":
                yield Static(Text("Export to CSV", style="bold"))
                entities = [(e, e) for e in EXPORT_ENTITIES if e != "audit" or directory.is_supervisor]
                yield from self._row("entity", "Records", Select(entities, value="orders", **FIXED, id="entity"))
                yield from self._row("plant_id", "Plant", Select[int](plants, **ANY_PLANT, id="plant_id"))
            else:
                yield Static(Text("KPI report", style="bold"))
                periods = [*[(f"last {d} days", d) for d in PERIODS], ("custom", CUSTOM)]
                yield from self._row("period", "Period", Select(periods, value=30, **FIXED, id="period"))
                yield from self._row("from", "From", Input(compact=True, id="from", placeholder=DAY_HINT))
                yield from self._row("to", "To", Input(compact=True, id="to", placeholder=DAY_HINT))
                yield from self._row("plant_id", "Plant", Select[int](plants, **ANY_PLANT, id="plant_id"))
                formats = [(f, f) for f in REPORT_FORMATS]
                yield from self._row("format", "Format", Select(formats, value="html", **FIXED, id="format"))
            yield Static(id="form-status")
            yield Static(
                Text(f"When done, the result is saved into {self.cmms.downloads}.  ctrl+s starts · esc cancels"),
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Start (ctrl+s)", id="start", variant="primary")

    @staticmethod
    def _row(name: str, label: str, widget: Any) -> ComposeResult:
        with Horizontal(classes="row"):
            yield Label(label)
            yield widget
            yield Static("", id=f"error-{name}", classes="error")

    def on_mount(self) -> None:
        if self.kind == "reports":
            self._fill_period(30)
        self.query_one(Select).focus()

    # ---- the period ---------------------------------------------------------------------------

    def _fill_period(self, days: int) -> None:
        now = self.cmms.now().astimezone()
        self.query_one("#from", Input).value = (now - timedelta(days=days)).strftime(DAY_FORMAT)
        self.query_one("#to", Input).value = now.strftime(DAY_FORMAT)

    @on(Select.Changed, "#period")
    def _period(self, event: Select.Changed) -> None:
        if isinstance(event.value, int) and event.value != CUSTOM:
            self._fill_period(event.value)

    @on(Input.Changed, "#from, #to")
    def _typed(self, event: Input.Changed) -> None:
        if event.input.has_focus:  # typed, not filled in from the period
            self.query_one("#period", Select).value = CUSTOM

    @on(Select.Changed, "#entity")
    def _entity(self, event: Select.Changed) -> None:
        plant = self.query_one("#plant_id", Select)
        plant.disabled = event.value not in PLANT_ENTITIES
        if plant.disabled:
            plant.clear()

    # ---- submit -------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        plant = self.query_one("#plant_id", Select).value
        plant_id = plant if isinstance(plant, int) else None
        if self.kind == "exports":
            entity = str(self.query_one("#entity", Select).value)
            filters = {"plant_id": plant_id} if plant_id is not None and entity in PLANT_ENTITIES else {}
            return {"entity": entity, "filters": filters}
        params: dict[str, Any] = {"format": str(self.query_one("#format", Select).value)}
        for name in ("from", "to"):
            text = self.query_one(f"#{name}", Input).value.strip()
            if text:
                params[name] = parse_due(text)
        if plant_id is not None:
            params["plant_id"] = plant_id
        return params

    def _errors(self, errors: dict[str, str]) -> None:
        for name in FIELDS:
            for found in self.query(f"#error-{name}").results(Static):
                found.update(Text(errors.get(name, "")))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        self._errors({})
        self.query_one("#form-status", Static).update(Text("Starting…"))
        self.submit(self.params())

    @work(exclusive=True, group="submit", exit_on_error=False, name="starting the job")
    async def submit(self, params: dict[str, Any]) -> None:
        api = self.cmms.api
        assert api is not None
        try:
            job = await api.start_job(self.kind, params)
        except ApiError as exc:
            errors: dict[str, str] = {}
            loose: list[str] = []
            for error in exc.errors or []:
                text = shown_message(error.field, error.message)
                name = field_of(error.field, text)
                if name and name in self._fields():
                    errors.setdefault(name, text)
                else:
                    loose.append(text)
            self._errors(errors)
            message = "; ".join(loose) or (exc.detail if not errors else "Check the marked fields.")
            self.query_one("#form-status", Static).update(Text(message, style="bold red"))
            if errors:
                self.query_one(f"#{next(iter(errors))}").focus()
            return
        self.dismiss(job)

    def _fields(self) -> set[str]:
        return {name for name in FIELDS if self.query(f"#{name}")}

    def action_cancel(self) -> None:
        self.dismiss(None)
