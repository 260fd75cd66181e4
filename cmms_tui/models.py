"""What the server sends, as typed dictionaries, and the vocabularies the console shows.

These mirror the HTTP contract (CONTRACT.md), not the server's code: the console never imports `cmms`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

ORDER_STATUSES = ("requested", "open", "in_progress", "on_hold", "completed", "closed", "cancelled")
ACTIVE_STATUSES = ("requested", "open", "in_progress", "on_hold")
PRIORITIES = ("critical", "high", "medium", "low")
ORDER_TYPES = ("corrective", "preventive", "inspection", "emergency")
ASSET_STATUSES = ("operational", "down", "maintenance", "retired")
SEVERITIES = ("critical", "warning", "info")
SUPERVISORS = frozenset({"admin", "manager"})
STAFF = frozenset({"admin", "manager", "technician"})


class User(TypedDict):
    id: int
    email: str
    name: str | None
    role: str
    active: bool


class Person(TypedDict):
    """One entry of GET /api/v1/directory/users: enough to show a name for an id."""

    id: int
    name: str | None
    role: str
    active: bool
    email: NotRequired[str | None]  # staff see it, requesters do not


class Tenant(TypedDict):
    id: int
    name: str
    display_name: NotRequired[str | None]


class Me(TypedDict):
    user: User
    tenant: Tenant
    role: str


class Plant(TypedDict):
    id: int
    name: str
    code: str | None
    version: int


class Asset(TypedDict):
    id: int
    plant_id: int
    parent_id: int | None
    name: str
    code: str | None
    type: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    criticality: str
    status: str
    meters: list[dict[str, Any]]
    version: int
    created_at: str
    updated_at: str


class Order(TypedDict):
    id: int
    number: str
    title: str
    description: str
    type: str
    priority: str
    status: str
    asset_id: int | None
    plant_id: int | None
    assignee_id: int | None
    requested_by: int | None
    plan_id: int | None
    due_at: str | None
    started_at: str | None
    completed_at: str | None
    closed_at: str | None
    downtime_minutes: int
    version: int
    created_at: str
    updated_at: str
    allowed_transitions: NotRequired[list[str]]


class Note(TypedDict):
    id: int
    order_id: int
    author_id: int | None
    body: str
    created_at: str


class AuditEntry(TypedDict):
    id: int
    actor_id: int | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, Any]
    at: str


class Plan(TypedDict):
    id: int
    asset_id: int
    title: str
    trigger: str
    schedule: str
    interval_days: int | None
    meter: str | None
    meter_interval: float | None
    priority: str
    next_due_at: str | None
    next_due_meter: float | None
    active: bool
    version: int


class Alert(TypedDict):
    id: int
    asset_id: int | None
    kind: str
    severity: str
    status: str
    message: str
    version: int
    created_at: str
    asset: NotRequired[dict[str, Any] | None]


class Reading(TypedDict):
    id: int
    asset_id: int
    meter: str
    value: float
    at: str


class SearchHit(TypedDict):
    type: str  # "orders" | "assets" | "audit"
    id: int
    title: str
    snippet: str  # HTML-safe; its only markup is <mark>…</mark>
    score: NotRequired[float]
    number: NotRequired[str]  # orders
    status: NotRequired[str]
    code: NotRequired[str | None]  # assets


class Envelope(TypedDict):
    """One Socket.IO event (`seq` is absent on ephemeral events such as job:progress)."""

    type: str
    data: dict[str, Any]
    seq: NotRequired[int]
    at: NotRequired[str]
    tenant_id: NotRequired[int]


class TokenPair(TypedDict):
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


# ---- background jobs ----------------------------------------------------------------------------

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
JOB_FINISHED = frozenset({"completed", "failed", "cancelled"})
EXPORT_ENTITIES = ("orders", "assets", "readings", "audit")
REPORT_FORMATS = ("html", "md", "json")


class Job(TypedDict):
    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: float
    message: str
    attempts: int
    max_attempts: int
    result: dict[str, Any] | None
    result_type: str | None
    error: str | None
    requested_by: int | None
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    version: int


# ---- KPIs (GET /api/v1/kpis) --------------------------------------------------------------------


# The period starts at "from", a keyword: hence the functional form.
KpiPeriod = TypedDict(
    "KpiPeriod", {"from": str, "to": str, "as_of": str, "observed_hours": float, "plant_id": int | None}
)


class Mttr(TypedDict):
    hours: float | None
    repairs: int
    repair_hours: float


class Mtbf(TypedDict):
    hours: float | None
    failures: int
    operating_hours: float
    assets: int


class PmCompliance(TypedDict):
    percent: float | None
    on_time: int
    late: int
    missed: int
    pending: int
    considered: int


class PlannedShare(TypedDict):
    percent: float | None
    planned: int
    total: int


class Backlog(TypedDict):
    orders: int
    hours: float
    technicians: int
    crew_weeks: float | None
    by_priority: dict[str, int]


class OrderCounts(TypedDict):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_type: dict[str, int]


class AssetDowntime(TypedDict):
    asset_id: int
    name: str
    downtime_hours: float
    orders: int


class Kpis(TypedDict):
    period: KpiPeriod
    mttr: Mttr
    mtbf: Mtbf
    pm_compliance: PmCompliance
    planned_percentage: PlannedShare
    backlog: Backlog
    orders: OrderCounts
    top_assets_by_downtime: list[AssetDowntime]
