"""The demo's stores: a store per plant, 40 common spare parts, stock, purchase orders in every state,
parts issued on completed work orders, and one part below its minimum (with its low-stock alert).

Built through the services, like the rest of `cmms demo`, so every move is in the ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cmms.domain.inventory import OrderPartIn
from cmms.domain.model import OrderIn, TransitionIn
from cmms.domain.purchasing import POLineIn, POStatus, POTransitionIn, PurchaseOrderIn, ReceiptIn, ReceiptLineIn
from cmms.domain.roles import Actor
from cmms.domain.stock import MoveKind
from cmms.domain.workflow import Status
from cmms.services import order_parts, orders, purchasing, stock
from cmms.services.common import mutation
from cmms.services.deps import Deps
from cmms.services.parts import LOCATIONS, PARTS, VENDORS

D = Decimal
# number, name, unit, unit cost, stock per store, min, reorder
CATALOGUE: list[tuple[str, str, str, str, str, str, str]] = [
    ("SKF-6204-2RS", "Deep groove ball bearing 6204-2RS", "pcs", "6.80", "24", "6", "20"),
    ("SKF-6205-2RS", "Deep groove ball bearing 6205-2RS", "pcs", "7.90", "30", "8", "24"),
    ("SKF-6206-2Z", "Deep groove ball bearing 6206-2Z", "pcs", "9.40", "16", "4", "12"),
    ("SKF-6305-2RS", "Deep groove ball bearing 6305-2RS", "pcs", "12.60", "10", "3", "10"),
    ("SKF-6310-C3", "Deep groove ball bearing 6310 C3", "pcs", "38.50", "4", "1", "4"),
    ("SKF-22212-E", "Spherical roller bearing 22212 E", "pcs", "145.00", "2", "1", "2"),
    ("FAG-7207-B", "Angular contact bearing 7207-B", "pcs", "41.20", "4", "2", "4"),
    ("UCP-205", "Pillow block bearing unit UCP 205", "pcs", "18.90", "8", "2", "6"),
    ("MS-35-EN", "Mechanical seal 35 mm, carbon/SiC", "pcs", "86.00", "4", "2", "4"),
    ("MS-45-EN", "Mechanical seal 45 mm, SiC/SiC", "pcs", "132.00", "2", "1", "2"),
    ("RSS-40628", "Radial shaft seal 40x62x8 NBR", "pcs", "3.20", "40", "10", "40"),
    ("RSS-50728", "Radial shaft seal 50x72x8 FKM", "pcs", "7.40", "20", "6", "20"),
    ("OR-KIT-NBR", "O-ring kit NBR 70, 382 pieces", "pcs", "54.00", "2", "1", "2"),
    ("GSK-DN50", "Flange gasket DN50 PN16, graphite", "pcs", "4.10", "30", "8", "30"),
    ("GSK-DN80", "Flange gasket DN80 PN16, graphite", "pcs", "5.60", "20", "6", "20"),
    ("VB-SPA-1250", "V-belt SPA 1250", "pcs", "11.30", "12", "4", "12"),
    ("VB-SPZ-1000", "V-belt SPZ 1000", "pcs", "8.70", "12", "4", "12"),
    ("VB-XPB-1600", "Cogged V-belt XPB 1600", "pcs", "24.80", "6", "2", "6"),
    ("TB-HTD8M-1200", "Timing belt HTD 8M-1200-30", "pcs", "46.00", "3", "1", "3"),
    ("CB-RD-24V", "Conveyor roller drive belt, round 6 mm", "m", "2.40", "50", "10", "50"),
    ("FLT-AIR-GA30", "Air filter element, GA 30 compressor", "pcs", "38.00", "6", "2", "6"),
    ("FLT-OIL-GA30", "Oil filter, GA 30 compressor", "pcs", "29.50", "6", "2", "6"),
    ("FLT-SEP-GA30", "Oil separator element, GA 30", "pcs", "118.00", "2", "1", "2"),
    ("FLT-HYD-10", "Hydraulic return filter 10 µm", "pcs", "44.00", "4", "2", "4"),
    ("FLT-BAG-25", "Filter bag 25 µm, polypropylene", "pcs", "3.90", "40", "10", "40"),
    ("OIL-VG68", "Hydraulic oil ISO VG 68", "l", "3.10", "200", "40", "200"),
    ("OIL-VG220", "Gear oil ISO VG 220", "l", "4.60", "100", "20", "100"),
    ("OIL-COMP-46", "Compressor oil, synthetic VG 46", "l", "9.80", "40", "10", "40"),
    ("OIL-H1-FOOD", "Food-grade lubricant NSF H1", "l", "14.20", "20", "5", "20"),
    ("GRS-LGMT2", "Bearing grease LGMT 2", "kg", "12.40", "18", "4", "18"),
    ("GRS-H1-EP2", "Food-grade grease EP 2", "kg", "21.00", "8", "2", "8"),
    ("CPL-L100", "Jaw coupling L100, spider insert", "pcs", "15.60", "6", "2", "6"),
    ("CTR-3P-18A", "Contactor 3-pole 18 A, 24 V DC coil", "pcs", "42.00", "4", "1", "4"),
    ("FUSE-10A-gG", "Fuse 10 A gG 10x38", "pcs", "1.20", "50", "10", "50"),
    ("SNS-IND-M18", "Inductive proximity sensor M18", "pcs", "34.00", "4", "2", "4"),
    ("PMP-IMP-32", "Pump impeller 32-160, cast iron", "pcs", "210.00", "1", "1", "1"),
    ("NZL-FILL-12", "Filler valve nozzle 12 mm", "pcs", "27.00", "10", "4", "10"),
    ("CHN-08B-1", "Roller chain 08B-1, 5 m", "pcs", "36.00", "3", "1", "3"),
    ("SPR-CMP-20", "Compression spring 20x2 mm", "pcs", "0.85", "60", "20", "60"),
    ("CLN-IPA", "Isopropyl alcohol cleaner", "l", "6.50", "10", "6", "20"),
]
SHORT = "CLN-IPA"  # received below its minimum at the first store: the demo's low-stock alert
VENDOR_NAMES = [("Nordic Bearings AB", "orders@nordic-bearings.example"), ("Fluid & Filter GmbH", None)]


async def seed_parts(deps: Deps, manager: Actor, tech: Actor, machines: list[dict[str, Any]]) -> None:
    plant_ids = list(dict.fromkeys(m["plant_id"] for m in machines))
    stores = [
        await LOCATIONS.create(deps, manager, {"name": f"Main store {i}", "plant_id": pid})
        for i, pid in enumerate(plant_ids, 1)
    ]
    vendors = [await VENDORS.create(deps, manager, {"name": n, "email": e}) for n, e in VENDOR_NAMES]
    parts: dict[str, dict[str, Any]] = {}
    for number, name, unit, cost, qty, minimum, reorder in CATALOGUE:
        values = {"number": number, "name": name, "unit": unit, "min_qty": D(minimum), "reorder_qty": D(reorder)}
        part = await PARTS.create(deps, manager, values)
        parts[number] = part
        for si, store in enumerate(stores):
            amount = D(qty) / 2 if number == SHORT and si == 0 else D(qty)
            spec = stock.Spec(
                part["id"], store["id"], MoveKind.RECEIVE, amount, unit_cost=D(cost), note="opening stock"
            )
            async with mutation(deps, manager) as cur:
                pending = stock.Pending()
                await stock.post(cur, manager, spec, pending)
                await stock.flush(cur, manager, pending)
    await _purchase_orders(deps, manager, vendors, stores[0], parts)
    await _used_on_orders(deps, manager, tech, machines, stores, parts)


async def _purchase_orders(
    deps: Deps, manager: Actor, vendors: list[dict[str, Any]], store: dict[str, Any], parts: dict[str, dict[str, Any]]
) -> None:
    """One purchase order in each state: draft, ordered, partially received, received, cancelled."""
    wanted = [
        (None, [("SKF-6205-2RS", "24", "7.60"), ("SKF-6310-C3", "4", "37.90")]),
        (POStatus.ORDERED, [("FLT-AIR-GA30", "6", "36.50"), ("FLT-OIL-GA30", "6", "28.00")]),
        (POStatus.PARTIALLY_RECEIVED, [("OIL-VG68", "200", "2.95"), ("GRS-LGMT2", "18", "11.90")]),
        (POStatus.RECEIVED, [("VB-SPA-1250", "12", "10.80")]),
        (POStatus.CANCELLED, [("PMP-IMP-32", "1", "205.00")]),
    ]
    for i, (status, lines) in enumerate(wanted):
        body = PurchaseOrderIn(
            vendor_id=vendors[i % len(vendors)]["id"],
            location_id=store["id"],
            reference=f"PO-2026-{101 + i}",
            lines=[POLineIn.model_validate({"part_id": parts[n]["id"], "qty": q, "unit_cost": c}) for n, q, c in lines],
        )
        po = await purchasing.create(deps, manager, body)
        if status is None:
            continue
        if status == POStatus.CANCELLED:
            await purchasing.transition(deps, manager, po["id"], POTransitionIn(to=POStatus.CANCELLED), None)
            continue
        await purchasing.transition(deps, manager, po["id"], POTransitionIn(to=POStatus.ORDERED), None)
        if status == POStatus.ORDERED:
            continue
        share = D(1) if status == POStatus.RECEIVED else D("0.5")
        receipt = [
            ReceiptLineIn.model_validate({"line_id": line["id"], "qty": format(D(line["qty"]) * share, "f")})
            for line in po["lines"]
        ]
        await purchasing.receive(deps, manager, po["id"], ReceiptIn(lines=receipt), None)


async def _used_on_orders(
    deps: Deps,
    manager: Actor,
    tech: Actor,
    machines: list[dict[str, Any]],
    stores: list[dict[str, Any]],
    parts: dict[str, dict[str, Any]],
) -> None:
    """Completed repairs that used parts: planned, issued at the average cost, then completed."""
    jobs = [
        ("Replace drive end bearing", [("SKF-6205-2RS", "2"), ("GRS-LGMT2", "0.25")]),
        ("Change worn V-belts", [("VB-SPA-1250", "3")]),
        ("Compressor 2,000 h service", [("FLT-AIR-GA30", "1"), ("FLT-OIL-GA30", "1"), ("OIL-COMP-46", "6.5")]),
        ("Renew leaking shaft seal", [("RSS-40628", "1"), ("OIL-VG220", "2.5")]),
    ]
    for i, (title, used) in enumerate(jobs):
        machine = machines[i % len(machines)]
        store = next((s for s in stores if s["plant_id"] == machine["plant_id"]), stores[0])
        body = OrderIn(title=f"{title} on {machine['name']}", asset_id=machine["id"], assignee_id=tech.user_id)
        order = await orders.create(deps, manager, body)
        await orders.transition(deps, tech, order["id"], TransitionIn(to=Status.IN_PROGRESS), None)
        for number, qty in used:
            line_in = OrderPartIn.model_validate(
                {"part_id": parts[number]["id"], "location_id": store["id"], "qty": qty}
            )
            line = await order_parts.plan(deps, tech, order["id"], line_in)
            await order_parts.issue(deps, tech, order["id"], line["id"], None)
        await orders.transition(deps, tech, order["id"], TransitionIn(to=Status.COMPLETED), None)
