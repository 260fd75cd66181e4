"""E-mail notifications: who receives each template and what it says (plain text and HTML).

- order_assigned: the order's assignee (number, title, asset, priority, due date, link).
- alert_triggered: the tenant's active managers and technicians (the alert, its asset, link).
- digest: the tenant's active managers (open orders by priority, overdue orders, unresolved alerts).

`user_ids` replaces the default recipients; only active users of the tenant are ever written to.
One message per recipient, so no one sees the others' addresses.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from cmms.db.pool import transaction
from cmms.db.repos import notify as repo
from cmms.domain.errors import NotFound
from cmms.domain.jobs import EmailParams
from cmms.domain.roles import Actor, Role
from cmms.domain.workflow import ACTIVE, format_number
from cmms.services.deps import Deps

PRIORITIES = ("critical", "high", "medium", "low")
SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Mail:
    user_id: int
    address: str
    name: str | None
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Content:
    subject: str
    lines: list[str]  # plain text, also rendered as HTML paragraphs
    table: list[tuple[str, str]]  # label, value
    sections: list[tuple[str, list[str]]]  # heading, items
    link: str | None


async def compose(deps: Deps, actor: Actor, params: EmailParams, base_url: str) -> tuple[list[Mail], dict[str, Any]]:
    """The messages a notification job sends, and facts for its summary."""
    tenant = actor.tenant_id
    facts: dict[str, Any] = {}
    async with transaction(deps.pool, tenant) as cur:
        if params.template == "order_assigned":
            assert params.order_id is not None
            order = await repo.order(cur, tenant, params.order_id)
            if order is None:
                raise NotFound(f"work order {params.order_id} not found", field="order_id")
            content = _order_assigned(order, base_url)
            default_ids = [order["assignee_id"]] if order["assignee_id"] else []
            recipients = await repo.users_by_id(cur, tenant, params.user_ids or default_ids)
            facts["order"] = format_number(order["number"])
        elif params.template == "alert_triggered":
            assert params.alert_id is not None
            alert = await repo.alert(cur, tenant, params.alert_id)
            if alert is None:
                raise NotFound(f"alert {params.alert_id} not found", field="alert_id")
            content = _alert_triggered(alert, base_url)
            recipients = await _chosen_or(cur, tenant, params.user_ids, [Role.MANAGER, Role.TECHNICIAN])
        else:
            name = await repo.tenant_name(cur, tenant)
            data = await repo.digest(cur, tenant, sorted(ACTIVE), deps.clock())
            content = _digest(name, data, base_url)
            recipients = await _chosen_or(cur, tenant, params.user_ids, [Role.MANAGER])
            facts["open_orders"] = sum(data["open_by_priority"].values())
            facts["overdue"] = data["overdue_count"]
            facts["open_alerts"] = sum(data["alerts_by_severity"].values())
    if params.user_ids is not None:
        facts["unknown_user_ids"] = sorted(set(params.user_ids) - {int(r["id"]) for r in recipients})
    mails = [_mail(r, content) for r in recipients]
    return mails, facts


async def _chosen_or(cur: Any, tenant: int, user_ids: list[int] | None, roles: list[Role]) -> list[dict[str, Any]]:
    if user_ids is not None:
        return await repo.users_by_id(cur, tenant, user_ids)
    return await repo.users_with_roles(cur, tenant, [str(r) for r in roles])


def _mail(user: dict[str, Any], content: Content) -> Mail:
    name = user["name"] or None
    greeting = f"Hello {name}," if name else "Hello,"
    text = _text(greeting, content)
    return Mail(int(user["id"]), str(user["email"]), name, content.subject, text, _html(greeting, content))


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "not set"


def _asset(row: dict[str, Any]) -> str:
    if not row.get("asset_name"):
        return "none"
    code = f" ({row['asset_code']})" if row.get("asset_code") else ""
    plant = f", {row['plant_name']}" if row.get("plant_name") else ""
    return f"{row['asset_name']}{code}{plant}"


def _order_assigned(order: dict[str, Any], base_url: str) -> Content:
    number = format_number(order["number"])
    return Content(
        subject=f"{number} assigned to you: {order['title']}",
        lines=[f"Work order {number} has been assigned to you."],
        table=[
            ("Number", number),
            ("Title", order["title"]),
            ("Asset", _asset(order)),
            ("Priority", order["priority"]),
            ("Type", order["type"]),
            ("Status", order["status"]),
            ("Due", _when(order["due_at"])),
        ],
        sections=[("Description", [order["description"]])] if order["description"] else [],
        link=f"{base_url}/api/v1/orders/{order['id']}",
    )


def _alert_triggered(alert: dict[str, Any], base_url: str) -> Content:
    where = alert["asset_name"] or "no asset"
    return Content(
        subject=f"{alert['severity'].capitalize()} alert on {where}: {alert['kind']}",
        lines=[f"An alert was raised: {alert['message']}"],
        table=[
            ("Severity", alert["severity"]),
            ("Kind", alert["kind"]),
            ("Asset", _asset(alert)),
            ("Status", alert["status"]),
            ("Raised", _when(alert["created_at"])),
        ],
        sections=[],
        link=f"{base_url}/api/v1/alerts/{alert['id']}",
    )


def _digest(tenant: str, data: dict[str, Any], base_url: str) -> Content:
    by_priority = data["open_by_priority"]
    by_severity = data["alerts_by_severity"]
    open_orders, open_alerts = sum(by_priority.values()), sum(by_severity.values())
    overdue = data["overdue_count"]
    overdue_items = [
        f"{format_number(o['number'])} {o['title']} ({o['priority']}), due {_when(o['due_at'])},"
        f" {o['assignee_name'] or o['assignee_email'] or 'unassigned'}"
        for o in data["overdue"]
    ]
    if overdue > len(overdue_items):
        overdue_items.append(f"... and {overdue - len(overdue_items)} more")
    alert_items = [
        f"[{a['severity']}] {a['asset_name'] or 'no asset'}: {a['message']} ({a['status']})" for a in data["alerts"]
    ]
    if open_alerts > len(alert_items):
        alert_items.append(f"... and {open_alerts - len(alert_items)} more")
    return Content(
        subject=f"Daily digest for {tenant}: {open_orders} open orders, {overdue} overdue, {open_alerts} open alerts",
        lines=[f"Where maintenance stands at {tenant}."],
        table=[(f"Open orders, {p}", str(by_priority.get(p, 0))) for p in PRIORITIES]
        + [("Overdue orders", str(overdue))]
        + [(f"Open alerts, {s}", str(by_severity.get(s, 0))) for s in SEVERITIES],
        sections=[("Overdue orders", overdue_items or ["none"]), ("Open alerts", alert_items or ["none"])],
        link=f"{base_url}/api/v1/orders?status=open,in_progress,on_hold",
    )


def _text(greeting: str, c: Content) -> str:
    width = max((len(label) for label, _ in c.table), default=0)
    out = [greeting, "", *c.lines, ""]
    out += [f"  {label + ':':<{width + 1}} {value}" for label, value in c.table]
    for heading, items in c.sections:
        out += ["", heading, *(f"  - {item}" for item in items)]
    if c.link:
        out += ["", f"Open: {c.link}"]
    out += ["", "-- ", "CMMS notifications"]
    return "\n".join(out) + "\n"


def _html(greeting: str, c: Content) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in c.table
    )
    parts = [f"<p>{e(greeting)}</p>", *(f"<p>{e(line)}</p>" for line in c.lines), f"<table>{rows}</table>"]
    for heading, items in c.sections:
        parts.append(f"<h3>{e(heading)}</h3><ul>{''.join(f'<li>{e(i)}</li>' for i in items)}</ul>")
    if c.link:
        parts.append(f'<p><a href="{e(c.link)}">Open in CMMS</a></p>')
    body = "".join(parts)
    return f'<!DOCTYPE html><html><body style="font-family:sans-serif">{body}</body></html>\n'


def _one_line(text: str) -> str:
    """Header values must not carry line breaks (header injection); titles may contain them."""
    return " ".join(text.split())


def message(mail: Mail, *, sender: str, message_id: str, prefix: str = "[CMMS] ") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((_one_line(mail.name or ""), mail.address))
    msg["Subject"] = _one_line(prefix + mail.subject)[:250]
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg
