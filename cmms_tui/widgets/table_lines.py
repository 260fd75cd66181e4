"""Drawing a live table line by line: columns chosen by width, one cached strip per row, the cursor on top."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

R = TypeVar("R", bound=Mapping[str, Any])
PADDING = 2  # one cell either side of every column


@dataclass(frozen=True)
class Column(Generic[R]):
    key: str
    label: str
    render: Callable[[R], Text]
    width: int | None = None  # None: share the width the fixed columns leave
    min_table_width: int = 0  # show only from this table width up


def _overlay(strip: Strip, style: Style) -> Strip:
    """Lay a style over a row (the cursor, the highlight): it wins over the row's own colours."""
    return Strip(Segment.apply_style(list(strip), post_style=style), strip.cell_length)


class TableLines(ScrollView, Generic[R]):
    """The rows `LiveTable` holds, and how they are drawn (the rows' writers and the cursor: table.py)."""

    cursor_row: reactive[int] = reactive(0, repaint=False)

    def __init__(self, columns: list[Column[R]], *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.all_columns = columns
        self.models: dict[int, R] = {}
        self.order: list[int] = []
        self._index: dict[int, int] = {}
        self._strips: dict[int, Strip] = {}
        self._header: Strip | None = None
        self._shown: list[tuple[Column[R], int]] = []
        self._flashing: dict[int, Timer] = {}

    # ---- reading ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    @property
    def selected(self) -> R | None:
        row_id = self.selected_id()
        return None if row_id is None else self.models.get(row_id)

    def selected_id(self) -> int | None:
        if not self.order:
            return None
        return self.order[min(self.cursor_row, len(self.order) - 1)]

    def get_row_index(self, row_id: int | str) -> int:
        return self._index[int(row_id)]

    def is_flashing(self, row_id: int) -> bool:
        return row_id in self._flashing

    # ---- geometry -----------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.order) + 1)

    def _plan_columns(self, width: int) -> list[tuple[Column[R], int]]:
        chosen = [c for c in self.all_columns if width >= c.min_table_width]
        fixed = sum((c.width or 0) + PADDING for c in chosen if c.width is not None)
        flexible = [c for c in chosen if c.width is None]
        spare = max(0, width - fixed - PADDING * len(flexible))
        share = max(8, spare // len(flexible)) if flexible else 0
        return [(c, c.width if c.width is not None else share) for c in chosen]

    def on_resize(self, event: events.Resize) -> None:
        plan = self._plan_columns(self.scrollable_content_region.width)
        if [(c.key, w) for c, w in plan] != [(c.key, w) for c, w in self._shown]:
            self._shown = plan
            self._strips.clear()
            self._header = None
        self._update_virtual_size()
        self.refresh()

    def on_mount(self) -> None:
        self._shown = self._plan_columns(self.scrollable_content_region.width or self.size.width or 80)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._header = None

    # ---- rendering ----------------------------------------------------------------------------

    def _line(self, cells: list[Text]) -> Text:
        line = Text(no_wrap=True, end="")
        for (_, width), cell in zip(self._shown, cells, strict=True):
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(cell)
            line.append(" ")
        return line

    def _to_strip(self, text: Text, style: Style) -> Strip:
        width = self.scrollable_content_region.width
        segments = list(text.render(self.app.console))
        return Strip(Segment.apply_style(segments, style)).adjust_cell_length(width, style)

    def _row_strip(self, row_id: int) -> Strip:
        strip = self._strips.get(row_id)
        if strip is None:
            row = self.models[row_id]
            strip = self._to_strip(self._line([c.render(row) for c, _ in self._shown]), self.rich_style)
            self._strips[row_id] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            if self._header is None:
                style = self.get_component_rich_style("live-table--header")
                self._header = self._to_strip(self._line([Text(c.label) for c, _ in self._shown]), style)
            return self._header
        index = int(self.scroll_y) + y - 1
        if index >= len(self.order):
            return Strip.blank(width, self.rich_style)
        row_id = self.order[index]
        strip = self._row_strip(row_id)
        if row_id in self._flashing:
            strip = _overlay(strip, self.get_component_rich_style("live-table--flash"))
        if index == self.cursor_row:
            name = "live-table--cursor" if self.has_focus else "live-table--cursor-blurred"
            strip = _overlay(strip, self.get_component_rich_style(name))
        return strip

    def _refresh_row(self, row_id: int) -> None:
        index = self._index.get(row_id)
        if index is None:
            return
        y = index - int(self.scroll_y) + 1
        if 1 <= y <= self._body_height:
            self.refresh(Region(0, y, self.size.width, 1))

    def on_focus(self) -> None:
        self._refresh_cursor()

    def on_blur(self) -> None:
        self._refresh_cursor()

    def _refresh_cursor(self) -> None:
        row_id = self.selected_id()
        if row_id is not None:
            self._refresh_row(row_id)
