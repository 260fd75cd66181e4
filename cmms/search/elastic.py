"""Elasticsearch backend: used when `elasticsearch.url` (CMMS_ELASTICSEARCH_URL) is set.

Which Elasticsearch works: 9.x with the default dependency, the `elasticsearch[async]` 9.x
client. The 9.x client sends `Accept: application/vnd.elasticsearch+json; compatible-with=9`
and an 8.x server refuses it (400, media_type_header_exception), so for an Elasticsearch 8.x
cluster install `elasticsearch[async]>=8.19,<9` instead: every call made here is the same in both
clients. 7.x and older are not supported. `health()` reports the server's version.

Layout: versioned indices `orders_vN`, `assets_vN`, `audit_log_vN` with explicit mappings from
index templates, behind the aliases `orders`, `assets`, `audit_log`. Every query filters on the
tenant (and is routed to its shard). `reindex()` builds version N+1 from the database and swaps
all three aliases in one `_aliases` request, so searches never see a half-built index.

Indexing: the outbox relay calls `changed(tenant)`; `run()` then reads, per tenant, the events
after the tenant's position (table search_index_position), loads the current rows and sends one
bulk request; the position advances in the same transaction, only after the bulk succeeded. So
an outage of Elasticsearch loses nothing: indexing resumes from the position when it is back.
Meanwhile, and whenever Elasticsearch cannot answer a search, searches are answered by the
PostgreSQL backend (which the database keeps current by itself).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, helpers

from cmms.domain.search import (
    KINDS,
    MARK_END,
    MARK_START,
    Clause,
    Kind,
    SearchQuery,
    SearchResult,
    empty_facets,
    fold,
    highlight,
    plain_snippet,
)
from cmms.search.base import SearchBackend, SearchUnavailable
from cmms.search.pg_session import tenant_transaction
from cmms.search.source import Claim, PostgresSource

log = logging.getLogger(__name__)

ALIASES: dict[Kind, str] = {"orders": "orders", "assets": "assets", "parts": "parts", "audit": "audit_log"}
BATCH = 500
FUZZY_BELOW = 3
FIELDS = ["title^3", "body^2", "notes", "code.text^3"]
PLAIN_FIELDS = ["title.plain", "body.plain", "notes.plain", "code.text"]
FACET_FIELDS = {
    "type": "kind",
    "status": "status",
    "priority": "priority",
    "order_type": "order_type",
    "criticality": "criticality",
    "plant_id": "plant_id",
    "entity": "entity",
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "analysis": {
        "filter": {
            "cmms_stop": {"type": "stop", "stopwords": "_english_"},
            "cmms_stemmer": {"type": "stemmer", "language": "english"},
            "cmms_possessive": {"type": "stemmer", "language": "possessive_english"},
        },
        "analyzer": {
            "cmms_english": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cmms_possessive", "lowercase", "asciifolding", "cmms_stop", "cmms_stemmer"],
            },
            "cmms_folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        },
        "normalizer": {"cmms_lower": {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
    },
}
TEXT = {"type": "text", "analyzer": "cmms_english", "fields": {"plain": {"type": "text", "analyzer": "cmms_folded"}}}
KEYWORD = {"type": "keyword"}
LONG = {"type": "long"}
DATE = {"type": "date"}
COMMON = {
    "kind": KEYWORD,
    "tenant_id": LONG,
    "id": LONG,
    "title": TEXT,
    "body": TEXT,
    "created_at": DATE,
    "synced_at": LONG,
}
MAPPINGS: dict[Kind, dict[str, Any]] = {
    "orders": {
        **COMMON,
        "number": KEYWORD,
        "notes": TEXT,
        "status": KEYWORD,
        "priority": KEYWORD,
        "order_type": KEYWORD,
        "plant_id": LONG,
        "asset_id": LONG,
        "requested_by": LONG,
        "updated_at": DATE,
        "version": LONG,
    },
    "assets": {
        **COMMON,
        "code": {
            "type": "keyword",
            "normalizer": "cmms_lower",
            "fields": {"text": {"type": "text", "analyzer": "cmms_folded"}},
        },
        "status": KEYWORD,
        "criticality": KEYWORD,
        "plant_id": LONG,
        "asset_type": KEYWORD,
        "updated_at": DATE,
        "version": LONG,
    },
    "parts": {
        **COMMON,
        "code": {
            "type": "keyword",
            "normalizer": "cmms_lower",
            "fields": {"text": {"type": "text", "analyzer": "cmms_folded"}},
        },
        "number": KEYWORD,
        "barcode": KEYWORD,
        "unit": KEYWORD,
        "updated_at": DATE,
        "version": LONG,
    },
    "audit": {
        **COMMON,
        "entity": KEYWORD,
        "entity_id": LONG,
        "action": KEYWORD,
        "actor_id": LONG,
    },
}
ITEM_FIELDS: dict[Kind, tuple[str, ...]] = {
    "orders": ("number", "status", "priority", "order_type", "plant_id", "asset_id", "updated_at"),
    "assets": ("code", "status", "criticality", "plant_id", "asset_type", "updated_at"),
    "parts": ("number", "unit", "barcode", "updated_at"),
    "audit": ("entity", "entity_id", "action", "actor_id", "created_at"),
}


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation that a library below swallowed or turned into another error.

    aiopg closes a connection whose query is cancelled and the rollback after it fails; an HTTP
    client may retry a request cut by a cancellation. The task still counts as cancelling.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


def make_client(url: str, *, timeout: float = 3.0) -> AsyncElasticsearch:
    return AsyncElasticsearch(url, request_timeout=timeout, max_retries=1, retry_on_timeout=False)


def _doc_id(tenant_id: int, doc_id: int) -> str:
    return f"{tenant_id}-{doc_id}"


# ---- queries ----------------------------------------------------------------------------------


def _clause(clause: Clause, fuzzy: bool) -> dict[str, Any]:
    if clause.phrase:
        return {"multi_match": {"query": clause.text, "type": "phrase", "fields": FIELDS}}
    match: dict[str, Any] = {"query": clause.text, "fields": FIELDS, "operator": "and"}
    if fuzzy:
        match.update(fuzziness="AUTO", prefix_length=1)
    return {"multi_match": match}


def text_query(query: SearchQuery, fuzzy: bool = False) -> dict[str, Any] | None:
    """The query string as Elasticsearch clauses (None: nothing to search for)."""
    parsed = query.parsed
    must: list[dict[str, Any]] = []
    for i, group in enumerate(parsed.groups):
        options = [_clause(c, fuzzy) for c in group]
        last = i == len(parsed.groups) - 1
        if last and parsed.prefix:
            options.append({"multi_match": {"query": parsed.prefix, "type": "bool_prefix", "fields": PLAIN_FIELDS}})
        must.append(options[0] if len(options) == 1 else {"bool": {"should": options, "minimum_should_match": 1}})
    must_not = [_clause(c, False) for c in parsed.excluded]
    if not must and not must_not:
        return None
    main: dict[str, Any] = {"bool": {"must": must, "must_not": must_not}}
    extra: list[dict[str, Any]] = []
    if parsed.number is not None:
        extra.append({"term": {"number": {"value": f"WO-{parsed.number:06d}", "boost": 10}}})
    if parsed.code is not None:
        extra.append({"prefix": {"code": {"value": fold(parsed.code), "boost": 10}}})
        if fuzzy:
            extra.append({"fuzzy": {"code": {"value": fold(parsed.code), "fuzziness": "AUTO"}}})
    if not extra:
        return main
    return {"bool": {"should": [main, *extra], "minimum_should_match": 1}}


def filters(tenant_id: int, query: SearchQuery) -> list[dict[str, Any]]:
    """The tenant (always), the kinds the caller may and wants to see, and the caller's filters."""
    kinds = [k for k in KINDS if query.searches(k)]
    out: list[dict[str, Any]] = [{"term": {"tenant_id": tenant_id}}, {"terms": {"kind": kinds}}]
    if query.status:
        out.append({"terms": {"status": list(query.status)}})
    if query.priority:
        out.append({"terms": {"priority": list(query.priority)}})
    if query.criticality:
        out.append({"terms": {"criticality": list(query.criticality)}})
    if query.plant_id is not None:
        out.append({"term": {"plant_id": query.plant_id}})
    if query.requested_by is not None:
        out.append(
            {
                "bool": {
                    "should": [
                        {"bool": {"must_not": [{"term": {"kind": "orders"}}]}},
                        {"term": {"requested_by": query.requested_by}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    return out


def search_body(tenant_id: int, query: SearchQuery, fuzzy: bool = False) -> dict[str, Any] | None:
    text = None if query.parsed.empty else text_query(query, fuzzy)
    if text is None and not query.parsed.empty:
        return None
    bool_query: dict[str, Any] = {"filter": filters(tenant_id, query)}
    if text is not None:
        bool_query["must"] = [text]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "aggs": {name: {"terms": {"field": field, "size": 50}} for name, field in FACET_FIELDS.items()},
        "sort": (
            [{"created_at": {"order": "desc"}}, {"id": {"order": "desc"}}]
            if text is None
            else [{"_score": {"order": "desc"}}, {"created_at": {"order": "desc"}}, {"id": {"order": "desc"}}]
        ),
    }
    if text is not None:
        body["highlight"] = {
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
            "fields": {
                "title": {"number_of_fragments": 0},
                "title.plain": {"number_of_fragments": 0},
                "body": {"fragment_size": 150, "number_of_fragments": 2},
                "body.plain": {"fragment_size": 150, "number_of_fragments": 2},
                "notes": {"fragment_size": 150, "number_of_fragments": 2},
                "notes.plain": {"fragment_size": 150, "number_of_fragments": 2},
            },
        }
    return body


def _snippet(source: dict[str, Any], hl: dict[str, list[str]]) -> str:
    # The stemmed field and its .plain twin highlight the same text: take one of them, not both.
    for pairs in ((("body", "body.plain"), ("notes", "notes.plain")), (("title", "title.plain"),)):
        fragments = [next(hl[name] for name in pair if hl.get(name)) for pair in pairs if any(hl.get(n) for n in pair)]
        if fragments:
            return highlight(" … ".join([f for field in fragments for f in field][:2]))
    return plain_snippet(" ".join(filter(None, [source.get("body"), source.get("notes")])))


def to_result(response: dict[str, Any], mode: str) -> SearchResult:
    items: list[dict[str, Any]] = []
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        kind: Kind = source["kind"]
        item: dict[str, Any] = {
            "type": kind,
            "id": source["id"],
            "title": source.get("title", ""),
            "snippet": _snippet(source, hit.get("highlight") or {}),
            "score": round(float(hit.get("_score") or 0.0), 4),
        }
        for name in ITEM_FIELDS[kind]:
            value = source.get(name)
            if name in ("updated_at", "created_at") and isinstance(value, str):
                value = datetime.fromisoformat(value)
            item["at" if name == "created_at" else name] = value
        items.append(item)
    facets = empty_facets()
    for name in FACET_FIELDS:
        for bucket in response.get("aggregations", {}).get(name, {}).get("buckets", []):
            facets[name][str(bucket["key"])] = int(bucket["doc_count"])
    total = response["hits"]["total"]
    return SearchResult(
        items,
        int(total["value"]),
        facets,
        mode,  # type: ignore[arg-type]
        "elasticsearch",
        "gte" if total.get("relation") == "gte" else "eq",
    )


# ---- the backend ------------------------------------------------------------------------------


class ElasticSearch:
    """Search in Elasticsearch, indexing from PostgreSQL, falling back to PostgreSQL search."""

    name = "elasticsearch"

    def __init__(
        self,
        client: AsyncElasticsearch,
        source: PostgresSource,
        fallback: SearchBackend,
        *,
        retry_after: float = 5.0,
        poll_interval: float = 30.0,
        batch: int = BATCH,
    ) -> None:
        self.client = client
        self.source = source
        self.fallback = fallback
        self.retry_after = retry_after
        self.poll_interval = poll_interval
        self.batch = batch
        self._down_until = 0.0
        self._last_error = ""
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self._ready = False
        self.indexing_error = ""

    # -- searching --

    async def search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        if time.monotonic() < self._down_until:
            return await self._fall_back(tenant_id, query)
        try:
            result = await self._search(tenant_id, query)
        except Exception as exc:  # any failure of Elasticsearch: the database still answers
            self._mark_down(exc)
            return await self._fall_back(tenant_id, query)
        self._down_until = 0.0
        return result

    async def _search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        indices = ",".join(ALIASES[k] for k in KINDS if query.searches(k))
        body = search_body(tenant_id, query)
        if body is None or not indices:
            return SearchResult([], 0, empty_facets(), "none", self.name)
        mode = "browse" if query.parsed.empty else "fulltext"
        response = await self.client.search(index=indices, routing=str(tenant_id), **body)
        result = to_result(dict(response), mode)
        if mode == "fulltext" and result.total < FUZZY_BELOW and not query.parsed.excluded:
            fuzzy_body = search_body(tenant_id, query, fuzzy=True)
            if fuzzy_body is not None:
                fuzzy = to_result(
                    dict(await self.client.search(index=indices, routing=str(tenant_id), **fuzzy_body)), "fuzzy"
                )
                if fuzzy.total > result.total:
                    return fuzzy
        return result

    async def _fall_back(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        return await self.fallback.search(tenant_id, query)

    def _mark_down(self, exc: BaseException) -> None:
        if not self._down_until:
            log.warning("elasticsearch unavailable, searching PostgreSQL: %s", exc)
        self._down_until = time.monotonic() + self.retry_after
        self._last_error = f"{type(exc).__name__}: {exc}"[:300]
        self._ready = False  # check the indices again once it answers (it may have lost them)

    # -- indexing --

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

    # -- index management --

    async def ensure_indices(self) -> bool:
        """Templates, and version 1 of every index behind its alias when missing; True if created."""
        if self._ready:
            return False
        await self._put_templates()
        created = False
        for kind, alias in ALIASES.items():
            if await self.client.indices.exists_alias(name=alias):
                continue
            name = f"{alias}_v1"
            if await self.client.indices.exists(index=name):
                await self.client.indices.update_aliases(actions=[{"add": {"index": name, "alias": alias}}])
            else:
                await self.client.indices.create(index=name, aliases={alias: {}})
            log.info("search index %s created behind alias %s (%s)", name, alias, kind)
            created = True
        if created:
            await self.source.resync_all()
        self._ready = True
        return created

    async def _put_templates(self) -> None:
        for kind, alias in ALIASES.items():
            await self.client.indices.put_index_template(
                name=f"cmms-{alias}",
                index_patterns=[f"{alias}_v*"],
                priority=200,
                template={
                    "settings": SETTINGS,
                    "mappings": {"dynamic": False, "properties": MAPPINGS[kind]},
                },
            )

    async def _current(self) -> dict[str, str]:
        """alias -> the index it points at now."""
        out: dict[str, str] = {}
        for alias in ALIASES.values():
            if await self.client.indices.exists_alias(name=alias):
                found = dict(await self.client.indices.get_alias(name=alias))
                out[alias] = sorted(found)[-1]
        return out

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

    async def health(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": True, "backend": self.name}
        client = self.client.options(request_timeout=1.5)
        try:
            info = await client.info()
            health = await client.cluster.health()
            out.update(version=info["version"]["number"], cluster=health["status"])
            if health["status"] == "red":
                out["degraded"] = "cluster status red: searches fall back to PostgreSQL when they fail"
        except Exception as exc:
            self._mark_down(exc)
            out.update(degraded="elasticsearch unreachable: searching PostgreSQL", error=self._last_error)
        if self._down_until > time.monotonic():
            out["serving"] = "postgres"
        if self.indexing_error:
            out["indexing"] = f"paused: {self.indexing_error}"
        return out

    async def close(self) -> None:
        await self.client.close()
