"""How one order reads on its detail screen: the facts grid, notes and history, with people and
assets by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from cmms_tui.format import due_text, full_time, plain, priority_badge, status_badge
from cmms_tui.models import AuditEntry, Note, Order

if TYPE_CHECKING:
    from cmms_tui.directory import Directory


def facts(order: Order, directory: Directory, now: Any) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    rows: list[tuple[str, RenderableType]] = [
        ("Status", status_badge(order["status"])),
        ("Priority", priority_badge(order["priority"])),
        ("Type", plain(order["type"])),
        ("Asset", plain(directory.asset_name(order["asset_id"]))),
        ("Plant", plain(directory.plant_name(order["plant_id"]))),
        ("Assignee", directory.person(order["assignee_id"])),
        ("Requested by", directory.person(order["requested_by"])),
        ("Due", _due(order, now)),
        ("Started", plain(full_time(order["started_at"]) or "—")),
        ("Completed", plain(full_time(order["completed_at"]) or "—")),
        ("Closed", plain(full_time(order["closed_at"]) or "—")),
        ("Downtime", plain(f"{order['downtime_minutes']} min")),
        ("Created", plain(full_time(order["created_at"]))),
        ("Updated", plain(f"{full_time(order['updated_at'])} (version {order['version']})")),
    ]
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _due(order: Order, now: Any) -> Text:
    if not order["due_at"]:
        return Text("—", style="dim")
    late = due_text(order["due_at"], order["status"], now)
    return (
        Text.assemble(full_time(order["due_at"]), "  ", late)
        if "late" in late.plain
        else plain(full_time(order["due_at"]))
    )


def _value(field: str, value: Any, directory: Directory) -> Text:
    if value is None:
        return Text("—", style="dim")
    if field in ("assignee_id", "requested_by"):
        return directory.person(int(value))
    if field == "asset_id":
        return plain(directory.asset_name(int(value)))
    if field == "status":
        return status_badge(str(value))
    return plain(value)


def history_text(entries: list[AuditEntry], directory: Directory) -> Text:
    out = Text()
    for entry in entries:
        out.append(full_time(entry["at"]), style="dim")
        out.append("  ")
        out.append_text(directory.person(entry["actor_id"]) if entry["actor_id"] else Text("system", style="dim"))
        out.append(f"  {entry['action']}\n", style="bold")
        for field, change in (entry.get("changes") or {}).items():
            out.append(f"    {field}: ", style="dim")
            if isinstance(change, list) and len(change) == 2:
                out.append_text(_value(field, change[0], directory))
                out.append(" → ")
                out.append_text(_value(field, change[1], directory))
            elif isinstance(change, dict):
                out.append_text(plain(", ".join(change)))
            else:
                out.append_text(_value(field, change, directory))  # a created value: people by name too
            out.append("\n")
    return out if entries else Text("No history.", style="dim")


def notes_text(notes: list[Note], directory: Directory) -> Text:
    out = Text()
    for note in notes:
        out.append(full_time(note["created_at"]), style="dim")
        out.append("  ")
        out.append_text(directory.person(note["author_id"]))
        out.append("\n")
        out.append(note["body"])  # literal: Text.append never parses markup
        out.append("\n\n")
    return out if notes else Text("No notes yet (n adds one).", style="dim")
