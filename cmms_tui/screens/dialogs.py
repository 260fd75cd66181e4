"""Small modal dialogs: confirm, command prompt, order filter, transition, assign."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, SelectionList, Static, Switch
from textual.widgets.option_list import Option

from cmms_tui.failures import ReportsFailures
from cmms_tui.format import status_label, transition_verb
from cmms_tui.models import ORDER_STATUSES, PRIORITIES, Order
from cmms_tui.views.orders import SORTS, OrderFilter

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 72; max-width: 100%; height: auto; max-height: 100%;
    border: round $accent; background: $surface; padding: 0 1; }}
{name} .hint {{ color: $text-muted; height: auto; }}
{name} .buttons {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} .buttons Button {{ margin-left: 1; }}
"""


class Confirm(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "no", "No"), Binding("y", "yes", "Yes", show=False), Binding("n", "no", show=False)]
    DEFAULT_CSS = DIALOG_CSS.format(name="Confirm")

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question, style="bold"))
            with Horizontal(classes="buttons"):
                yield Button(self.no, id="no")
                yield Button(self.yes, id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class CommandPrompt(ModalScreen[str | None]):
    """k9s-style `:` commands: a view's name, search <text>, new, export, report, help, logout, quit."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    CommandPrompt { align: left bottom; }
    CommandPrompt > Vertical { height: auto; width: 100%; background: $surface; }
    CommandPrompt .hint { color: $text-muted; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "orders · assets · alerts · plans · jobs · kpis · search TEXT · new · export · report · help · logout"
                " · quit",
                classes="hint",
            )
            yield Input(placeholder=":command", id="command")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OrderFilterDialog(ModalScreen[OrderFilter | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply", priority=True)]
    DEFAULT_CSS = (
        DIALOG_CSS.format(name="OrderFilterDialog")
        + """
    OrderFilterDialog #lists { height: auto; }
    OrderFilterDialog SelectionList { width: 1fr; height: auto; max-height: 9; }
    OrderFilterDialog #row { height: auto; margin-top: 1; }
    OrderFilterDialog #row Select { width: 1fr; }
    OrderFilterDialog #row Label { padding: 1 1 0 2; }
    """
    )

    def __init__(self, current: OrderFilter, directory: Directory) -> None:
        super().__init__()
        self.current = current
        self.directory = directory

    def compose(self) -> ComposeResult:
        f = self.current
        with Vertical():
            yield Static(Text("Filter work orders", style="bold"))
            yield Static("space toggles · tab moves · ctrl+s applies · esc cancels", classes="hint")
            with Horizontal(id="lists"):
                yield SelectionList[str](
                    *[(status_label(s), s, s in f.statuses) for s in ORDER_STATUSES], id="statuses"
                )
                yield SelectionList[str](*[(p, p, p in f.priorities) for p in PRIORITIES], id="priorities")
            with Horizontal(id="row"):
                plants = [(p["name"], pid) for pid, p in sorted(self.directory.plants.items())]
                yield Select[int](plants, prompt="any plant", value=f.plant_id or Select.NULL, id="plant")
                yield Label("mine")
                yield Switch(value=f.mine, id="mine")
                yield Select[str]([(f"sort: {s}", s) for s in SORTS], value=f.sort, allow_blank=False, id="sort")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Apply", id="apply", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#statuses").border_title = "status"
        self.query_one("#priorities").border_title = "priority"
        self.query_one("#statuses", SelectionList).focus()

    def action_apply(self) -> None:
        plant = self.query_one("#plant", Select).value
        self.dismiss(
            OrderFilter(
                statuses=tuple(s for s in ORDER_STATUSES if s in self.query_one("#statuses", SelectionList).selected),
                priorities=tuple(p for p in PRIORITIES if p in self.query_one("#priorities", SelectionList).selected),
                mine=self.query_one("#mine", Switch).value,
                plant_id=plant if isinstance(plant, int) else None,
                sort=str(self.query_one("#sort", Select).value),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.dismiss(None)


class TransitionDialog(ModalScreen[tuple[str, str] | None]):
    """Offers exactly the order's `allowed_transitions`; an optional note goes with the change."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
        Binding("down", "move(1)", "Next", show=False, priority=True),
    ]
    DEFAULT_CSS = (
        DIALOG_CSS.format(name="TransitionDialog")
        + """
    TransitionDialog OptionList { height: auto; max-height: 9; }
    """
    )

    def __init__(self, order: Order, preselect: str | None = None) -> None:
        super().__init__()
        self.order = order
        self.choices = list(order.get("allowed_transitions", []))
        self.preselect = preselect

    def compose(self) -> ComposeResult:
        order = self.order
        with Vertical():
            yield Static(Text.assemble("Change ", (order["number"], "bold"), " from ", status_label(order["status"])))
            yield OptionList(
                *[
                    Option(
                        Text.assemble(transition_verb(order["status"], to), ("  → " + status_label(to), "dim")), id=to
                    )
                    for to in self.choices
                ],
                id="choices",
            )
            yield Input(placeholder="note (optional)", id="note")
            yield Static("↑/↓ choose · enter applies · esc cancels", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.choices.index(self.preselect) if self.preselect in self.choices else 0
        self.query_one("#note", Input).focus()

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.choices) - 1, current + delta))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._apply()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self._apply()

    def _apply(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None:
            self.dismiss((self.choices[index], self.query_one("#note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)


class AssignDialog(ReportsFailures, ModalScreen[int | None]):
    """Active technicians from the directory of people; 0 means 'unassign'."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = (
        DIALOG_CSS.format(name="AssignDialog")
        + """
    AssignDialog OptionList { height: auto; max-height: 14; }
    """
    )

    def __init__(self, current: int | None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Assign to", style="bold"))
            yield OptionList(id="people")
            yield Static("enter assigns · esc cancels", classes="hint")

    def on_mount(self) -> None:
        app = cast("CmmsApp", self.app)
        assert app.directory is not None
        options = self.query_one(OptionList)
        options.add_option(Option(Text("— nobody (unassign)", style="dim"), id="0"))
        ids = ["0"]
        for user in app.directory.technicians():
            label = app.directory.person(user["id"])
            if user["id"] == self.current:
                label.append("  (current)", style="dim")
            options.add_option(Option(label, id=str(user["id"])))
            ids.append(str(user["id"]))
        options.highlighted = ids.index(str(self.current)) if str(self.current) in ids else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
