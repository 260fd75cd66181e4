"""An order's checklist on its detail screen: every item with its value and result, what is still
required, and recording with the keyboard.

Keys work on the highlighted item: space ticks or unticks a checkbox, p / l / f record pass, flag
or fail, enter opens a small input (numbers, text, choices, notes), x clears. Each key is offered
(and shown in the footer) only where it applies, so on other items it falls through to the
screen. A colleague's recording arrives as `order:updated` (changed: checklist) and replaces its
row in place; without a checklist, enter lists the procedures to attach one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cmms_tui.client_work import CHECKBOX, HEADING, PASS_FAIL, TYPED, Checklist, Item
from cmms_tui.failures import ReportsFailures
from cmms_tui.live import LiveEvent

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

# A marker as well as a colour for each result, so it reads under NO_COLOR.
RESULT_MARK = {"ok": ("✓ ok  ", "bold green"), "flag": ("! flag", "bold yellow"), "fail": ("✗ FAIL", "bold red")}
PASS_WORD = {"pass": "pass", "flag": "flag", "fail": "fail"}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def limits(item: Item) -> str:
    low, high, unit = _number(item["min"]), _number(item["max"]), item["unit"] or ""
    if low and high:
        return f"{low} to {high} {unit}".strip()
    if low:
        return f"≥ {low} {unit}".strip()
    if high:
        return f"≤ {high} {unit}".strip()
    return unit


def value_text(item: Item) -> str:
    value = item["value"]
    if value is None:
        return ""
    if item["type"] == CHECKBOX:
        return "done"
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:g} {item['unit'] or ''}".strip()
    return str(value)


def item_text(item: Item, missing: set[int]) -> Text:
    """One row: box or result marker, label, value, limits or options, notes, what is missing."""
    if item["type"] == HEADING:
        return Text(item["label"], style="bold underline")
    out = Text(no_wrap=True, overflow="ellipsis")
    if item["type"] == CHECKBOX:
        out.append("[x] " if item["value"] else "[ ] ", style="bold green" if item["value"] else "")
    else:
        mark, style = RESULT_MARK.get(item["result"] or "", ("·     ", "dim"))
        out.append(mark, style=style)
        out.append(" ")
    out.append(item["label"])
    shown = value_text(item)
    if shown and item["type"] not in (CHECKBOX, PASS_FAIL):  # the marker says it
        out.append(f"  {shown}", style="bold")
    hint = limits(item) if item["type"] in ("number", "meter") else ""
    if item["type"] == "choice" and item["value"] is None:
        hint = " / ".join(item["options"] or [])
    if hint:
        out.append(f"  ({hint})", style="dim")
    if item["notes"]:
        out.append(f"  “{item['notes']}”", style="italic")
    if item["follow_up_id"]:
        out.append(f"  → follow-up #{item['follow_up_id']}", style="yellow")
    if item["id"] in missing:
        out.append("  * required", style="bold magenta")
    elif item["required"]:
        out.append("  *", style="dim")
    return out


def summary_text(checklist: Checklist) -> Text:
    items = [i for i in checklist["items"] if i["type"] != HEADING]
    done = sum(1 for i in items if i["value"] is not None)
    fails = sum(1 for i in items if i["result"] == "fail")
    revision = f" rev {checklist['revision']}\n"
    out = Text.assemble(("Checklist  ", "bold"), (checklist["name"], "bold"), (revision, "dim"))
    out.append(f"{done}/{len(items)} done")
    missing = len(checklist["missing_required"])
    out.append(f" · {missing} required still open" if missing else " · all required done",
               style="bold magenta" if missing else "green")  # fmt: skip
    if fails:
        out.append(f" · {fails} failed", style="bold red")
    return out


class ChecklistList(OptionList):
    """The item rows; bindings that apply to the highlighted item only."""

    BINDINGS = [
        Binding("space", "tick", "Tick"),
        Binding("p", "verdict('pass')", "Pass"),
        Binding("l", "verdict('flag')", "Flag"),
        Binding("f", "verdict('fail')", "Fail"),
        Binding("enter", "record", "Record…"),
        Binding("x", "clear", "Clear"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    @property
    def panel(self) -> ChecklistPanel:
        return cast(ChecklistPanel, self.parent)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        item = self.panel.selected
        kind = item["type"] if item is not None else None
        if action == "tick":
            return kind == CHECKBOX
        if action == "verdict":
            return kind == PASS_FAIL
        if action == "record":
            return (kind is not None and kind != HEADING) or self.panel.checklist is None
        if action == "clear":
            return item is not None and item["value"] is not None
        return True

    def action_tick(self) -> None:
        item = self.panel.selected
        if item is not None and item["type"] == CHECKBOX:
            self.panel.record(item, not item["value"])

    def action_verdict(self, verdict: str) -> None:
        item = self.panel.selected
        if item is not None and item["type"] == PASS_FAIL:
            self.panel.record(item, verdict)

    def action_clear(self) -> None:
        item = self.panel.selected
        if item is not None:
            self.panel.record(item, None)

    def action_record(self) -> None:
        self.panel.open_input()


class ChecklistPanel(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    ChecklistPanel { height: auto; margin-top: 1; }
    ChecklistPanel #checklist-summary { height: auto; }
    ChecklistPanel ChecklistList { height: auto; max-height: 18; border: none; padding: 0; }
    ChecklistPanel .hint { color: $text-muted; height: auto; }
    """

    def __init__(self, order_id: int) -> None:
        super().__init__(id="checklist")
        self.order_id = order_id
        self.checklist: Checklist | None = None
        self.loaded = False

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(Text("Checklist", style="bold"), id="checklist-summary")
        yield ChecklistList(id="checklist-items")
        yield Static(classes="hint", id="checklist-hint")

    def on_mount(self) -> None:
        self.cmms.live_signal.subscribe(self, self._live)
        self.cmms.reload_signal.subscribe(self, lambda _: self.load())  # events were lost: read again
        self.load()

    @property
    def selected(self) -> Item | None:
        if self.checklist is None:
            return None
        index = self.query_one(ChecklistList).highlighted
        items = self.checklist["items"]
        return items[index] if index is not None and index < len(items) else None

    def focus_items(self) -> None:
        self.query_one(ChecklistList).focus()
        self.scroll_visible()

    def show_missing(self) -> None:
        """The cursor on the first required item still open, and the checklist in view."""
        if self.checklist is None:
            return
        missing = set(self.checklist["missing_required"])
        rows = self.query_one(ChecklistList)
        for i, item in enumerate(self.checklist["items"]):
            if item["id"] in missing:
                rows.highlighted = i
                break
        rows.focus()
        self.scroll_visible()

    # ---- showing ------------------------------------------------------------------------------

    @work(exclusive=True, group="checklist", exit_on_error=False, name="loading the checklist")
    async def load(self) -> None:
        from cmms_tui.client_work import checklist

        api = self.cmms.api
        assert api is not None
        self.show(await checklist(api, self.order_id))

    def show(self, checklist: Checklist | None) -> None:
        self.checklist, self.loaded = checklist, True
        rows = self.query_one(ChecklistList)
        highlighted = rows.highlighted
        rows.clear_options()
        hint = self.query_one("#checklist-hint", Static)
        if checklist is None:
            self.query_one("#checklist-summary", Static).update(Text("Checklist: none attached", style="bold"))
            hint.update("enter (on this line) or c: attach a procedure")
            hint.display = True
            rows.add_option(Option(Text("— no checklist — enter to attach a procedure", style="dim"), id="none"))
            return
        missing = set(checklist["missing_required"])
        rows.add_options(
            [
                Option(item_text(item, missing), id=str(item["id"]), disabled=item["type"] == HEADING)
                for item in checklist["items"]
            ]
        )
        self.query_one("#checklist-summary", Static).update(summary_text(checklist))
        hint.display = False  # the footer lists the keys of the highlighted item
        if checklist["items"]:
            last = len(checklist["items"]) - 1
            rows.highlighted = self._first_open() if highlighted is None else min(highlighted, last)
        self.screen.refresh_bindings()

    def _first_open(self) -> int:
        assert self.checklist is not None
        for i, item in enumerate(self.checklist["items"]):
            if item["type"] != HEADING and item["value"] is None:
                return i
        return next((i for i, item in enumerate(self.checklist["items"]) if item["type"] != HEADING), 0)

    def put(self, item: Item) -> None:
        """Replace one item in place (a recording here or a colleague's) and redraw."""
        if self.checklist is None:
            return
        items = [item if i["id"] == item["id"] else i for i in self.checklist["items"]]
        missing = [i["id"] for i in items if i["required"] and i["value"] is None]
        self.show({**self.checklist, "items": items, "missing_required": missing})

    @on(OptionList.OptionHighlighted)
    def _moved(self) -> None:
        self.screen.refresh_bindings()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # enter is the `record` binding; a mouse click opens the same input
        self.open_input()

    def _live(self, event: LiveEvent) -> None:
        data: dict[str, Any] = event.data
        if event.type != "order:updated" or data.get("id") != self.order_id:
            return
        if "checklist" not in (data.get("changed") or []):
            return
        item = data.get("item")
        if isinstance(item, dict) and self.checklist is not None:
            self.put(cast(Item, item))
        else:
            self.load()  # attached (or replaced) elsewhere

    # ---- recording ----------------------------------------------------------------------------

    @work(group="checklist-write", exit_on_error=False, name="recording the item")
    async def record(self, item: Item, value: Any) -> None:
        from cmms_tui.client_work import record

        api = self.cmms.api
        assert api is not None
        self.put(await record(api, self.order_id, item, value))

    def open_input(self) -> None:
        from cmms_tui.screens.checklist_input import ItemInputDialog

        if self.checklist is None:
            self.attach()
            return
        item = self.selected
        if item is None or item["type"] == HEADING:
            return
        if item["type"] not in TYPED and item["type"] not in (CHECKBOX, PASS_FAIL):
            return

        def done(updated: Item | None) -> None:
            if updated is not None:
                self.put(updated)

        self.app.push_screen(ItemInputDialog(self.order_id, item), done)

    def attach(self) -> None:
        from cmms_tui.screens.checklist_input import ProcedurePicker

        def chosen(checklist: Checklist | None) -> None:
            if checklist is not None:
                self.show(checklist)
                self.focus_items()

        if self.loaded and self.checklist is None:
            self.app.push_screen(ProcedurePicker(self.order_id), chosen)
