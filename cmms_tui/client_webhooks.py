"""The API client's webhook calls: subscriptions, their delivery log, redelivery.

Functions over an `ApiClient` rather than methods on it, so the Integrations view brings its own
calls without growing client.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from cmms_tui.client import ApiClient, Page
    from cmms_tui.client_session import Params


class Webhook(TypedDict):
    id: int
    url: str
    events: list[str]
    active: bool
    description: str
    role: str
    created_by: int | None
    failing_since: str | None
    disabled_reason: str | None
    version: int
    created_at: str
    updated_at: str


class Attempt(TypedDict):
    id: int
    number: int
    at: str
    status_code: int | None
    duration_ms: float
    error: str | None
    response: str


class Delivery(TypedDict):
    id: int
    webhook_id: int
    seq: int
    event: str
    status: str
    attempts: int
    next_attempt_at: str | None
    last_status: int | None
    last_error: str | None
    delivered_at: str | None
    created_at: str
    updated_at: str
    attempt_log: list[Attempt]


async def webhooks(api: ApiClient, params: Params | None = None) -> Page[Webhook]:
    return cast("Page[Webhook]", await api._page("/api/v1/webhooks", params))


async def deliveries(api: ApiClient, webhook_id: int, params: Params | None = None) -> Page[Delivery]:
    return cast("Page[Delivery]", await api._page(f"/api/v1/webhooks/{webhook_id}/deliveries", params))


async def redeliver(api: ApiClient, webhook_id: int, delivery_id: int) -> Delivery:
    path = f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
    return cast("Delivery", await api.request("POST", path))


async def set_active(api: ApiClient, hook: Webhook, active: bool) -> Webhook:
    body: dict[str, Any] = {"active": active}
    return cast(
        "Webhook", await api.request("PATCH", f"/api/v1/webhooks/{hook['id']}", body=body, version=hook["version"])
    )
