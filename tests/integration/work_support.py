"""Helpers for the tests of the work on an order: a plant, an asset with meters, procedures, orders."""

from __future__ import annotations

from typing import Any

from tests.integration.support import Api, Tenant, ok, unique

# One item of every type: what the validation tests record against.
EVERY_TYPE: list[dict[str, Any]] = [
    {"label": "Safety", "type": "heading"},
    {"label": "Lock out and tag out", "type": "checkbox", "required": True},
    {"label": "Seal condition", "type": "pass_fail", "required": True},
    {"label": "Vibration DE", "type": "number", "unit": "mm/s", "min": 0, "max": 4.5, "required": True},
    {"label": "Remarks", "type": "text"},
    {"label": "Oil colour", "type": "choice", "options": ["clear", "dark", "milky"]},
    {"label": "Running hours", "type": "meter", "meter": "hours", "unit": "h"},
]


async def site(tenant: Tenant) -> dict[str, Any]:
    """A plant and a pump with an `hours` meter (limit 0..100000) and a `temp` meter (max 90)."""
    admin = tenant["admin"]
    plant = ok(await admin.post("/api/v1/plants", {"name": unique("plant")}), 201)
    meters = [{"name": "hours", "unit": "h", "min": 0, "max": 100000}, {"name": "temp", "max": 90}]
    asset = ok(await admin.post("/api/v1/assets", {"name": "Pump", "plant_id": plant["id"], "meters": meters}), 201)
    return {"plant": plant, "asset": asset}


async def procedure(api: Api, items: list[dict[str, Any]] | None = None, name: str | None = None) -> dict[str, Any]:
    body = {"name": name or unique("procedure"), "items": items or EVERY_TYPE}
    return ok(await api.post("/api/v1/procedures", body), 201)


async def order(
    tenant: Tenant, asset_id: int | None = None, *, assignee: str = "technician", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": unique("order"), "assignee_id": tenant[assignee].user_id, **fields}
    if asset_id is not None:
        body["asset_id"] = asset_id
    return ok(await tenant["admin"].post("/api/v1/orders", body), 201)


async def order_with_checklist(
    tenant: Tenant, asset_id: int | None, items: list[dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An order assigned to the technician with a fresh procedure attached: (order, checklist)."""
    proc = await procedure(tenant["admin"], items)
    wo = await order(tenant, asset_id)
    reply = await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/checklist", {"procedure_id": proc["id"]})
    checklist = ok(reply, 201)
    return wo, checklist


def item_of(checklist: dict[str, Any], label: str) -> dict[str, Any]:
    return next(i for i in checklist["items"] if i["label"] == label)


async def record(api: Api, order_id: int, item_id: int, body: dict[str, Any], **kw: Any) -> Any:
    return await api.patch(f"/api/v1/orders/{order_id}/checklist/items/{item_id}", body, **kw)


async def to_in_progress(tenant: Tenant, order_id: int) -> None:
    ok(await tenant["technician"].post(f"/api/v1/orders/{order_id}/transition", {"to": "in_progress"}))


# ---- role matrices --------------------------------------------------------------------------------

# Who calls: the assigned technician is "technician"; "technician2" is another one; "requester"
# filed the order (so it is visible to them, and only its status is theirs to see).
CALLERS = ["admin", "manager", "technician", "technician2", "requester"]


async def requested_order(tenant: Tenant, asset_id: int | None = None) -> dict[str, Any]:
    """An order the requester filed, approved and assigned to the technician by the admin."""
    body: dict[str, Any] = {"title": unique("request")}
    if asset_id is not None:
        body["asset_id"] = asset_id
    wo = ok(await tenant["requester"].post("/api/v1/orders", body), 201)
    ok(await tenant["admin"].post(f"/api/v1/orders/{wo['id']}/transition", {"to": "open"}))
    patch = {"assignee_id": tenant["technician"].user_id}
    return ok(await tenant["admin"].patch(f"/api/v1/orders/{wo['id']}", patch))
