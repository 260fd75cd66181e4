"""The work part of the order detail: its checklist and time/cost panels and their screen keys.

A mixin for `OrderDetailScreen`, so the detail screen stays one screen while this part lives in
its own module: `w` starts or stops the caller's timer on this order, `h` logs time by hand, `$`
adds a cost line, `c` goes to the checklist (or attaches one). Requesters see none of it (the
server answers 403: their order's status is theirs, its work and cost are not).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.binding import Binding
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from cmms_tui.client_errors import ApiError
from cmms_tui.timer import running
from cmms_tui.widgets.checklist import ChecklistPanel
from cmms_tui.widgets.work_panes import TimeCostPanel, duration

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.models import Order

WORK_BINDINGS = [
    Binding("c", "checklist", "Checklist"),
    Binding("w", "timer", "Timer"),
    Binding("h", "log_time", "Log time"),
    Binding("dollar_sign", "add_cost", "Add cost"),
]
WORK_ACTIONS = frozenset(b.action for b in WORK_BINDINGS)


class OrderWork:
    """Needs `order_id`, `order` and `app` from the screen it is mixed into."""

    order_id: int
    order: Order | None

    @property
    def _cmms(self) -> CmmsApp:
        return cast("CmmsApp", cast(Widget, self).app)

    @property
    def shows_work(self) -> bool:
        directory = self._cmms.directory
        return directory is not None and directory.is_staff

    def work_panels(self) -> Iterator[Widget]:
        if self.shows_work:
            yield ChecklistPanel(self.order_id)
            yield TimeCostPanel(self.order_id)

    def work_allowed(self, action: str) -> bool:
        return self.shows_work and self.order is not None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Completion refused for open required items (409 naming `checklist`): go to the first one.
        The app's toast says which (Textual also runs the screen's own handler, which reports it)."""
        error = event.worker.error
        if event.state == WorkerState.ERROR and isinstance(error, ApiError) and error.status == 409:
            if "checklist" in error.by_field():
                for panel in cast(Widget, self).query(ChecklistPanel):
                    panel.show_missing()

    def refresh_work(self) -> None:
        for panel in cast(Widget, self).query("ChecklistPanel, TimeCostPanel"):
            cast("ChecklistPanel | TimeCostPanel", panel).load()

    def action_checklist(self) -> None:
        for panel in cast(Widget, self).query(ChecklistPanel):
            if panel.checklist is None:
                panel.attach()
            else:
                panel.focus_items()

    def action_timer(self) -> None:
        self.toggle_timer()

    @work(exclusive=True, group="timer", exit_on_error=False, name="starting or stopping the timer")
    async def toggle_timer(self) -> None:
        from cmms_tui import client_work

        app, order = self._cmms, self.order
        api = app.api
        assert api is not None and order is not None
        timer = app.running_timer
        if timer is not None and timer.order_id == self.order_id:
            entry = await client_work.stop_timer(api, self.order_id)
            app.running_timer = None
            app.notify(f"Timer stopped: {duration(entry['minutes'])} on {order['number']}.", timeout=4, markup=False)
            return
        started = await client_work.start_timer(api, self.order_id)
        app.running_timer = running(started["timer"], str(order["number"]))
        stopped: dict[str, Any] | None = started.get("stopped")
        elsewhere = f" (stopped the one on order #{stopped['order_id']})" if stopped else ""
        app.notify(f"Timer running on {order['number']}{elsewhere}.", timeout=4, markup=False)

    def action_log_time(self) -> None:
        from cmms_tui.screens.work_forms import TimeEntryForm

        if self.order is not None:
            self._cmms.push_screen(TimeEntryForm(self.order_id, self.order["number"]), self._saved)

    def action_add_cost(self) -> None:
        from cmms_tui.screens.work_forms import CostForm

        if self.order is not None:
            self._cmms.push_screen(CostForm(self.order_id, self.order["number"]), self._saved)

    def _saved(self, saved: dict[str, Any] | None) -> None:
        if saved is not None:
            for panel in cast(Widget, self).query(TimeCostPanel):
                panel.load()  # the live event does the same; this one does not wait for it
