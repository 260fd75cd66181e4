"""The search port: one interface, two backends (PostgreSQL full-text search, Elasticsearch).

A backend answers `search` for one tenant and keeps its index in step with the database. The
PostgreSQL backend needs no indexing (triggers keep its documents current in the same
transaction as the change), so its `index`, `delete`, `changed` and `run` do nothing. The
Elasticsearch backend indexes in bulk from the database, driven by the outbox relay, and falls
back to PostgreSQL whenever Elasticsearch cannot answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from cmms.domain.search import Kind, SearchQuery, SearchResult


class SearchUnavailable(Exception):
    """The backend cannot answer now (unreachable, overloaded, misconfigured)."""


@runtime_checkable
class SearchBackend(Protocol):
    name: str

    async def search(self, tenant_id: int, query: SearchQuery) -> SearchResult:
        """Ranked hits with highlights, facets over every match, and the total; tenant-scoped.

        The caller has already authorised the query (kinds, requester scope); the backend must
        never return a document of another tenant.
        """
        ...

    async def index(self, tenant_id: int, kind: Kind, documents: Sequence[dict[str, Any]]) -> None:
        """Add or replace these documents (as read by `PostgresSource`) in one bulk request."""
        ...

    async def delete(self, tenant_id: int, kind: Kind, ids: Sequence[int]) -> None:
        """Remove these documents; ids that are not indexed are ignored."""
        ...

    def changed(self, tenant_id: int) -> None:
        """A change of this tenant was committed: index it soon. Never blocks, never raises."""
        ...

    async def run(self) -> None:
        """Keep the index in step until cancelled (returns at once when nothing needs indexing)."""
        ...

    async def reindex(self, tenant_id: int | None = None) -> dict[str, Any]:
        """Rebuild the index from the database (every tenant, or one) and report what was done."""
        ...

    async def health(self) -> dict[str, object]:
        """For /health/ready: {"ok": bool, "backend": name, ...details}."""
        ...

    async def close(self) -> None: ...
