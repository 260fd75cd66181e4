"""Time and cost of one work order: the cost summary, the time entries and the other cost lines.

Amounts are the server's strings, shown as given (never through a float). The pane reloads on
the order's `order:updated` events that name time, cost or parts, so a colleague's stopped timer
or a contractor's invoice shows while the order is open.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cmms_tui.failures import ReportsFailures
from cmms_tui.format import full_time
from cmms_tui.live import LiveEvent

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

WATCHED = frozenset({"time", "cost", "parts"})


def duration(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def summary_text(cost: dict[str, Any]) -> Text:
    currency = cost["currency"]
    out = Text.assemble(("Cost  ", "bold"), f"labour {cost['labor']} ({duration(cost['labor_minutes'])})")
    out.append(f" · parts {cost['parts']} · other {cost['other']} · ")
    out.append(f"total {cost['total']} {currency}", style="bold")
    return out


def entries_table(entries: list[dict[str, Any]], costs: list[dict[str, Any]], directory: Directory) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="ellipsis")
    grid.add_column(no_wrap=True, justify="right")
    for e in entries[:8]:
        what = Text.assemble(directory.person(e["user_id"]), f" · {e['category']}", (f" · {e['source']}", "dim"))
        if e["note"]:
            what.append(f" · {e['note']}")
        grid.add_row(full_time(e["started_at"]), Text(duration(e["minutes"])), what, Text(str(e["cost"])))
    if len(entries) > 8:
        grid.add_row("", "", Text(f"… {len(entries) - 8} more entries", style="dim"), "")
    for c in costs[:8]:
        grid.add_row(full_time(c["created_at"]), Text(str(c["category"])), Text(c["description"] or "—"),
                     Text(str(c["amount"])))  # fmt: skip
    if not entries and not costs:
        grid.add_row("", "", Text("No time or costs recorded yet.", style="dim"), "")
    return grid


class TimeCostPanel(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    TimeCostPanel { height: auto; margin-top: 1; }
    TimeCostPanel Static { height: auto; }
    TimeCostPanel .hint { color: $text-muted; }
    """

    def __init__(self, order_id: int) -> None:
        super().__init__(id="time-cost")
        self.order_id = order_id
        self.cost: dict[str, Any] | None = None
        self.entries: list[dict[str, Any]] = []
        self.costs: list[dict[str, Any]] = []

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(Text("Cost …", style="bold"), id="cost-summary")
        yield Static(id="time-lines")
        yield Static("w timer start/stop · h log time · $ add a cost", classes="hint")

    def on_mount(self) -> None:
        self.cmms.live_signal.subscribe(self, self._live)
        self.cmms.reload_signal.subscribe(self, lambda _: self.load())  # events were lost: read again
        self.load()

    def _live(self, event: LiveEvent) -> None:
        data = event.data
        if event.type == "order:updated" and data.get("id") == self.order_id:
            if WATCHED & set(data.get("changed") or []):
                self.load()

    @work(exclusive=True, group="time-cost", exit_on_error=False, name="loading time and cost")
    async def load(self) -> None:
        from cmms_tui import client_work as work_api

        api = self.cmms.api
        assert api is not None and self.cmms.directory is not None
        self.entries, self.costs, self.cost = await asyncio.gather(
            work_api.time_entries(api, self.order_id),
            work_api.costs(api, self.order_id),
            work_api.cost_summary(api, self.order_id),
        )
        self.cmms.learn_people(e["user_id"] for e in self.entries)
        self.query_one("#cost-summary", Static).update(summary_text(self.cost))
        self.query_one("#time-lines", Static).update(entries_table(self.entries, self.costs, self.cmms.directory))
