"""How values look: badges, colours that carry meaning, times, and highlights.

Every piece of user text becomes a `rich.text.Text`, so markup in it (`[red]x`) shows as typed.
Colour is never the only signal: every badge also says what it means in words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from rich.text import Text

PRIORITY_STYLE = {"critical": "bold red", "high": "dark_orange", "medium": "yellow", "low": "dim"}
SEVERITY_STYLE = {"critical": "bold red", "warning": "dark_orange", "info": "cyan"}
STATUS_STYLE = {
    "requested": "magenta",
    "open": "cyan",
    "in_progress": "bold green",
    "on_hold": "yellow",
    "completed": "blue",
    "closed": "dim",
    "cancelled": "dim strike",
    "operational": "green",
    "down": "bold red",
    "maintenance": "yellow",
    "retired": "dim",
    "acknowledged": "yellow",
    "resolved": "dim",
}
STATUS_LABEL = {"in_progress": "in progress", "on_hold": "on hold"}
TRANSITION_VERB = {
    ("requested", "open"): "Approve",
    ("completed", "open"): "Reopen",
    ("open", "in_progress"): "Start work",
    ("on_hold", "in_progress"): "Resume",
    ("in_progress", "on_hold"): "Put on hold",
    ("in_progress", "completed"): "Complete",
    ("completed", "closed"): "Close",
}
MARK_STYLE = "bold black on yellow"
MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def plain(value: object | None, style: str = "") -> Text:
    """User text, shown literally."""
    return Text("" if value is None else str(value), style=style, no_wrap=True, overflow="ellipsis")


def status_label(status: str) -> str:
    return STATUS_LABEL.get(status, status)


def status_badge(status: str) -> Text:
    return Text(status_label(status), style=STATUS_STYLE.get(status, ""), no_wrap=True)


def priority_badge(priority: str) -> Text:
    return Text(priority, style=PRIORITY_STYLE.get(priority, ""), no_wrap=True)


def severity_badge(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLE.get(severity, ""), no_wrap=True)


def transition_verb(current: str, to: str) -> str:
    if to == "cancelled":
        return "Cancel"
    return TRANSITION_VERB.get((current, to), status_label(to).capitalize())


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def clock_time(value: datetime) -> str:
    return value.astimezone().strftime("%H:%M:%S")


def short_time(value: str | None, now: datetime) -> str:
    """Local time: HH:MM today, else 'Mon DD', with the year when it is not this year's."""
    moment = parse_time(value)
    if moment is None:
        return ""
    local, today = moment.astimezone(), now.astimezone()
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d")
    return local.strftime("%Y-%m-%d")


def full_time(value: str | None) -> str:
    moment = parse_time(value)
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def due_text(due_at: str | None, status: str, now: datetime) -> Text:
    """The due date; overdue active work says how late it is (in words and in red)."""
    due = parse_time(due_at)
    if due is None:
        return Text("—", style="dim")
    active = status in ("requested", "open", "in_progress", "on_hold")
    if active and due < now:
        late = now - due
        amount = f"{late.days}d" if late >= timedelta(days=1) else f"{max(1, late.seconds // 3600)}h"
        return Text(f"{amount} late", style="bold red", no_wrap=True)
    return Text(short_time(due_at, now), no_wrap=True)


def age(value: str | None, now: datetime) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def marked(snippet: str) -> Text:
    """A server snippet with <mark>…</mark> highlights; any other tag is dropped, entities decoded."""
    out = Text(no_wrap=True, overflow="ellipsis")
    pos = 0
    for match in MARK.finditer(snippet):
        out.append(html.unescape(TAG.sub("", snippet[pos : match.start()])))
        out.append(html.unescape(TAG.sub("", match.group(1))), style=MARK_STYLE)
        pos = match.end()
    out.append(html.unescape(TAG.sub("", snippet[pos:])))
    return out


def highlighted(value: str, query: str) -> Text:
    """Literal text with every case-insensitive occurrence of the query's words highlighted."""
    out = Text(value, no_wrap=True, overflow="ellipsis")
    for word in {w for w in query.split() if w}:
        out.highlight_words([word], style=MARK_STYLE, case_sensitive=False)
    return out
