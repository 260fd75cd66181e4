"""The port through which services hand work to background workers."""

from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    """Hands a job id to the workers (taskiq over Redis streams in the product)."""

    async def submit(self, job_id: int, tenant_id: int | None) -> None: ...
