"""Typed application keys: the state handlers may read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from cmms.api.metrics import Metrics
from cmms.services.deps import Deps

DEPS = web.AppKey("deps", Deps)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Callable[[], Awaitable[dict[str, dict[str, object]]]])
