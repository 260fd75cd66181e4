"""A live table of server records, drawn line by line.

Why not DataTable: any cell update there invalidates every render cache, so each live event re-renders
the whole visible table (about 30 ms at 120x40 on a small machine, twice per event with the
highlight). Here each row is rendered once into a cached Strip; an update re-renders that row and
repaints its one line; the cursor and the highlight are styles laid over the cached strip.

Rows are keyed by record id. An insert or a re-sort keeps the cursor on the record it was on (and,
when the view is scrolled into the list, keeps what is on screen where it was). Columns are chosen by
the table's width. The table holds only the window the view has paged in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message

from cmms_tui.widgets.table_lines import Column, R, TableLines

FLASH_S = 1.5


class LiveTable(TableLines[R], can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Open", show=False),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "Top", show=False),
        Binding("end,G", "edge(1)", "Bottom", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header",
        "live-table--cursor",
        "live-table--cursor-blurred",
        "live-table--flash",
    }
    DEFAULT_CSS = """
    LiveTable { background: $surface; overflow-x: hidden; overflow-y: auto; scrollbar-size-vertical: 1; }
    LiveTable > .live-table--header { text-style: bold; background: $panel; color: $foreground; }
    LiveTable > .live-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground;
        text-style: bold; }
    LiveTable > .live-table--cursor-blurred { background: $block-cursor-blurred-background; }
    LiveTable > .live-table--flash { background: $success 40%; text-style: bold; }
    """
    NEAR_END = 15

    class NearEnd(Message):
        """The cursor or the scroll position is close to the last loaded row: time to page in more."""

    class RowSelected(Message):
        """Enter (or a double click) on a row."""

        def __init__(self, table: LiveTable[Any], row_id: int) -> None:
            super().__init__()
            self.table = table
            self.row_id = row_id

        @property
        def control(self) -> LiveTable[Any]:
            return self.table

    class RowChanged(Message):
        """A row was inserted or updated from a live event (for observers such as the benchmark)."""

        def __init__(self, table: LiveTable[Any], row_id: int, inserted: bool, at: float) -> None:
            super().__init__()
            self.table = table
            self.row_id = row_id
            self.inserted = inserted
            self.at = at

        @property
        def control(self) -> LiveTable[Any]:
            return self.table

    def __init__(
        self,
        columns: list[Column[R]],
        *,
        sort_key: Callable[[R], Any],
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(columns, id=id, classes=classes)
        self.sort_key = sort_key

    # ---- writing ------------------------------------------------------------------------------

    def _reindex(self) -> None:
        self.order.sort(key=lambda i: self.sort_key(self.models[i]))
        self._index = {row_id: i for i, row_id in enumerate(self.order)}
        self._update_virtual_size()

    def set_rows(self, rows: list[R]) -> None:
        """Replace every row (a reload); the cursor stays on its record when that is still present."""
        keep = self.selected_id()
        for timer in self._flashing.values():
            timer.stop()
        self._flashing.clear()
        self._strips.clear()
        self.models = {int(r["id"]): r for r in rows}
        self.order = list(self.models)
        self._reindex()
        if keep is not None and keep in self._index:
            self._move(self._index[keep])
        else:
            self.scroll_to(y=0, animate=False, immediate=True)
            self._move(0)
        self.refresh()

    def extend(self, rows: list[R]) -> None:
        """Add the next page; records already shown (moved by live events) are updated instead."""
        keep = self.selected_id()
        for row in rows:
            row_id = int(row["id"])
            if row_id in self.models:
                self._strips.pop(row_id, None)
            else:
                self.order.append(row_id)
            self.models[row_id] = row
        self._reindex()
        if keep is not None:
            self.cursor_row = self._index[keep]
        self.refresh()

    def upsert(self, row: R, *, flash: bool = True, at: float | None = None) -> None:
        """Insert or update one record in place, keeping the cursor on its record."""
        row_id = int(row["id"])
        old = self.models.get(row_id)
        self.models[row_id] = row
        self._strips.pop(row_id, None)
        if flash:
            self._flash(row_id)
        if old is None:
            with self._keeping_cursor():
                self.order.append(row_id)
                self._reindex()
            self.refresh()
        elif self.sort_key(old) != self.sort_key(row):
            with self._keeping_cursor():
                self._reindex()
            self.refresh()
        else:
            self._refresh_row(row_id)
        self.call_later(self._announce, row_id, old is None, time.monotonic() if at is None else at)

    def _announce(self, row_id: int, inserted: bool, at: float) -> None:
        # Posted from the table's own queue, so it bubbles past the view that caused the change.
        self.post_message(self.RowChanged(self, row_id, inserted, at))

    def discard(self, row_id: int) -> None:
        if row_id not in self.models:
            return
        timer = self._flashing.pop(row_id, None)
        if timer is not None:
            timer.stop()
        with self._keeping_cursor(removed=row_id):
            del self.models[row_id]
            self._strips.pop(row_id, None)
            self.order.remove(row_id)
            self._reindex()
        self.refresh()

    def resort(self, sort_key: Callable[[R], Any]) -> None:
        self.sort_key = sort_key
        with self._keeping_cursor():
            self._reindex()
        self.refresh()

    def rerender(self) -> None:
        """Drop the cached rows (names or times they show have changed)."""
        self._strips.clear()
        self.refresh()

    def _flash(self, row_id: int) -> None:
        timer = self._flashing.pop(row_id, None)
        if timer is not None:
            timer.stop()
        self._flashing[row_id] = self.set_timer(FLASH_S, lambda: self._unflash(row_id))

    def _unflash(self, row_id: int) -> None:
        self._flashing.pop(row_id, None)
        self._refresh_row(row_id)

    # ---- the cursor ---------------------------------------------------------------------------

    def _move(self, index: int, *, scroll: bool = True) -> None:
        if not self.order:
            self.cursor_row = 0
            return
        index = max(0, min(index, len(self.order) - 1))
        previous = self.selected_id()
        self.cursor_row = index
        if previous is not None:
            self._refresh_row(previous)
        self._refresh_cursor()
        if scroll:
            top = int(self.scroll_y)
            if index < top:
                self.scroll_to(y=index, animate=False, immediate=True)
            elif index >= top + self._body_height:
                self.scroll_to(y=index - self._body_height + 1, animate=False, immediate=True)
        if index >= len(self.order) - self.NEAR_END:
            self.post_message(self.NearEnd())

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        self._move(row, scroll=scroll)

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor_row + direction * self._body_height)

    def action_edge(self, end: int) -> None:
        self._move(len(self.order) - 1 if end else 0)

    def action_select(self) -> None:
        row_id = self.selected_id()
        if row_id is not None:
            self.post_message(self.RowSelected(self, row_id))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if index < len(self.order):
            self._move(index, scroll=False)
            if event.chain >= 2:
                self.action_select()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.order and self.max_scroll_y and new_value >= self.max_scroll_y - 2:
            self.post_message(self.NearEnd())

    class _CursorKeeper:
        def __init__(self, table: LiveTable[Any], removed: int | None) -> None:
            self.table = table
            self.removed = removed

        def __enter__(self) -> None:
            table = self.table
            self.key = table.selected_id()
            self.index = table.cursor_row
            self.scroll = int(table.scroll_y)

        def __exit__(self, *exc: object) -> None:
            table = self.table
            if not table.order:
                table.cursor_row = 0
                return
            if self.key is None or self.key == self.removed or self.key not in table._index:
                table.cursor_row = min(self.index, len(table.order) - 1)
                return
            index = table._index[self.key]
            if index != self.index:
                table.cursor_row = index
                if self.scroll > 0:
                    # Scrolled into the list: keep what is on screen where it was.
                    table.scroll_to(y=self.scroll + index - self.index, animate=False, immediate=True)

    def _keeping_cursor(self, removed: int | None = None) -> LiveTable._CursorKeeper:
        return LiveTable._CursorKeeper(self, removed)
