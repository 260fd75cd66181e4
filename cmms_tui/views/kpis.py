"""The KPI dashboard: MTTR, MTBF, PM compliance, planned share and backlog as big numbers, with
bar charts of the period's orders by status and the assets that were down longest.

Read from GET /api/v1/kpis when first shown and on `r`; `d` changes the period (7/30/90 days), `p`
the plant. The numbers are as of the time shown in the bar; when orders change afterwards the bar
says so rather than recompute on every event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Static

from cmms_tui.failures import ReportsFailures
from cmms_tui.format import STATUS_STYLE, clock_time, parse_time, plain, status_label
from cmms_tui.live import LiveEvent
from cmms_tui.models import ORDER_STATUSES, PRIORITIES, Kpis
from cmms_tui.widgets.charts import Bar, BarChart, BigNumber, compact

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

PERIODS = (7, 30, 90)
CARDS = (  # key, title, title where cards are narrow
    ("mttr", "MTTR", "MTTR"),
    ("mtbf", "MTBF", "MTBF"),
    ("pm", "PM compliance", "PM comp"),
    ("planned", "Planned", "Planned"),
    ("backlog", "Backlog", "Backlog"),
    ("crew", "Crew-weeks", "Crew-wk"),
)


def _hours(value: float | None) -> str:
    """Hours for a card: 3.2h, 41h, 870h; from a thousand hours on, days (213d)."""
    if value is None:
        return "—"
    if value < 1000:
        return compact(value) + "h"
    return compact(value / 24) + "d"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def card_values(k: Kpis) -> dict[str, tuple[str, str]]:
    """Each card's big value and a caption short enough for its card."""
    mttr, mtbf, pm, planned, backlog = k["mttr"], k["mtbf"], k["pm_compliance"], k["planned_percentage"], k["backlog"]
    crew = backlog["crew_weeks"]
    if pm["considered"]:
        pm_caption = f"{pm['on_time']}/{pm['considered']} on time"
    else:
        pm_caption = f"{pm['pending']} pending" if pm["pending"] else "none due"
    return {
        "mttr": (_hours(mttr["hours"]), _plural(mttr["repairs"], "repair")),
        "mtbf": (_hours(mtbf["hours"]), _plural(mtbf["failures"], "failure")),
        "pm": (_pct(pm["percent"]), pm_caption),
        "planned": (_pct(planned["percent"]), f"{planned['planned']}/{planned['total']} done"),
        "backlog": (compact(backlog["hours"]) + "h", _plural(backlog["orders"], "order")),
        "crew": ("—" if crew is None else f"{crew:.1f}", _plural(backlog["technicians"], "tech")),
    }


def details(k: Kpis) -> Text:
    """The numbers behind the cards, in sentences."""
    mttr, mtbf, pm, planned, backlog = k["mttr"], k["mtbf"], k["pm_compliance"], k["planned_percentage"], k["backlog"]
    crew = backlog["crew_weeks"]
    lines = [
        Text.assemble(("MTTR ", "bold"), f"{_plural(mttr['repairs'], 'repair')} (corrective and emergency orders"
                      f" completed), {mttr['repair_hours']:g} h of downtime in all"),
        Text.assemble(("MTBF ", "bold"), f"{_plural(mtbf['failures'], 'failure')} over {mtbf['operating_hours']:g}"
                      f" operating hours of {_plural(mtbf['assets'], 'asset')}"),
        Text.assemble(("PM compliance ", "bold"), f"{pm['on_time']} on time, {pm['late']} late, {pm['missed']} missed"
                      f" of the preventive orders due; {pm['pending']} still pending"),
        Text.assemble(("Planned ", "bold"), f"{planned['planned']} of the {planned['total']} orders completed were"
                      " preventive or inspection"),
        Text.assemble(("Backlog ", "bold"), f"{_plural(backlog['orders'], 'open order')}, {backlog['hours']:g} h"
                      " estimated by priority; "
                      + (f"{_plural(backlog['technicians'], 'technician')} x 40 h a week: {crew:g} crew-weeks"
                         if crew is not None else "no active technician, so no crew-weeks")),
    ]  # fmt: skip
    return Text("\n").join(lines)


def status_bars(k: Kpis) -> list[Bar]:
    counts = k["orders"]["by_status"]
    return [
        Bar(Text(status_label(s)), counts.get(s, 0), str(counts.get(s, 0)), STATUS_STYLE.get(s, ""))
        for s in ORDER_STATUSES
    ]


def downtime_bars(k: Kpis, directory: Directory | None = None) -> list[Bar]:
    bars = []
    for row in k["top_assets_by_downtime"]:
        asset = directory.assets.get(row["asset_id"]) if directory is not None else None
        label = plain(asset.get("code") or row["name"] if asset else row["name"])
        bars.append(Bar(label, row["downtime_hours"], f"{row['downtime_hours']:g} h", "red"))
    return bars


def backlog_bars(k: Kpis) -> list[Bar]:
    counts = k["backlog"]["by_priority"]
    styles = {"critical": "bold red", "high": "dark_orange", "medium": "yellow", "low": "dim"}
    return [Bar(Text(p), counts.get(p, 0), str(counts.get(p, 0)), styles[p]) for p in PRIORITIES]


class Card(Vertical):
    DEFAULT_CSS = """
    Card { border: round $primary-muted; height: 6; padding: 0; }
    Card > .caption { height: 1; color: $text-muted; text-align: center; text-wrap: nowrap;
        text-overflow: ellipsis; }
    """

    def __init__(self, key: str, title: str, short: str) -> None:
        super().__init__(id=f"kpi-{key}")
        self.title, self.short = title, short
        self.border_title = title

    def on_resize(self, event: events.Resize) -> None:
        self.border_title = self.title if event.size.width >= len(self.title) + 6 else self.short

    def compose(self) -> ComposeResult:
        yield BigNumber()
        yield Static("", classes="caption")

    def show(self, value: str, caption: str) -> None:
        self.query_one(BigNumber).update(value)
        self.query_one(".caption", Static).update(Text(caption, no_wrap=True, overflow="ellipsis"))


class KpisView(ReportsFailures, Vertical, can_focus=True):
    TITLE = "KPIs"
    DEFAULT_CSS = """
    KpisView { height: 1fr; }
    KpisView .filterbar { height: 1; padding: 0 1; background: $boost; }
    KpisView #cards { grid-size: 6; grid-gutter: 0 0; height: 6; padding: 0; }
    KpisView.-wide #cards { grid-gutter: 0 1; padding: 0 1; }
    KpisView #charts { height: auto; padding: 0 1; }
    KpisView BarChart { width: 1fr; border: round $primary-muted; padding: 0 1; }
    KpisView #chart-backlog { display: none; }
    KpisView.-wide #chart-backlog { display: block; }
    KpisView #kpis-details { height: 1fr; padding: 0 2; color: $text-muted; text-wrap: nowrap;
        text-overflow: ellipsis; }
    KpisView.-wide #kpis-details { padding: 1 2 0 2; }
    """
    BINDINGS = [
        Binding("d", "period", "Days 7/30/90"),
        Binding("p", "plant", "Plant"),
    ]

    def __init__(self, *, id: str = "kpis") -> None:
        super().__init__(id=id)
        self.days = 30
        self.plant_id: int | None = None
        self.kpis: Kpis | None = None
        self.read_at: str = ""
        self.outdated = False
        self.loaded_once = False

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    def compose(self) -> ComposeResult:
        yield Static(id="kpis-bar", classes="filterbar")
        with Grid(id="cards"):
            for key, title, short in CARDS:
                yield Card(key, title, short)
        with Horizontal(id="charts"):
            yield BarChart("Orders created, by status", id="chart-status")
            yield BarChart("Top assets by downtime", empty="no downtime recorded in this period", id="chart-downtime")
            yield BarChart("Backlog by priority", id="chart-backlog")
        yield Static(id="kpis-details")

    def on_mount(self) -> None:
        self.cmms.live_signal.subscribe(self, self._live)
        self.watch(self.app, "conn", lambda _: self.show_bar())
        self.show_bar()

    def on_show(self) -> None:
        if not self.loaded_once:
            self.loaded_once = True
            self.reload()

    def on_resize(self) -> None:
        self.set_class(self.size.width >= 110, "-wide")

    def _live(self, event: LiveEvent) -> None:
        if self.kpis is not None and not self.outdated and event.type.startswith("order:"):
            self.outdated = True
            self.show_bar()

    # ---- reading ------------------------------------------------------------------------------

    def period_params(self) -> dict[str, str | int | None]:
        end = self.cmms.now()
        return {"from": (end - timedelta(days=self.days)).isoformat(), "to": end.isoformat(), "plant_id": self.plant_id}

    @work(exclusive=True, group="load", exit_on_error=False, name="reading the KPIs")
    async def reload(self) -> None:
        api = self.cmms.api
        assert api is not None
        cards = self.query_one("#cards")
        cards.loading = self.kpis is None  # not the view itself: a loading widget cannot keep the focus
        try:
            kpis = await api.kpis(self.period_params())
        finally:
            cards.loading = False
        self.kpis = kpis
        self.read_at = clock_time(self.cmms.now())
        self.outdated = False
        self.show(kpis)

    def show(self, kpis: Kpis) -> None:
        for key, (value, caption) in card_values(kpis).items():
            self.query_one(f"#kpi-{key}", Card).show(value, caption)
        self.query_one("#chart-status", BarChart).show(status_bars(kpis))
        self.query_one("#chart-downtime", BarChart).show(downtime_bars(kpis, self.cmms.directory))
        self.query_one("#chart-backlog", BarChart).show(backlog_bars(kpis))
        self.query_one("#kpis-details", Static).update(details(kpis))
        self.show_bar()

    def show_bar(self) -> None:
        bar = Text.assemble((self.TITLE, "bold"), "  ")
        bar.append(f"last {self.days} days")
        bar.append("  ·  ")
        bar.append(self.directory.plant_name(self.plant_id) if self.plant_id is not None else "every plant")
        if self.read_at:
            bar.append(f"  ·  as of {self.read_at}", style="dim")
        if self.outdated:
            bar.append("  ·  orders changed since: r refreshes", style="yellow")
        conn = self.cmms.conn
        if conn is None or not conn.live:
            bar.append("  ·  may be stale", style="bold yellow")
        k = self.kpis
        start, end = (parse_time(k["period"]["from"]), parse_time(k["period"]["to"])) if k else (None, None)
        if start and end:
            bar.append(f"  ·  {start.astimezone():%b %d %H:%M} to {end.astimezone():%b %d %H:%M}", style="dim")
        self.query_one("#kpis-bar", Static).update(bar)

    # ---- actions ------------------------------------------------------------------------------

    def action_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)] if self.days in PERIODS else 30
        self.show_bar()
        self.reload()

    def action_plant(self) -> None:
        cycle: list[int | None] = [None, *sorted(self.directory.plants)]
        self.plant_id = cycle[(cycle.index(self.plant_id) + 1) % len(cycle)] if self.plant_id in cycle else None
        self.show_bar()
        self.reload()

    def allow_focus(self) -> bool:
        return self.display  # only while it is the view shown

    def focus_table(self) -> None:
        self.focus()
