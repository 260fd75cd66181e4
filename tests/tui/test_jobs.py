"""Jobs from the console against the real daemon (its in-process workers run them): an export whose
progress bar reaches 100% and whose CSV is saved, a KPI report, server validation beside the fields,
cancelling a running job, and requesters not offered what they may not start."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg2
from textual.widgets import ContentSwitcher, Input, Select, Static

from cmms_tui.app import CmmsApp
from cmms_tui.live import LiveEvent
from cmms_tui.screens.job_form import JobFormScreen
from cmms_tui.screens.main import MainScreen
from cmms_tui.views.jobs import JobsView
from cmms_tui.widgets.header import AppHeader
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, view, wait_for


def jobs_view(app: CmmsApp) -> JobsView:
    found = view(app, "jobs")
    assert isinstance(found, JobsView)
    return found


def row_line(app: CmmsApp, job_id: int) -> str:
    return next((line for line in screen_text(app).splitlines() if line.startswith(f" #{job_id} ")), "")


def newest(jobs: JobsView, before: set[int]) -> int | None:
    fresh = set(jobs.table.models) - before
    return max(fresh) if fresh else None


async def open_jobs(pilot: Any, app: CmmsApp, tmp_path: Path) -> JobsView:
    app.downloads = tmp_path / "downloads"
    await log_in(pilot)
    await pilot.press("5")
    jobs = jobs_view(app)
    await wait_for(pilot, lambda: jobs.loaded_once, what="the jobs view")
    return jobs


async def start(pilot: Any, app: CmmsApp, key: str, **values: Any) -> None:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen), what="the job form")
    for name, value in values.items():
        widget = app.screen.query_one(f"#{name}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.pause()
    await pilot.press("ctrl+s")


async def test_an_export_shows_its_progress_to_100_and_saves_the_csv(server: Server, tmp_path: Path) -> None:
    title = f"Exported [b]order {uuid.uuid4().hex[:6]}"
    server.call("manager", "POST", "/api/v1/orders", {"title": title})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        jobs = await open_jobs(pilot, app, tmp_path)
        events: list[LiveEvent] = []
        header = next(s for s in app.screen_stack if isinstance(s, MainScreen)).query_one(AppHeader)
        app.live_signal.subscribe(header, lambda e: events.append(e) if e.type == "job:progress" else None)
        before = set(jobs.table.models)

        await start(pilot, app, "e")  # orders, every plant: the defaults
        await wait_for(pilot, lambda: newest(jobs, before) is not None, what="the new job's row")
        job_id = newest(jobs, before)
        assert job_id is not None
        await wait_for(pilot, lambda: jobs.table.models[job_id]["status"] == "completed", 20, "completion")
        await wait_for(pilot, lambda: job_id in jobs.saved, 10, "the saved result")
        assert any(e.data.get("id") == job_id and e.data.get("status") == "running" for e in events)
        assert any(e.data.get("id") == job_id and e.data.get("progress") == 1 for e in events)

        line = row_line(app, job_id)
        assert "100%" in line and "completed" in line and "export orders" in line, line
        saved = jobs.saved[job_id]
        assert saved.parent == tmp_path / "downloads" and saved.suffix == ".csv"
        lines = saved.read_text().splitlines()
        assert lines[0].split(",")[:3] == ["id", "number", "title"]
        assert any(title in line for line in lines)
        detail = str(app.screen.query_one("#jobs-detail", Static).render())
        assert f"Saved to {saved}" in detail


async def test_a_kpi_report_job_is_saved_in_its_format(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        jobs = await open_jobs(pilot, app, tmp_path)
        before = set(jobs.table.models)
        await start(pilot, app, "p", period=7, format="md")
        await wait_for(pilot, lambda: newest(jobs, before) is not None, what="the report's row")
        job_id = newest(jobs, before)
        assert job_id is not None
        await wait_for(pilot, lambda: job_id in jobs.saved, 20, "the saved report")
        job = jobs.table.models[job_id]
        assert job["kind"] == "reports" and job["params"]["format"] == "md" and job["status"] == "completed"
        saved = jobs.saved[job_id]
        assert saved.suffix == ".md" and saved.read_text().startswith("# Maintenance KPI report")
        assert "100%" in row_line(app, job_id) and "KPI report md" in row_line(app, job_id)


async def test_server_validation_shows_beside_the_fields_and_keeps_the_input(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_jobs(pilot, app, tmp_path)
        await start(pilot, app, "p", **{"from": "yesterday-ish"})
        form = app.screen
        assert isinstance(form, JobFormScreen)

        def error(name: str) -> str:
            return str(form.query_one(f"#error-{name}", Static).render())

        await wait_for(pilot, lambda: "valid datetime" in error("from"), what="the message beside From")
        assert form.query_one("#from", Input).value == "yesterday-ish"  # kept
        assert isinstance(app.screen, JobFormScreen)

        form.query_one("#from", Input).value = "2026-03-01"
        form.query_one("#to", Input).value = "2026-02-01"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "from must be before to" in error("from"), what="the period rule")
        assert error("to") == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="back at the jobs")


async def test_a_running_job_is_cancelled_from_the_console(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        jobs = await open_jobs(pilot, app, tmp_path)
        before = set(jobs.table.models)
        # Hold the readings table: the export starts (running) and waits on it, so it can be cancelled.
        blocker = psycopg2.connect(server.database_url)
        try:
            with blocker.cursor() as cur:
                cur.execute("LOCK TABLE meter_readings IN ACCESS EXCLUSIVE MODE")
            await start(pilot, app, "e", entity="readings")
            await wait_for(pilot, lambda: newest(jobs, before) is not None, what="the job's row")
            job_id = newest(jobs, before)
            assert job_id is not None
            await wait_for(pilot, lambda: jobs.table.models[job_id]["status"] == "running", 15, "running")
            jobs.table.move_cursor(row=jobs.table.get_row_index(job_id))
            await pilot.press("x")
            await wait_for(pilot, lambda: jobs.table.models[job_id]["cancel_requested"], what="the cancel request")
            assert "cancelling" in row_line(app, job_id)
        finally:
            blocker.rollback()
            blocker.close()
        await wait_for(pilot, lambda: jobs.table.models[job_id]["status"] == "cancelled", 20, "cancelled")
        await pilot.pause(0.5)
        assert "cancelled" in row_line(app, job_id)
        assert job_id not in jobs.saved and not (tmp_path / "downloads").exists()
        assert server.call("technician", "GET", f"/api/v1/jobs/{job_id}")["status"] == "cancelled"
        await pilot.press("x")  # finished: nothing to cancel, says so
        await wait_for(pilot, lambda: "already cancelled" in screen_text(app), what="the warning")


async def test_a_job_started_elsewhere_shows_up_and_offline_progress_is_caught_up(
    server: Server, tmp_path: Path
) -> None:
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        jobs = await open_jobs(pilot, app, tmp_path)
        other = server.call("technician", "POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "assets"}})
        await wait_for(pilot, lambda: jobs.table.models.get(other["id"], {}).get("status") == "completed", 20,
                       "the job another console of this user started")  # fmt: skip
        assert other["id"] not in jobs.saved  # not started here: saved on request only
        jobs.table.move_cursor(row=jobs.table.get_row_index(other["id"]))
        await pilot.press("d")
        await wait_for(pilot, lambda: other["id"] in jobs.saved, what="the result saved with d")
        assert jobs.saved[other["id"]].read_text().startswith("id,")

        server.proxy.cut()
        await wait_for(pilot, lambda: app.conn is not None and not app.conn.live, what="offline")
        offline = server.call("technician", "POST", "/api/v1/jobs", {"kind": "exports", "params": {"entity": "orders"}})
        for _ in range(100):
            if server.call("technician", "GET", f"/api/v1/jobs/{offline['id']}")["status"] == "completed":
                break
            await pilot.pause(0.1)
        server.proxy.restore()
        await wait_for(pilot, lambda: jobs.table.models.get(offline["id"], {}).get("status") == "completed", 20,
                       "the job finished while offline, read again after the reconnect")  # fmt: skip
        assert "100%" in row_line(app, offline["id"])


async def test_requesters_are_not_offered_jobs_they_cannot_start_nor_kpis(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path, "requester")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        assert app.views() == ["orders", "assets", "jobs"]
        main = next(s for s in app.screen_stack if isinstance(s, MainScreen))
        assert not main.query("#kpis")
        await pilot.press("6")
        await pilot.pause(0.2)
        assert main.query_one("#views", ContentSwitcher).current == "orders"
        await pilot.press("5")
        jobs = jobs_view(app)
        await wait_for(pilot, lambda: jobs.loaded_once, what="the jobs view")
        footer = screen_text(app).splitlines()[-1]
        assert "Cancel" in footer and "Export" not in footer and "Report" not in footer
        assert "5 Jobs" in screen_text(app) and "KPIs" not in screen_text(app)
        await pilot.press("e")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("colon", *"report", "enter")
        await wait_for(pilot, lambda: "for technicians and managers" in screen_text(app), what="the refusal")
        assert not isinstance(app.screen, JobFormScreen)
