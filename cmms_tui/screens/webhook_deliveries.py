"""One webhook's delivery log: newest first, the attempts of the selected delivery, redelivery.

Attempts produce no events, so the log is read again every few seconds while it is open, and
at once after a redelivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from cmms_tui.client_webhooks import Delivery, Webhook, deliveries, redeliver
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import plain, short_time
from cmms_tui.widgets.header import AppHeader
from cmms_tui.widgets.table import LiveTable
from cmms_tui.widgets.table_lines import Column

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

REFRESH_S = 5.0
STATUS_STYLE = {"delivered": "green", "pending": "yellow", "failed": "bold red"}


def attempts_table(delivery: Delivery) -> Table | Text:
    if not delivery["attempt_log"]:
        return plain("No attempt yet.", "dim")
    table = Table(box=None, pad_edge=False, expand=True)
    for name in ("#", "at", "status", "ms", "error", "answer"):
        table.add_column(name, no_wrap=name != "answer", style="dim" if name in ("#", "at") else "")
    for a in delivery["attempt_log"]:
        code = a["status_code"]
        table.add_row(
            str(a["number"]),
            a["at"][11:19],
            plain(str(code) if code is not None else "—", "green" if code and 200 <= code < 300 else "red"),
            f"{a['duration_ms']:.0f}",
            plain(a["error"] or ""),
            plain(" ".join(a["response"].split())[:80], "dim"),
        )
    return table


class DeliveriesScreen(ReportsFailures, Screen[None]):
    DEFAULT_CSS = """
    DeliveriesScreen #title { height: 1; padding: 0 1; background: $boost; }
    DeliveriesScreen LiveTable { height: 1fr; }
    DeliveriesScreen #attempts { height: auto; max-height: 12; padding: 0 1; border-top: solid $primary; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "redeliver", "Redeliver"),
        Binding("r", "refresh", "Refresh"),
    ]

    def __init__(self, hook: Webhook) -> None:
        super().__init__()
        self.hook = hook
        self.table: LiveTable[Delivery] = LiveTable(self._columns(), sort_key=lambda d: -int(d["id"]), id="deliveries")

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def _columns(self) -> list[Column[Delivery]]:
        return [
            Column("seq", "Seq", lambda d: plain(str(d["seq"])), width=7),
            Column("event", "Event", lambda d: plain(d["event"]), width=22),
            Column("status", "Status", lambda d: plain(d["status"], STATUS_STYLE.get(d["status"], "")), width=10),
            Column("attempts", "Tries", lambda d: plain(str(d["attempts"])), width=5),
            Column("last", "Last answer", lambda d: plain(d["last_error"] or str(d["last_status"] or ""))),
            Column("when", "Created", lambda d: plain(short_time(d["created_at"], self.cmms.now())), width=12),
        ]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static(Text.assemble(("Deliveries of ", "bold"), self.hook["url"]), id="title")
        yield self.table
        yield Static(id="attempts")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.set_interval(REFRESH_S, self.reload)
        self.table.focus()

    @work(exclusive=True, group="load", exit_on_error=False, name="loading deliveries")
    async def reload(self) -> None:
        assert self.cmms.api is not None
        page = await deliveries(self.cmms.api, self.hook["id"], {"limit": 50})
        self.table.set_rows(page.items)
        self._show_attempts()

    def _selected(self) -> Delivery | None:
        row_id = self.table.selected_id()
        return self.table.models.get(row_id) if row_id is not None else None

    def _show_attempts(self) -> None:
        found = self._selected()
        self.query_one("#attempts", Static).update(attempts_table(found) if found else "")

    @on(LiveTable.RowSelected)
    def _opened(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        self._show_attempts()

    @on(LiveTable.RowChanged)
    def _changed(self, event: LiveTable.RowChanged) -> None:
        event.stop()

    def action_refresh(self) -> None:
        self.reload()

    def action_redeliver(self) -> None:
        found = self._selected()
        if found is not None:
            self._redeliver(found)

    @work(exclusive=True, group="redeliver", exit_on_error=False, name="redelivering")
    async def _redeliver(self, delivery: Delivery) -> None:
        assert self.cmms.api is not None
        again = await redeliver(self.cmms.api, self.hook["id"], delivery["id"])
        self.table.upsert(again)
        self.notify(f"Delivery {delivery['id']} (seq {delivery['seq']}) queued again")
        self._show_attempts()
