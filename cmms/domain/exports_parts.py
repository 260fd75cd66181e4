"""The filters of the parts and stock CSV exports (kept apart from `exports` so each stays small)."""

from __future__ import annotations

from cmms.domain.model_types import Id, Input


class PartFilters(Input):
    low_only: bool = False  # only parts whose available stock is below min_qty somewhere


class StockFilters(Input):
    part_id: Id | None = None
    location_id: Id | None = None
