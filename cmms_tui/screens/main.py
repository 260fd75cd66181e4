"""The top level: the list views side by side in a switcher (they stay live while hidden)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from cmms_tui.app import VIEWS
from cmms_tui.views.alerts import AlertsView
from cmms_tui.views.assets import AssetsView
from cmms_tui.views.base import RecordsView
from cmms_tui.views.integrations import IntegrationsView
from cmms_tui.views.jobs import JobsView
from cmms_tui.views.kpis import KpisView
from cmms_tui.views.orders import OrdersView
from cmms_tui.views.parts import PartsView
from cmms_tui.views.plans import PlansView
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

LABELS = {
    "orders": "Orders",
    "assets": "Assets",
    "alerts": "Alerts",
    "plans": "Plans",
    "jobs": "Jobs",
    "kpis": "KPIs",
    "parts": "Parts",
    "integrations": "Integrations",
}
FACTORIES: dict[str, type[RecordsView[Any] | KpisView]] = {
    "orders": OrdersView,
    "assets": AssetsView,
    "alerts": AlertsView,
    "plans": PlansView,
    "jobs": JobsView,
    "kpis": KpisView,
    "parts": PartsView,
    "integrations": IntegrationsView,
}


class MainScreen(Screen[None]):
    AUTO_FOCUS = None  # show() focuses the current view (Textual's default could pick a hidden one)
    DEFAULT_CSS = """
    MainScreen #views { height: 1fr; }
    MainScreen #views > RecordsView, MainScreen #views > KpisView { height: 1fr; }
    """
    BINDINGS = [
        Binding("q", "app.quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
    ]

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with ContentSwitcher(initial="orders", id="views"):
            for name in self.cmms.views():
                yield FACTORIES[name](id=name)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show("orders")

    @property
    def current(self) -> RecordsView[Any] | KpisView:
        switcher = self.query_one("#views", ContentSwitcher)
        return cast("RecordsView[Any] | KpisView", switcher.query_one(f"#{switcher.current}"))

    def show(self, name: str) -> None:
        switcher = self.query_one("#views", ContentSwitcher)
        switcher.current = name
        crumb = Text()
        for view in self.cmms.views():
            label = f" {VIEWS.index(view) + 1} {LABELS[view]} "  # the digit that jumps there
            crumb.append(label, style="bold reverse" if view == name else "")
            crumb.append(" ")
        self.query_one(AppHeader).crumb = crumb
        self.current.focus_table()

    def action_refresh(self) -> None:
        self.current.reload()
