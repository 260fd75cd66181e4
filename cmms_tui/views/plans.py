"""Preventive-maintenance plans (read-only here): what is due next, on which asset."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.format import parse_time, plain, priority_badge, short_time
from cmms_tui.live import LiveEvent
from cmms_tui.models import Plan
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column


def trigger_text(plan: Plan) -> Text:
    if plan["trigger"] == "meter":
        interval = plan["meter_interval"]
        amount = f"{interval:g}" if interval is not None else "?"
        return plain(f"every {amount} {plan['meter'] or ''}".strip())
    return plain(f"every {plan['interval_days']} d ({plan['schedule']})")


def next_due(plan: Plan, now_text: str) -> Text:
    if plan["trigger"] == "meter" and plan["next_due_meter"] is not None:
        return plain(f"at {plan['next_due_meter']:g} {plan['meter'] or ''}".strip())
    return plain(now_text or "—")


class PlansView(RecordsView[Plan]):
    TITLE = "Plans"
    BINDINGS = [Binding("s", "scope", "Active/all")]

    def __init__(self, *, id: str = "plans") -> None:
        self.only_active = True
        super().__init__(id=id)

    def columns(self) -> list[Column[Plan]]:
        return [
            Column("title", "Plan", lambda p: plain(p["title"])),
            Column("asset", "Asset", lambda p: self.directory.asset(p["asset_id"]), width=16),
            Column("trigger", "Trigger", trigger_text, width=22, min_table_width=90),
            Column("due", "Next due", lambda p: next_due(p, short_time(p["next_due_at"], self.cmms.now())), width=12),
            Column("priority", "Priority", lambda p: priority_badge(p["priority"]), width=8, min_table_width=70),
            Column("active", "Active", lambda p: plain("yes" if p["active"] else "no", "" if p["active"] else "dim"),
                   width=6, min_table_width=110),
        ]  # fmt: skip

    def sort_key(self, row: Plan) -> tuple[float, int]:
        due = parse_time(row["next_due_at"])
        return (due.timestamp() if due else 1e12, -int(row["id"]))

    def params(self) -> dict[str, str | int | None]:
        return {"active": "true" if self.only_active else None}

    async def fetch(self, params: Params) -> Page[Plan]:
        assert self.cmms.api is not None
        return await self.cmms.api.plans(params)

    def matches(self, row: Plan) -> bool:
        return not self.only_active or bool(row["active"])

    def describe_filter(self) -> Text:
        sort = "sort: next due (of the rows loaded)" if self.next_cursor else "sort: next due"
        return Text(f"{'active plans' if self.only_active else 'all plans'}  ·  {sort}")

    def on_live(self, event: LiveEvent) -> None:
        if event.type in ("plan:created", "plan:updated") and "id" in event.data:
            self.place({k: v for k, v in event.data.items() if k != "changed"})  # type: ignore[arg-type]
        elif event.type == "plan:deleted" and "id" in event.data:
            self.table.discard(int(event.data["id"]))

    def open(self, row: Plan) -> None:
        from cmms_tui.screens.asset_detail import AssetDetailScreen

        self.app.push_screen(AssetDetailScreen(int(row["asset_id"])))

    def action_scope(self) -> None:
        self.only_active = not self.only_active
        self.next_cursor = None
        self.reload()
        self.show_bar()

    def empty_text(self) -> str:
        return "No maintenance plans."
