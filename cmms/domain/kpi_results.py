"""The result documents of the KPIs and the rule each one states: what `GET /api/v1/kpis` returns.

Kept apart from the arithmetic in `cmms.domain.kpi` (which re-exports them) so each module stays small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cmms.domain.model_types import Criticality, OrderType
from cmms.domain.workflow import Status

DONE = frozenset({Status.COMPLETED, Status.CLOSED})
BACKLOG = frozenset({Status.OPEN, Status.IN_PROGRESS, Status.ON_HOLD})
REPAIR_TYPES = frozenset({OrderType.CORRECTIVE, OrderType.EMERGENCY})
PLANNED_TYPES = frozenset({OrderType.PREVENTIVE, OrderType.INSPECTION})
HOURS_BY_PRIORITY: dict[Criticality, float] = {
    Criticality.LOW: 2.0,
    Criticality.MEDIUM: 4.0,
    Criticality.HIGH: 6.0,
    Criticality.CRITICAL: 8.0,
}

MTTR_RULE = (
    "total downtime of corrective and emergency orders completed (or closed) in the period / their number, in hours"
)
MTBF_RULE = (
    "(observed hours x non-retired assets in scope - downtime of orders completed on them in the period)"
    " / corrective and emergency orders completed on them in the period"
)
PM_RULE = (
    "preventive orders due in the period, completed no later than due_at + 10% of the plan's interval_days"
    " (no grace without a calendar interval) / on time + late + missed; orders whose deadline is still ahead"
    " are pending and left out"
)
PLANNED_RULE = "preventive + inspection orders / all orders completed in the period (order counts; no labour hours)"
BACKLOG_RULE = (
    "open, in-progress and on-hold orders now, at low 2 h, medium 4 h, high 6 h, critical 8 h each;"
    " crew-weeks = hours / (active technicians x 40 h)"
)
COUNTS_RULE = "orders created in the period, by their current status, priority and type"
DOWNTIME_RULE = "downtime of orders of any type completed in the period, per asset"
PLANNED_HOURS_RULE = (
    "labour hours on preventive + inspection orders / all labour hours recorded in the period x 100"
    " (SMRP planned maintenance percentage); a time entry counts in the period it started"
)
MTTR_REPAIR_RULE = (
    "repair time of corrective and emergency orders completed (or closed) in the period / their number, in hours;"
    " an order's repair time is its recorded labour, or its downtime when no time was recorded on it"
)
LABOUR_COST_RULE = (
    "time entries started in the period: minutes x the entry's hourly rate / 60, rounded half-up to cents per"
    " entry, summed per asset and per plant (orders without an asset or plant under null)"
)


# ---- results --------------------------------------------------------------------------------------


class Result(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PeriodOut(Result):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    as_of: datetime
    observed_hours: float
    plant_id: int | None


class Mttr(Result):
    hours: float | None
    repairs: int
    repair_hours: float
    basis: str = "downtime"  # or "repair time": recorded labour where there is some
    timed_repairs: int = 0  # repairs whose repair time is recorded labour
    rule: str = MTTR_RULE


class AssetMtbf(Result):
    asset_id: int
    name: str
    failures: int
    downtime_hours: float
    operating_hours: float
    mtbf_hours: float


class Mtbf(Result):
    hours: float | None
    failures: int
    operating_hours: float
    assets: int
    by_asset: list[AssetMtbf]
    rule: str = MTBF_RULE


class PmCompliance(Result):
    percent: float | None
    on_time: int
    late: int
    missed: int
    pending: int
    considered: int
    rule: str = PM_RULE


class PlannedShare(Result):
    percent: float | None
    planned: int
    total: int
    basis: str = "order counts"  # or "labour hours" once time is recorded in the period
    planned_hours: float | None = None
    total_hours: float | None = None
    rule: str = PLANNED_RULE


class Backlog(Result):
    orders: int
    hours: float
    technicians: int
    crew_hours_per_week: float
    crew_weeks: float | None
    by_priority: dict[str, int]
    hours_per_order: dict[str, float] = Field(default_factory=lambda: {str(k): v for k, v in HOURS_BY_PRIORITY.items()})
    rule: str = BACKLOG_RULE


class OrderCounts(Result):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_type: dict[str, int]
    rule: str = COUNTS_RULE


class AssetDowntime(Result):
    asset_id: int
    name: str
    downtime_hours: float
    orders: int


class AssetLabour(Result):
    asset_id: int | None
    name: str
    hours: float
    cost: str


class PlantLabour(Result):
    plant_id: int | None
    name: str
    hours: float
    cost: str


class LabourCost(Result):
    hours: float
    cost: str
    currency: str
    by_asset: list[AssetLabour]
    by_plant: list[PlantLabour]
    rule: str = LABOUR_COST_RULE


class Kpis(Result):
    period: PeriodOut
    mttr: Mttr
    mtbf: Mtbf
    pm_compliance: PmCompliance
    planned_percentage: PlannedShare
    backlog: Backlog
    orders: OrderCounts
    top_assets_by_downtime: list[AssetDowntime]
    labour_cost: LabourCost
    downtime_rule: str = DOWNTIME_RULE

    def as_json(self) -> dict[str, Any]:
        """The wire form: `from` for the period start, RFC 3339 times."""
        return self.model_dump(mode="json", by_alias=True)
