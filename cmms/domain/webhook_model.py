"""What callers send and receive for webhooks; validation names `url` and `events` on bad input."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from cmms.domain.model_outputs import Resource
from cmms.domain.model_queries import PageQuery
from cmms.domain.model_types import Input, Kept
from cmms.domain.webhooks import MAX_URL_LENGTH, check_patterns, check_url

Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(check_url),
    Field(description="http:// or https:// URL that receives a POST per matching event"),
]
Pattern = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Patterns = Annotated[
    list[Pattern],
    Field(min_length=1, max_length=50, description="event types or patterns: 'order:*', 'alert:triggered', '*'"),
    AfterValidator(check_patterns),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class WebhookIn(Input):
    url: Url
    events: Patterns
    active: bool = True
    description: Description = ""


class WebhookPatch(Input):
    url: Kept[Url] = None
    events: Kept[Patterns] = None
    active: Kept[bool] = None
    description: Kept[Description] = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


class Webhook(Resource):
    url: str
    events: list[str]
    active: bool
    description: str
    role: str = Field(description="the creator's role: the webhook receives what that role may see")
    created_by: int | None
    failing_since: datetime | None
    disabled_reason: str | None


class WebhookCreated(Webhook):
    secret: str = Field(description="the signing secret; shown only in this answer")


class Attempt(BaseModel):
    id: int
    number: int
    at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None
    response: str = Field(description="the first bytes of the receiver's answer")


class Delivery(BaseModel):
    id: int
    webhook_id: int
    seq: int
    event: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[Attempt] = Field(description="the most recent attempts, oldest first")


def delivery_body(row: dict[str, Any]) -> dict[str, Any]:
    """The event envelope every receiver gets, the same bytes on every attempt."""
    return {"seq": row["seq"], "type": row["type"], "at": row["at"], "tenant_id": row["tenant_id"], "data": row["data"]}
