"""Webhook senders on the job workers: a taskiq task that wakes them, and the sweep.

`cmms.deliver_webhook(tenant_id, webhook_id)` only wakes this process's sender for that webhook
and returns, so a receiver that hangs holds its own sender, never a worker slot or another
webhook. A sender leases the webhook row (one sender per webhook in the cluster), sends its
pending deliveries in `seq` order and records every attempt; a failed one is retried at its
`next_attempt_at` by an in-process timer, and `sweep` (run by the scheduler) wakes whatever a
killed or restarted worker left behind once its lease has run out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from taskiq import AsyncBroker, TaskiqDepends, TaskiqEvents, TaskiqState
from taskiq.kicker import AsyncKicker

from cmms.jobs.broker import TaskiqQueue
from cmms.jobs.webhook_http import headers, open_session, post
from cmms.services import webhook_delivery as svc
from cmms.services.deps import Deps

log = logging.getLogger(__name__)
TASK_NAME = "cmms.deliver_webhook"
Kick = Callable[[int, int], Awaitable[None]]
Key = tuple[int, int]  # (tenant, webhook)
BATCH = 50  # pending deliveries read at once


class Senders:
    """At most one sender task per webhook in this process, woken as often as anyone likes."""

    def __init__(self, deps: Deps, session: aiohttp.ClientSession | None = None) -> None:
        self.deps = deps
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._session = session
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._again: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = open_session(self.deps.settings.webhooks)
        return self._session

    def wake(self, tenant_id: int, webhook_id: int) -> None:
        key = (tenant_id, webhook_id)
        task = self._tasks.get(key)
        if task is not None and not task.done():
            self._again.add(key)  # it looks once more before it stops
            return
        self._tasks[key] = asyncio.create_task(self._run(key), name=f"webhook-sender-{webhook_id}")

    def busy(self) -> int:
        return sum(1 for t in self._tasks.values() if not t.done())

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._session is not None:
            await self._session.close()

    async def _run(self, key: Key) -> None:
        try:
            while True:
                self._again.discard(key)
                await self._drain(key)
                if key not in self._again:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook %s: sender failed; the sweep wakes it again", key[1])
        finally:
            if self._tasks.get(key) is asyncio.current_task():
                del self._tasks[key]

    async def _drain(self, key: Key) -> None:
        tenant_id, webhook_id = key
        while True:
            lease = await svc.take_lease(self.deps, tenant_id, webhook_id, self.owner)
            if lease is None:
                return  # another sender holds it, or the webhook is off or gone
            try:
                wait = await self._send_pending(tenant_id, lease)
            finally:
                await svc.release(self.deps, tenant_id, webhook_id, self.owner)
            if wait is not None:
                self._later(key, wait)
                return
            # A delivery made while we released would have found us busy: look once more.
            pending = await svc.head(self.deps, tenant_id, webhook_id)
            if pending is None:
                return
            if not pending.due:
                self._later(key, _seconds_until(pending.next_attempt_at, self.deps.clock()))
                return

    async def _send_pending(self, tenant_id: int, lease: svc.Lease) -> float | None:
        """Send in seq order until none is left (None) or the first is not due (seconds to wait).

        Successes are recorded while the next deliveries are on their way, together, with one
        write in flight at a time; a failure is recorded after them and before anything else is
        sent. A sender killed before a success was recorded sends it again: at least once.
        """
        settings = self.deps.settings.webhooks
        done: list[tuple[svc.Pending, dict[str, Any]]] = []
        recording: asyncio.Task[list[svc.Pending]] | None = None

        async def flush(following: int = 0) -> list[svc.Pending]:
            nonlocal recording, done
            if recording is not None:
                await recording
                recording = None
            if not done and not following:
                return []
            batch, done = done, []
            if not batch:
                return await svc.heads(self.deps, tenant_id, lease.webhook_id, following)
            return await svc.record_successes(self.deps, tenant_id, lease, batch, self.owner, following)

        try:
            batch = await svc.heads(self.deps, tenant_id, lease.webhook_id, BATCH)
            while batch:
                pending, rest = batch[0], batch[1:]
                if not pending.due:
                    await flush()
                    return _seconds_until(pending.next_attempt_at, self.deps.clock())
                hdrs = headers(lease.secret, pending.event, pending.id, pending.body)
                outcome = await post(self.session, settings, lease.url, hdrs, pending.body)
                if not outcome.error:
                    done.append((pending, outcome.as_row()))
                    if rest:
                        if recording is None or recording.done():
                            if recording is not None:
                                await recording  # done: surfaces its error, if any
                            batch_now, done = done, []
                            recording = asyncio.create_task(
                                svc.record_successes(self.deps, tenant_id, lease, batch_now, self.owner)
                            )
                        batch = rest
                        continue
                    batch = await flush(BATCH)  # the batch ran out: the write brings the next ones
                    continue
                log.info("webhook %s delivery %s: %s", lease.webhook_id, pending.id, outcome.error)
                await flush()
                more = 0 if rest else BATCH
                settled = await svc.settle(self.deps, tenant_id, lease, pending, outcome.as_row(), self.owner, more)
                if settled.stop:
                    return None
                if settled.retry_in is not None:
                    return settled.retry_in
                batch = rest or settled.following
            return None
        finally:
            if recording is not None:
                await asyncio.gather(recording, return_exceptions=True)
            if done:
                await svc.record_successes(self.deps, tenant_id, lease, done, self.owner)

    def _later(self, key: Key, seconds: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(seconds, 0.0), self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.wake(*key)


def _seconds_until(when: datetime, now: datetime) -> float:
    return max((when - now).total_seconds(), 0.0) + 0.01


def kicker(broker: AsyncBroker, timeout: float = 1.0) -> Kick:
    """Ask the workers to send a webhook's deliveries; a lost wake-up is the sweep's to repeat."""
    kick: AsyncKicker[[int, int], None] = AsyncKicker(TASK_NAME, broker, {})

    async def wake(tenant_id: int, webhook_id: int) -> None:
        try:
            await asyncio.wait_for(kick.kiq(tenant_id, webhook_id), timeout)
        except Exception as exc:
            log.warning("webhook %s: wake-up not sent (%r); the sweep sends it", webhook_id, exc)

    return wake


def register(broker: AsyncBroker) -> None:
    """The task next to `cmms.run_job`; its senders close with the broker."""

    @broker.task(task_name=TASK_NAME)
    async def deliver_webhook(tenant_id: int, webhook_id: int, state: TaskiqState = TaskiqDepends()) -> None:
        senders_of(state).wake(tenant_id, webhook_id)

    async def close(state: TaskiqState) -> None:
        senders: Senders | None = getattr(state, "webhook_senders", None)
        if senders is not None:
            await senders.close()

    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, close)
    broker.add_event_handler(TaskiqEvents.CLIENT_SHUTDOWN, close)


def senders_of(state: TaskiqState) -> Senders:
    senders: Senders | None = getattr(state, "webhook_senders", None)
    if senders is None:
        senders = Senders(state.worker.deps)
        state.webhook_senders = senders
    return senders


async def sweep(deps: Deps, kick: Kick | None = None) -> int:
    """Wake the senders of webhooks with due deliveries and no live lease; purge old deliveries.

    Never raises: the scheduler's other duties go on when the database is away.
    """
    if kick is None:
        if not isinstance(deps.jobs, TaskiqQueue):
            return 0
        kick = kicker(deps.jobs.task.broker)
    try:
        due = await svc.due(deps)
        for tenant_id, webhook_id in due:
            await kick(tenant_id, webhook_id)
        await svc.purge(deps)
    except Exception as exc:
        log.warning("webhook sweep failed: %r", exc)
        return 0
    return len(due)
