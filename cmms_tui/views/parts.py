"""Parts: every part with its stock per location, kept live by `stock:changed`; low stock in red.

A row is a part as `GET /api/v1/stock/parts` answers it (the part, its totals and its levels per
location). A `stock:changed` event carries one level: it replaces that location's entry and the
totals are summed again here, so the view follows every issue, receipt and reservation at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import API, Params
from cmms_tui.format import plain
from cmms_tui.live import LiveEvent
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column

Part = dict[str, Any]
LOW = "bold red"


def qty(value: Decimal) -> str:
    return format(value.normalize(), "f")


def retotal(part: Part) -> Part:
    """The part's totals and low flag from its levels (after one level changed)."""
    levels = part.get("locations") or []
    on_hand = sum((Decimal(lv["on_hand"]) for lv in levels), Decimal(0))
    available = sum((Decimal(lv["available"]) for lv in levels), Decimal(0))
    return {**part, "on_hand": qty(on_hand), "available": qty(available), "low": any(lv["low"] for lv in levels)}


def with_level(part: Part, level: dict[str, Any], name: str | None) -> Part:
    levels = [lv for lv in part.get("locations") or [] if lv["location_id"] != level["location_id"]]
    keep = {k: level[k] for k in ("location_id", "on_hand", "reserved", "available", "low") if k in level}
    levels.append({"location": name or f"#{level['location_id']}", **keep})
    return retotal({**part, "locations": sorted(levels, key=lambda lv: int(lv["location_id"]))})


def level_text(part: Part) -> Text:
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, lv in enumerate(part.get("locations") or []):
        if i:
            out.append(" · ", style="dim")
        out.append(f"{lv['location']} ", style="dim")
        out.append(str(lv["available"]), style=LOW if lv["low"] else "")
    return out if part.get("locations") else Text("no stock", style="dim")


class PartsView(RecordsView[Part]):
    TITLE = "Parts"
    BINDINGS = [Binding("l", "low_only", "Low/all")]

    def __init__(self, *, id: str = "parts") -> None:
        self.only_low = False
        self.location_names: dict[int, str] = {}
        super().__init__(id=id)

    def columns(self) -> list[Column[Part]]:
        def style(p: Part) -> str:
            return LOW if p.get("low") else ""

        return [
            Column("number", "Number", lambda p: plain(p["number"], style(p) or "bold"), width=16),
            Column("name", "Name", lambda p: plain(p["name"])),
            Column("available", "Available", lambda p: plain(f"{p['available']} {p['unit']}", style(p)), width=12),
            Column("on_hand", "On hand", lambda p: plain(p["on_hand"]), width=9, min_table_width=90),
            Column("min", "Min", lambda p: plain(p["min_qty"], "dim"), width=7, min_table_width=100),
            Column("where", "Per location (available)", level_text, width=40, min_table_width=110),
        ]

    async def fetch(self, params: Params) -> Page[Part]:
        api = self.cmms.api
        assert api is not None
        data = await api.request("GET", f"{API}/stock/parts", params=params)
        items = list(data.get("items", []))
        for part in items:
            for lv in part.get("locations") or []:
                self.location_names[int(lv["location_id"])] = str(lv["location"])
        return Page(items=[p for p in items if self.matches(p)], next_cursor=data.get("next_cursor"))

    def matches(self, row: Part) -> bool:
        return not self.only_low or bool(row.get("low"))

    def describe_filter(self) -> Text:
        return Text("low stock only" if self.only_low else "all parts")

    def on_live(self, event: LiveEvent) -> None:
        data = event.data
        if event.type == "stock:changed" and "part_id" in data:
            current = self.table.models.get(int(data["part_id"]))
            if current is not None:
                name = self.location_names.get(int(data["location_id"]))
                self.place(with_level(current, data, name))
            elif not self.only_low:
                self.reload()  # a part this page does not hold yet
        elif event.type in ("part:created", "part:updated") and "id" in data:
            current = self.table.models.get(int(data["id"]))
            fields = {k: v for k, v in data.items() if k != "changed"}
            base = current or {"on_hand": "0", "available": "0", "low": False, "locations": []}
            self.place({**base, **fields})
        elif event.type == "part:deleted" and "id" in data:
            self.table.discard(int(data["id"]))

    def open(self, row: Part) -> None:
        from cmms_tui.screens.part_detail import PartDetailScreen

        self.app.push_screen(PartDetailScreen(int(row["id"])))

    def action_low_only(self) -> None:
        self.only_low = not self.only_low
        self.next_cursor = None
        self.reload()
        self.show_bar()

    def empty_text(self) -> str:
        return "No parts here. (l shows every part.)" if self.only_low else "No parts yet."
