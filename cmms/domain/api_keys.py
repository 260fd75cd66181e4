"""API keys: what a key looks like, which role a creator may give it, and their shapes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from cmms.domain.errors import Forbidden, Unauthenticated, ValidationFailed
from cmms.domain.model_types import Input
from cmms.domain.roles import Role

PREFIX = "cmms_"  # secret scanners recognise the product's keys by it
RANK = {Role.REQUESTER: 0, Role.TECHNICIAN: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class ApiKeyIn(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    role: Role
    expires_at: datetime | None = None


class ApiKey(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_by: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class ApiKeyCreated(ApiKey):
    secret: str  # shown once


def new_key(tenant_id: int) -> tuple[str, bytes]:
    """`cmms_<tenant>_<43 random characters>` and the hash that is stored."""
    secret = f"{PREFIX}{tenant_id}_{secrets.token_urlsafe(32)}"
    return secret, digest(secret)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def tenant_of(secret: str) -> int:
    head, _, rest = secret.removeprefix(PREFIX).partition("_")
    if not secret.startswith(PREFIX) or not head.isdigit() or len(head) > 18 or len(rest) < 20:
        raise Unauthenticated("the API key is not valid")
    return int(head)


def check_grant(creator: Role, requested: Role) -> None:
    if creator not in (Role.ADMIN, Role.MANAGER):
        raise Forbidden("API keys are created by admins and managers")
    if RANK[requested] > RANK[creator]:
        raise Forbidden(f"a {creator} may not create a key with the role {requested}", field="role")


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
        detail = "must be in the future" if expires_at.tzinfo else "must name its time zone (e.g. Z)"
        raise ValidationFailed(f"expires_at {detail}", field="expires_at")
