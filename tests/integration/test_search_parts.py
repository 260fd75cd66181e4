"""Parts in GET /api/v1/search, by number, name and barcode, on both backends (PostgreSQL and the
Elasticsearch adapter against the HTTP double of es_double.py, which is a double, not a server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cmms.domain.errors import Forbidden
from cmms.domain.inventory import PartIn, PartPatch
from cmms.runtime import Runtime
from cmms.services import parts
from cmms.services.common import patch_values
from tests.integration.search_support import BACKENDS, ROLES, Searcher, actor, open_backend
from tests.integration.support import Tenant, make_tenant, unique

CATALOGUE = [
    ("bearing", "SKF-6205-2RS", "Deep groove ball bearing 6205-2RS", "4006381333931", "sealed, 25 x 52 x 15 mm"),
    ("bearing2", "SKF-6310", "Deep groove ball bearing 6310", None, "open, C3 clearance"),
    ("belt", "SPA-1250", "V-belt SPA 1250", "5901234123457", "wedge belt for the fan drive"),
    ("oil", "ISO-VG68", "Hydraulic oil ISO VG 68", None, "mineral oil, litres"),
]


async def catalogue(rt: Runtime, client: TestClient) -> tuple[Tenant, dict[str, int]]:
    tenant = await make_tenant(rt, client, ROLES)
    ids = {}
    for key, number, name, barcode, description in CATALOGUE:
        data = PartIn(number=number, name=name, barcode=barcode, description=description, unit="pcs")
        row = await parts.PARTS.create(rt.deps, actor(tenant, "manager"), data.model_dump())
        ids[key] = row["id"]
    return tenant, ids


@pytest.fixture(scope="module")
async def shop(rt: Runtime, client: TestClient) -> tuple[Tenant, dict[str, int]]:
    return await catalogue(rt, client)


@pytest.fixture(scope="module")
async def twin(rt: Runtime, client: TestClient) -> tuple[Tenant, dict[str, int]]:
    return await catalogue(rt, client)


@pytest.fixture(scope="module", params=BACKENDS)
async def searcher(request: pytest.FixtureRequest, rt: Runtime, shop: Any, twin: Any) -> AsyncIterator[Searcher]:
    async with open_backend(request.param, rt, [shop[0].id, twin[0].id]) as found:
        yield found


async def hits(searcher: Searcher, tenant: Tenant, q: str, key: str = "technician", **params: Any) -> list[int]:
    result = await searcher.search(tenant, key, q=q, type="parts", limit=50, **params)
    assert all(i["type"] == "parts" for i in result["items"])
    return [i["id"] for i in result["items"]]


async def test_by_number_name_and_barcode(searcher: Searcher, shop: Any) -> None:
    tenant, ids = shop
    assert (await hits(searcher, tenant, "SKF-6205-2RS"))[0] == ids["bearing"]
    assert (await hits(searcher, tenant, "SKF-6310"))[0] == ids["bearing2"]
    assert set(await hits(searcher, tenant, "bearing ")) == {ids["bearing"], ids["bearing2"]}
    assert set(await hits(searcher, tenant, "beari")) == {ids["bearing"], ids["bearing2"]}  # still being typed
    assert (await hits(searcher, tenant, "5901234123457"))[0] == ids["belt"]
    assert await hits(searcher, tenant, "hydraulic oil ") == [ids["oil"]]
    result = await searcher.search(tenant, "manager", q="SPA-1250", limit=10)
    top = result["items"][0]
    assert (top["type"], top["id"], top["number"], top["barcode"]) == (
        "parts",
        ids["belt"],
        "SPA-1250",
        "5901234123457",
    )
    assert result["facets"]["type"].get("parts", 0) >= 1


async def test_tenants_and_roles(searcher: Searcher, shop: Any, twin: Any) -> None:
    tenant = shop[0]
    theirs = set(twin[1].values())
    assert not set(await hits(searcher, tenant, "bearing ")) & theirs
    everything = await searcher.search(tenant, "requester", q="bearing ", limit=50)
    assert [i for i in everything["items"] if i["type"] == "parts"] == []
    with pytest.raises(Forbidden):
        await searcher.search(tenant, "requester", q="bearing", type="parts")
    # a filter parts do not have excludes them, as it excludes the audit trail
    assert await hits(searcher, tenant, "bearing ", status="open") == []


async def test_edits_and_deletions_are_followed(rt: Runtime, searcher: Searcher, shop: Any) -> None:
    tenant, _ = shop
    manager = actor(tenant, "manager")
    number = unique("GSK")
    row = await parts.PARTS.create(rt.deps, manager, PartIn(number=number, name="Flange gasket DN50").model_dump())
    await searcher.refresh()
    assert await hits(searcher, tenant, "flange gasket ") == [row["id"]]
    await parts.PARTS.update(rt.deps, manager, row["id"], patch_values(PartPatch(name="Spiral wound seal DN50")), None)
    await searcher.refresh()
    assert await hits(searcher, tenant, "flange gasket ") == []
    assert await hits(searcher, tenant, "spiral wound ") == [row["id"]]
    await parts.PARTS.delete(rt.deps, manager, row["id"], None)
    await searcher.refresh()
    assert await hits(searcher, tenant, "spiral wound ") == []
