"""What callers send and receive for parts, stock locations, vendors, moves and order part lines.

Quantities and money are decimal strings in both directions (see `cmms.domain.stock`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from cmms.domain.model_outputs import Resource
from cmms.domain.model_queries import PageQuery
from cmms.domain.model_types import Code, Email, Id, Input, Money, Name, ShortText
from cmms.domain.stock import MoveKind, Qty, QtyOrZero, SignedQty

Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
Barcode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Note = Annotated[str, StringConstraints(max_length=2000)]


class PartIn(Input):
    number: Code
    name: Name
    unit: Unit = "pcs"
    description: Description = ""
    barcode: Barcode | None = None
    min_qty: QtyOrZero = Decimal(0)
    reorder_qty: QtyOrZero = Decimal(0)


class PartPatch(Input):
    number: Code | None = None
    name: Name | None = None
    unit: Unit | None = None
    description: Description | None = None
    barcode: Barcode | None = None
    min_qty: QtyOrZero | None = None
    reorder_qty: QtyOrZero | None = None


class PartQuery(PageQuery):
    number: Code | None = None
    barcode: Barcode | None = None


class LocationIn(Input):
    name: Name
    plant_id: Id | None = None


class LocationPatch(Input):
    name: Name | None = None
    plant_id: Id | None = None


class LocationQuery(PageQuery):
    plant_id: Id | None = None


class VendorIn(Input):
    name: Name
    email: Email | None = None
    phone: ShortText | None = None
    notes: Description = ""


class VendorPatch(Input):
    name: Name | None = None
    email: Email | None = None
    phone: ShortText | None = None
    notes: Description | None = None


class MoveIn(Input):
    part_id: Id
    location_id: Id
    kind: MoveKind
    qty: SignedQty
    unit_cost: Money | None = None
    order_id: Id | None = None
    to_location_id: Id | None = None
    note: Note = ""


class MoveQuery(PageQuery):
    part_id: Id | None = None
    order_id: Id | None = None
    location_id: Id | None = None


class OrderPartIn(Input):
    part_id: Id
    location_id: Id
    qty: Qty


class Part(Resource):
    number: str
    name: str
    unit: str
    description: str
    barcode: str | None
    min_qty: str
    reorder_qty: str
    average_cost: str


class Location(Resource):
    name: str
    plant_id: int | None


class Vendor(Resource):
    name: str
    email: str | None
    phone: str | None
    notes: str


class StockLevel(BaseModel):
    location_id: int
    on_hand: str
    reserved: str
    available: str
    low: bool
    reorder_qty: str | None


class PartStock(BaseModel):
    part_id: int
    unit: str
    min_qty: str
    average_cost: str
    on_hand: str
    available: str
    locations: list[StockLevel]


class Move(BaseModel):
    id: int
    part_id: int
    location_id: int
    kind: MoveKind
    qty: str
    unit_cost: str
    to_location_id: int | None
    order_id: int | None
    order_part_id: int | None
    purchase_order_id: int | None
    note: str
    created_by: int | None
    created_at: datetime


class OrderPart(Resource):
    order_id: int
    part_id: int
    location_id: int
    qty: str
    status: str
    unit_cost: str | None
    cost: str | None
    issued_at: datetime | None
    created_by: int | None


class LowStock(BaseModel):
    part_id: int
    number: str
    name: str
    unit: str
    location_id: int
    location: str
    on_hand: str
    reserved: str
    available: str
    min_qty: str
    reorder_qty: str


class LowStockList(BaseModel):
    items: list[LowStock]


class LevelAt(StockLevel):
    location: str


class PartWithStock(Part):
    on_hand: str
    available: str
    low: bool
    locations: list[LevelAt]
