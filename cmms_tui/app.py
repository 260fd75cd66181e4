"""The console application: session lifecycle, live events, toasts, global keys and error reporting.

Build it with `make_app(options)`; tests and the benchmark do the same, with their own clock,
config directory and backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from platformdirs import user_downloads_dir
from rich.text import Text
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen
from textual.signal import Signal

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError, SessionExpired, Unreachable
from cmms_tui.commands import run_command, system_commands
from cmms_tui.directory import Directory
from cmms_tui.failures import Failure, ReportsFailures
from cmms_tui.format import utcnow
from cmms_tui.live import Backoff, ConnState, LiveEvent, LiveEvents, Phase
from cmms_tui.session import SessionFile
from cmms_tui.timer import RunningTimer, follow, load_timer
from cmms_tui.toasts import toast

DEFAULT_SERVER = "http://127.0.0.1:8080"
SearchMode = Literal["server", "fallback"]
VIEWS = ("orders", "assets", "alerts", "plans", "jobs", "kpis", "parts", "integrations")
PEOPLE_FIELDS = ("assignee_id", "requested_by", "by")  # who an order event names


@dataclass
class Options:
    server: str | None = None
    tenant: str | None = None
    email: str | None = None
    config_dir: Path | None = None
    clock: Callable[[], datetime] = utcnow
    backoff: Callable[[], Backoff] = field(default=Backoff)
    downloads: Path | None = None  # where job results are saved (default: default_downloads())


def default_downloads() -> Path:
    """The user's downloads folder when there is one, else the current directory."""
    folder = Path(user_downloads_dir())
    return folder if folder.is_dir() else Path.cwd()


class CmmsApp(ReportsFailures, App[None]):
    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "CMMS"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("question_mark", "help", "Help"),
        Binding("colon", "command", "Command", show=False),
        Binding("1", "view('orders')", "Orders", show=False),
        Binding("2", "view('assets')", "Assets", show=False),
        Binding("3", "view('alerts')", "Alerts", show=False),
        Binding("4", "view('plans')", "Plans", show=False),
        Binding("5", "view('jobs')", "Jobs", show=False),
        Binding("6", "view('kpis')", "KPIs", show=False),
        Binding("7", "view('parts')", "Parts", show=False),
        Binding("8", "view('integrations')", "Integrations", show=False),
    ]

    conn: var[ConnState | None] = var(None, always_update=True)
    running_timer: var[RunningTimer | None] = var(None)  # the caller's, shown in every header

    def __init__(self, options: Options) -> None:
        super().__init__()
        self.options = options
        self.clock = options.clock
        self.downloads = options.downloads or default_downloads()
        self.session_file = SessionFile(options.config_dir)
        self.api: ApiClient | None = None
        self.directory: Directory | None = None
        self.live: LiveEvents | None = None
        self.search_mode: SearchMode = "fallback"
        self.live_signal: Signal[LiveEvent] = Signal(self, "live")
        self.reload_signal: Signal[None] = Signal(self, "reload")
        self.names_signal: Signal[None] = Signal(self, "names")  # more names known: redraw the rows
        self._asked_for: set[int] = set()  # ids a reload of the directory did not know either

    # ---- session ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        from cmms_tui.screens.login import LoginScreen

        self.push_screen(LoginScreen(self.options))

    @property
    def logged_in(self) -> bool:
        return self.api is not None and self.directory is not None

    async def start_session(self, api: ApiClient) -> None:
        """After login or resume: learn who we are and load names (errors go back to the caller);
        then show the orders and go live (scheduled, so the login screen is not removed under its
        own worker)."""
        directory = Directory(await api.me())
        _, last_seq, search_mode = await asyncio.gather(directory.load(api), api.current_seq(), self._search_mode(api))
        self.call_later(self._enter_session, api, directory, last_seq, search_mode)

    @staticmethod
    async def _search_mode(api: ApiClient) -> SearchMode:
        try:
            return "server" if await api.has_search() else "fallback"
        except (ApiError, Unreachable):
            return "fallback"

    async def _enter_session(self, api: ApiClient, directory: Directory, last_seq: int, mode: SearchMode) -> None:
        from cmms_tui.screens.main import MainScreen

        self.api, self.directory, self.search_mode = api, directory, mode
        self.live = LiveEvents(
            api,
            on_event=self._on_live_event,
            on_state=self._on_conn_state,
            on_reload=self._on_reload,
            last_seq=last_seq,
            backoff=self.options.backoff(),
            clock=self.clock,
        )
        self.conn = self.live.state
        await self.switch_screen(MainScreen())
        self.run_worker(self.live.run(), name="live events", group="live", exclusive=True, exit_on_error=False)
        self.load_names(api, directory)
        self.run_worker(load_timer(self, api), group="timer", exit_on_error=False, name="reading your timer")

    @work(group="names", exit_on_error=False, name="loading asset names")
    async def load_names(self, api: ApiClient, directory: Directory) -> None:
        await directory.load_assets(api)
        if directory is self.directory:
            self.names_signal.publish(None)

    def learn_people(self, user_ids: Iterable[object]) -> None:
        """Reload the directory when one of these ids has no name yet (a colleague added since
        login: only supervisors receive `user:*` events), once per unknown id."""
        directory = self.directory
        if directory is None:
            return
        fresh = directory.unknown(user_ids) - self._asked_for
        if fresh:
            self._asked_for |= fresh
            self.reload_people()

    @work(exclusive=True, group="people", exit_on_error=False, name="loading names")
    async def reload_people(self) -> None:
        api, directory = self.api, self.directory
        if api is None or directory is None:
            return
        await directory.load_people(api)
        if directory is self.directory:
            self.names_signal.publish(None)

    async def end_session(self, *, revoke: bool, message: str = "") -> None:
        """Back to the login screen; with `revoke`, log out on the server and forget the saved token."""
        from cmms_tui.screens.login import LoginScreen

        live, api = self.live, self.api
        if live is not None:
            await live.stop()
        self.workers.cancel_group(self, "live")
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(LoginScreen(self.options, message=message, resume=not revoke))
        self.live = self.api = self.directory = None  # after the screens that use them are gone
        self._asked_for = set()
        self.conn = self.running_timer = None
        if api is not None:
            if revoke:
                with contextlib.suppress(ApiError, Unreachable):
                    await api.logout()
                self.session_file.delete()
            await api.close()

    @work(exclusive=True, group="session", exit_on_error=False)
    async def action_logout(self) -> None:
        await self.end_session(revoke=True, message="Logged out.")

    async def on_unmount(self) -> None:
        if self.live is not None:
            await self.live.stop()
        if self.api is not None:
            await self.api.close()

    # ---- live events --------------------------------------------------------------------------

    def _on_conn_state(self, state: ConnState) -> None:
        self.conn = state
        if state.phase == Phase.OFFLINE and state.detail.startswith("session ended") and self.logged_in:
            self.notify("Your session has ended: log in again.", title="Signed out", severity="error", markup=False)
            self.call_later(self.end_session, revoke=False, message="Your session has ended: log in again.")

    def _on_reload(self) -> None:
        self.notify("Reloaded: missed events were past replay.", severity="warning", markup=False)
        self.reload_signal.publish(None)

    def _on_live_event(self, event: LiveEvent) -> None:
        directory = self.directory
        if directory is not None and event.type in ("asset:created", "asset:updated") and "id" in event.data:
            directory.assets[int(event.data["id"])] = event.data  # type: ignore[assignment]
        if directory is not None and event.type.startswith("user:"):
            self.reload_people()
        elif event.type.startswith("order:"):
            self.learn_people(event.data.get(name) for name in PEOPLE_FIELDS)
            if directory is not None:
                self.running_timer = follow(self.running_timer, event, directory.my_id)
        self.live_signal.publish(event)
        if event.replayed:
            return  # what happened while away is in the tables; no burst of stale toasts
        toast(self, event)

    # ---- errors -------------------------------------------------------------------------------

    def on_failure(self, message: Failure) -> None:
        self.report(message.error, message.doing)

    def report(self, error: BaseException, doing: str = "") -> None:
        prefix = f"{doing}: " if doing else ""
        if isinstance(error, SessionExpired):
            if self.logged_in:
                self.call_later(self.end_session, revoke=False, message="Your session has ended: log in again.")
            return
        if isinstance(error, ApiError):
            self.notify(
                f"{prefix}{error.detail or error.title}",
                title=f"{error.status} {error.title}",
                severity="error",
                markup=False,
            )
        elif isinstance(error, Unreachable):
            self.notify(f"{prefix}{error}", title="Server unreachable", severity="error", markup=False)
        else:
            self.notify(
                f"{prefix}{type(error).__name__}: {error}", title="Unexpected error", severity="error", markup=False
            )

    # ---- global actions -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("search", "command", "view", "logout", "help") and not self.logged_in:
            return False
        if action == "view" and parameters and not self.view_allowed(str(parameters[0])):
            return False
        return True

    def view_allowed(self, name: str) -> bool:
        directory = self.directory
        if directory is None:
            return False
        staff_views = ("alerts", "plans", "kpis", "parts")
        if name == "integrations":
            return directory.is_supervisor
        return name in ("orders", "assets", "jobs") or (name in staff_views and directory.is_staff)

    def views(self) -> list[str]:
        return [v for v in VIEWS if self.view_allowed(v)]

    async def action_view(self, name: str) -> None:
        from cmms_tui.screens.main import MainScreen

        if not self.view_allowed(name):
            return
        while not isinstance(self.screen, MainScreen) and len(self.screen_stack) > 2:
            if not await self._may_leave(self.screen):
                return
            await self.pop_screen()
        if isinstance(self.screen, MainScreen):
            self.screen.show(name)

    async def _may_leave(self, screen: Screen[Any]) -> bool:
        from cmms_tui.screens.dialogs import Confirm

        if not getattr(screen, "dirty", False):
            return True
        confirm: Screen[Any] = Confirm("Discard what you typed?", yes="Discard", no="Keep editing")
        return bool(await self.push_screen_wait(confirm))

    def action_search(self) -> None:
        from cmms_tui.screens.search import SearchScreen

        if not isinstance(self.screen, SearchScreen):
            self.push_screen(SearchScreen())

    def action_help(self) -> None:
        from cmms_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_command(self) -> None:
        from cmms_tui.screens.dialogs import CommandPrompt

        self.push_screen(CommandPrompt(), self._run_command)

    def _run_command(self, command: str | None) -> None:
        run_command(self, command)

    def action_new_order(self) -> None:
        from cmms_tui.screens.order_form import OrderFormScreen

        if self.logged_in:
            self.push_screen(OrderFormScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from system_commands(self)

    # ---- helpers for screens ------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock()

    def title_text(self, *parts: str | Text) -> Text:
        out = Text()
        for i, part in enumerate(parts):
            if i:
                out.append(" › ", style="dim")  # noqa: RUF001 - a breadcrumb separator
            out.append_text(part if isinstance(part, Text) else Text(part))
        return out


def make_app(options: Options | None = None) -> CmmsApp:
    return CmmsApp(options or Options())
