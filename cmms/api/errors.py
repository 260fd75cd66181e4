"""The one place that turns errors into RFC 9457 problem documents."""

from __future__ import annotations

import logging
from typing import Any

import psycopg2.errors
from aiohttp import web

from cmms.api.routing import InvalidInput
from cmms.domain import errors as e
from cmms.wire import dumps

log = logging.getLogger("cmms.api")

STATUS: list[tuple[type[e.DomainError], int, str]] = [
    (e.TooLarge, 413, "too-large"),
    (e.UnsupportedMedia, 415, "unsupported-media-type"),
    (e.RangeNotSatisfiable, 416, "range-not-satisfiable"),
    (e.ValidationFailed, 422, "validation"),
    (e.NotFound, 404, "not-found"),
    (e.Forbidden, 403, "forbidden"),
    (e.Unauthenticated, 401, "unauthenticated"),
    (e.StaleVersion, 412, "stale-version"),
    (e.InvalidTransition, 409, "invalid-transition"),
    (e.Conflict, 409, "conflict"),
    (e.TooManyAttempts, 429, "too-many-attempts"),
    (e.Gone, 410, "gone"),
    (e.Unavailable, 503, "unavailable"),
]
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    request_id: str = "",
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"https://cmms.dev/problems/{kind or status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if request_id:
        body["request_id"] = request_id
    return web.Response(
        body=dumps(body).encode(), status=status, content_type="application/problem+json", headers=headers
    )


def from_exception(exc: BaseException, request_id: str) -> web.Response:
    if isinstance(exc, InvalidInput):
        status = 400 if exc.errors and exc.errors[0]["type"] == "json_invalid" else 422
        first = exc.errors[0]
        detail = f"{exc.where} field '{first['field']}': {first['message']}" if exc.errors else "invalid input"
        return problem(status, detail, kind="validation", errors=exc.errors, request_id=request_id)
    if isinstance(exc, e.DomainError):
        for cls, status, kind in STATUS:
            if isinstance(exc, cls):
                headers: dict[str, str] = {}
                if isinstance(exc, (e.TooManyAttempts, e.Unavailable)):
                    headers["Retry-After"] = str(exc.retry_after)
                if isinstance(exc, e.RangeNotSatisfiable):
                    headers["Content-Range"] = f"bytes */{exc.size}"
                if isinstance(exc, e.Unauthenticated):
                    headers["WWW-Authenticate"] = 'Bearer realm="cmms"'
                errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
                return problem(status, exc.detail, kind=kind, errors=errors, request_id=request_id, headers=headers)
    if isinstance(exc, psycopg2.Error):
        return _database_error(exc, request_id)
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "an unexpected error occurred; it has been logged", request_id=request_id)


def _database_error(exc: psycopg2.Error, request_id: str) -> web.Response:
    """Constraint violations the services did not pre-empt (races, references) are the caller's 4xx."""
    diag = getattr(exc, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    column = _constraint_field(constraint)
    if isinstance(exc, psycopg2.errors.UniqueViolation):
        return problem(
            409,
            f"a record with this {column or 'value'} already exists",
            kind="conflict",
            errors=[{"field": column, "message": "already exists"}] if column else None,
            request_id=request_id,
        )
    if isinstance(exc, psycopg2.errors.ForeignKeyViolation):
        return problem(
            422,
            f"{column or 'a reference'} does not name an existing record",
            kind="validation",
            errors=[{"field": column, "message": "not found"}] if column else None,
            request_id=request_id,
        )
    if isinstance(exc, psycopg2.errors.NotNullViolation):
        column = getattr(diag, "column_name", None) or column
        return problem(
            422,
            f"{column or 'a required field'} cannot be null",
            kind="validation",
            errors=[{"field": column, "message": "cannot be null"}] if column else None,
            request_id=request_id,
        )
    if isinstance(exc, (psycopg2.errors.CheckViolation, psycopg2.DataError)):
        return problem(422, "a value is out of the allowed range", kind="validation", request_id=request_id)
    retry = {"Retry-After": "2"}
    if isinstance(exc, psycopg2.errors.QueryCanceled):
        return problem(503, "the database took too long; try again", request_id=request_id, headers=retry)
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):  # a lost connection
        log.warning("database unavailable: %s", exc)
        return problem(503, "the database is unavailable; try again", request_id=request_id, headers=retry)
    log.exception("database error", exc_info=exc)
    return problem(500, "the database could not complete the request", request_id=request_id)


def _constraint_field(constraint: str) -> str | None:
    # e.g. assets_tenant_id_plant_id_fkey -> plant_id; assets_code -> code
    for column in (
        "plant_id",
        "parent_id",
        "asset_id",
        "assignee_id",
        "requested_by",
        "plan_id",
        "code",
        "email",
        "name",
        "number",
    ):
        if column in constraint:
            return column
    return None
