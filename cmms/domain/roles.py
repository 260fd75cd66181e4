"""Roles and who may do what outside the order workflow."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    TECHNICIAN = "technician"
    REQUESTER = "requester"


SUPERVISORS = frozenset({Role.ADMIN, Role.MANAGER})
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.TECHNICIAN})


@dataclass(frozen=True)
class Actor:
    """Who is calling: the verified claims of an access token, an API key (acting for the user who
    created it, with the key's role), or a CLI operator."""

    tenant_id: int
    user_id: int | None
    role: Role
    request_id: str = ""
    api_key_id: int | None = None

    def for_request(self, request_id: str) -> Actor:
        """This actor serving one request (cheaper than `dataclasses.replace` on the hot path)."""
        actor = object.__new__(Actor)
        object.__setattr__(actor, "__dict__", {**self.__dict__, "request_id": request_id})
        return actor

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISORS

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF
