"""Domain errors. They know nothing of HTTP; `cmms.api.errors` maps each to a status code."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the product reports to a caller."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """Missing, or belongs to another tenant, or not visible to the caller (no existence leak)."""


class Forbidden(DomainError):
    """The caller's role may not do this."""


class Unauthenticated(DomainError):
    """No valid credentials."""


class Conflict(DomainError):
    """The change collides with the current state (a duplicate, a dependent row)."""


class InvalidTransition(DomainError):
    """The workflow does not allow this status change."""


class StaleVersion(DomainError):
    """If-Match named a version that is no longer current."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the resource changed: current version is {current}")
        self.current = current


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `field` names the culprit."""


class TooManyAttempts(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry in {retry_after} s")
        self.retry_after = retry_after


class Gone(DomainError):
    """What was asked for no longer exists (events past retention): reload instead of replaying."""


class Unavailable(DomainError):
    """A dependency (the database) cannot answer now; the caller should retry after a while."""

    def __init__(self, detail: str, retry_after: int = 2) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TooLarge(DomainError):
    """An upload past `[files] max_bytes` or the tenant's quota (413); nothing was stored."""


class UnsupportedMedia(DomainError):
    """The body's media type is not accepted, or a file's bytes contradict its declared type (415)."""


class RangeNotSatisfiable(DomainError):
    """A Range outside the file (416, answered with `Content-Range: bytes */<size>`)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the range is outside the file ({size} bytes)", field="Range")
        self.size = size
