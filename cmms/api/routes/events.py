"""Replay of the tenant's event stream after a (re)connect."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, json, read_query
from cmms.domain.model_types import Input
from cmms.services import events

routes = RouteTable("events")


class EventQuery(Input):
    after: Annotated[int, Field(ge=0, le=2**62)] = 0
    limit: Annotated[int, Field(ge=1, le=1000)] = 500


class Envelope(BaseModel):
    seq: int
    type: str
    at: str
    tenant_id: int
    data: dict[str, Any]


class EventPage(BaseModel):
    items: list[Envelope]
    next_cursor: str | None
    last_seq: int


@routes.route(
    "GET",
    "/api/v1/events",
    summary="Events visible to the caller after a sequence number (410: reload)",
    query=EventQuery,
    response=EventPage,
    errors=(410,),
)
async def replay(request: web.Request) -> web.Response:
    query = read_query(request, EventQuery)
    return json(await events.replay(request.app[DEPS], request[ACTOR], query.after, query.limit))
