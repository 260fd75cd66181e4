"""Prometheus metrics on a registry owned by the app (no process-global state to reset in tests)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric, StateSetMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from cmms.cache.breaker import CLOSED, HALF_OPEN, OPEN
from cmms.cache.cache import Cache


class CacheCollector(Collector):
    """Reads the cache's counters and breaker state at scrape time."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self.cache.stats
        for name, value, doc in (
            ("hits", stats.hits, "Cache reads answered from Redis"),
            ("misses", stats.misses, "Cache reads that went to PostgreSQL"),
            ("errors", stats.errors, "Redis errors met by the cache"),
            ("loads", stats.loads, "Database loads made on behalf of the cache"),
        ):
            yield CounterMetricFamily(f"cmms_cache_{name}", doc, value=value)
        state = StateSetMetricFamily("cmms_cache_breaker", "Cache circuit breaker state")
        state.add_metric([], {s: self.cache.breaker.state == s for s in (CLOSED, OPEN, HALF_OPEN)})
        yield state


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, cache: Cache | None = None) -> None:
        self.registry = CollectorRegistry()
        if cache is not None:
            self.registry.register(CacheCollector(cache))
        self.requests = Counter(
            "cmms_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "cmms_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
