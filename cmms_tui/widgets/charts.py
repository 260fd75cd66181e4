"""Pictures drawn with text blocks: progress bars, horizontal bar charts and big numbers.

Every picture also says its value in words or digits, so it still reads without colour (NO_COLOR).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.renderables.digits import Digits as DigitsRenderable
from textual.widget import Widget

EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
EMPTY = "░"


def progress_bar(fraction: float, width: int, style: str = "green", *, empty_style: str = "dim") -> Text:
    """`width` cells: full blocks for the done part (a half block for a remainder over half), shade after."""
    fraction = min(1.0, max(0.0, fraction))
    cells = fraction * width
    full = int(cells)
    half = 1 if full < width and cells - full >= 0.5 else 0
    bar = Text(no_wrap=True)
    bar.append(FULL * full + "▌" * half, style=style)
    bar.append(EMPTY * (width - full - half), style=empty_style)
    return bar


def percent(fraction: float) -> str:
    """Whole percent, rounded down, so 100% means done (0.999 shows 99%)."""
    return f"{int(min(1.0, max(0.0, fraction)) * 100 + 1e-9):3d}%"


def hbar(value: float, largest: float, width: int) -> str:
    """A bar of `value` scaled so `largest` fills `width`, to the eighth of a cell."""
    if width <= 0 or largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(8 * width * value / largest))
    return FULL * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else "")


@dataclass(frozen=True)
class Bar:
    label: Text
    value: float
    shown: str  # the value in words ("12", "3.5 h")
    style: str = ""


def bar_chart(bars: list[Bar], width: int, *, label_width: int = 14) -> Text:
    """One line per bar: label, the bar, the value. Bars scale to the largest value."""
    if not bars:
        return Text("")
    label_width = min(label_width, max(len(b.label.plain) for b in bars))
    value_width = max(len(b.shown) for b in bars)
    room = max(1, width - label_width - value_width - 2)
    largest = max(b.value for b in bars)
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, bar in enumerate(bars):
        if i:
            out.append("\n")
        label = bar.label.copy()
        label.truncate(label_width, overflow="ellipsis", pad=True)
        out.append_text(label)
        out.append(" ")
        drawn = hbar(bar.value, largest, room)
        out.append(drawn.ljust(room), style=bar.style)
        out.append(" ")
        out.append(bar.shown.rjust(value_width), style="bold" if bar.value else "dim")
    return out


class BarChart(Widget):
    """A titled horizontal bar chart, drawn at whatever width it is given."""

    DEFAULT_CSS = """
    BarChart { height: auto; }
    """

    def __init__(self, title: str, *, empty: str = "nothing in this period", id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self.empty = empty
        self.bars: list[Bar] = []

    def show(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        if not self.bars:
            return Text(self.empty, style="dim")
        return bar_chart(self.bars, self.content_size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.bars))


def compact(value: float) -> str:
    """A number short enough for a big-number card: 3.2, 41, 870, 1.2k, 35k."""
    if value < 10:
        return f"{value:.1f}"
    if value < 1000:
        return f"{value:.0f}"
    if value < 10_000:
        return f"{value / 1000:.1f}k"
    return f"{value / 1000:.0f}k"


class BigNumber(Widget):
    """A value three rows tall (Textual's digit font); as plain bold text when the width is too small.
    Characters outside the font (a unit: h, %, k) sit small on the baseline."""

    DEFAULT_CSS = """
    BigNumber { height: 3; width: 1fr; content-align: center middle; text-style: bold; }
    """

    def __init__(self, value: str = "—", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.value = value

    def update(self, value: str) -> None:
        self.value = value
        self.refresh()

    def render(self) -> RenderableType:
        has_digits = any(c.isdigit() for c in self.value)
        if has_digits and DigitsRenderable.get_width(self.value) <= self.content_size.width:
            return DigitsRenderable(self.value, self.rich_style)
        return Text(f"\n{self.value}", style="bold", justify="center")
