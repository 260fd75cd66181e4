"""`?`: every key, by where it works, built from the bindings themselves so it cannot drift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from cmms_tui.screens.asset_detail import AssetDetailScreen
from cmms_tui.screens.job_form import JobFormScreen
from cmms_tui.screens.main import MainScreen
from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.order_form import OrderFormScreen
from cmms_tui.views.alerts import AlertsView
from cmms_tui.views.assets import AssetsView
from cmms_tui.views.jobs import JobsView
from cmms_tui.views.kpis import KpisView
from cmms_tui.views.orders import OrdersView
from cmms_tui.views.plans import PlansView
from cmms_tui.widgets.checklist import ChecklistList

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

KEY_NAMES = {"slash": "/", "question_mark": "?", "colon": ":", "escape": "esc", "enter": "enter", "dollar_sign": "$"}


def _key(binding: Binding) -> str:
    return ", ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))


def _rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    """One row per key; a key with one meaning per mode (ctrl+s: Create / Save) lists them together."""
    out: dict[str, str] = {}
    for b in bindings:
        if isinstance(b, Binding):
            what = b.description or b.action
            out[_key(b)] = f"{out[_key(b)]} / {what}" if _key(b) in out else what
    return list(out.items())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen VerticalScroll { width: 90; max-width: 100%; height: 90%; border: round $accent;
        background: $surface; padding: 0 1; }
    """

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self._content())

    def _content(self) -> Table:
        app = cast("CmmsApp", self.app)
        from cmms_tui.app import CmmsApp as AppClass

        sections: list[tuple[str, list[tuple[str, str]]]] = [
            ("Everywhere", [*_rows(AppClass.BINDINGS), ("ctrl+p", "Command palette"), ("ctrl+q", "Quit")]),
            ("Lists", [*_rows(MainScreen.BINDINGS), ("j, k, ↑, ↓", "Move"), ("g, G", "Top, bottom"),
                       ("enter", "Open")]),
            ("1 · Work orders", _rows(OrdersView.BINDINGS)),
            ("2 · Assets", _rows(AssetsView.BINDINGS)),
            ("3 · Alerts", _rows(AlertsView.BINDINGS)),
            ("4 · Plans", _rows(PlansView.BINDINGS)),
            ("5 · Jobs", [*_rows(JobsView.BINDINGS), ("enter", "Save a completed job's result")]),
            ("6 · KPIs", _rows(KpisView.BINDINGS)),
            ("Work order", _rows(OrderDetailScreen.BINDINGS)),
            ("Checklist (c)", _rows(ChecklistList.BINDINGS)),
            ("Asset", _rows(AssetDetailScreen.BINDINGS)),
            ("Order form (new, edit)", _rows(OrderFormScreen.BINDINGS)),
            ("Export / report form", _rows(JobFormScreen.BINDINGS)),
            ("Commands (:)", [(":orders :assets :alerts :plans", "Switch view"), (":jobs :kpis", "Switch view"),
                              (":search TEXT", "Search"), (":new", "New order"),
                              (":export :report", "Start a job"), (":logout", "Log out"), (":q", "Quit")]),
        ]  # fmt: skip
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        table.add_row(Text("Keys", style="bold underline"), "")
        for title, rows in sections:
            table.add_row("", "")
            table.add_row(Text(title, style="bold"), "")
            for key, description in rows:
                table.add_row(key, description)
        live = app.live
        table.add_row("", "")
        table.add_row(Text("Status", style="bold"), "")
        table.add_row("search", "server full-text" if app.search_mode == "server" else "orders?q= and assets?q=")
        if live is not None:
            table.add_row("events", f"last seq {live.last_seq} · {live.replayed} replayed after reconnects")
        table.add_row("downloads", Text(str(app.downloads)))
        return table

    def action_close(self) -> None:
        self.dismiss()
