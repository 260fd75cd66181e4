"""Full-text search over work orders, assets and (for admins and managers) the audit trail."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, json, read_query
from cmms.domain.search import SearchPage, SearchParams
from cmms.services import search

routes = RouteTable("search")


@routes.route(
    "GET",
    "/api/v1/search",
    summary=(
        'Search orders, assets and the audit trail: websearch syntax ("phrase", or, -word), the last'
        " word matched as a prefix, typos forgiven; highlights in `snippet` (<mark>), facets, cursor paging"
    ),
    query=SearchParams,
    response=SearchPage,
    errors=(403, 422),
)
async def search_all(request: web.Request) -> web.Response:
    params = read_query(request, SearchParams)
    return json(await search.search(request.app[DEPS], request[ACTOR], params))
