"""Parts, stock locations and vendors: the same five routes per catalog, registered by one function."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, Handler, RouteTable, if_match, page, path_id, read_body, read_query, resource
from cmms.domain.inventory import (
    Location,
    LocationIn,
    LocationPatch,
    LocationQuery,
    Part,
    PartIn,
    PartPatch,
    PartQuery,
    Vendor,
    VendorIn,
    VendorPatch,
)
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import parts
from cmms.services.catalog import Catalog
from cmms.services.common import patch_values

routes = RouteTable("inventory")
Lister = Callable[[Any, Any, Any], Awaitable[tuple[list[dict[str, Any]], str | None]]]


def _named(handler: Handler, name: str) -> Handler:
    handler.__name__ = handler.__qualname__ = name  # OpenAPI's operationId
    return handler


def catalog_routes(
    base: str,
    noun: str,
    catalog: Catalog,
    *,
    model: type[BaseModel],
    create_body: type[BaseModel],
    patch_body: type[BaseModel],
    query: type[PageQuery],
    lister: Lister,
) -> None:
    one = f"{base}/{{id}}"

    async def list_(request: web.Request) -> web.Response:
        return page(*await lister(request.app[DEPS], request[ACTOR], read_query(request, query)))

    async def create(request: web.Request) -> web.Response:
        data = await read_body(request, create_body)
        return resource(await catalog.create(request.app[DEPS], request[ACTOR], data.model_dump()), status=201)

    async def get(request: web.Request) -> web.Response:
        return resource(await catalog.get(request.app[DEPS], request[ACTOR], path_id(request)))

    async def update(request: web.Request) -> web.Response:
        id_, version = path_id(request), if_match(request)
        data = await read_body(request, patch_body)
        return resource(await catalog.update(request.app[DEPS], request[ACTOR], id_, patch_values(data), version))

    async def delete(request: web.Request) -> web.Response:
        await catalog.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
        return web.Response(status=204)

    plural = f"{noun}s"
    slug = plural.replace(" ", "_")
    listing: Any = Page[model]  # type: ignore[valid-type]
    routes.route("GET", base, summary=f"List {plural} (staff)", query=query, response=listing, errors=(403,))(
        _named(list_, f"list_{slug}")
    )
    routes.route(
        "POST",
        base,
        summary=f"Create a {noun} (supervisors)",
        body=create_body,
        response=model,
        status=201,
        errors=(403, 409, 422),
    )(_named(create, f"create_{slug}"))
    routes.route("GET", one, summary=f"One {noun} (staff)", response=model, errors=(403, 404))(
        _named(get, f"get_{slug}")
    )
    routes.route(
        "PATCH",
        one,
        summary=f"Change a {noun} (supervisors; If-Match: version)",
        body=patch_body,
        response=model,
        errors=(403, 404, 409, 412, 422),
    )(_named(update, f"update_{slug}"))
    routes.route(
        "DELETE",
        one,
        summary=f"Delete a {noun} nothing refers to (supervisors)",
        status=204,
        errors=(403, 404, 409, 412),
    )(_named(delete, f"delete_{slug}"))


catalog_routes(
    "/api/v1/parts",
    "part",
    parts.PARTS,
    model=Part,
    create_body=PartIn,
    patch_body=PartPatch,
    query=PartQuery,
    lister=parts.list_parts,
)
catalog_routes(
    "/api/v1/stock-locations",
    "stock location",
    parts.LOCATIONS,
    model=Location,
    create_body=LocationIn,
    patch_body=LocationPatch,
    query=LocationQuery,
    lister=parts.list_locations,
)
catalog_routes(
    "/api/v1/vendors",
    "vendor",
    parts.VENDORS,
    model=Vendor,
    create_body=VendorIn,
    patch_body=VendorPatch,
    query=PageQuery,
    lister=parts.list_vendors,
)
