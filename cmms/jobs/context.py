"""What a job processor is handed: its job, progress reporting with cancellation, safe output files."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cmms.domain.roles import Actor, Role
from cmms.services import jobs as jobs_service
from cmms.services.deps import Deps

Emit = Callable[[dict[str, Any], int | None], Awaitable[None]]


class JobCancelled(Exception):
    """Raised at a checkpoint when someone cancelled the running job."""


@dataclass(frozen=True)
class JobResult:
    summary: dict[str, Any]
    path: Path | None = None
    content_type: str | None = None


@dataclass
class JobContext:
    deps: Deps
    job: dict[str, Any]
    data_dir: Path
    emit: Emit
    min_interval: float = 0.25  # progress is written and sent at most this often
    _last: float = 0.0
    _temps: list[Path] = field(default_factory=list)

    @property
    def job_id(self) -> int:
        return int(self.job["id"])

    @property
    def tenant_id(self) -> int | None:
        return self.job["tenant_id"]

    @property
    def actor(self) -> Actor:
        """The job acts as its tenant's operator: who may start which kind was checked at enqueue."""
        return Actor(
            tenant_id=self.tenant_id or 0,
            user_id=self.job["requested_by"],
            role=Role.ADMIN,
            request_id=f"job-{self.job_id}",
        )

    async def progress(self, fraction: float, message: str = "", *, force: bool = False) -> None:
        """A checkpoint: record progress (throttled) and stop here if the job was cancelled."""
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        fraction = min(1.0, max(0.0, fraction))
        if await jobs_service.beat(self.deps, self.job_id, self.tenant_id, fraction, message):
            raise JobCancelled()
        await self.emit(progress_event(self.job, "running", fraction, message), self.job["requested_by"])

    def output(self, suffix: str) -> tuple[Path, Path]:
        """(temporary, final) paths for a result file, on this worker's disk as scratch space: the runner
        streams the temporary file into the file store on success (the final name is what a download
        is called) and deletes it either way."""
        folder = self.data_dir / "results" / str(self.tenant_id or "system")
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"job-{self.job_id}{suffix}"
        for leftover in folder.glob(f".job-{self.job_id}{suffix}.*.part"):
            leftover.unlink(missing_ok=True)  # from an attempt whose worker was killed
        temp = folder / f".job-{self.job_id}{suffix}.{os.getpid()}.part"
        self._temps.append(temp)
        return temp, final

    def discard_temporary_files(self) -> None:
        for temp in self._temps:
            temp.unlink(missing_ok=True)


def progress_event(job: dict[str, Any], status: str, progress: float, message: str) -> dict[str, Any]:
    return {"id": job["id"], "kind": job["kind"], "status": status, "progress": round(progress, 4), "message": message}
