"""Webhooks: subscriptions to events, their delivery log and redelivery (admins and managers)."""

from __future__ import annotations

from aiohttp import web

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, json, page, path_id, read_body, read_query, resource
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.domain.webhook_model import Delivery, DeliveryQuery, Webhook, WebhookCreated, WebhookIn, WebhookPatch
from cmms.services import webhooks

routes = RouteTable("webhooks")


@routes.route(
    "GET", "/api/v1/webhooks", summary="List webhooks (admin, manager)", query=PageQuery, response=Page[Webhook],
    errors=(403,),
)  # fmt: skip
async def list_webhooks(request: web.Request) -> web.Response:
    query = read_query(request, PageQuery)
    return page(*await webhooks.list_webhooks(request.app[DEPS], request[ACTOR], query.limit, query.cursor))


@routes.route(
    "POST",
    "/api/v1/webhooks",
    summary="Subscribe a URL to event patterns; the answer carries the signing secret, shown only once",
    body=WebhookIn,
    response=WebhookCreated,
    status=201,
    errors=(403,),
)
async def create_webhook(request: web.Request) -> web.Response:
    data = await read_body(request, WebhookIn)
    return resource(await webhooks.create(request.app[DEPS], request[ACTOR], data), status=201)


@routes.route(
    "GET", "/api/v1/webhooks/{id}", summary="One webhook, without its secret (admin, manager)", response=Webhook,
    errors=(403, 404),
)  # fmt: skip
async def get_webhook(request: web.Request) -> web.Response:
    return resource(await webhooks.get(request.app[DEPS], request[ACTOR], path_id(request)))


@routes.route(
    "PATCH",
    "/api/v1/webhooks/{id}",
    summary="Change a webhook's URL, events or description, or switch it on or off (If-Match: version)",
    body=WebhookPatch,
    response=Webhook,
    errors=(403, 404, 412),
)
async def update_webhook(request: web.Request) -> web.Response:
    webhook_id, version = path_id(request), if_match(request)
    data = await read_body(request, WebhookPatch)
    return resource(await webhooks.update(request.app[DEPS], request[ACTOR], webhook_id, data, version))


@routes.route(
    "DELETE", "/api/v1/webhooks/{id}", summary="Delete a webhook and its delivery log (admin, manager)", status=204,
    errors=(403, 404, 412),
)  # fmt: skip
async def delete_webhook(request: web.Request) -> web.Response:
    await webhooks.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)


@routes.route(
    "GET",
    "/api/v1/webhooks/{id}/deliveries",
    summary="A webhook's deliveries, newest first, each with its latest attempts (admin, manager)",
    query=DeliveryQuery,
    response=Page[Delivery],
    errors=(403, 404),
)
async def list_deliveries(request: web.Request) -> web.Response:
    webhook_id = path_id(request)
    query = read_query(request, DeliveryQuery)
    return page(*await webhooks.deliveries(request.app[DEPS], request[ACTOR], webhook_id, query))


@routes.route(
    "POST",
    "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again now: same delivery id and body, a fresh retry budget (admin, manager)",
    response=Delivery,
    status=202,
    errors=(403, 404),
)
async def redeliver(request: web.Request) -> web.Response:
    webhook_id, delivery_id = path_id(request), path_id(request, "delivery_id")
    return json(await webhooks.redeliver(request.app[DEPS], request[ACTOR], webhook_id, delivery_id), status=202)
