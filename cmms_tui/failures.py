"""Worker failures travel to the app as one message; the app alone turns them into words."""

from __future__ import annotations

from textual.message import Message
from textual.worker import Worker, WorkerState


class Failure(Message):
    """A worker failed (an API problem, an unreachable server, a bug)."""

    def __init__(self, error: BaseException, doing: str) -> None:
        super().__init__()
        self.error = error
        self.doing = doing


class ReportsFailures:
    """Mixin for widgets and screens that run workers with exit_on_error=False."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self.app.post_message(Failure(worker.error, worker.name))  # type: ignore[attr-defined]
