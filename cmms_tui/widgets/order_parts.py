"""The parts lines of one work order: reserve (p), issue (i) and remove (x) them.

Reserving asks for a part number and a quantity ("SKF-6205-2RS 2"), optionally a location name
after them; without one, the location with the most available stock is taken. Lines follow the
order's `order:updated` (changed: parts) and `stock:changed` events while shown.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cmms_tui.client_session import API
from cmms_tui.failures import ReportsFailures
from cmms_tui.live import LiveEvent

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

STATUS_STYLE = {"reserved": "yellow", "issued": "green", "released": "dim", "returned": "dim"}


def line_text(line: dict[str, Any], part: dict[str, Any] | None) -> Text:
    name = f"{part['number']} {part['name']}" if part else f"part #{line['part_id']}"
    unit = part["unit"] if part else ""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"{line['status']:<9}", style=STATUS_STYLE.get(line["status"], ""))
    out.append(f" {line['qty']} {unit}  ", style="bold")
    out.append(name)
    if line["cost"] is not None and line["status"] == "issued":
        out.append(f"  {line['cost']}", style="dim")
    return out


def parse_request(text: str) -> tuple[str, str, str] | None:
    """("NUMBER", "QTY", "location name or empty") from what was typed, or None."""
    words = text.split()
    if len(words) < 2:
        return None
    try:
        Decimal(words[1])
    except InvalidOperation:
        return None
    return words[0], words[1], " ".join(words[2:])


class OrderPartsPanel(ReportsFailures, Vertical):
    BINDINGS = [
        Binding("p", "plan", "Reserve part"),
        Binding("i", "issue", "Issue"),
        Binding("x", "remove", "Remove"),
    ]
    DEFAULT_CSS = """
    OrderPartsPanel { height: auto; }
    OrderPartsPanel OptionList { height: auto; max-height: 12; border: none; }
    OrderPartsPanel #parts-input { display: none; }
    OrderPartsPanel.-asking #parts-input { display: block; }
    OrderPartsPanel .hint { color: $text-muted; height: auto; }
    """

    def __init__(self, order_id: int) -> None:
        super().__init__(id="order-parts")
        self.order_id = order_id
        self.lines: list[dict[str, Any]] = []
        self.parts: dict[int, dict[str, Any]] = {}

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("p reserve · i issue · x remove", classes="hint")
        yield OptionList(id="parts-lines")
        yield Input(placeholder="part number, quantity[, location] — enter to reserve, esc to cancel", id="parts-input")

    def on_mount(self) -> None:
        self.cmms.live_signal.subscribe(self, self._live)
        self.load()

    def _live(self, event: LiveEvent) -> None:
        data = event.data
        mine = data.get("order_id") == self.order_id or (
            event.type == "order:updated" and data.get("id") == self.order_id and "parts" in (data.get("changed") or [])
        )
        if mine:
            self.load()

    @property
    def selected(self) -> dict[str, Any] | None:
        index = self.query_one(OptionList).highlighted
        return self.lines[index] if index is not None and index < len(self.lines) else None

    @work(exclusive=True, group="parts", exit_on_error=False, name="loading the parts lines")
    async def load(self) -> None:
        api = self.cmms.api
        assert api is not None
        page = await api.request("GET", f"{API}/orders/{self.order_id}/parts", params={"limit": 200})
        lines = list(page["items"])
        for part_id in {int(line["part_id"]) for line in lines} - set(self.parts):
            self.parts[part_id] = await api.request("GET", f"{API}/parts/{part_id}")
        self.lines = lines
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(
            [Option(line_text(line, self.parts.get(int(line["part_id"]))), id=str(line["id"])) for line in lines]
        )
        if lines:
            options.highlighted = min(highlighted or 0, len(lines) - 1)

    def action_plan(self) -> None:
        self.add_class("-asking")
        self.query_one("#parts-input", Input).focus()

    def on_key(self, event: Any) -> None:
        if event.key == "escape" and self.has_class("-asking"):
            event.stop()
            self.remove_class("-asking")
            self.query_one(OptionList).focus()

    @on(Input.Submitted, "#parts-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        request = parse_request(event.value)
        if request is None:
            self.notify("Type a part number and a quantity, e.g. SKF-6205-2RS 2", severity="warning", markup=False)
            return
        event.input.value = ""
        self.remove_class("-asking")
        self.query_one(OptionList).focus()
        self.reserve(*request)

    @work(group="parts-write", exit_on_error=False, name="reserving the part")
    async def reserve(self, number: str, qty: str, location: str) -> None:
        api = self.cmms.api
        assert api is not None
        found = (await api.request("GET", f"{API}/parts", params={"number": number}))["items"]
        if not found:
            self.notify(f"No part is numbered {number}.", severity="warning", markup=False)
            return
        part = found[0]
        self.parts[int(part["id"])] = part
        stock = await api.request("GET", f"{API}/parts/{part['id']}/stock")
        levels = stock["locations"]
        if location:
            places = (await api.request("GET", f"{API}/stock-locations", params={"limit": 200}))["items"]
            ids = {int(p["id"]) for p in places if str(p["name"]).lower() == location.lower()}
            levels = [lv for lv in levels if int(lv["location_id"]) in ids]
        if not levels:
            self.notify(f"{number} is not stocked {'there' if location else 'anywhere'}.", severity="warning")
            return
        best = max(levels, key=lambda lv: Decimal(lv["available"]))
        body = {"part_id": part["id"], "location_id": best["location_id"], "qty": qty}
        await api.request("POST", f"{API}/orders/{self.order_id}/parts", body=body)
        self.notify(f"Reserved {qty} {part['unit']} of {number}.", timeout=3, markup=False)
        self.load()

    def action_issue(self) -> None:
        line = self.selected
        if line is None or line["status"] != "reserved":
            self.notify("Choose a reserved line to issue.", severity="warning", markup=False)
            return
        self.change_line(line, "issue")

    def action_remove(self) -> None:
        line = self.selected
        if line is None or line["status"] not in ("reserved", "issued"):
            self.notify("Choose a reserved or issued line to remove.", severity="warning", markup=False)
            return
        self.change_line(line, "remove")

    @work(group="parts-write", exit_on_error=False, name="changing the parts line")
    async def change_line(self, line: dict[str, Any], verb: str) -> None:
        api = self.cmms.api
        assert api is not None
        path = f"{API}/orders/{self.order_id}/parts/{line['id']}"
        if verb == "issue":
            issued = await api.request("POST", f"{path}/issue", version=line["version"])
            self.notify(f"Issued at {issued['unit_cost']} a unit ({issued['cost']}).", timeout=3, markup=False)
        else:
            await api.request("DELETE", path, version=line["version"])
            self.notify("Returned." if line["status"] == "issued" else "Released.", timeout=3, markup=False)
        self.load()
