"""What every list view shares: a filter line, a live table, server-side paging, live events.

A view loads one page, then the next whenever the cursor or the scroll position nears the end
(next_cursor), and stops at MAX_ROWS: past that, the filter needs narrowing, not more scrolling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.failures import ReportsFailures
from cmms_tui.live import LiveEvent
from cmms_tui.widgets.table import LiveTable
from cmms_tui.widgets.table_lines import Column

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

R = TypeVar("R", bound=Any)
PAGE = 100
MAX_ROWS = 5000


class RecordsView(ReportsFailures, Vertical, Generic[R]):
    TITLE: ClassVar[str] = ""
    DEFAULT_CSS = """
    RecordsView { height: 1fr; }
    RecordsView .filterbar { height: 1; padding: 0 1; background: $boost; }
    RecordsView LiveTable { height: 1fr; }
    RecordsView .empty { height: auto; padding: 1 2; color: $text-muted; display: none; }
    RecordsView.-empty .empty { display: block; }
    """

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.next_cursor: str | None = None
        self.loaded_once = False
        self._paging = False
        self.table: LiveTable[R] = LiveTable(self.columns(), sort_key=self.sort_key, id=f"{id}-table")

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    # ---- to be provided by each view ----------------------------------------------------------

    def columns(self) -> list[Column[R]]:
        raise NotImplementedError

    def sort_key(self, row: R) -> Any:
        return -int(row["id"])

    def params(self) -> dict[str, str | int | None]:
        return {}

    async def fetch(self, params: Params) -> Page[R]:
        raise NotImplementedError

    def matches(self, row: R) -> bool:
        return True

    def describe_filter(self) -> Text:
        return Text("all")

    def on_live(self, event: LiveEvent) -> None:
        """Map an event onto the table (upsert or discard)."""

    def empty_text(self) -> str:
        return "Nothing here."

    # ---- common -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.id}-bar", classes="filterbar")
        yield self.table
        yield Static(self.empty_text(), classes="empty")

    def on_mount(self) -> None:
        self.cmms.live_signal.subscribe(self, self._live)
        self.cmms.reload_signal.subscribe(self, lambda _: self.reload())
        self.cmms.names_signal.subscribe(self, lambda _: self.table.rerender())
        self.watch(self.app, "conn", lambda _: self.show_bar())
        self.set_interval(60, self.table.rerender)  # relative times ("2h late") move on
        self.reload()

    def _live(self, event: LiveEvent) -> None:
        self.on_live(event)
        self._update_empty()
        self.show_bar()

    def place(self, row: R, *, at: float | None = None) -> None:
        """Show a record that changed: in place when it matches the filter, gone when it no longer does."""
        row_id = int(row["id"])
        current = self.table.models.get(row_id)
        if current is not None and int(current.get("version", 0)) > int(row.get("version", 0)):
            return  # an older state than the one shown (a replayed duplicate)
        if self.matches(row):
            self.table.upsert(row, at=at)
        else:
            self.table.discard(row_id)

    def show_bar(self) -> None:
        count = self.table.row_count
        more = "+" if self.next_cursor else ""
        bar = Text.assemble((self.TITLE, "bold"), "  ")
        bar.append_text(self.describe_filter())
        bar.append(f"  ·  {count}{more} shown", style="dim")
        if count >= MAX_ROWS and self.next_cursor:
            bar.append(f" (first {MAX_ROWS}: narrow the filter)", style="yellow")
        conn = self.cmms.conn
        if conn is None or not conn.live:
            bar.append("  ·  may be stale", style="bold yellow")
        self.query_one(f"#{self.id}-bar", Static).update(bar)

    def _update_empty(self) -> None:
        self.set_class(self.loaded_once and self.table.row_count == 0, "-empty")

    @work(exclusive=True, group="load", exit_on_error=False, name="loading")
    async def reload(self) -> None:
        self.table.loading = not self.loaded_once
        try:
            page = await self.fetch({**self.params(), "limit": PAGE})
        finally:
            self.table.loading = False
            self._refocus()
        self.next_cursor = page.next_cursor
        self.table.set_rows(page.items)
        self.loaded_once = True
        self._update_empty()
        self.show_bar()
        self.loaded()

    def loaded(self) -> None:
        """After each (re)load of the first page."""

    def _refocus(self) -> None:
        """A loading table refuses focus: once loaded, take it back if this view shows and the focus
        is on nothing, or on something hidden (a table of another view)."""
        focused = self.screen.focused
        if self.display and (focused is None or not focused.is_on_screen):
            self.table.focus()

    @on(LiveTable.NearEnd)
    def _near_end(self, event: LiveTable.NearEnd) -> None:
        event.stop()
        if self.next_cursor and not self._paging and self.table.row_count < MAX_ROWS:
            self._paging = True
            self.load_more(self.next_cursor)

    @work(exclusive=True, group="more", exit_on_error=False, name="loading more")
    async def load_more(self, cursor: str) -> None:
        try:
            page = await self.fetch({**self.params(), "limit": 200, "cursor": cursor})
            if cursor == self.next_cursor:  # not reloaded meanwhile
                self.next_cursor = page.next_cursor
                self.table.extend([r for r in page.items if self.matches(r)])
                self.show_bar()
        finally:
            self._paging = False

    @on(LiveTable.RowSelected)
    def _selected(self, event: LiveTable.RowSelected) -> None:
        event.stop()
        row = self.table.models.get(event.row_id)
        if row is not None:
            self.open(row)

    def open(self, row: R) -> None:
        """Enter on a row."""

    def focus_table(self) -> None:
        self.table.focus()
