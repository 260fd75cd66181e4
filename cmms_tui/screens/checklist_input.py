"""Small dialogs of the checklist: record one item (a value and notes), attach a procedure.

The item dialog sends the recording itself, so a refusal (422 naming `value` or `notes`) shows
beside the field it names and keeps what was typed; it closes with the recorded item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cmms_tui.client_errors import ApiError
from cmms_tui.client_work import CHECKBOX, CHOICE, PASS_FAIL, Checklist, Item, typed_value
from cmms_tui.failures import ReportsFailures
from cmms_tui.screens.dialogs import DIALOG_CSS
from cmms_tui.widgets.checklist import limits

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

FIELD_CSS = """
{name} .error {{ color: $error; height: auto; display: none; }}
{name} .error.-shown {{ display: block; }}
{name} OptionList {{ height: auto; max-height: 10; }}
"""


class ItemInputDialog(ReportsFailures, ModalScreen[Item | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Record", priority=True)]
    DEFAULT_CSS = DIALOG_CSS.format(name="ItemInputDialog") + FIELD_CSS.format(name="ItemInputDialog")

    def __init__(self, order_id: int, item: Item) -> None:
        super().__init__()
        self.order_id = order_id
        self.item = item

    def compose(self) -> ComposeResult:
        item, kind = self.item, self.item["type"]
        with Vertical():
            yield Static(Text.assemble(("Record  ", "dim"), (item["label"], "bold")))
            if kind in (CHOICE, PASS_FAIL):
                choices = item["options"] or [] if kind == CHOICE else ["pass", "flag", "fail"]
                yield OptionList(*[Option(Text(c), id=c) for c in choices], id="value")
                hint = "↑/↓ choose · enter or ctrl+s records · esc cancels"
            elif kind == CHECKBOX:
                hint = "the box keeps its tick; enter or ctrl+s saves the notes · esc cancels"
            else:
                shown = "" if item["value"] is None else str(item["value"])
                what = {"number": "a number", "meter": "a meter reading", "text": "text"}.get(kind, "a value")
                extra = limits(item)
                yield Input(value=shown, placeholder=f"{what}{f' ({extra})' if extra else ''}", id="value")
                hint = "enter or ctrl+s records · an empty value clears · esc cancels"
            yield Static(id="value-error", classes="error")
            yield Input(value=item["notes"] or "", placeholder="notes (optional)", id="notes")
            yield Static(id="notes-error", classes="error")
            yield Static(hint, classes="hint")

    def on_mount(self) -> None:
        found = self.query("#value")
        widget = found.first() if found else self.query_one("#notes", Input)
        if isinstance(widget, OptionList) and self.item["value"] is not None:
            ids = [widget.get_option_at_index(i).id for i in range(widget.option_count)]
            if str(self.item["value"]) in ids:
                widget.highlighted = ids.index(str(self.item["value"]))
        widget.focus()

    def _value(self) -> Any:
        kind = self.item["type"]
        found = self.query("#value")
        if not found:
            return self.item["value"]
        widget = found.first()
        if isinstance(widget, OptionList):
            index = widget.highlighted
            return None if index is None else widget.get_option_at_index(index).id
        return typed_value(kind, cast(Input, widget).value)

    @on(Input.Submitted)
    @on(OptionList.OptionSelected)
    def _submitted(self, event: Input.Submitted | OptionList.OptionSelected) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        notes = self.query_one("#notes", Input).value.strip()
        self.save(self._value(), notes if notes or self.item["notes"] else None)

    @work(exclusive=True, group="record", exit_on_error=False, name="recording the item")
    async def save(self, value: Any, notes: str | None) -> None:
        from cmms_tui.client_work import record

        api = cast("CmmsApp", self.app).api
        assert api is not None
        for name in ("value", "notes"):
            self.query_one(f"#{name}-error", Static).remove_class("-shown")
        try:
            item = await record(api, self.order_id, self.item, value, notes)
        except ApiError as exc:
            fields = exc.by_field()
            if exc.status not in (400, 422) or not fields:
                raise
            for name in ("value", "notes"):
                if name in fields:
                    error = self.query_one(f"#{name}-error", Static)
                    error.update(Text(f"✕ {fields[name]}"))
                    error.add_class("-shown")
            return
        self.dismiss(item)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ProcedurePicker(ReportsFailures, ModalScreen[Checklist | None]):
    """The tenant's procedures; enter attaches the highlighted one to the order."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ProcedurePicker") + FIELD_CSS.format(name="ProcedurePicker")

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Attach a procedure", style="bold"))
            yield OptionList(id="procedures")
            yield Static("↑/↓ choose · enter attaches · esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.load()

    @work(exclusive=True, exit_on_error=False, name="listing the procedures")
    async def load(self) -> None:
        from cmms_tui.client_work import procedures

        api = cast("CmmsApp", self.app).api
        assert api is not None
        found = await procedures(api)
        options = self.query_one(OptionList)
        options.clear_options()
        for p in found:
            label = Text.assemble((str(p["name"]), "bold"), (f"  rev {p['revision']} · {len(p['items'])} items", "dim"))
            options.add_option(Option(label, id=str(p["id"])))
        if not found:
            options.add_option(Option(Text("No procedures yet (a manager writes them).", style="dim"), disabled=True))
        else:
            options.highlighted = 0

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.attach(int(event.option.id))

    @work(exclusive=True, group="attach", exit_on_error=False, name="attaching the procedure")
    async def attach(self, procedure_id: int) -> None:
        from cmms_tui.client_work import attach

        api = cast("CmmsApp", self.app).api
        assert api is not None
        self.dismiss(await attach(api, self.order_id, procedure_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
