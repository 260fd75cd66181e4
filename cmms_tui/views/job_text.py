"""How a job reads in the jobs view: its status, what it does, and its progress bar, as rich Text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from cmms_tui.format import clock_time, parse_time, plain
from cmms_tui.models import Job
from cmms_tui.widgets.charts import percent, progress_bar

JOB_STATUS_STYLE = {
    "queued": "magenta",
    "running": "bold green",
    "completed": "blue",
    "failed": "bold red",
    "cancelled": "dim",
}
BAR_STYLE = {"running": "green", "completed": "blue", "failed": "red", "queued": "magenta", "cancelled": "dim"}
BAR_CELLS = 10


def one_line(text: str) -> str:
    """Server text for a table cell: a traceback's newlines would break the row."""
    return " ".join(text.split())


def clock_time_of(value: str | None) -> str:
    moment = parse_time(value)
    return clock_time(moment) if moment else ""


def status_of(job: Job) -> str:
    if job["status"] == "running" and job.get("cancel_requested"):
        return "cancelling"
    return str(job["status"])


def status_text(job: Job) -> Text:
    status = status_of(job)
    return Text(status, style=JOB_STATUS_STYLE.get(job["status"], ""), no_wrap=True)


def _day(value: object) -> str:
    moment = parse_time(str(value)) if value else None
    return moment.astimezone().strftime("%b %d") if moment else ""


def what_text(job: Job, plant_name: Callable[[int], str] | None = None) -> Text:
    """What the job does, in words: 'export orders · plant Riverside', 'KPI report html · Jan 02 to Feb 01'."""
    params = job.get("params") or {}
    if job["kind"] == "exports":
        if params.get("operation") == "import":
            return plain("import assets")
        out = plain(f"export {params.get('entity', '?')}")
        plant_id = (params.get("filters") or {}).get("plant_id")
        if plant_id is not None:
            out.append(f" · {plant_name(plant_id) if plant_name else f'plant #{plant_id}'}", style="dim")
        return out
    if job["kind"] == "reports":
        out = plain(f"KPI report {params.get('format', 'html')}")
        start, end = _day(params.get("from")), _day(params.get("to"))
        span = f"{start or '…'} to {end or 'now'}" if start or end else "last 30 days"
        out.append(f" · {span}", style="dim")
        if params.get("plant_id") is not None:
            plant_id = params["plant_id"]
            out.append(f" · {plant_name(plant_id) if plant_name else f'plant #{plant_id}'}", style="dim")
        return out
    return plain(job["kind"])


def progress_text(job: Job, saved: Path | None, width: int = BAR_CELLS) -> Text:
    """The bar, its percentage, and what is happening (or the error, or where the result went)."""
    status = job["status"]
    fraction = 1.0 if status == "completed" else float(job.get("progress") or 0.0)
    out = progress_bar(fraction, width, BAR_STYLE.get(status, "green"))
    out.append(f" {percent(fraction)} ", style="bold" if status in ("running", "completed") else "dim")
    if status == "failed":
        out.append(one_line(job.get("error") or job.get("message") or "failed"), style="red")
    elif status == "completed" and saved is not None:
        out.append("saved ", style="dim")
        out.append(saved.name, style="bold")
    elif status == "queued":
        out.append(one_line(job.get("message") or "waiting for a worker"), style="dim")
    else:
        out.append(one_line(job.get("message") or ""))
    out.no_wrap, out.overflow = True, "ellipsis"
    return out
