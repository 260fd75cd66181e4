"""What the API client raises: the server's problem documents, an expired session, no server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """A problem document (RFC 9457) returned by the server."""

    def __init__(self, status: int, title: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    def by_field(self) -> dict[str, str]:
        """Messages keyed by the first segment of the field path (`readings.0.meter` -> `readings`)."""
        out: dict[str, str] = {}
        for err in self.errors:
            out.setdefault(err.field.split(".")[0], err.message)
        return out


class SessionExpired(ApiError):
    """The refresh token is no longer accepted: the user must log in again."""


class Unreachable(Exception):
    """The server could not be reached (connection refused, DNS, timeout)."""


def _problem(status: int, body: Any) -> ApiError:
    if isinstance(body, dict):
        errors = [
            FieldError(str(e.get("field") or ""), str(e.get("message") or ""))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        return ApiError(status, str(body.get("title", "Error")), str(body.get("detail", "")), errors)
    return ApiError(status, "Error", str(body)[:200] if body else f"HTTP {status}")


async def problem_of(response: aiohttp.ClientResponse) -> ApiError:
    """The error of a streamed answer (downloads, uploads): read as the JSON calls read theirs."""
    raw = await response.read()
    body: Any = raw.decode(errors="replace")
    if "json" in response.headers.get("Content-Type", ""):
        body = await response.json(content_type=None)
    error = _problem(response.status, body)
    if response.status == 401:
        return SessionExpired(error.status, error.title, error.detail, error.errors)
    return error
