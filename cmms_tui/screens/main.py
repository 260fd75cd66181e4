"""The top level: the list views side by side in a switcher (they stay live while hidden)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer

from cmms_tui.views.alerts import AlertsView
from cmms_tui.views.assets import AssetsView
from cmms_tui.views.base import RecordsView
from cmms_tui.views.orders import OrdersView
from cmms_tui.views.plans import PlansView
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from typing import Any

    from cmms_tui.app import CmmsApp

LABELS = {"orders": "Orders", "assets": "Assets", "alerts": "Alerts", "plans": "Plans"}
FACTORIES = {"orders": OrdersView, "assets": AssetsView, "alerts": AlertsView, "plans": PlansView}


class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    MainScreen #views { height: 1fr; }
    MainScreen #views > RecordsView { height: 1fr; }
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
    def current(self) -> RecordsView[Any]:
        switcher = self.query_one("#views", ContentSwitcher)
        return cast("RecordsView[Any]", switcher.query_one(f"#{switcher.current}"))

    def show(self, name: str) -> None:
        switcher = self.query_one("#views", ContentSwitcher)
        switcher.current = name
        crumb = Text()
        for i, view in enumerate(self.cmms.views(), 1):
            label = f" {i} {LABELS[view]} "
            crumb.append(label, style="bold reverse" if view == name else "")
            crumb.append(" ")
        self.query_one(AppHeader).crumb = crumb
        self.current.focus_table()

    def action_refresh(self) -> None:
        self.current.reload()
