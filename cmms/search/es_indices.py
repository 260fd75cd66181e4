"""The backend's indices: their templates, and each alias with the versioned index behind it."""

from __future__ import annotations

import logging

from elasticsearch import AsyncElasticsearch

from cmms.search.es_schema import ALIASES, MAPPINGS, SETTINGS
from cmms.search.source import PostgresSource

log = logging.getLogger("cmms.search.elastic")  # one logger for the whole backend


class ElasticIndices:
    """Creates what is missing (templates, version 1 behind each alias) and reads what exists."""

    def __init__(self, client: AsyncElasticsearch, source: PostgresSource) -> None:
        self.client = client
        self.source = source
        self._ready = False

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
