"""Prometheus metrics on a registry owned by the app (no process-global state to reset in tests)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    StateSetMetricFamily,
)
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
            ("hits", stats.hits, "Cache reads answered from the cache (this process or Redis)"),
            ("misses", stats.misses, "Cache reads that went to PostgreSQL"),
            ("errors", stats.errors, "Redis errors met by the cache"),
            ("loads", stats.loads, "Database loads made on behalf of the cache"),
        ):
            yield CounterMetricFamily(f"cmms_cache_{name}", doc, value=value)
        yield GaugeMetricFamily(
            "cmms_cache_pushed",
            "1 while cache versions are pushed to this process (no Redis round trip per read), 0 otherwise",
            value=int(self.cache.book.trusted),
        )
        state = StateSetMetricFamily("cmms_cache_breaker", "Cache circuit breaker state")
        state.add_metric([], {s: self.cache.breaker.state == s for s in (CLOSED, OPEN, HALF_OPEN)})
        yield state


class RequestCollector(Collector):
    """Request counts and latencies in plain dictionaries, turned into metric families at scrape
    time: prometheus_client's labelled metrics cost several microseconds (a lock, a bucket scan)
    per observation, more than a cached answer is worth. One event loop per process writes them."""

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}  # a count per bucket, +Inf, then the sum

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        series = self.latency.get((method, route))
        if series is None:
            series = self.latency[(method, route)] = [0.0] * (len(self.BUCKETS) + 2)
        series[bisect_left(self.BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("cmms_http_requests", "HTTP requests", labels=["method", "route", "status"])
        for (method, route, status), count in list(self.counts.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily("cmms_http_request_seconds", "HTTP request latency", labels=["method", "route"])
        for labels, series in list(self.latency.items()):
            cumulative = list(accumulate(series[:-1]))
            bounds = [*(str(b) for b in self.BUCKETS), "+Inf"]
            latency.add_metric(list(labels), list(zip(bounds, cumulative, strict=True)), sum_value=series[-1])
        yield latency


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, cache: Cache | None = None) -> None:
        self.registry = CollectorRegistry()
        if cache is not None:
            self.registry.register(CacheCollector(cache))
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        self.observe = self.requests.observe

    def render(self) -> bytes:
        return generate_latest(self.registry)
