"""OpenAPI 3.1, generated from the route tables and the same pydantic models that validate input.

The document promises only what the server does: every status a route can answer (its own error
codes plus those its inputs imply), every media type, the headers sent (X-Request-Id always, ETag
for versioned resources, Retry-After on 429 and 503) and the constraints the server checks on path
ids, query parameters and If-Match. `tests/integration/test_schemathesis.py` holds it to that.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cmms.api.routing import IF_MATCH_PATTERN, JSON_TYPE, MAX_ID, Route, json
from cmms.domain.model_outputs import Problem

REF = "#/components/schemas/{model}"
DESCRIPTION = (
    "Work orders, assets, PM plans and alerts. Errors are RFC 9457 problem documents; text fields"
    " refuse the NUL character (U+0000), which PostgreSQL cannot store; lists page with `limit` and"
    " the opaque `cursor` of the previous page's `next_cursor`."
)
PROBLEM_TYPE = "application/problem+json"

# What each problem status means here; a route documents those it can answer.
MEANINGS = {
    400: "the body is not valid JSON",
    401: "no valid access token (missing, malformed, expired or revoked)",
    403: "the caller's role may not do this",
    404: "nothing with this id in the caller's tenant",
    409: "the request conflicts with the current state (duplicate, workflow, dependants)",
    410: "what was asked for is past retention",
    412: "If-Match names a version that is no longer current",
    413: "the body is larger than server.max_body_bytes",
    415: "the body's media type is not accepted",
    416: "the Range asks for bytes the file does not have",
    422: "a field, query parameter, path id or header is invalid; `errors[].field` names it",
    429: "too many attempts; retry after Retry-After seconds",
    503: "PostgreSQL or Redis is unavailable or too slow; retry after Retry-After seconds",
}
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "the request's id (the incoming X-Request-Id when it was 1-64 printable characters)",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    },
    "ETag": {
        "description": 'the resource\'s version in quotes; send it back as If-Match (e.g. `"3"`)',
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    },
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWW-Authenticate": {
        "description": "the scheme to authenticate with",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer"},
    },
    "Location": {"description": "where to follow the new resource", "required": True, "schema": {"type": "string"}},
    "Content-Range": {
        "description": "the part of the file sent (`bytes 0-99/1234`), or the size (`bytes */1234`) on 416",
        "required": True,
        "schema": {"type": "string", "pattern": "^bytes "},
    },
    "Content-Disposition": {
        "description": "the file name to save the download as",
        "required": True,
        "schema": {"type": "string"},
    },
}
PROBLEM_HEADERS = {401: ("WWW-Authenticate",), 429: ("Retry-After",), 503: ("Retry-After",)}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'the ETag of the version you read (`"3"`, `W/"3"` or `3`); `*` or absent: no check',
    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key and body gets the first successful answer again and creates nothing;"
    " the same key with another body is 422 (kept 24 h per tenant)",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}
QUERY_MEANINGS = {
    "limit": "items per page",
    "cursor": "the `next_cursor` of the previous page, as it was (anything else is 422)",
}
PATH_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def build(tables: list[Any]) -> dict[str, Any]:
    routes: list[Route] = [r for t in tables for r in t.routes]
    models: list[type[BaseModel]] = [Problem]
    for r in routes:
        for m in (r.body, r.query, r.response, *r.responses.values(), *r.body_content.values()):
            if _is_model(m) and m not in models:
                models.append(m)
    keyed, defs = models_json_schema(
        [(m, "validation" if _is_input(m, routes) else "serialization") for m in models], ref_template=REF
    )

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        mode: Literal["validation", "serialization"] = "validation" if _is_input(model, routes) else "serialization"
        return keyed[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.path, {})[r.method.lower()] = _operation(r, ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": "CMMS API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "responses": {f"Problem{code}": _problem(code, ref(Problem)) for code in MEANINGS},
            "headers": HEADERS,
            "parameters": {"IfMatch": IF_MATCH, "IdempotencyKey": IDEMPOTENCY_KEY},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _operation(r: Route, ref: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": r.summary, "tags": [r.tag], "operationId": r.handler.__name__}
    names = re.findall(r"{(\w+)}", r.path)
    params: list[dict[str, Any]] = [{"name": n, "in": "path", "required": True, "schema": PATH_ID} for n in names]
    if r.query is not None:
        params += _query_parameters(r.query)
    if r.reads_if_match:
        params.append({"$ref": "#/components/parameters/IfMatch"})
    if _takes_idempotency_key(r):
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if params:
        op["parameters"] = params
    if r.body is not None or r.body_content:
        content = {JSON_TYPE: {"schema": ref(r.body)}} if r.body is not None else {}
        content.update({media: {"schema": ref(s) if _is_model(s) else s} for media, s in r.body_content.items()})
        op["requestBody"] = {"required": r.method != "POST" or r.status != 204, "content": content}
    op["responses"] = {str(r.status): _success(r, ref)}
    for code, answer in sorted(r.responses.items()):
        media_types = (JSON_TYPE,) if _is_model(answer) else tuple(answer)
        op["responses"][str(code)] = {
            "description": MEANINGS.get(code, "see the summary"),
            "headers": _headers(*r.headers) if 200 <= code < 300 else _headers(),
            "content": _content(media_types, answer, ref),
        }
    for code in sorted(_problem_codes(r, bool(names)) - set(r.responses)):
        op["responses"][str(code)] = {"$ref": f"#/components/responses/Problem{code}"}
    op["security"] = [] if r.public else [{"bearer": []}]
    return op


def _problem(code: int, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": MEANINGS[code],
        "headers": _headers(*PROBLEM_HEADERS.get(code, ())),
        "content": {PROBLEM_TYPE: {"schema": schema}},
    }


def _success(r: Route, ref: Any) -> dict[str, Any]:
    if r.status == 204:
        return {"description": "done", "headers": _headers()}
    extra = (*r.headers, "ETag") if _is_model(r.response) and "version" in r.response.model_fields else r.headers
    content = _content(r.content_types, r.response, ref)
    return {"description": "success", "headers": _headers(*extra), "content": content}


def _content(media_types: tuple[str, ...], model: Any, ref: Any) -> dict[str, Any]:
    """JSON as its model (any object without one); every other media type as a string."""
    content: dict[str, Any] = {}
    for media in media_types:
        if media == JSON_TYPE:
            content[media] = {"schema": ref(model) if _is_model(model) else {"type": "object"}}
        else:
            content[media] = {"schema": {"type": "string"}}
    return content


def _takes_idempotency_key(r: Route) -> bool:
    return r.method == "POST" and not r.public  # as cmms.api.app wraps them


def _problem_codes(r: Route, has_path_ids: bool) -> set[int]:
    """The route's own codes plus those that its inputs and its authentication can produce."""
    codes = set(r.errors)
    if not r.public:
        codes.add(401)
    if r.dependencies:
        codes.add(503)
    if has_path_ids:
        codes |= {404, 422}
    if r.body is not None:
        codes |= {400, 413, 422}
    if r.body_content:
        codes |= {413, 422}
    if set(r.body_content) - {JSON_TYPE}:
        codes.add(415)
    if r.query is not None or r.reads_if_match or _takes_idempotency_key(r):
        codes.add(422)
    if r.reads_if_match:
        codes.add(412)
    return codes


def _headers(*names: str) -> dict[str, Any]:
    """References to the shared headers; a name outside them is documented as an optional string."""
    return {
        name: {"$ref": f"#/components/headers/{name}"} if name in HEADERS else {"schema": {"type": "string"}}
        for name in ("X-Request-Id", *names)
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One parameter per field; an absent parameter is how a query says "no filter", so no null."""
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        parameter = {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        if name in QUERY_MEANINGS:
            parameter["description"] = QUERY_MEANINGS[name]
        out.append(parameter)
    return out


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    prop = {k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)}
    options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
    if "anyOf" in prop and len(options) == 1:
        rest = {k: v for k, v in prop.items() if k != "anyOf"}
        return {**options[0], **rest}
    if "anyOf" in prop:
        prop["anyOf"] = options
    return prop


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _is_input(model: type[BaseModel], routes: list[Route]) -> bool:
    return any(model in (r.body, r.query, *r.body_content.values()) for r in routes)


async def handler(request: web.Request) -> web.Response:
    from cmms.api.routes import ALL_TABLES

    return json(build(ALL_TABLES))
