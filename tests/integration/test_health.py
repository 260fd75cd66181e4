"""Liveness, readiness per dependency, and Prometheus metrics."""

from __future__ import annotations

from tests.integration.support import Api, ok


async def test_live(anon: Api) -> None:
    assert ok(await anon.get("/health/live")) == {"status": "ok"}


async def test_ready_reports_each_dependency(anon: Api) -> None:
    body = ok(await anon.get("/health/ready"))
    assert body["status"] == "ok"
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


async def test_metrics_count_requests_by_route_template(anon: Api) -> None:
    await anon.get("/api/v1/plants/12345")  # 401, counted under its template
    reply = await anon.get("/metrics")
    assert reply.status == 200
    assert reply.content_type == "text/plain"
    assert "cmms_http_requests_total" in reply.text
    assert 'route="/api/v1/plants/{id}"' in reply.text
    assert "/api/v1/plants/12345" not in reply.text
