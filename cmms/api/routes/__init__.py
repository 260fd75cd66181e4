"""Every route table of the API, in the order OpenAPI lists them."""

from cmms.api.routes import (
    alerts,
    assets,
    audit,
    auth,
    directory,
    events,
    health,
    jobs,
    kpis,
    orders,
    parts,
    plans,
    plants,
    procedures,
    search,
    stock,
    time_cost,
    users,
)
from cmms.api.routing import RouteTable

ALL_TABLES: list[RouteTable] = [
    auth.routes,
    users.routes,
    directory.routes,
    plants.routes,
    assets.routes,
    orders.routes,
    plans.routes,
    procedures.routes,
    time_cost.routes,
    parts.routes,
    stock.routes,
    alerts.routes,
    audit.routes,
    search.routes,
    events.routes,
    jobs.routes,
    kpis.routes,
    health.routes,
]
