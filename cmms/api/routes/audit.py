"""The audit trail."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, page, read_query
from cmms.domain.model_outputs import AuditEntry, Page
from cmms.domain.model_queries import AuditQuery
from cmms.services import audit

routes = RouteTable("audit")


@routes.route(
    "GET",
    "/api/v1/audit",
    summary="The audit trail, newest first (admin, manager)",
    query=AuditQuery,
    response=Page[AuditEntry],
    errors=(403,),
)
async def list_audit(request: web.Request) -> web.Response:
    query = read_query(request, AuditQuery)
    return page(*await audit.list_entries(request.app[DEPS], request[ACTOR], query))
