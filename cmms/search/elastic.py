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

import logging
import time

from elasticsearch import AsyncElasticsearch

from cmms.domain.search import KINDS, SearchQuery, SearchResult, empty_facets
from cmms.search.base import SearchBackend
from cmms.search.es_indexer import BATCH, ElasticIndexer
from cmms.search.es_query import search_body, to_result
from cmms.search.es_schema import ALIASES
from cmms.search.source import PostgresSource

log = logging.getLogger(__name__)

FUZZY_BELOW = 3


def make_client(url: str, *, timeout: float = 3.0) -> AsyncElasticsearch:
    return AsyncElasticsearch(url, request_timeout=timeout, max_retries=1, retry_on_timeout=False)


class ElasticSearch(ElasticIndexer):
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
        super().__init__(client, source, poll_interval=poll_interval, batch=batch)
        self.fallback = fallback
        self.retry_after = retry_after
        self._down_until = 0.0
        self._last_error = ""

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
