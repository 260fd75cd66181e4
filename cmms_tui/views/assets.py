"""Assets: equipment by plant, live from asset:created / asset:updated / asset:deleted."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.format import STATUS_STYLE, plain, priority_badge
from cmms_tui.live import LiveEvent
from cmms_tui.models import ASSET_STATUSES, Asset
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column


class AssetsView(RecordsView[Asset]):
    TITLE = "Assets"
    BINDINGS = [
        Binding("s", "status", "Status"),
        Binding("p", "plant", "Plant"),
        Binding("x", "clear", "Clear"),
    ]

    def __init__(self, *, id: str = "assets") -> None:
        self.status: str | None = None
        self.plant_id: int | None = None
        super().__init__(id=id)

    def columns(self) -> list[Column[Asset]]:
        return [
            Column("code", "Code", lambda a: plain(a["code"] or "—", "bold"), width=16),
            Column("name", "Name", lambda a: plain(a["name"])),
            Column("type", "Type", lambda a: plain(a["type"] or "", "dim"), width=10, min_table_width=90),
            Column("criticality", "Criticality", lambda a: priority_badge(a["criticality"]), width=11),
            Column("status", "Status", lambda a: plain(a["status"], STATUS_STYLE.get(a["status"], "")), width=11),
            Column("plant", "Plant", lambda a: self.directory.plant(a["plant_id"]), width=6, min_table_width=70),
            Column("parent", "Parent", lambda a: self.directory.asset(a["parent_id"]), width=14, min_table_width=110),
        ]

    def params(self) -> dict[str, str | int | None]:
        return {"status": self.status, "plant_id": self.plant_id}

    async def fetch(self, params: Params) -> Page[Asset]:
        assert self.cmms.api is not None
        return await self.cmms.api.assets(params)

    def matches(self, row: Asset) -> bool:
        return (self.status is None or row["status"] == self.status) and (
            self.plant_id is None or row["plant_id"] == self.plant_id
        )

    def describe_filter(self) -> Text:
        plant = self.directory.plant_name(self.plant_id) if self.plant_id is not None else "any"
        return Text(f"status: {self.status or 'any'}  ·  plant: {plant}")

    def on_live(self, event: LiveEvent) -> None:
        if event.type in ("asset:created", "asset:updated") and "id" in event.data:
            data = {k: v for k, v in event.data.items() if k != "changed"}
            self.place(data)  # type: ignore[arg-type]
        elif event.type == "asset:deleted" and "id" in event.data:
            self.table.discard(int(event.data["id"]))

    def open(self, row: Asset) -> None:
        from cmms_tui.screens.asset_detail import AssetDetailScreen

        self.app.push_screen(AssetDetailScreen(int(row["id"])))

    def _refilter(self) -> None:
        self.next_cursor = None
        self.reload()
        self.show_bar()

    def action_status(self) -> None:
        cycle: list[str | None] = [None, *ASSET_STATUSES]
        self.status = cycle[(cycle.index(self.status) + 1) % len(cycle)]
        self._refilter()

    def action_plant(self) -> None:
        cycle: list[int | None] = [None, *sorted(self.directory.plants)]
        self.plant_id = cycle[(cycle.index(self.plant_id) + 1) % len(cycle)] if self.plant_id in cycle else None
        self._refilter()

    def action_clear(self) -> None:
        self.status = self.plant_id = None
        self._refilter()

    def empty_text(self) -> str:
        return "No assets match this filter (x clears it)."
