"""The API client's API-key calls: create (the only answer holding the secret), list, revoke.

Functions over an `ApiClient`, like client_webhooks.py, so the key screen brings its own calls
without growing client.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

if TYPE_CHECKING:
    from cmms_tui.client import ApiClient, Page
    from cmms_tui.client_session import Params

# Highest first: a caller may give a key its own role or one below it (the server's rule).
ROLES = ("admin", "manager", "technician", "requester")


class ApiKey(TypedDict):
    id: int
    name: str
    role: str
    prefix: str
    created_by: int | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None
    version: int
    created_at: str
    updated_at: str


class ApiKeyCreated(ApiKey):
    secret: str


def roles_up_to(role: str) -> tuple[str, ...]:
    """The roles a caller of `role` may give a key: its own and those below (none for an unknown role)."""
    return ROLES[ROLES.index(role) :] if role in ROLES else ()


async def api_keys(api: ApiClient, params: Params | None = None) -> Page[ApiKey]:
    return cast("Page[ApiKey]", await api._page("/api/v1/api-keys", params))


async def create_key(api: ApiClient, name: str, role: str, expires_at: str | None = None) -> ApiKeyCreated:
    body: dict[str, Any] = {"name": name, "role": role}
    if expires_at:
        body["expires_at"] = expires_at
    return cast("ApiKeyCreated", await api.request("POST", "/api/v1/api-keys", body=body))


async def revoke_key(api: ApiClient, key_id: int) -> None:
    await api.request("DELETE", f"/api/v1/api-keys/{key_id}")
