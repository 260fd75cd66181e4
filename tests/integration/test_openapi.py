"""The OpenAPI document describes every route the application serves, and only those."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.integration.support import Api, ok

SELF = "/api/openapi.json"


@pytest.fixture(scope="module")
async def document(anon: Api) -> dict[str, Any]:
    reply = await anon.get(SELF)  # public: integrations fetch it before they have a token
    return ok(reply)


def served(client: TestClient) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route registered on the running app."""
    pairs = set()
    for route in client.server.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path is None or path == SELF or route.method == "HEAD":
            continue
        pairs.add((route.method, path))
    return pairs


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def test_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert "bearer" in document["components"]["securitySchemes"]


def test_every_served_route_is_documented(client: TestClient, document: dict[str, Any]) -> None:
    routes = served(client)
    assert len(routes) > 20
    assert routes - documented(document) == set()


def test_every_documented_route_is_served(client: TestClient, document: dict[str, Any]) -> None:
    assert documented(document) - served(client) == set()


def test_operations_are_complete(document: dict[str, Any]) -> None:
    ids = []
    schemas = document["components"]["schemas"]
    for path, ops in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), where
            assert op.get("responses"), where
            ids.append(op["operationId"])
            in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert in_path == names, where
            if method in ("post", "patch", "put") and "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[-1] in schemas, where
            for code, response in op["responses"].items():
                if int(code) >= 400:
                    assert "application/problem+json" in response["content"], (where, code)
            if not path.startswith(("/health", "/metrics")) and not path.endswith(("/login", "/refresh")):
                assert op.get("security") == [{"bearer": []}], where
                assert "401" in op["responses"], where
    assert len(ids) == len(set(ids)), "operationIds are unique"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                assert ref.startswith("#/components/schemas/"), ref
                assert ref.rsplit("/", 1)[-1] in schemas, ref
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def test_contract_routes_are_present(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for method, path in [
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/plants"),
        ("get", "/api/v1/plants/{id}/assets"),
        ("post", "/api/v1/assets/{id}/readings"),
        ("get", "/api/v1/orders"),
        ("post", "/api/v1/orders/{id}/transition"),
        ("get", "/api/v1/plans"),
        ("post", "/api/v1/alerts/{id}/ack"),
        ("post", "/api/v1/alerts/{id}/resolve"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/events"),
        ("get", "/health/live"),
        ("get", "/health/ready"),
        ("get", "/metrics"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path}"
