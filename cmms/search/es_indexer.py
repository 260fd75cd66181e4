"""Keeping the Elasticsearch indices in step with PostgreSQL: bulk writes, the indexing loop, reindex."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch, helpers

from cmms.domain.search import KINDS, Kind
from cmms.search.base import SearchUnavailable
from cmms.search.es_indices import ElasticIndices
from cmms.search.es_schema import ALIASES
from cmms.search.pg_session import tenant_transaction
from cmms.search.source import Claim, PostgresSource

log = logging.getLogger("cmms.search.elastic")  # one logger for the whole backend

BATCH = 500


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that a library below swallowed or turned into another error.

    aiopg closes a connection whose query is cancelled and the rollback after it fails; an HTTP
    client may retry a request cut by a cancellation. The task still counts as cancelling.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


def _doc_id(tenant_id: int, doc_id: int) -> str:
    return f"{tenant_id}-{doc_id}"


class ElasticIndexer(ElasticIndices):
    """Indexes the changes after each tenant's position, resynchronises, rebuilds behind the aliases."""

    name: str  # the backend's, in what `reindex` reports

    def __init__(self, client: AsyncElasticsearch, source: PostgresSource, *, poll_interval: float, batch: int) -> None:
        super().__init__(client, source)
        self.poll_interval = poll_interval
        self.batch = batch
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self.indexing_error = ""

    async def index(
        self, tenant_id: int, kind: Kind, documents: Sequence[dict[str, Any]], *, target: str | None = None
    ) -> None:
        stamp = int(time.time() * 1000)
        actions = []
        for doc in documents:
            action: dict[str, Any] = {
                "_op_type": "index",
                "_index": target or ALIASES[kind],
                "_id": _doc_id(tenant_id, doc["id"]),
                "_routing": str(tenant_id),
                "_source": {**doc, "synced_at": stamp},
            }
            if doc.get("version") is not None:
                # A slower writer can never replace a newer row (notes keep the version: gte).
                action.update(version=int(doc["version"]), version_type="external_gte")
            actions.append(action)
        await self._bulk(actions)

    async def delete(self, tenant_id: int, kind: Kind, ids: Sequence[int]) -> None:
        await self._bulk(
            [
                {
                    "_op_type": "delete",
                    "_index": ALIASES[kind],
                    "_id": _doc_id(tenant_id, i),
                    "_routing": str(tenant_id),
                }
                for i in ids
            ]
        )

    async def _bulk(self, actions: list[dict[str, Any]]) -> None:
        if not actions:
            return
        try:
            _, errors = await helpers.async_bulk(
                self.client.options(request_timeout=60), actions, raise_on_error=False, chunk_size=self.batch
            )
        except Exception as exc:
            raise SearchUnavailable(f"bulk request failed: {exc}") from exc
        retry = []
        for error in errors if isinstance(errors, list) else []:
            ((op, detail),) = error.items()
            status = int(detail.get("status", 0))
            if (status == 404 and op == "delete") or status == 409:
                continue  # already gone; or a newer version is indexed
            if status == 429 or status >= 500:
                retry.append(detail)
            else:
                log.error("search document refused: %s", detail)  # a bad document must not block the rest
        if retry:
            raise SearchUnavailable(f"{len(retry)} documents not indexed: {retry[0].get('error')}")

    def changed(self, tenant_id: int) -> None:
        self._dirty.add(tenant_id)
        self._wake.set()

    async def run(self) -> None:
        """Index forever: on every change, and every `poll_interval` as a safety net."""
        backoff = 1.0
        while True:
            _raise_if_cancelled()
            try:
                await self.ensure_indices()
                await self.sync()
                backoff, wait, self.indexing_error = 1.0, self.poll_interval, ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _raise_if_cancelled()
                self._ready = False
                self.indexing_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("search indexing paused, retrying in %.0f s: %s", backoff, exc)
                wait, backoff = backoff, min(backoff * 2, 60.0)
            _raise_if_cancelled()
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def sync(self) -> int:
        """Index every tenant with changes; returns how many documents were sent."""
        tenants = set(await self.source.tenants_with_work()) | self._dirty
        self._dirty = set()
        sent = 0
        try:
            for tenant_id in sorted(tenants):
                sent += await self.sync_tenant(tenant_id)
                tenants.discard(tenant_id)
        finally:
            self._dirty |= tenants  # not done: try again next time
        return sent

    async def sync_tenant(self, tenant_id: int) -> int:
        sent = 0
        while True:
            async with self.source.claim(tenant_id) as claim:
                if claim is None:
                    return sent  # another node is indexing this tenant
                count, more = await self._batch(claim)
            sent += count
            if not more:
                return sent

    async def _batch(self, claim: Claim) -> tuple[int, bool]:
        """One bulk request's worth of changes; (documents sent, more to do)."""
        if claim.needs_resync:
            return await self._resync(claim), False
        changes = await self.source.changes(claim, self.batch)
        if changes.gap:
            log.info("search: events of tenant %s were purged before indexing; resynchronising", claim.tenant_id)
            return await self._resync(claim), False
        cur, tenant = claim.cur, claim.tenant_id
        orders = await self.source.documents(cur, tenant, "orders", changes.orders)
        assets = await self.source.documents(cur, tenant, "assets", changes.assets)
        parts = await self.source.documents(cur, tenant, "parts", changes.parts)
        audit = await self.source.audit_after(cur, tenant, claim.last_audit_id, self.batch)
        await self.index(tenant, "orders", orders)
        await self.index(tenant, "assets", assets)
        await self.index(tenant, "parts", parts)
        await self.index(tenant, "audit", audit)
        await self.delete(tenant, "orders", sorted(set(changes.orders) - {d["id"] for d in orders}))
        await self.delete(tenant, "assets", sorted(set(changes.assets) - {d["id"] for d in assets}))
        await self.delete(tenant, "parts", sorted(set(changes.parts) - {d["id"] for d in parts}))
        last_audit = audit[-1]["id"] if audit else claim.last_audit_id
        await self.source.advance(claim, changes.last_seq, last_audit)
        return len(orders) + len(assets) + len(parts) + len(audit), changes.events == self.batch or len(
            audit
        ) == self.batch

    async def _resync(self, claim: Claim) -> int:
        """Load every document of the tenant, then drop what the load did not touch."""
        started = int(time.time() * 1000)
        seq, audit_id = await self.source.snapshot(claim.cur, claim.tenant_id)
        sent = await self._load(claim.cur, claim.tenant_id, None)
        await self._drop_stale(claim.tenant_id, started)
        await self.source.advance(claim, seq, audit_id)
        return sent

    async def _load(self, cur: Any, tenant_id: int, targets: dict[Kind, str] | None) -> int:
        sent = 0
        for kind in KINDS:
            after = 0
            while docs := await self.source.scan(cur, tenant_id, kind, after, self.batch):
                await self.index(tenant_id, kind, docs, target=(targets or {}).get(kind))
                sent += len(docs)
                after = docs[-1]["id"]
        return sent

    async def _drop_stale(self, tenant_id: int, before_ms: int) -> None:
        try:
            await self.client.options(request_timeout=60).delete_by_query(
                index=",".join(ALIASES.values()),
                routing=str(tenant_id),
                query={
                    "bool": {
                        "filter": [
                            {"term": {"tenant_id": tenant_id}},
                            {"range": {"synced_at": {"lt": before_ms}}},
                        ]
                    }
                },
                conflicts="proceed",
                refresh=True,
            )
        except Exception as exc:
            raise SearchUnavailable(f"delete_by_query failed: {exc}") from exc

    async def reindex(self, tenant_id: int | None = None) -> dict[str, Any]:
        """One tenant: reload it in place. Everything: build version N+1 and swap the aliases."""
        await self.ensure_indices()
        if tenant_id is not None:
            async with self.source.claim(tenant_id) as claim:
                if claim is None:
                    raise SearchUnavailable(f"tenant {tenant_id} is being indexed by another node; try again")
                sent = await self._resync(claim)
            await self.client.indices.refresh(index=",".join(ALIASES.values()))
            return {"backend": self.name, "tenant_id": tenant_id, "documents": sent}
        current = await self._current()
        versions = [int(m.group(1)) for name in current.values() if (m := re.search(r"_v(\d+)$", name))]
        version = max(versions, default=0) + 1
        targets: dict[Kind, str] = {kind: f"{alias}_v{version}" for kind, alias in ALIASES.items()}
        await self._put_templates()
        for name in targets.values():
            if await self.client.indices.exists(index=name):
                await self.client.indices.delete(index=name)  # the leftover of an interrupted reindex
            await self.client.indices.create(index=name)
        snapshots: dict[int, tuple[int, int]] = {}
        sent = 0
        for tenant in await self.source.tenant_ids():
            async with tenant_transaction(self.source.pool, tenant) as cur:
                snapshots[tenant] = await self.source.snapshot(cur, tenant)
                sent += await self._load(cur, tenant, targets)
        await self.client.indices.refresh(index=",".join(targets.values()))
        actions: list[dict[str, Any]] = []
        for kind, alias in ALIASES.items():
            if alias in current:
                actions.append({"remove": {"index": current[alias], "alias": alias}})
            actions.append({"add": {"index": targets[kind], "alias": alias}})
        await self.client.indices.update_aliases(actions=actions)
        # Changes committed while the new version was loading went to the old one: replay them.
        for tenant, (seq, audit_id) in snapshots.items():
            await self.source.rewind(tenant, seq, audit_id)
        old = sorted(set(current.values()) - set(targets.values()))
        if old:
            await self.client.indices.delete(index=",".join(old))
        self._wake.set()
        return {"backend": self.name, "version": version, "indices": sorted(targets.values()), "documents": sent}
