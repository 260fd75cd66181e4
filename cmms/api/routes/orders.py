"""Orders."""

from __future__ import annotations

from cmms.api.routing import RouteTable

routes = RouteTable("orders")
