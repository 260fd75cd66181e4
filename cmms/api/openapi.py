"""OpenAPI 3.1, generated from the route tables and the same pydantic models that validate input."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cmms.api.routing import Route, json
from cmms.domain.model import Problem

REF = "#/components/schemas/{model}"


def build(tables: list[Any]) -> dict[str, Any]:
    routes: list[Route] = [r for t in tables for r in t.routes]
    models: list[type[BaseModel]] = [Problem]
    for r in routes:
        for m in (r.body, r.query, r.response):
            if isinstance(m, type) and issubclass(m, BaseModel) and m not in models:
                models.append(m)
    keyed, defs = models_json_schema(
        [(m, "validation" if _is_input(m, routes) else "serialization") for m in models], ref_template=REF
    )
    schemas = defs.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        mode = "validation" if _is_input(model, routes) else "serialization"
        return keyed[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": r.handler.__name__,
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
            for name in re.findall(r"{(\w+)}", r.path)
        ]
        if r.query is not None:
            schema = r.query.model_json_schema(ref_template=REF)
            for name, prop in schema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
                )
        if (
            r.method != "GET"
            and "{id}" in r.path
            and not r.path.endswith("/notes")
            and not r.path.endswith("/readings")
        ):
            params.append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "the ETag of the version you read",
                }
            )
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {
                "required": r.method != "POST" or r.status != 204,
                "content": {"application/json": {"schema": ref(r.body)}},
            }
        if r.status == 204:
            op["responses"]["204"] = {"description": "done"}
        else:
            content = (
                {"application/json": {"schema": ref(r.response)}}
                if r.response
                else {"application/json": {"schema": {"type": "object"}}}
            )
            op["responses"][str(r.status)] = {"description": "success", "content": content}
        problem = {"application/problem+json": {"schema": ref(Problem)}}
        codes = set(r.errors) | ({400, 422} if r.body or r.query else set()) | (set() if r.public else {401})
        for code in sorted(codes):
            op["responses"][str(code)] = {"description": "problem", "content": problem}
        if not r.public:
            op["security"] = [{"bearer": []}]
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "CMMS API", "version": "1", "description": "Work orders, assets, PM plans and alerts."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _is_input(model: type[BaseModel], routes: list[Route]) -> bool:
    return any(model in (r.body, r.query) for r in routes)


async def handler(request: web.Request) -> web.Response:
    from cmms.api.routes import ALL_TABLES

    return json(build(ALL_TABLES))
