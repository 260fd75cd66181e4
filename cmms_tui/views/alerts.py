"""Alerts: raised by meter readings, sensors and people; acknowledge and resolve them here."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.format import STATUS_STYLE, plain, severity_badge, short_time
from cmms_tui.live import LiveEvent
from cmms_tui.models import Alert
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column

ACTIVE = ("open", "acknowledged")


class AlertsView(RecordsView[Alert]):
    TITLE = "Alerts"
    BINDINGS = [
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("x", "resolve", "Resolve"),
        Binding("s", "scope", "Active/all"),
    ]

    def __init__(self, *, id: str = "alerts") -> None:
        self.only_active = True
        super().__init__(id=id)

    def columns(self) -> list[Column[Alert]]:
        return [
            Column("severity", "Severity", lambda a: severity_badge(a["severity"]), width=8),
            Column("status", "Status", lambda a: plain(a["status"], STATUS_STYLE.get(a["status"], "")), width=12),
            Column("raised", "Raised", lambda a: plain(short_time(a["created_at"], self.cmms.now())), width=6),
            Column("asset", "Asset", lambda a: self.directory.asset(a["asset_id"]), width=16, min_table_width=80),
            Column("kind", "Kind", lambda a: plain(a["kind"], "dim"), width=10, min_table_width=100),
            Column("message", "Message", lambda a: plain(a["message"])),
        ]

    def params(self) -> dict[str, str | int | None]:
        return {"status": ",".join(ACTIVE) if self.only_active else None}

    async def fetch(self, params: Params) -> Page[Alert]:
        assert self.cmms.api is not None
        return await self.cmms.api.alerts(params)

    def matches(self, row: Alert) -> bool:
        return not self.only_active or row["status"] in ACTIVE

    def describe_filter(self) -> Text:
        return Text("open and acknowledged" if self.only_active else "all, resolved included")

    def on_live(self, event: LiveEvent) -> None:
        if event.type in ("alert:triggered", "alert:updated") and "id" in event.data:
            data = {k: v for k, v in event.data.items() if k not in ("changed", "from", "to")}
            self.place(data)  # type: ignore[arg-type]

    def open(self, row: Alert) -> None:
        if row["asset_id"] is not None:
            from cmms_tui.screens.asset_detail import AssetDetailScreen

            self.app.push_screen(AssetDetailScreen(int(row["asset_id"])))

    def action_scope(self) -> None:
        self.only_active = not self.only_active
        self.next_cursor = None
        self.reload()
        self.show_bar()

    def action_acknowledge(self) -> None:
        alert = self.table.selected
        if alert is not None:
            self.move(alert, "acknowledge")

    def action_resolve(self) -> None:
        alert = self.table.selected
        if alert is not None:
            self.move(alert, "resolve")

    @work(group="alert", exit_on_error=False, name="updating the alert")
    async def move(self, alert: Alert, verb: str) -> None:
        api = self.cmms.api
        assert api is not None
        if verb == "acknowledge":
            if alert["status"] != "open":
                self.notify(f"This alert is already {alert['status']}.", severity="warning", markup=False)
                return
            updated = await api.acknowledge(alert["id"], alert["version"])
        else:
            if alert["status"] == "resolved":
                self.notify("This alert is already resolved.", severity="warning", markup=False)
                return
            updated = await api.resolve(alert["id"], alert["version"])
        self.place(updated)
        self.notify(f"Alert {verb}d.", timeout=3, markup=False)

    def empty_text(self) -> str:
        return "No open alerts. (s shows resolved ones too.)"
