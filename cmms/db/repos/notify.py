"""What e-mail notifications are made of: an order or alert with its asset, recipients, the digest."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cmms.db.pool import Cursor, fetchall, fetchone

DIGEST_LIST = 20  # overdue orders and open alerts listed in a digest (the counts cover all)


async def order(cur: Cursor, tenant_id: int, order_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT o.id, o.number, o.title, o.description, o.priority, o.type, o.status, o.due_at, o.assignee_id,"
        " a.name AS asset_name, a.code AS asset_code, p.name AS plant_name"
        " FROM work_orders o"
        " LEFT JOIN assets a ON a.tenant_id = o.tenant_id AND a.id = o.asset_id"
        " LEFT JOIN plants p ON p.tenant_id = o.tenant_id AND p.id = o.plant_id"
        " WHERE o.tenant_id = %s AND o.id = %s",
        (tenant_id, order_id),
    )


async def alert(cur: Cursor, tenant_id: int, alert_id: int) -> dict[str, Any] | None:
    return await fetchone(
        cur,
        "SELECT l.id, l.kind, l.severity, l.status, l.message, l.created_at,"
        " a.name AS asset_name, a.code AS asset_code, p.name AS plant_name"
        " FROM alerts l"
        " LEFT JOIN assets a ON a.tenant_id = l.tenant_id AND a.id = l.asset_id"
        " LEFT JOIN plants p ON p.tenant_id = a.tenant_id AND p.id = a.plant_id"
        " WHERE l.tenant_id = %s AND l.id = %s",
        (tenant_id, alert_id),
    )


async def users_with_roles(cur: Cursor, tenant_id: int, roles: list[str]) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT id, email, name, role FROM users WHERE tenant_id = %s AND active AND role = ANY(%s) ORDER BY id",
        (tenant_id, roles),
    )


async def users_by_id(cur: Cursor, tenant_id: int, ids: list[int]) -> list[dict[str, Any]]:
    return await fetchall(
        cur,
        "SELECT id, email, name, role FROM users WHERE tenant_id = %s AND active AND id = ANY(%s) ORDER BY id",
        (tenant_id, ids),
    )


async def tenant_name(cur: Cursor, tenant_id: int) -> str:
    row = await fetchone(cur, "SELECT display_name FROM tenants WHERE id = %s", (tenant_id,))
    return str(row["display_name"]) if row else ""


async def digest(cur: Cursor, tenant_id: int, active: list[str], now: datetime) -> dict[str, Any]:
    by_priority = await fetchall(
        cur,
        "SELECT priority, count(*) AS n FROM work_orders WHERE tenant_id = %s AND status = ANY(%s) GROUP BY priority",
        (tenant_id, active),
    )
    overdue_count = await fetchone(
        cur,
        "SELECT count(*) AS n FROM work_orders WHERE tenant_id = %s AND status = ANY(%s) AND due_at < %s",
        (tenant_id, active, now),
    )
    overdue = await fetchall(
        cur,
        "SELECT o.id, o.number, o.title, o.priority, o.due_at, u.email AS assignee_email, u.name AS assignee_name"
        " FROM work_orders o LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.assignee_id"
        " WHERE o.tenant_id = %s AND o.status = ANY(%s) AND o.due_at < %s ORDER BY o.due_at, o.id LIMIT %s",
        (tenant_id, active, now, DIGEST_LIST),
    )
    by_severity = await fetchall(
        cur,
        "SELECT severity, count(*) AS n FROM alerts WHERE tenant_id = %s AND status <> 'resolved' GROUP BY severity",
        (tenant_id,),
    )
    alerts = await fetchall(
        cur,
        "SELECT l.id, l.kind, l.severity, l.status, l.message, l.created_at, a.name AS asset_name"
        " FROM alerts l LEFT JOIN assets a ON a.tenant_id = l.tenant_id AND a.id = l.asset_id"
        " WHERE l.tenant_id = %s AND l.status <> 'resolved'"
        " ORDER BY CASE l.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, l.id DESC LIMIT %s",
        (tenant_id, DIGEST_LIST),
    )
    return {
        "open_by_priority": {r["priority"]: int(r["n"]) for r in by_priority},
        "overdue_count": int(overdue_count["n"]) if overdue_count else 0,
        "overdue": overdue,
        "alerts_by_severity": {r["severity"]: int(r["n"]) for r in by_severity},
        "alerts": alerts,
    }
