"""Search: one port (`base.SearchBackend`), two backends (PostgreSQL full text, Elasticsearch).

`open_search(url, pool)` is what the runtime calls: PostgreSQL search when `url` is empty, else
Elasticsearch with PostgreSQL as its fallback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cmms.search.base import SearchBackend
from cmms.search.postgres import PostgresSearch


@asynccontextmanager
async def open_search(url: str, pool: Any) -> AsyncIterator[SearchBackend]:
    postgres = PostgresSearch(pool)
    if not url:
        yield postgres
        return
    from cmms.search.elastic import ElasticSearch, make_client  # the client library only when used
    from cmms.search.source import PostgresSource

    backend = ElasticSearch(make_client(url), PostgresSource(pool), postgres)
    try:
        yield backend
    finally:
        await backend.close()
