"""Work orders: the first view. Filters go to the server; sorting other than newest-first orders
the rows already loaded (the API lists newest first and has no sort parameter)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.format import due_text, parse_time, plain, priority_badge, status_badge, status_label
from cmms_tui.live import LiveEvent
from cmms_tui.models import ORDER_STATUSES, PRIORITIES, Order
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column

ORDER_EVENTS = ("order:created", "order:updated", "order:status-changed")
EVENT_EXTRAS = ("changed", "from", "to", "by")
SORTS = ("newest", "priority", "due", "status", "updated")
FAR = 10**12


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    mine: bool = False
    plant_id: int | None = None
    sort: str = "newest"

    @property
    def is_default(self) -> bool:
        return self == OrderFilter(sort=self.sort)


def order_from_event(data: dict[str, Any]) -> Order:
    return {k: v for k, v in data.items() if k not in EVENT_EXTRAS}  # type: ignore[return-value]


class OrdersView(RecordsView[Order]):
    TITLE = "Work orders"
    BINDINGS = [
        Binding("c", "new", "New"),
        Binding("f", "filter", "Filter"),
        Binding("m", "mine", "Mine"),
        Binding("o", "sort", "Sort"),
        Binding("x", "clear", "Clear filter", show=False),
    ]

    def __init__(self, *, id: str = "orders", fixed: dict[str, Any] | None = None) -> None:
        self.filter = OrderFilter()
        self.fixed = fixed or {}  # e.g. {"asset_id": 7} in an asset's detail
        super().__init__(id=id)

    def columns(self) -> list[Column[Order]]:
        return [
            Column("number", "Number", lambda o: plain(o["number"], "bold"), width=9),
            Column("status", "Status", lambda o: status_badge(o["status"]), width=11),
            Column("priority", "Priority", lambda o: priority_badge(o["priority"]), width=8),
            Column("title", "Title", lambda o: plain(o["title"])),
            Column("asset", "Asset", lambda o: self.directory.asset(o["asset_id"]), width=16, min_table_width=90),
            Column("plant", "Plant", lambda o: self.directory.plant(o["plant_id"]), width=6, min_table_width=130),
            Column("assignee", "Assignee", lambda o: self.directory.person(o["assignee_id"]), width=14,
                   min_table_width=70),
            Column("due", "Due", lambda o: due_text(o["due_at"], o["status"], self.cmms.now()), width=10,
                   min_table_width=100),
            Column("type", "Type", lambda o: plain(o["type"], "dim"), width=10, min_table_width=150),
        ]  # fmt: skip

    # ---- filtering and sorting ----------------------------------------------------------------

    def params(self) -> dict[str, str | int | None]:
        f = self.filter
        params: dict[str, str | int | None] = {
            "status": ",".join(f.statuses) or None,
            "priority": ",".join(f.priorities) or None,
            "plant_id": f.plant_id,
            "assignee_id": self.directory.my_id if f.mine else None,
        }
        params.update(self.fixed)
        return params

    async def fetch(self, params: Params) -> Page[Order]:
        assert self.cmms.api is not None
        return await self.cmms.api.orders(params)

    def matches(self, row: Order) -> bool:
        f = self.filter
        for key, value in self.fixed.items():
            if key == "status":
                if row["status"] not in str(value).split(","):
                    return False
            elif row.get(key) != value:
                return False
        return (
            (not f.statuses or row["status"] in f.statuses)
            and (not f.priorities or row["priority"] in f.priorities)
            and (f.plant_id is None or row["plant_id"] == f.plant_id)
            and (not f.mine or row["assignee_id"] == self.directory.my_id)
        )

    def sort_key(self, row: Order) -> Any:
        newest = -int(row["id"])
        sort = self.filter.sort if hasattr(self, "filter") else "newest"
        if sort == "priority":
            return (PRIORITIES.index(row["priority"]) if row["priority"] in PRIORITIES else 9, newest)
        if sort == "due":
            due = parse_time(row["due_at"])
            return (due.timestamp() if due else FAR, newest)
        if sort == "status":
            return (ORDER_STATUSES.index(row["status"]) if row["status"] in ORDER_STATUSES else 9, newest)
        if sort == "updated":
            updated = parse_time(row["updated_at"])
            return (-(updated.timestamp() if updated else 0), newest)
        return newest

    def describe_filter(self) -> Text:
        f = self.filter
        fixed_status = [status_label(s) for s in str(self.fixed.get("status", "")).split(",") if s]
        statuses = [status_label(s) for s in f.statuses] or fixed_status
        parts = [
            f"status: {', '.join(statuses) or 'any'}",
            f"priority: {', '.join(f.priorities) or 'any'}",
        ]
        if f.mine:
            parts.append("mine")
        if f.plant_id is not None:
            parts.append(f"plant: {self.directory.plant_name(f.plant_id)}")
        sort = f"sort: {f.sort}"
        if f.sort != "newest":
            sort += " (of the rows loaded)" if self.next_cursor else " (all rows)"
        parts.append(sort)
        return Text("  ·  ".join(parts))

    def set_filter(self, new: OrderFilter) -> None:
        old, self.filter = self.filter, new
        if replace(old, sort=new.sort) != new:
            self.next_cursor = None
            self.reload()
        elif old.sort != new.sort:
            self.table.resort(self.sort_key)
        self.show_bar()

    # ---- live ---------------------------------------------------------------------------------

    def on_live(self, event: LiveEvent) -> None:
        if event.type in ORDER_EVENTS and "id" in event.data:
            self.place(order_from_event(event.data), at=event.received_at)

    # ---- actions ------------------------------------------------------------------------------

    def open(self, row: Order) -> None:
        from cmms_tui.screens.order_detail import OrderDetailScreen

        self.app.push_screen(OrderDetailScreen(int(row["id"])))

    def action_new(self) -> None:
        self.cmms.action_new_order()

    def action_mine(self) -> None:
        self.set_filter(replace(self.filter, mine=not self.filter.mine))

    def action_sort(self) -> None:
        self.set_filter(replace(self.filter, sort=SORTS[(SORTS.index(self.filter.sort) + 1) % len(SORTS)]))

    def action_clear(self) -> None:
        self.set_filter(OrderFilter(sort=self.filter.sort))

    def action_filter(self) -> None:
        from cmms_tui.screens.dialogs import OrderFilterDialog

        def apply(result: OrderFilter | None) -> None:
            if result is not None:
                self.set_filter(result)

        self.app.push_screen(OrderFilterDialog(self.filter, self.directory), apply)

    def empty_text(self) -> str:
        return "No work orders match this filter (x clears it)."
