"""The caller's running timer, as every screen's header shows it.

The app keeps one `RunningTimer | None` (its `running_timer` var, watched by the header like the
connection state). It is read once per session and then follows the live events: this user's
timer started (`order:updated`, changed `time`, with `timer`) or stopped (an `entry` from the
timer), so a timer started in another console shows here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from cmms_tui.format import parse_time

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.client import ApiClient
    from cmms_tui.client_work import Timer
    from cmms_tui.live import LiveEvent


@dataclass(frozen=True)
class RunningTimer:
    order_id: int
    number: str
    category: str
    started_at: datetime

    def minutes(self, now: datetime) -> int:
        return max(0, int((now - self.started_at).total_seconds() // 60))

    def badge(self, now: datetime) -> Text:
        """`⏱ WO-000012 · 14 min` — words as well as colour, so it reads under NO_COLOR."""
        extra = "" if self.category == "normal" else f" · {self.category}"
        return Text.assemble(("⏱ timer ", "bold green"), self.number, f" · {self.minutes(now)} min{extra}")


def running(timer: Timer | None, number: str) -> RunningTimer | None:
    if timer is None:
        return None
    started = parse_time(timer["started_at"])
    assert started is not None
    return RunningTimer(int(timer["order_id"]), number, str(timer["category"]), started)


async def load_timer(app: CmmsApp, api: ApiClient) -> None:
    """Set what runs now, with its order's number (one more request only while a timer runs)."""
    from cmms_tui.client_work import my_timer

    timer = await my_timer(api)
    found = None
    if timer is not None:
        order = await api.order(int(timer["order_id"]))
        found = running(timer, str(order["number"]))
    if app.api is api:  # still the same session
        app.running_timer = found


def follow(current: RunningTimer | None, event: LiveEvent, my_id: int) -> RunningTimer | None:
    """The timer after this event (the same object when the event is not about my timer)."""
    data: dict[str, Any] = event.data
    if event.type != "order:updated" or "time" not in (data.get("changed") or []):
        return current
    timer, entry = data.get("timer"), data.get("entry")
    if isinstance(timer, dict) and timer.get("user_id") == my_id:
        return running(timer, str(data.get("number") or f"#{timer['order_id']}"))  # type: ignore[arg-type]
    if isinstance(entry, dict) and entry.get("user_id") == my_id and entry.get("source") == "timer":
        if current is not None and current.order_id == entry.get("order_id"):
            return None
    return current
