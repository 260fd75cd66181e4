"""Route tables that carry what OpenAPI needs, and the helpers every handler uses.

Each routes module owns one `RouteTable`; `cmms.api.app` mounts them all and `cmms.api.openapi`
describes them all, so a route cannot exist without its schema.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from cmms.domain.errors import ValidationFailed
from cmms.domain.roles import Actor
from cmms.wire import dumps_bytes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

ACTOR = web.RequestKey("actor", Actor)
SESSION = web.RequestKey("session_id", str)
REQUEST_ID = web.RequestKey("request_id", str)


# Path ids are PostgreSQL bigints; an id outside 1..MAX_ID cannot name anything, so it is refused.
MAX_ID = 2**63 - 1
# If-Match as the server reads it: the ETag it sent (`"3"`), its weak form, a bare number, or `*`.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,9}"|[0-9]{1,9})$'
_IF_MATCH = re.compile(r'(?:W/)?"([0-9]{1,9})"|([0-9]{1,9})')
_DIGITS = re.compile(r"[0-9]{1,19}")
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Route:
    """One operation and what the OpenAPI document says about it.

    Everything after `errors` is optional and derived when left out, so a new route needs only
    its summary, models and the error codes its own rules raise: 401/503 (secured), 404/422 (path
    ids), 400/413/422 (bodies), 422 (queries) and 412/422 (If-Match) are added by `cmms.api.openapi`.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    public: bool = False
    errors: tuple[int, ...] = ()
    # Media types of the success body; anything but JSON is documented as a string.
    content_types: tuple[str, ...] = (JSON_TYPE,)
    # Success headers beyond X-Request-Id and ETag (ETag: when the response model has `version`).
    headers: tuple[str, ...] = ()
    # Whether the handler reads If-Match; None means "PATCH and DELETE do".
    if_match: bool | None = None
    # False for routes that answer without PostgreSQL or Redis (no 503 problem).
    dependencies: bool = True
    # Other documented outcomes: a JSON model ({503: Readiness}) or media types ({206: ("*/*",)}).
    responses: Mapping[int, Any] = field(default_factory=dict)
    # What the body may be beyond `body`: media type -> JSON Schema or a model documenting it, e.g.
    # {"multipart/form-data": {...}}; an application/json entry documents `body` more precisely.
    body_content: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reads_if_match(self) -> bool:
        return self.if_match if self.if_match is not None else self.method in ("PATCH", "DELETE")


@dataclass
class RouteTable:
    tag: str
    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        public: bool = False,
        errors: tuple[int, ...] = (),
        content_types: tuple[str, ...] = (JSON_TYPE,),
        headers: tuple[str, ...] = (),
        if_match: bool | None = None,
        dependencies: bool = True,
        responses: Mapping[int, Any] | None = None,
        body_content: Mapping[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    method,
                    path,
                    handler,
                    summary,
                    self.tag,
                    body,
                    query,
                    response,
                    status,
                    public,
                    errors,
                    content_types,
                    headers,
                    if_match,
                    dependencies,
                    dict(responses or {}),
                    dict(body_content or {}),
                )
            )
            return handler

        return register


class InvalidInput(Exception):
    """A body or query that failed validation: pydantic's errors, turned into problem+json."""

    def __init__(self, errors: list[dict[str, Any]], where: str) -> None:
        super().__init__("invalid input")
        self.errors = errors
        self.where = where


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        out.append({"field": loc, "message": err["msg"], "type": err["type"]})
    return out


async def read_body(request: web.Request, model: type[M], *, list_field: str | None = None) -> M:
    """Parse and validate a JSON object body; with `list_field`, a bare array stands for that field."""
    raw = await request.read()
    if not raw:
        raise InvalidInput([{"field": "body", "message": "a JSON body is required", "type": "missing"}], "body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            [{"field": "body", "message": f"not valid JSON: {exc}", "type": "json_invalid"}], "body"
        ) from None
    if list_field and isinstance(data, list):
        data = {list_field: data}
    if not isinstance(data, dict):
        raise InvalidInput(
            [{"field": "body", "message": "the body must be a JSON object", "type": "model_type"}], "body"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_field_errors(exc), "body") from None


def read_query(request: web.Request, model: type[M]) -> M:
    values: dict[str, Any] = {}
    for key in request.query:
        items = request.query.getall(key)
        values[key] = ",".join(items) if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(_field_errors(exc), "query") from None


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_ID:
        raise ValidationFailed(f"{name} must be a positive integer (at most {MAX_ID})", field=name)
    return int(raw)


def if_match(request: web.Request) -> int | None:
    """The version named by If-Match (`"3"`, `W/"3"` or `3`); None when absent or `*`."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    found = _IF_MATCH.fullmatch(header.strip())
    if found is None:
        raise ValidationFailed("If-Match must be a version number in quotes, as sent in ETag", field="If-Match")
    return int(found.group(1) or found.group(2))


def json(data: Any, *, status: int = 200, etag: int | None = None) -> web.Response:
    response = web.Response(body=dumps_bytes(data), status=status, content_type="application/json")
    if etag is not None:
        response.headers["ETag"] = f'"{etag}"'
    return response


def streamed(request: web.Request, *, status: int = 200) -> web.StreamResponse:
    """A response the handler writes itself: its headers leave before the middleware sees it, so
    it carries the request id from the start."""
    response = web.StreamResponse(status=status)
    response.headers["X-Request-Id"] = request[REQUEST_ID]
    return response


def resource(row: dict[str, Any], *, status: int = 200) -> web.Response:
    return json(row, status=status, etag=row.get("version"))


def page(items: list[dict[str, Any]], next_cursor: str | None) -> web.Response:
    body = b'{"items":' + dumps_bytes(items) + b',"next_cursor":' + dumps_bytes(next_cursor) + b"}"
    return web.Response(body=body, content_type="application/json")
