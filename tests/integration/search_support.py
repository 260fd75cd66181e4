"""Helpers for the search tests: a corpus with known words, and one way to search whatever the backend.

`open_backend("postgres" | "elasticsearch", rt)` yields a `Searcher`. For Elasticsearch it starts
the HTTP double of `tests/integration/es_double.py` (not a real server: see its docstring) and
indexes through the real adapter; `Searcher.refresh()` runs the indexer, as the outbox relay would.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from cmms.api import app as app_module
from cmms.api.app import make_app
from cmms.api.routes import ALL_TABLES
from cmms.api.routes import search as search_routes
from cmms.domain.model import AssetIn, NoteIn, OrderIn, PlantIn, TransitionIn
from cmms.domain.roles import Actor, Role
from cmms.domain.search import SearchParams
from cmms.runtime import Runtime
from cmms.search.base import SearchBackend
from cmms.search.elastic import ElasticSearch, make_client
from cmms.search.postgres import PostgresSearch
from cmms.search.source import PostgresSource
from cmms.services import assets, orders, plants
from cmms.services import search as search_service
from cmms.services.deps import Deps
from tests.integration.es_double import ElasticsearchDouble
from tests.integration.support import Api, Tenant, make_tenant, unique

BACKENDS = ["postgres", "elasticsearch"]
ROLES = {
    "admin": "admin",
    "manager": "manager",
    "technician": "technician",
    "requester": "requester",
    "requester2": "requester",
}


def with_search(deps: Deps, backend: SearchBackend) -> Deps:
    """Deps whose search backend is `backend` (the `search` field once the runtime has one)."""
    if any(f.name == "search" for f in dataclasses.fields(deps)):
        return dataclasses.replace(deps, search=backend)  # type: ignore[call-arg]
    clone = copy.copy(deps)
    object.__setattr__(clone, "search", backend)
    return clone


def actor(tenant: Tenant, key: str) -> Actor:
    user = tenant.users[key]
    return Actor(tenant.id, int(user["id"]), Role(user["role"]))


@dataclass
class Corpus:
    """A tenant whose documents contain known words; `ids` names them."""

    tenant: Tenant
    ids: dict[str, int] = field(default_factory=dict)
    code_prefix: str = ""


async def build_corpus(rt: Runtime, client: TestClient, *, twin: bool = False) -> Corpus:
    """Orders, assets, notes and audit entries that the behavioural tests search for.

    `twin`: a second tenant with overlapping words, to prove that tenants never see each other.
    """
    tenant = await make_tenant(rt, client, ROLES)
    corpus = Corpus(tenant)
    deps, manager = rt.deps, actor(tenant, "manager")
    ids = corpus.ids
    north = await plants.create(deps, manager, PlantIn(name=unique("North Plant"), code="NOR"))
    south = await plants.create(deps, manager, PlantIn(name=unique("South Plant"), code="SOU"))
    ids["north"], ids["south"] = north["id"], south["id"]
    prefix = unique("X").upper()[-6:]
    if twin:
        filler = await assets.create(
            deps, manager, AssetIn(name="Filler 9", plant_id=north["id"], code=f"{prefix}-FIL-009", type="filler")
        )
        ids["filler"] = filler["id"]
        order = await orders.create(
            deps,
            manager,
            OrderIn(title="Leaking gasket on Filler 9", description="Twin tenant: gasket and bearing words."),
        )
        ids["gasket"] = order["id"]
        return corpus

    async def asset(key: str, **values: Any) -> None:
        ids[key] = (await assets.create(deps, manager, AssetIn(**values)))["id"]

    await asset("filler", name="Filler 7", plant_id=north["id"], code=f"RIV-FIL-{prefix}", type="filler",
                manufacturer="Krones", criticality="medium")  # fmt: skip
    await asset("pump", name="Centrifugal Pump 3", plant_id=north["id"], code=f"RIV-PMP-{prefix}", type="pump",
                manufacturer="Grundfos", criticality="high")  # fmt: skip
    await asset("compressor", name="Air Compressor 1", plant_id=south["id"], code=f"HIL-CMP-{prefix}",
                type="compressor", manufacturer="Atlas Copco", criticality="critical")  # fmt: skip
    await asset("roaster", name="Café Roaster 2", plant_id=south["id"], code=f"CAF-RST-{prefix}", type="roaster",
                manufacturer="Bühler", criticality="low")  # fmt: skip
    corpus.code_prefix = prefix

    async def order(key: str, who: str = "manager", **values: Any) -> None:
        ids[key] = (await orders.create(deps, actor(tenant, who), OrderIn(**values)))["id"]

    await order("gasket", title="Leaking gasket on Filler 7", asset_id=ids["filler"], priority="high",
                description="Oil drips from the flange during the night shift.")  # fmt: skip
    await order("gasket_pump", title="Replace gasket on Centrifugal Pump 3",
                description="The gasket is worn; the pump loses pressure.", asset_id=ids["pump"])  # fmt: skip
    await order("valve", title="Gasket inspection",
                description="The valve is leaking badly: check the seat of the gasket.", priority="low")  # fmt: skip
    await order("bearing_title", title="Bearing noise on the compressor", description="Grinding sound at start-up.",
                asset_id=ids["compressor"], priority="critical")  # fmt: skip
    await order("bearing_body", title="Vibration alarm on Air Compressor 1", asset_id=ids["compressor"],
                description="Vibration caused by a worn bearing on the motor side.")  # fmt: skip
    await order("bearing_note", title="Weekly round in hall B", description="Routine check of the lines.")
    await orders.add_note(deps, manager, ids["bearing_note"], NoteIn(body="Found a dry bearing on the exhaust fan."))
    await order("script", title="Valve chatter",
                description="<script>alert(1)</script> the relief valve chatters & hisses <b>loudly</b>")  # fmt: skip
    await order("cafe", title="Descale the café roaster", asset_id=ids["roaster"], priority="low")
    await order("requested", who="requester", title="Broken window latch in the control room",
                description="The latch will not close.")  # fmt: skip
    await order("requested2", who="requester2", title="Broken chair in the canteen", description="A leg is loose.")
    await orders.transition(deps, manager, ids["gasket_pump"], TransitionIn(to="in_progress"), None)
    return corpus


@dataclass
class Searcher:
    """Searches as a user of a corpus, through the service layer (or over HTTP with `api`)."""

    name: str
    rt: Runtime
    backend: SearchBackend
    deps: Deps
    double: ElasticsearchDouble | None = None
    http: TestClient | None = None
    tenants: list[int] = field(default_factory=list)

    async def refresh(self) -> None:
        """Index what changed (Elasticsearch); PostgreSQL documents are current already."""
        if isinstance(self.backend, ElasticSearch):
            for tenant_id in self.tenants:
                await self.backend.sync_tenant(tenant_id)

    async def search(self, tenant: Tenant, key: str, **params: Any) -> dict[str, Any]:
        result = await search_service.search(self.deps, actor(tenant, key), SearchParams.model_validate(params))
        # A backend that fell back to PostgreSQL would pass the suite without being tested.
        assert result["backend"] == self.name, result
        return result

    def api(self, tenant: Tenant, key: str) -> Api:
        assert self.http is not None
        return Api(self.http, tenant.apis[key].token)


def search_app_tables() -> list[Any]:
    return [*ALL_TABLES, search_routes.routes] if search_routes.routes not in ALL_TABLES else list(ALL_TABLES)


@asynccontextmanager
async def open_backend(name: str, rt: Runtime, tenants: list[int]) -> AsyncIterator[Searcher]:
    double: ElasticsearchDouble | None = None
    backend: SearchBackend
    if name == "postgres":
        backend = PostgresSearch(rt.deps.pool)
    else:
        double = ElasticsearchDouble()
        await double.start()
        backend = ElasticSearch(
            make_client(double.url), PostgresSource(rt.deps.pool), PostgresSearch(rt.deps.pool), retry_after=0.2
        )
    deps = with_search(rt.deps, backend)
    tables = app_module.ALL_TABLES
    app_module.ALL_TABLES = search_app_tables()  # type: ignore[misc]
    try:
        app = make_app(deps, rt.readiness)
    finally:
        app_module.ALL_TABLES = tables  # type: ignore[misc]
    http = TestClient(TestServer(app))
    await http.start_server()
    searcher = Searcher(name, rt, backend, deps, double, http, tenants)
    try:
        if isinstance(backend, ElasticSearch):
            await backend.ensure_indices()
            await searcher.refresh()
        yield searcher
    finally:
        await http.close()
        await backend.close()
        if double is not None:
            await double.stop()
