"""KPI reports: the numbers of `GET /api/v1/kpis` for a period and plant, as JSON, Markdown or HTML.

The HTML is one self-contained file: inline CSS and hand-written SVG bar charts (orders by status,
top assets by downtime), no script and nothing fetched from elsewhere. Every piece of user text
(plant and asset names) is escaped for HTML/SVG or Markdown. The file is written under the job's
temporary name; the runner renames it once the job completes, and deletes it otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from cmms.domain.jobs import ReportParams
from cmms.domain.kpi import Kpis
from cmms.domain.kpi_results import PlannedShare
from cmms.jobs.context import JobContext, JobResult
from cmms.jobs.tasks import report_inventory, report_labour
from cmms.jobs.tasks.report_format import (
    count,
    esc,
    html_table,
    label,
    md,
    md_table,
    number,
    plant_label,
    shorten,
    when,
)
from cmms.services import inventory_report, kpis, plants

TITLE = "Maintenance KPI report"
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}
STATUS_COLOURS = {
    "requested": "#9aa5b1",
    "open": "#3b82f6",
    "in_progress": "#f59e0b",
    "on_hold": "#a855f7",
    "completed": "#10b981",
    "closed": "#047857",
    "cancelled": "#6b7280",
}
DOWNTIME_COLOUR = "#dc2626"


async def run(ctx: JobContext, params: ReportParams) -> JobResult:
    await ctx.progress(0.05, "reading work orders", force=True)
    result = await kpis.compute(ctx.deps, ctx.actor, start=params.from_, end=params.to, plant_id=params.plant_id)
    plant = None
    if params.plant_id is not None:
        row = await plants.get(ctx.deps, ctx.actor, params.plant_id)
        plant = {"id": row["id"], "name": row["name"]}
    await ctx.progress(0.5, f"rendering {params.format}", force=True)
    render = RENDERERS[params.format]
    text = render(result, plant, ctx.deps.clock())
    period, plant_id = result.period, params.plant_id
    stock = await inventory_report.compute(ctx.deps, ctx.actor, start=period.from_, end=period.to, plant_id=plant_id)
    text = report_inventory.append(text, params.format, stock)
    await ctx.progress(0.8, "writing the report", force=True)
    temp, final = ctx.output(f".{params.format}")
    await asyncio.to_thread(temp.write_text, text, encoding="utf-8")
    await ctx.progress(0.95, "report written", force=True)  # a cancel here still leaves no file
    return JobResult(summary=summary(result, params.format), path=final, content_type=CONTENT_TYPES[params.format])


def summary(result: Kpis, fmt: str) -> dict[str, Any]:
    """The headline numbers kept on the job row."""
    period = result.as_json()["period"]
    return {
        "format": fmt,
        "from": period["from"],
        "to": period["to"],
        "plant_id": period["plant_id"],
        "orders": result.orders.total,
        "mttr_hours": result.mttr.hours,
        "mtbf_hours": result.mtbf.hours,
        "pm_compliance_percent": result.pm_compliance.percent,
        "planned_percent": result.planned_percentage.percent,
        "planned_basis": result.planned_percentage.basis,
        "mttr_basis": result.mttr.basis,
        "labour_hours": result.labour_cost.hours,
        "labour_cost": result.labour_cost.cost,
        "backlog_orders": result.backlog.orders,
        "backlog_hours": result.backlog.hours,
        "backlog_crew_weeks": result.backlog.crew_weeks,
    }


# ---- formatting -------------------------------------------------------------------------------------


def headline(result: Kpis) -> list[tuple[str, str, str]]:
    """(name, value, detail) of the report's tiles."""
    m, b, pm, pp, bl = result.mttr, result.mtbf, result.pm_compliance, result.planned_percentage, result.backlog
    lc = result.labour_cost
    return [
        ("MTTR", number(m.hours, "h"), f"{count(m.repairs, 'repair')}, {number(m.repair_hours, 'h')} repair time"),
        ("MTBF", number(b.hours, "h"), f"{count(b.failures, 'failure')} over {count(b.assets, 'asset')}"),
        ("PM compliance", number(pm.percent, "%"), f"{pm.on_time} of {pm.considered} on time, {pm.pending} pending"),
        ("Planned maintenance", number(pp.percent, "%"), planned_detail(pp)),
        (
            "Backlog",
            number(bl.hours, "h"),
            f"{count(bl.orders, 'order')}, {number(bl.crew_weeks)} crew-weeks ({count(bl.technicians, 'technician')})",
        ),
        ("Orders created", number(result.orders.total), "in the period"),
        ("Labour cost", f"{lc.cost} {lc.currency}", f"{number(lc.hours, 'h')} recorded"),
    ]


def planned_detail(pp: PlannedShare) -> str:
    if pp.basis == "labour hours":
        return f"{number(pp.planned_hours, 'h')} of {number(pp.total_hours, 'h')} labour"
    return f"{pp.planned} of {pp.total} completed orders"


def rules(result: Kpis) -> list[tuple[str, str]]:
    return [
        ("MTTR", result.mttr.rule),
        ("MTBF", result.mtbf.rule),
        ("PM compliance", result.pm_compliance.rule),
        ("Planned maintenance", result.planned_percentage.rule),
        ("Backlog", result.backlog.rule),
        ("Orders", result.orders.rule),
        ("Downtime", result.downtime_rule),
        ("Labour cost", result.labour_cost.rule),
    ]


# ---- JSON -------------------------------------------------------------------------------------------


def render_json(result: Kpis, plant: dict[str, Any] | None, now: datetime) -> str:
    document = {"report": "maintenance-kpis", "generated_at": now, "plant": plant, **result.as_json()}
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode() + "\n"


# ---- Markdown ---------------------------------------------------------------------------------------


def render_md(result: Kpis, plant: dict[str, Any] | None, now: datetime) -> str:
    p = result.period
    out = [
        f"# {TITLE}",
        "",
        f"Period {when(p.from_)} to {when(p.to)} · {md(plant_label(plant))} · generated {when(now)}",
        "",
        "## Headline",
        "",
        *md_table(["KPI", "Value", "Detail"], [[name, value, md(detail)] for name, value, detail in headline(result)]),
        "## Orders by status",
        "",
        *md_table(["Status", "Orders"], [[label(k), str(v)] for k, v in result.orders.by_status.items()]),
        "## Orders by priority",
        "",
        *md_table(["Priority", "Orders"], [[k, str(v)] for k, v in result.orders.by_priority.items()]),
        "## Orders by type",
        "",
        *md_table(["Type", "Orders"], [[k, str(v)] for k, v in result.orders.by_type.items()]),
        "## Top assets by downtime",
        "",
    ]
    if result.top_assets_by_downtime:
        out += md_table(
            ["Asset", "Downtime", "Orders"],
            [[md(a.name), number(a.downtime_hours, "h"), str(a.orders)] for a in result.top_assets_by_downtime],
        )
    else:
        out += ["No downtime recorded in the period.", ""]
    out += ["## MTBF by asset", ""]
    if result.mtbf.by_asset:
        out += md_table(
            ["Asset", "Failures", "Operating time", "Downtime", "MTBF"],
            [
                [
                    md(a.name),
                    str(a.failures),
                    number(a.operating_hours, "h"),
                    number(a.downtime_hours, "h"),
                    number(a.mtbf_hours, "h"),
                ]
                for a in result.mtbf.by_asset
            ],
        )
    else:
        out += ["No failures in the period.", ""]
    pm = result.pm_compliance
    bl = result.backlog
    out += [
        "## PM compliance",
        "",
        *md_table(
            ["On time", "Late", "Missed", "Pending", "Compliance"],
            [[str(pm.on_time), str(pm.late), str(pm.missed), str(pm.pending), number(pm.percent, "%")]],
        ),
        "## Backlog",
        "",
        *md_table(
            ["Priority", "Orders", "Estimate per order"],
            [[k, str(v), number(bl.hours_per_order[k], "h")] for k, v in bl.by_priority.items()],
        ),
        f"{count(bl.orders, 'order')}, {number(bl.hours, 'h')}: {number(bl.crew_weeks)} crew-weeks for "
        f"{count(bl.technicians, 'technician')} at {number(bl.crew_hours_per_week, 'h')} a week.",
        "",
        *report_labour.markdown(result),
        "## How these numbers are computed",
        "",
        *[f"- **{name}**: {md(rule)}" for name, rule in rules(result)],
        "",
    ]
    return "\n".join(out)


# ---- HTML and SVG -----------------------------------------------------------------------------------


def bar_chart(title: str, bars: Sequence[tuple[str, float, str, str]], *, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG; bars are (label, value, shown value, colour)."""
    label_w, value_w, bar_h, gap, top = 190, 90, 22, 8, 34
    plot_w = width - label_w - value_w
    height = top + max(1, len(bars)) * (bar_h + gap) + 6
    peak = max((v for _, v, _, _ in bars), default=0.0) or 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" font-family="system-ui, sans-serif" font-size="13">',
        f"<title>{esc(title)}</title>",
        f'<text x="0" y="18" font-size="15" font-weight="600" fill="#111827">{esc(title)}</text>',
        f'<line x1="{label_w}" y1="{top - 6}" x2="{label_w}" y2="{height - 4}" stroke="#d1d5db"/>',
    ]
    if not bars:
        out.append(f'<text x="{label_w + 8}" y="{top + 15}" fill="#6b7280">no data for the period</text>')
    for i, (name, value, shown, colour) in enumerate(bars):
        y = top + i * (bar_h + gap)
        w = plot_w * max(0.0, value) / peak
        text_y = y + bar_h * 0.7
        out += [
            f'<text x="{label_w - 8}" y="{text_y:.1f}" text-anchor="end" fill="#374151">{esc(shorten(name))}</text>',
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{colour}">'
            f"<title>{esc(name)}: {esc(shown)}</title></rect>",
            f'<text x="{label_w + w + 6:.1f}" y="{text_y:.1f}" fill="#111827">{esc(shown)}</text>',
        ]
    out.append("</svg>")
    return "\n".join(out)


def status_chart(result: Kpis) -> str:
    bars = [
        (label(status), float(n), str(n), STATUS_COLOURS.get(status, "#3b82f6"))
        for status, n in result.orders.by_status.items()
    ]
    return bar_chart("Orders created in the period, by status", bars)


def downtime_chart(result: Kpis) -> str:
    bars = [
        (a.name, a.downtime_hours, number(a.downtime_hours, "h"), DOWNTIME_COLOUR)
        for a in result.top_assets_by_downtime
    ]
    return bar_chart("Top assets by downtime", bars)


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:2rem auto;max-width:60rem;
padding:0 1rem;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.2rem}
.meta{color:#4b5563;margin-top:0}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.8rem}
.tile{border:1px solid #e5e7eb;border-radius:.5rem;padding:.7rem .9rem}
.tile .name{color:#4b5563;font-size:.85rem;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:1.6rem;font-weight:600;display:block}
.tile .detail{color:#6b7280;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0}
th,td{padding:.25rem .7rem;border-bottom:1px solid #e5e7eb;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.side{display:flex;flex-wrap:wrap;gap:2rem}
dt{font-weight:600;margin-top:.5rem}dd{margin-left:1rem;color:#374151}
svg{max-width:100%;height:auto}
"""


def render_html(result: Kpis, plant: dict[str, Any] | None, now: datetime) -> str:
    p = result.period
    tiles = "".join(
        f'<div class="tile"><span class="name">{esc(name)}</span><span class="value">{esc(value)}</span>'
        f'<span class="detail">{esc(detail)}</span></div>'
        for name, value, detail in headline(result)
    )
    counts = (
        '<div class="side">'
        + "".join(
            html_table([esc(title), "Orders"], [[esc(label(k)), str(v)] for k, v in values.items()])
            for title, values in (
                ("Status", result.orders.by_status),
                ("Priority", result.orders.by_priority),
                ("Type", result.orders.by_type),
            )
        )
        + "</div>"
    )
    downtime_rows = [
        [esc(a.name), esc(number(a.downtime_hours, "h")), str(a.orders)] for a in result.top_assets_by_downtime
    ]
    mtbf_rows = [
        [
            esc(a.name),
            str(a.failures),
            esc(number(a.operating_hours, "h")),
            esc(number(a.downtime_hours, "h")),
            esc(number(a.mtbf_hours, "h")),
        ]
        for a in result.mtbf.by_asset
    ]
    pm, bl = result.pm_compliance, result.backlog
    pm_table = html_table(
        ["On time", "Late", "Missed", "Pending", "Compliance"],
        [[str(pm.on_time), str(pm.late), str(pm.missed), str(pm.pending), esc(number(pm.percent, "%"))]],
        numeric_from=0,
    )
    backlog_table = html_table(
        ["Priority", "Orders", "Estimate per order"],
        [[esc(k), str(v), esc(number(bl.hours_per_order[k], "h"))] for k, v in bl.by_priority.items()],
    )
    rules_list = "".join(f"<dt>{esc(name)}</dt><dd>{esc(rule)}</dd>" for name, rule in rules(result))
    meta = f"Period {when(p.from_)} to {when(p.to)} · {plant_label(plant)} · generated {when(now)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(TITLE)} · {esc(plant_label(plant))}</title><style>{STYLE}</style></head>",
        "<body>",
        f"<h1>{esc(TITLE)}</h1>",
        f'<p class="meta">{esc(meta)}</p>',
        f'<section class="tiles">{tiles}</section>',
        "<h2>Orders</h2>",
        status_chart(result),
        counts,
        "<h2>Downtime</h2>",
        downtime_chart(result),
        html_table(["Asset", "Downtime", "Orders"], downtime_rows) if downtime_rows else "",
        "<h2>MTBF by asset</h2>",
        html_table(["Asset", "Failures", "Operating time", "Downtime", "MTBF"], mtbf_rows)
        if mtbf_rows
        else "<p>No failures in the period.</p>",
        "<h2>PM compliance</h2>",
        pm_table,
        "<h2>Backlog</h2>",
        backlog_table,
        f"<p>{count(bl.orders, 'order')}, {esc(number(bl.hours, 'h'))}: {esc(number(bl.crew_weeks))} crew-weeks"
        f" for {count(bl.technicians, 'technician')} at {esc(number(bl.crew_hours_per_week, 'h'))} a week.</p>",
        report_labour.html(result),
        "<h2>How these numbers are computed</h2>",
        f"<dl>{rules_list}</dl>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


Renderer = Callable[[Kpis, dict[str, Any] | None, datetime], str]
RENDERERS: dict[str, Renderer] = {"json": render_json, "md": render_md, "html": render_html}
