"""The header every screen shows: tenant, user and role, where you are, and a connection
indicator that always tells the truth (with 'data may be stale' whenever events are not flowing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from cmms_tui.format import clock_time
from cmms_tui.live import ConnState, Phase

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp


def describe(state: ConnState | None) -> Text:
    if state is None:
        return Text("○ not connected", style="dim")
    since = clock_time(state.since)
    if state.phase == Phase.CONNECTED:
        return Text.assemble(("● connected", "bold green"), f" since {since}")
    if state.phase == Phase.SYNCING:
        return Text.assemble(("◌ catching up", "bold yellow"), f" · down since {since}")
    if state.phase == Phase.CONNECTING:
        return Text.assemble(("◌ connecting", "bold yellow"), f" · down since {since}")
    if state.phase == Phase.RECONNECTING:
        retry = state.retry_in()
        label = "◌ reconnecting now" if not retry else f"◌ reconnecting in {retry}s"
        return Text.assemble((label, "bold dark_orange"), f" · down since {since}")
    detail = f" ({state.detail})" if state.detail else ""
    return Text.assemble(("✕ offline", "bold red"), f" since {since}{detail}")


class AppHeader(Widget):
    DEFAULT_CSS = """
    AppHeader { height: 2; background: $panel; color: $foreground; }
    AppHeader Horizontal { height: 1; }
    AppHeader #who { width: 1fr; }
    AppHeader #conn { width: auto; padding-right: 1; }
    AppHeader #crumb { width: 1fr; color: $text-muted; }
    AppHeader #stale { width: auto; padding-right: 1; }
    AppHeader #timer { width: auto; padding-right: 2; }
    """

    crumb: reactive[Text] = reactive(Text(), layout=True)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(id="who")
            yield Static(id="conn")
        with Horizontal():
            yield Static(id="crumb")
            yield Static(id="timer")
            yield Static(id="stale")

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def on_mount(self) -> None:
        directory = self.cmms.directory
        who = Text.assemble((" CMMS ", "bold reverse"), " ", no_wrap=True, overflow="ellipsis")
        if directory is not None:
            tenant = directory.me["tenant"]
            who.append(tenant["name"], style="bold")
            who.append("  ")
            who.append(directory.user_name)
            who.append(f" ({directory.role})", style="italic")
            display = tenant.get("display_name")
            if display and display != tenant["name"]:
                who.append(f"  {display}", style="dim")
        self.query_one("#who", Static).update(who)
        self.watch(self.app, "conn", self._show_conn)
        self.watch(self.app, "running_timer", lambda _: self._show_timer())
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        state = self.cmms.conn
        if state is not None and state.phase == Phase.RECONNECTING:
            self._show_conn(state)
        self._show_timer()

    def _show_timer(self) -> None:
        timer = self.cmms.running_timer
        self.query_one("#timer", Static).update(timer.badge(self.cmms.now()) if timer is not None else Text(""))

    def _show_conn(self, state: ConnState | None) -> None:
        self.query_one("#conn", Static).update(describe(state))
        stale = Text("⚠ data may be stale", style="bold yellow") if state is None or not state.live else Text("")
        self.query_one("#stale", Static).update(stale)
        self.set_class(state is None or not state.live, "-stale")

    def watch_crumb(self, crumb: Text) -> None:
        if self.is_mounted:
            self.query_one("#crumb", Static).update(Text(" ") + crumb)

    def on_show(self) -> None:
        self.query_one("#crumb", Static).update(Text(" ") + self.crumb)
