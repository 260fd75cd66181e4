"""The tenant's directory of people, for showing names instead of ids (every role)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, json
from cmms.domain.roles import Role
from cmms.services import directory

routes = RouteTable("directory")


class Person(BaseModel):
    id: int
    name: str | None
    role: Role
    active: bool
    email: str | None = None  # staff only: absent for requesters


class People(BaseModel):
    items: list[Person]


@routes.route(
    "GET",
    "/api/v1/directory/users",
    summary="Every user of the tenant by id: name, role, active (any role; e-mail for staff only)",
    response=People,
)
async def list_people(request: web.Request) -> web.Response:
    return json({"items": await directory.people(request.app[DEPS], request[ACTOR])})
