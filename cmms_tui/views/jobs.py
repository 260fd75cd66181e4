"""Background jobs: exports and KPI reports started from here, each with a live progress bar.

Progress comes from `job:progress` events (ephemeral: no seq, never replayed), so the view re-reads a
job with GET /api/v1/jobs/{id} when it finishes, when an event names a job it does not know, after
every reconnect (events sent meanwhile are gone), and now and then for active jobs no event has
mentioned lately (another user's, seen by a supervisor). A completed job started from this console
is downloaded on its own; any other with `d`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from cmms_tui.client import Page
from cmms_tui.client_errors import ApiError
from cmms_tui.client_session import Params
from cmms_tui.format import full_time, plain, short_time
from cmms_tui.live import ConnState, LiveEvent
from cmms_tui.models import JOB_FINISHED, JOB_STATUSES, Job
from cmms_tui.views.base import PAGE, RecordsView
from cmms_tui.views.job_text import clock_time_of, one_line, progress_text, status_text, what_text
from cmms_tui.widgets.table_lines import Column

POLL_S = 5.0  # active jobs silent this long are re-read
STATUS_CYCLE: tuple[str | None, ...] = (None, *JOB_STATUSES)
MINE_PAGES = 10  # pages read to fill one screen of "mine" from a supervisor's tenant-wide list


class JobsView(RecordsView[Job]):
    TITLE = "Jobs"
    DEFAULT_CSS = """
    JobsView #jobs-detail { height: auto; max-height: 5; padding: 0 1; background: $boost;
        text-wrap: nowrap; text-overflow: ellipsis; }
    """
    BINDINGS = [
        Binding("e", "export", "Export"),
        Binding("p", "report", "Report"),
        Binding("x", "cancel", "Cancel"),
        Binding("d", "download", "Download"),
        Binding("s", "status", "Status"),
        Binding("m", "mine", "Mine/all"),
    ]

    def __init__(self, *, id: str = "jobs") -> None:
        self.status: str | None = None
        self.mine = True  # supervisors see the tenant's jobs; by default only their own
        self.saved: dict[int, Path] = {}
        self.mine_to_save: set[int] = set()  # started here: saved when they complete
        self.heard: dict[int, float] = {}  # job id -> monotonic time of the last news of it
        self.known_status: dict[int, str] = {}  # the last status read of each job, shown or not
        self._seen_live = False
        self._went_down = False
        super().__init__(id=id)

    # ---- the table ----------------------------------------------------------------------------

    def columns(self) -> list[Column[Job]]:
        return [
            Column("id", "Job", lambda j: plain(f"#{j['id']}", "bold"), width=5),
            Column("what", "What", lambda j: what_text(j, self.directory.plant_name), width=24),
            Column("status", "Status", status_text, width=10),
            Column("progress", "Progress", lambda j: progress_text(j, self.saved.get(j["id"]))),
            Column("tries", "Tries", lambda j: plain(f"{j['attempts']}/{j['max_attempts']}"), width=5,
                   min_table_width=90),
            Column("by", "By", lambda j: self._by(j), width=12, min_table_width=110),
            Column("at", "Queued", lambda j: plain(short_time(j["created_at"], self.cmms.now())), width=6,
                   min_table_width=100),
        ]  # fmt: skip

    def _by(self, job: Job) -> Text:
        if job["requested_by"] is None:
            return Text("system", style="dim")
        return self.directory.person(job["requested_by"])

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static(id="jobs-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.table, "cursor_row", lambda _: self.show_detail())
        self.watch(self.app, "conn", self._conn_changed)
        self.set_interval(POLL_S, self._poll)

    def params(self) -> dict[str, str | int | None]:
        return {"status": self.status}

    async def fetch(self, params: Params) -> Page[Job]:
        api = self.cmms.api
        assert api is not None
        page = await api.jobs(params)
        if not (self.mine and self.directory.is_supervisor):
            return page
        # The server lists a supervisor's whole tenant; keep reading until a screenful is theirs.
        items = [j for j in page.items if self.matches(j)]
        for _ in range(MINE_PAGES):
            if len(items) >= PAGE or not page.next_cursor:
                break
            page = await api.jobs({**params, "cursor": page.next_cursor})
            items.extend(j for j in page.items if self.matches(j))
        return Page(items=items, next_cursor=page.next_cursor)

    def matches(self, row: Job) -> bool:
        if self.status is not None and row["status"] != self.status:
            return False
        return not (self.mine and self.directory.is_supervisor) or row["requested_by"] == self.directory.my_id

    def describe_filter(self) -> Text:
        parts = [f"status: {self.status or 'any'}"]
        if self.directory.is_supervisor:
            parts.append("mine" if self.mine else "everyone's")
        return Text("  ·  ".join(parts))

    def empty_text(self) -> str:
        if not self.directory.is_staff:
            return "No jobs. Exports and reports are started by technicians and managers."
        return "No jobs yet: e starts an export, p a KPI report."

    # ---- the detail line ----------------------------------------------------------------------

    def show_detail(self) -> None:
        detail = self.query_one("#jobs-detail", Static)
        job = self.table.selected
        if job is None:
            detail.update(Text(f"Results are saved into {self.cmms.downloads}", style="dim"))
            return
        head = Text.assemble((f"#{job['id']} ", "bold"), what_text(job, self.directory.plant_name), "  ")
        head.append_text(status_text(job))
        head.append(f"  ·  attempt {job['attempts']} of {job['max_attempts']}", style="dim")
        times = [f"queued {full_time(job['created_at'])}"]
        if job.get("started_at"):
            times.append(f"started {clock_time_of(job['started_at'])}")
        if job.get("finished_at"):
            times.append(f"finished {clock_time_of(job['finished_at'])}")
        head.append("  ·  " + ", ".join(times), style="dim")
        lines = [head, progress_text(job, None, width=30)]
        saved = self.saved.get(job["id"])
        if job["status"] == "failed" and job.get("error"):
            lines.append(Text.assemble(("Error: ", "bold red"), plain(one_line(job["error"] or ""))))
        if saved is not None:
            lines.append(Text.assemble(("Saved to ", "bold"), plain(str(saved))))
        elif job["status"] == "completed" and job.get("result_type"):
            lines.append(Text(f"d saves the result into {self.cmms.downloads}", style="dim"))
        detail.update(Text("\n").join(lines))

    # ---- live ---------------------------------------------------------------------------------

    def on_live(self, event: LiveEvent) -> None:
        if "id" not in event.data:
            return
        job_id = int(event.data["id"])
        if event.type == "job:queued" and {"kind", "status", "version", "params"} <= event.data.keys():
            self.heard[job_id] = time.monotonic()
            self.take(event.data)  # type: ignore[arg-type]
        elif event.type == "job:progress":
            self.heard[job_id] = time.monotonic()
            self._progress(job_id, event.data)

    def _progress(self, job_id: int, data: dict[str, Any]) -> None:
        status = str(data.get("status", ""))
        current = self.table.models.get(job_id)
        if current is None:
            # Started elsewhere (another console of this user), or filtered out: read it once per
            # status, not on every event.
            if self.known_status.get(job_id) != status:
                self.known_status[job_id] = status
                self.reread(job_id)
            return
        if current["status"] in JOB_FINISHED:
            return  # a late event: nothing comes after a job has finished
        updated: Job = {**current}
        updated["status"] = status or current["status"]
        updated["progress"] = float(data.get("progress", current["progress"]))
        updated["message"] = str(data.get("message") or "")
        changed = updated["status"] != current["status"]
        self._show(updated, flash=changed)
        if changed:
            self.reread(job_id)  # attempts, times, and at the end the result or the error

    def take(self, job: Job) -> None:
        """A job read from the server: shown unless an equal-or-newer state is shown already."""
        self.known_status[job["id"]] = job["status"]
        current = self.table.models.get(job["id"])
        if current is not None:
            if int(current["version"]) > int(job["version"]):
                return
            if current["status"] in JOB_FINISHED and job["status"] not in JOB_FINISHED:
                return
        self._show(job, flash=current is None or current["status"] != job["status"])
        if job["status"] == "completed" and job["id"] in self.mine_to_save:
            self.mine_to_save.discard(job["id"])
            self.download(job)

    def _show(self, job: Job, *, flash: bool) -> None:
        if not self.matches(job):
            self.table.discard(job["id"])
        else:
            self.table.upsert(job, flash=flash)
        if self.table.selected_id() == job["id"]:
            self.show_detail()
        self._update_empty()
        self.show_bar()

    @work(group="reread", exit_on_error=False, name="reading the job")
    async def reread(self, job_id: int) -> None:
        api = self.cmms.api
        assert api is not None
        try:
            job = await api.job(job_id)
        except ApiError as exc:
            if exc.status == 404:
                self.table.discard(job_id)  # gone (past retention) or not ours to see
                return
            raise
        self.heard[job_id] = time.monotonic()
        self.take(job)

    def _poll(self) -> None:
        conn = self.cmms.conn
        if conn is None or not conn.live:
            return
        now = time.monotonic()
        for job in list(self.table.models.values()):
            if job["status"] not in JOB_FINISHED and now - self.heard.get(job["id"], 0.0) >= POLL_S:
                self.heard[job["id"]] = now
                self.reread(job["id"])

    def _conn_changed(self, state: ConnState | None) -> None:
        if state is None or not state.live:
            self._went_down = self._seen_live
            return
        if self._went_down and self.loaded_once:
            self.reload()  # progress sent while away is gone for good: read the jobs again
        self._seen_live, self._went_down = True, False

    def loaded(self) -> None:
        self.show_detail()
        for job in self.table.models.values():
            if job["status"] == "completed" and job["id"] in self.mine_to_save:
                self.mine_to_save.discard(job["id"])
                self.download(job)

    # ---- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("export", "report"):
            return self.cmms.directory is not None and self.directory.is_staff
        if action == "mine":
            return self.cmms.directory is not None and self.directory.is_supervisor
        return True

    def action_export(self) -> None:
        self.start_form("exports")

    def action_report(self) -> None:
        self.start_form("reports")

    def start_form(self, kind: str) -> None:
        from cmms_tui.screens.job_form import JobFormScreen

        if not self.directory.is_staff:
            return

        def started(job: Job | None) -> None:
            if job is not None:
                self.mine_to_save.add(job["id"])
                self.take(job)
                if job["id"] in self.table.models:
                    self.table.move_cursor(row=self.table.get_row_index(job["id"]))
                self.notify(f"Job #{job['id']} queued.", timeout=3, markup=False)

        self.app.push_screen(JobFormScreen(kind), started)

    def action_cancel(self) -> None:
        job = self.table.selected
        if job is None:
            return
        if job["status"] in JOB_FINISHED:
            self.notify(f"Job #{job['id']} is already {job['status']}.", severity="warning", markup=False)
            return
        self.cancel(job["id"])

    @work(group="cancel", exit_on_error=False, name="cancelling the job")
    async def cancel(self, job_id: int) -> None:
        api = self.cmms.api
        assert api is not None
        try:
            job = await api.cancel_job(job_id)
        except ApiError as exc:
            if exc.status == 409:
                self.notify("The job had already finished.", severity="warning", markup=False)
                self.reread(job_id)
                return
            raise
        self.mine_to_save.discard(job_id)
        self.take(job)
        word = "Cancelled" if job["status"] == "cancelled" else "Cancelling"
        self.notify(f"{word} job #{job_id}.", timeout=3, markup=False)

    def action_download(self) -> None:
        job = self.table.selected
        if job is None:
            return
        if job["status"] != "completed":
            self.notify("Only a completed job has a result to save.", severity="warning", markup=False)
            return
        self.download(job)

    def open(self, row: Job) -> None:
        if row["status"] == "completed":
            self.download(row)

    @work(group="download", exit_on_error=False, name="saving the result")
    async def download(self, job: Job) -> None:
        api = self.cmms.api
        assert api is not None
        params = job.get("params") or {}
        label = f"{params.get('entity', 'export')}-" if job["kind"] == "exports" else "kpi-report-"
        try:
            path = await api.download_result(job["id"], self.cmms.downloads, prefix=f"cmms-{label}")
        except OSError as exc:  # the folder: missing rights, a full disk
            self.notify(f"{self.cmms.downloads}: {exc.strerror or exc}", title=f"Job #{job['id']} not saved",
                        severity="error", timeout=10, markup=False)  # fmt: skip
            return
        self.saved[job["id"]] = path
        if job["id"] in self.table.models:
            self.table.upsert(self.table.models[job["id"]], flash=False)
        if self.table.selected_id() == job["id"]:
            self.show_detail()
        self.notify(str(path), title=f"Job #{job['id']} saved", timeout=8, markup=False)

    def action_status(self) -> None:
        self.status = STATUS_CYCLE[(STATUS_CYCLE.index(self.status) + 1) % len(STATUS_CYCLE)]
        self._refilter()

    def action_mine(self) -> None:
        self.mine = not self.mine
        self._refilter()

    def _refilter(self) -> None:
        self.next_cursor = None
