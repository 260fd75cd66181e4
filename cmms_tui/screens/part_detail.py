"""One part: its facts, its stock per location (live) and its most recent moves from the ledger."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from cmms_tui.client_session import API
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import full_time, plain, short_time
from cmms_tui.live import LiveEvent
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

MOVES = 20
LOW = "bold red"
SIGN = {"receive": "+", "return": "+", "issue": "-", "transfer": "→", "adjust": "±"}


def facts(part: dict[str, Any], stock: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for label, value in (
        ("Number", plain(part["number"], "bold")),
        ("Name", plain(part["name"])),
        ("Unit", plain(part["unit"])),
        ("Barcode", plain(part["barcode"] or "—")),
        ("Minimum / reorder", plain(f"{part['min_qty']} / {part['reorder_qty']} {part['unit']}")),
        ("Average cost", plain(stock["average_cost"])),
        ("On hand / available", plain(f"{stock['on_hand']} / {stock['available']} {part['unit']}")),
        ("Updated", plain(f"{full_time(part['updated_at'])} (version {part['version']})")),
    ):
        grid.add_row(label, value)
    return grid


def levels_table(stock: dict[str, Any], names: dict[int, str]) -> Table | Text:
    if not stock["locations"]:
        return Text("Not stocked anywhere.", style="dim")
    table = Table(box=None, padding=(0, 2), show_edge=False)
    for header in ("Location", "On hand", "Reserved", "Available", ""):
        table.add_column(header, style="dim" if header == "" else "")
    for lv in stock["locations"]:
        style = LOW if lv["low"] else ""
        note = f"low: reorder {lv['reorder_qty']}" if lv["low"] else ""
        name = names.get(int(lv["location_id"]), f"#{lv['location_id']}")
        table.add_row(plain(name), lv["on_hand"], lv["reserved"], Text(lv["available"], style=style), Text(note, style))
    return table


def moves_text(moves: list[dict[str, Any]], names: dict[int, str], now: Any) -> Text:
    if not moves:
        return Text("No moves yet.", style="dim")
    out = Text()
    for m in moves:
        where = names.get(int(m["location_id"]), f"#{m['location_id']}")
        if m["to_location_id"]:
            where += " → " + names.get(int(m["to_location_id"]), f"#{m['to_location_id']}")
        out.append(f"{short_time(m['created_at'], now):>6}  ", style="dim")
        out.append(f"{m['kind']:<8} {SIGN.get(m['kind'], '')}{m['qty']:<8}", style="bold")
        out.append(f" @ {m['unit_cost']}  {where}")
        if m["order_id"]:
            out.append(f"  order #{m['order_id']}", style="dim")
        if m["note"]:
            out.append(f"  {m['note']}", style="dim italic")
        out.append("\n")
    return out


class PartDetailScreen(ReportsFailures, Screen[None]):
    BINDINGS = [Binding("escape", "back", "Back"), Binding("r", "refresh", "Refresh")]
    DEFAULT_CSS = """
    PartDetailScreen #facts, PartDetailScreen #levels, PartDetailScreen #moves { height: auto; padding: 0 1; }
    PartDetailScreen .section { text-style: bold; padding: 0 1; background: $boost; height: 1; }
    """

    def __init__(self, part_id: int) -> None:
        super().__init__()
        self.part_id = part_id
        self.part: dict[str, Any] | None = None
        self.stock: dict[str, Any] | None = None

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll():
            yield Static(id="facts")
            yield Static("Stock per location", classes="section")
            yield Static(id="levels")
            yield Static("Recent moves", classes="section")
            yield Static(id="moves")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(AppHeader).crumb = self.cmms.title_text("Parts", f"#{self.part_id}")
        self.cmms.live_signal.subscribe(self, self._live)
        self.load()

    def _live(self, event: LiveEvent) -> None:
        if event.type == "stock:changed" and event.data.get("part_id") == self.part_id:
            self.load()
        elif event.type == "part:updated" and event.data.get("id") == self.part_id:
            self.load()

    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False, name="loading the part")
    async def load(self) -> None:
        api = self.cmms.api
        assert api is not None
        part, stock, moves, places = await asyncio.gather(
            api.request("GET", f"{API}/parts/{self.part_id}"),
            api.request("GET", f"{API}/parts/{self.part_id}/stock"),
            api.request("GET", f"{API}/stock/moves", params={"part_id": self.part_id, "limit": MOVES}),
            api.request("GET", f"{API}/stock-locations", params={"limit": 200}),
        )
        names = {int(loc["id"]): str(loc["name"]) for loc in places["items"]}
        self.part, self.stock = part, stock
        self.query_one(AppHeader).crumb = self.cmms.title_text("Parts", part["number"])
        self.query_one("#facts", Static).update(facts(part, stock))
        self.query_one("#levels", Static).update(levels_table(stock, names))
        self.query_one("#moves", Static).update(moves_text(moves["items"], names, self.cmms.now()))
