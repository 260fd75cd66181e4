"""Small forms on a work order: log time by hand, add a cost line.

Each sends its own request, so the server's refusal shows beside the field it names (minutes,
amount, …) and what was typed stays; the form closes with what the server recorded.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from cmms_tui.client_errors import ApiError
from cmms_tui.failures import ReportsFailures
from cmms_tui.screens.checklist_input import FIELD_CSS
from cmms_tui.screens.dialogs import DIALOG_CSS

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

_DURATION = re.compile(r"^\s*(?:(\d+)\s*(?:h|:)\s*)?(?:(\d+)\s*(?:m|min)?)?\s*$", re.IGNORECASE)


def minutes_of(text: str) -> int | str:
    """`90`, `1:30`, `1h30`, `1h`, `45m` as minutes; anything else as typed (the server names it)."""
    match = _DURATION.match(text)
    if not text.strip() or match is None:
        return text
    hours, minutes = match.group(1), match.group(2)
    if hours is not None and ":" in text and minutes is None:
        return text
    return int(hours or 0) * 60 + int(minutes or 0)


class _WorkForm(ReportsFailures, ModalScreen[dict[str, Any] | None]):
    """A title, fields (each with its error line below) and ctrl+s / enter to save."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save", priority=True)]
    TITLE_TEXT: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, order_id: int, number: str) -> None:
        super().__init__()
        self.order_id = order_id
        self.number = number

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble((self.TITLE_TEXT, "bold"), "  ", (self.number, "dim")))
            for name in self.FIELDS:
                yield self.field(name)
                yield Static(id=f"{name}-error", classes="error")
            yield Static("tab moves · enter or ctrl+s saves · esc cancels", classes="hint")

    def field(self, name: str) -> Input | Select[str]:
        raise NotImplementedError

    def body(self) -> dict[str, Any]:
        raise NotImplementedError

    def value(self, name: str) -> str:
        widget = self.query_one(f"#{name}")
        if isinstance(widget, Select):
            return str(widget.value)
        return cast(Input, widget).value.strip()

    def on_mount(self) -> None:
        self.query_one(f"#{self.FIELDS[0]}").focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        self.save(self.body())

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @work(exclusive=True, group="save", exit_on_error=False, name="saving")
    async def save(self, body: dict[str, Any]) -> None:
        for name in self.FIELDS:
            self.query_one(f"#{name}-error", Static).remove_class("-shown")
        try:
            saved = await self.send(body)
        except ApiError as exc:
            fields = {k: v for k, v in exc.by_field().items() if k in self.FIELDS}
            if exc.status not in (400, 422) or not fields:
                raise
            for name, message in fields.items():
                error = self.query_one(f"#{name}-error", Static)
                error.update(Text(f"✕ {message}"))
                error.add_class("-shown")
            return
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)


class TimeEntryForm(_WorkForm):
    DEFAULT_CSS = DIALOG_CSS.format(name="TimeEntryForm") + FIELD_CSS.format(name="TimeEntryForm")
    TITLE_TEXT = "Log time"
    FIELDS = ("minutes", "category", "note")

    def field(self, name: str) -> Input | Select[str]:
        if name == "category":
            options = [(c, c) for c in ("normal", "overtime", "travel")]
            return Select[str](options, value="normal", allow_blank=False, id=name)
        placeholder = "minutes: 90, 1:30 or 1h30" if name == "minutes" else "note (optional)"
        return Input(placeholder=placeholder, id=name)

    def body(self) -> dict[str, Any]:
        return {"minutes": minutes_of(self.value("minutes")), "category": self.value("category"),
                "note": self.value("note")}  # fmt: skip

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        from cmms_tui.client_work import add_time

        assert self.cmms.api is not None
        return await add_time(self.cmms.api, self.order_id, body)


class CostForm(_WorkForm):
    DEFAULT_CSS = DIALOG_CSS.format(name="CostForm") + FIELD_CSS.format(name="CostForm")
    TITLE_TEXT = "Add a cost"
    FIELDS = ("amount", "category", "description")

    def field(self, name: str) -> Input | Select[str]:
        if name == "category":
            options = [(c, c) for c in ("contractor", "material", "other")]
            return Select[str](options, value="other", allow_blank=False, id=name)
        placeholder = "amount, e.g. 120.50" if name == "amount" else "what it was for"
        return Input(placeholder=placeholder, id=name)

    def body(self) -> dict[str, Any]:
        # The amount goes as typed: a decimal string, never a float.
        return {"amount": self.value("amount"), "category": self.value("category"),
                "description": self.value("description")}  # fmt: skip

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        from cmms_tui.client_work import add_cost

        assert self.cmms.api is not None
        return await add_cost(self.cmms.api, self.order_id, body)
