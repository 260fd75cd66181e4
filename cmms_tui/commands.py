"""The console's commands: the words of the `:` prompt and the entries of the command palette."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp


def run_command(app: CmmsApp, command: str | None) -> None:
    if not command:
        return
    word, _, rest = command.strip().lstrip(":").partition(" ")
    word = word.lower()
    aliases = {
        "o": "orders", "wo": "orders", "orders": "orders",
        "a": "assets", "assets": "assets",
        "al": "alerts", "alerts": "alerts",
        "p": "plans", "plans": "plans",
        "j": "jobs", "jobs": "jobs",
        "k": "kpis", "kpi": "kpis", "kpis": "kpis",
        "pt": "parts", "part": "parts", "parts": "parts",
        "i": "integrations", "integrations": "integrations", "webhooks": "integrations",
    }  # fmt: skip
    if word in aliases:
        app.run_worker(app.action_view(aliases[word]), exit_on_error=False)
    elif word in ("q", "quit"):
        app.exit()
    elif word == "logout":
        app.action_logout()
    elif word in ("help", "h"):
        app.action_help()
    elif word in ("search", "s", "find"):
        from cmms_tui.screens.search import SearchScreen

        app.push_screen(SearchScreen(rest))
    elif word in ("new", "request"):
        app.action_new_order()
    elif word in ("export", "report"):
        app.run_worker(start_job(app, "exports" if word == "export" else "reports"), exit_on_error=False)
    else:
        app.notify(f"Unknown command: {command}", severity="warning", markup=False)


def system_commands(app: CmmsApp) -> Iterable[SystemCommand]:
    if not app.logged_in:
        return
    for name in app.views():
        yield SystemCommand(f"Go to {name}", f"Switch to the {name} view", _go(app, name))
    yield SystemCommand("Search", "Search orders and assets (/)", app.action_search)
    yield SystemCommand("New work order / request", "Open the create form", app.action_new_order)
    if app.directory is not None and app.directory.is_staff:
        yield SystemCommand("Start an export", "CSV of orders, assets, readings…", _starter(app, "exports"))
        yield SystemCommand("Start a KPI report", "HTML, Markdown or JSON", _starter(app, "reports"))
    yield SystemCommand("Key bindings", "Every key, by screen (?)", app.action_help)
    yield SystemCommand("Log out", "End the session and forget the saved login", app.action_logout)


async def start_job(app: CmmsApp, kind: str) -> None:
    """Open the jobs view and its form for an export or a report (staff only: others get 403)."""
    from cmms_tui.views.jobs import JobsView

    if app.directory is None or not app.directory.is_staff:
        app.notify("Exports and reports are for technicians and managers.", severity="warning", markup=False)
        return
    await app.action_view("jobs")
    for view in app.screen.query(JobsView):
        view.start_form(kind)


def _starter(app: CmmsApp, kind: str) -> Callable[[], None]:
    def start() -> None:
        app.run_worker(start_job(app, kind), exit_on_error=False)

    return start


def _go(app: CmmsApp, name: str) -> Callable[[], None]:
    def go() -> None:
        app.run_worker(app.action_view(name), exit_on_error=False)

    return go
