"""The OpenAPI document describes every route the application serves, and only those."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from cmms.api.routes import ALL_TABLES
from cmms.api.routing import IF_MATCH_PATTERN, if_match
from cmms.domain.errors import ValidationFailed
from tests.integration.support import Api, Tenant, assert_problem, ok

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
            in_path = {name for where, name in parameters(document, op) if where == "path"}
            assert in_path == names, where
            if method in ("post", "patch", "put") and "requestBody" in op:
                body = op["requestBody"]["content"]
                assert all(media.get("schema") for media in body.values()), where
                if "application/json" in body:  # JSON bodies are the validating models
                    schema = body["application/json"]["schema"]
                    refs = [s["$ref"] for s in [schema, *schema.get("anyOf", [])] if "$ref" in s]
                    assert refs and all(ref.rsplit("/", 1)[-1] in schemas for ref in refs), where
            for code, response in op["responses"].items():
                response = resolve(document, response)
                if int(code) >= 400 and (method, path) != ("get", "/health/ready"):
                    assert "application/problem+json" in response["content"], (where, code)
            if not path.startswith(("/health", "/metrics")) and not path.endswith(("/login", "/refresh")):
                assert op.get("security") == [{"bearer": []}], where
                assert "401" in op["responses"], where
    assert len(ids) == len(set(ids)), "operationIds are unique"


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The object a `{"$ref": "#/components/..."}` names (the node itself when it is no reference)."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def parameters(document: dict[str, Any], op: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = (resolve(document, p) for p in op.get("parameters", []))
    return {(p["in"], p["name"]): p for p in found}


def test_every_response_documents_its_media_types_and_request_id(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        for code, ref in op["responses"].items():
            response = resolve(document, ref)
            where = f"{method.upper()} {path} {code}"
            headers = {name: resolve(document, h) for name, h in response.get("headers", {}).items()}
            assert headers["X-Request-Id"]["required"] is True, where
            if code == "204":
                assert "content" not in response, where
                continue
            assert response.get("content"), where
            for media, body in response["content"].items():
                assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+|\*/\*", media), where
                assert body.get("schema"), where
            if code in ("429", "503") and "application/problem+json" in response["content"]:
                assert "Retry-After" in headers, where
            if code == "401":
                assert "WWW-Authenticate" in headers, where


def test_non_json_answers_are_documented_as_what_they_are(document: dict[str, Any]) -> None:
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(metrics) == {"text/plain"}
    result = document["paths"]["/api/v1/jobs/{id}/result"]["get"]["responses"]["200"]
    assert {"text/csv", "text/html", "text/markdown", "application/json"} <= set(result["content"])
    assert "Content-Disposition" in result["headers"]


def test_versioned_resources_document_their_etag(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for method, path, op in operations(document):
        for code, response in op["responses"].items():
            if not code.startswith("2") or code == "204":
                continue
            schema = response["content"].get("application/json", {}).get("schema", {})
            name = schema.get("$ref", "").rsplit("/", 1)[-1]
            versioned = "version" in schemas.get(name, {}).get("properties", {})
            assert ("ETag" in response["headers"]) == versioned, f"{method.upper()} {path} {code}"


def test_patch_and_delete_document_if_match(document: dict[str, Any]) -> None:
    # Opting out is explicit (e.g. cancelling a job, revoking a key); those handlers read no If-Match.
    exempt = {(r.method.lower(), r.path) for table in ALL_TABLES for r in table.routes if r.if_match is False}
    assert ("delete", "/api/v1/jobs/{id}") in exempt
    for method, path, op in operations(document):
        header = parameters(document, op).get(("header", "If-Match"))
        if method in ("patch", "delete") and (method, path) not in exempt:
            assert header is not None, f"{method.upper()} {path}"
        if header is not None:
            assert header["schema"]["pattern"] == IF_MATCH_PATTERN
            assert {"412", "422"} <= set(op["responses"]), f"{method.upper()} {path}"


@pytest.mark.parametrize(
    ("value", "version"),
    [('"3"', 3), ('W/"3"', 3), ("3", 3), ("*", None), ('"999999999"', 999999999)]
    + [(bad, "bad") for bad in ("", "yesterday", '"3', '"1234567890"', '"-1"', '"²"', "W/3", '"3", "4"')],
)
def test_the_documented_if_match_pattern_is_what_the_server_reads(value: str, version: int | str | None) -> None:
    request = make_mocked_request("PATCH", "/", headers={"If-Match": value})
    assert (re.fullmatch(IF_MATCH_PATTERN.strip("^$"), value) is not None) == (version != "bad"), value
    if version == "bad":
        with pytest.raises(ValidationFailed):
            if_match(request)
    else:
        assert if_match(request) == version


def test_path_ids_and_limits_carry_the_constraints_the_server_checks(document: dict[str, Any]) -> None:
    for _method, path, op in operations(document):
        for (where, name), parameter in parameters(document, op).items():
            schema = parameter["schema"]
            if where == "path":
                assert schema == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, (path, name)
            if where == "query" and name == "limit":
                assert schema["type"] == "integer" and schema["minimum"] == 1, (path, schema)
                assert 1 <= schema["maximum"] <= 1000, (path, schema)
            if where == "query" and name == "cursor":
                assert schema["type"] == "string" and schema["maxLength"] <= 64, (path, schema)
            if where == "query":
                assert {"type": "null"} not in schema.get("anyOf", []), (path, name)


def test_every_secured_operation_requires_the_bearer_jwt(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    routes = {(r.method.lower(), r.path): r for table in ALL_TABLES for r in table.routes}
    for method, path, op in operations(document):
        route = routes[(method, path)]
        assert op["security"] == ([] if route.public else [{"bearer": []}]), f"{method.upper()} {path}"
        if not route.public:
            assert "401" in op["responses"], f"{method.upper()} {path}"


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                assert ref.startswith("#/components/"), ref
                kind, name = ref.removeprefix("#/components/").split("/")
                assert name in document["components"][kind], ref
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


def test_patch_fields_that_cannot_be_cleared_offer_no_null(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    kept = {
        "PlantPatch": ("name", "timezone"),
        "AssetPatch": ("name", "criticality", "status", "meters"),
        "OrderPatch": ("title", "description", "type", "priority", "downtime_minutes"),
        "PlanPatch": ("title", "instructions", "trigger", "schedule", "lead_days", "priority", "active"),
    }
    for model, names in kept.items():
        for name in names:
            prop = schemas[model]["properties"][name]
            assert {"type": "null"} not in prop.get("anyOf", []) and "default" not in prop, (model, name, prop)
    assert {"type": "null"} in schemas["PlantPatch"]["properties"]["code"]["anyOf"]  # a code may be cleared


async def test_what_the_schema_refuses_the_server_refuses_and_the_reverse(
    document: dict[str, Any], tenant: Tenant
) -> None:
    admin = tenant["admin"]
    name = document["components"]["schemas"]["PlantIn"]["properties"]["name"]
    blank = re.compile(name["not"]["pattern"])
    assert blank.search("   ") and blank.search("") and not blank.search(" North ")
    assert_problem(await admin.post("/api/v1/plants", {"name": "   "}), 422, "name")
    plant = ok(await admin.post("/api/v1/plants", {"name": " North "}), 201)
    assert_problem(await admin.patch(f"/api/v1/plants/{plant['id']}", {"name": None}), 422, "name")
    assert_problem(await admin.patch(f"/api/v1/plants/{plant['id']}", {"timezone": None}), 422, "timezone")
    plan = document["components"]["schemas"]["PlanIn"]
    assert plan["else"]["required"] == ["interval_days"]
    assert set(plan["then"]["required"]) == {"meter", "meter_interval"}


async def test_routes_that_document_if_match_read_it(tenant: Tenant) -> None:
    """A malformed If-Match is refused naming it: the header the document offers is one the handler reads."""
    admin = tenant["admin"]
    checked, unread = 0, []
    for route in (r for table in ALL_TABLES for r in table.routes if r.reads_if_match):
        path = re.sub(r"{\w+}", "1", route.path)
        reply = await admin.request(route.method, path, json={}, headers={"If-Match": "yesterday"})
        fields = [e.get("field") for e in (reply.json.get("errors") or [])] if reply.status == 422 else []
        if "If-Match" not in fields:
            unread.append(f"{route.method} {route.path}: {reply.status}")
        checked += 1
    assert checked >= 10
    assert unread == [], "declare if_match=False on routes that do not read it"
