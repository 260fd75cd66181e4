"""One asset: its fields and meters, recent readings as sparklines, its open work orders (live) and
its maintenance plans."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from cmms_tui.failures import ReportsFailures
from cmms_tui.format import STATUS_STYLE, full_time, plain, priority_badge, short_time
from cmms_tui.live import LiveEvent
from cmms_tui.models import ACTIVE_STATUSES, Asset, Plan, Reading
from cmms_tui.views.orders import OrdersView
from cmms_tui.views.plans import trigger_text
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

READINGS = 60


def asset_facts(asset: Asset, directory: Directory) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for label, value in (
        ("Name", plain(asset["name"], "bold")),
        ("Code", plain(asset["code"] or "—")),
        ("Status", plain(asset["status"], STATUS_STYLE.get(asset["status"], ""))),
        ("Criticality", priority_badge(asset["criticality"])),
        ("Type", plain(asset["type"] or "—")),
        ("Plant", plain(directory.plant_name(asset["plant_id"]))),
        ("Parent", plain(directory.asset_name(asset["parent_id"]) if asset["parent_id"] else "—")),
        ("Make / model", plain(" ".join(x for x in (asset["manufacturer"], asset["model"]) if x) or "—")),
        ("Serial", plain(asset["serial"] or "—")),
        ("Updated", plain(f"{full_time(asset['updated_at'])} (version {asset['version']})")),
    ):
        grid.add_row(label, value)
    return grid


def plans_text(plans: list[Plan], now_text: dict[int, str]) -> Text:
    if not plans:
        return Text("No maintenance plans.", style="dim")
    out = Text()
    for plan in plans:
        out.append("● " if plan["active"] else "○ ", style="green" if plan["active"] else "dim")
        out.append(plan["title"])
        out.append("  ")
        out.append_text(trigger_text(plan))
        due = now_text.get(plan["id"]) or ""
        if due:
            out.append(f"  next {due}", style="dim")
        out.append("\n")
    return out


class AssetDetailScreen(ReportsFailures, Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("u", "files", "Files"),
    ]
    DEFAULT_CSS = """
    AssetDetailScreen #top { height: auto; max-height: 50%; }
    AssetDetailScreen #top > Horizontal { height: auto; }
    AssetDetailScreen #facts { width: 1fr; padding: 0 1; height: auto; }
    AssetDetailScreen #meters { width: 1fr; height: auto; padding: 0 1; }
    AssetDetailScreen .meter-label { height: 1; }
    AssetDetailScreen Sparkline { height: 2; margin-bottom: 1; }
    AssetDetailScreen #plans { height: auto; max-height: 6; padding: 0 1; }
    AssetDetailScreen .section { text-style: bold; padding: 0 1; background: $boost; height: 1; }
    AssetDetailScreen OrdersView { height: 1fr; min-height: 6; }
    AssetDetailScreen.-narrow #top { layout: vertical; }
    """

    def __init__(self, asset_id: int) -> None:
        super().__init__()
        self.asset_id = asset_id
        self.asset: Asset | None = None

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="top"), Horizontal():
            yield Static(id="facts")
            yield Vertical(id="meters")
        yield Static("Plans", classes="section")
        yield Static(id="plans")
        yield Static("Open work orders", classes="section")
        yield OrdersView(
            id=f"asset-{self.asset_id}-orders",
            fixed={"asset_id": self.asset_id, "status": ",".join(ACTIVE_STATUSES)},
        )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(AppHeader).crumb = self.cmms.title_text("Assets", f"#{self.asset_id}")
        self.set_class(self.app.size.width < 100, "-narrow")
        self.cmms.live_signal.subscribe(self, self._live)
        self.load()

    def _live(self, event: LiveEvent) -> None:
        if event.type == "asset:updated" and event.data.get("id") == self.asset_id:
            self.load()
        elif event.type.startswith("plan:") and event.data.get("asset_id") == self.asset_id:
            self.load()

    def action_files(self) -> None:
        from cmms_tui.screens.attachments import AttachmentsScreen

        label = (self.asset.get("code") or self.asset["name"]) if self.asset else f"#{self.asset_id}"
        self.app.push_screen(AttachmentsScreen("assets", self.asset_id, label))

    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.load()
        self.query_one(OrdersView).reload()

    @work(exclusive=True, group="load", exit_on_error=False, name="loading the asset")
    async def load(self) -> None:
        api = self.cmms.api
        assert api is not None
        staff = self.directory.is_staff
        asset = await api.asset(self.asset_id)
        self.directory.assets[asset["id"]] = asset
        meters = [str(m.get("name")) for m in asset.get("meters") or [] if m.get("name")]
        series = await asyncio.gather(*(api.readings(self.asset_id, meter=m, limit=READINGS) for m in meters))
        plans = (await api.plans({"asset_id": self.asset_id, "limit": 50})).items if staff else []
        self.asset = asset
        self.query_one(AppHeader).crumb = self.cmms.title_text("Assets", asset.get("code") or asset["name"])
        self.query_one("#facts", Static).update(asset_facts(asset, self.directory))
        await self._show_meters(asset, dict(zip(meters, [p.items for p in series], strict=True)))
        now = self.cmms.now()
        self.query_one("#plans", Static).update(
            plans_text(plans, {p["id"]: short_time(p["next_due_at"], now) for p in plans})
            if staff
            else Text("Plans are visible to staff.", style="dim")
        )

    async def _show_meters(self, asset: Asset, series: dict[str, list[Reading]]) -> None:
        box = self.query_one("#meters", Vertical)
        await box.remove_children()
        if not series:
            await box.mount(Static(Text("No meters.", style="dim")))
            return
        units = {str(m.get("name")): m.get("unit") or "" for m in asset.get("meters") or []}
        widgets: list[Static | Sparkline] = []
        for meter, readings in series.items():
            values = [float(r["value"]) for r in reversed(readings)]  # oldest first, left to right
            label = Text.assemble((meter, "bold"), f" ({units.get(meter, '')})" if units.get(meter) else "")
            if values:
                label.append(
                    f"  last {values[-1]:g}  min {min(values):g}  max {max(values):g}  · {len(values)} readings",
                    style="dim",
                )
                widgets.append(Static(label, classes="meter-label"))
                widgets.append(Sparkline(values, summary_function=max))
            else:
                label.append("  no readings yet", style="dim")
                widgets.append(Static(label, classes="meter-label"))
        await box.mount_all(widgets)
