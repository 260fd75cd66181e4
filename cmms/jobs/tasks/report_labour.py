"""The report's labour sections: hours and cost per plant and asset, and which basis each KPI used."""

from __future__ import annotations

from cmms.domain.kpi import Kpis
from cmms.jobs.tasks.report_format import esc, html_table, md, md_table, number


def basis_note(result: Kpis) -> str:
    """One sentence naming what the planned share and MTTR were computed from."""
    pp, m = result.planned_percentage, result.mttr
    planned = (
        f"planned maintenance by labour hours ({number(pp.planned_hours, 'h')} of {number(pp.total_hours, 'h')})"
        if pp.basis == "labour hours"
        else "planned maintenance by order counts (no time recorded in the period)"
    )
    mttr = (
        f"MTTR from repair time ({m.timed_repairs} of {m.repairs} repairs with recorded time)"
        if m.basis == "repair time"
        else "MTTR from downtime (no time recorded on the repairs)"
    )
    return f"Basis: {planned}; {mttr}."


def _rows(result: Kpis) -> tuple[list[list[str]], list[list[str]]]:
    lc = result.labour_cost
    plants = [[p.name, number(p.hours, "h"), f"{p.cost} {lc.currency}"] for p in lc.by_plant]
    assets = [[a.name, number(a.hours, "h"), f"{a.cost} {lc.currency}"] for a in lc.by_asset]
    return plants, assets


def markdown(result: Kpis) -> list[str]:
    lc = result.labour_cost
    plants, assets = _rows(result)
    out = ["## Labour", "", md(basis_note(result)), ""]
    if not plants:
        return [*out, "No time recorded in the period.", ""]
    out += [f"{number(lc.hours, 'h')} recorded, {lc.cost} {lc.currency} labour cost.", ""]
    out += md_table(["Plant", "Hours", "Labour cost"], [[md(r[0]), r[1], r[2]] for r in plants])
    out += md_table(["Asset", "Hours", "Labour cost"], [[md(r[0]), r[1], r[2]] for r in assets])
    return out


def html(result: Kpis) -> str:
    lc = result.labour_cost
    plants, assets = _rows(result)
    parts = ["<h2>Labour</h2>", f"<p>{esc(basis_note(result))}</p>"]
    if not plants:
        return "\n".join([*parts, "<p>No time recorded in the period.</p>"])
    parts.append(f"<p>{esc(number(lc.hours, 'h'))} recorded, {esc(lc.cost)} {esc(lc.currency)} labour cost.</p>")
    for title, rows in (("Plant", plants), ("Asset", assets)):
        parts.append(html_table([title, "Hours", "Labour cost"], [[esc(c) for c in r] for r in rows]))
    return "\n".join(parts)
