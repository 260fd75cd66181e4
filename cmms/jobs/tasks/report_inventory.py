"""The report's inventory sections: stock value per location, parts used per asset and plant, low stock.

Appended to whatever format the KPI report was rendered in, so the KPI renderers stay as they are.
"""

from __future__ import annotations

from typing import Any

import orjson

from cmms.jobs.tasks.report_format import esc, html_table, md, md_table


def _tables(inv: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    cur = inv["currency"]
    return [
        (
            "Stock value by location",
            ["Location", "Plant", "Parts in stock", "Value"],
            [[r["location"], r["plant"] or "-", str(r["parts"]), f"{r['value']} {cur}"] for r in inv["locations"]],
        ),
        (
            "Parts used by asset",
            ["Asset", "Issues", "Cost"],
            [[r["name"] or "no asset", str(r["issues"]), f"{r['cost']} {cur}"] for r in inv["used_by_asset"]],
        ),
        (
            "Parts used by plant",
            ["Plant", "Issues", "Cost"],
            [[r["name"] or "no plant", str(r["issues"]), f"{r['cost']} {cur}"] for r in inv["used_by_plant"]],
        ),
        (
            "Low stock",
            ["Part", "Location", "Available", "Minimum", "Reorder"],
            [
                [
                    f"{r['number']} {r['name']}",
                    r["location"],
                    f"{r['available']} {r['unit']}",
                    r["min_qty"],
                    r["reorder_qty"],
                ]
                for r in inv["low_stock"]
            ],
        ),
    ]


def markdown(inv: dict[str, Any]) -> str:
    out = ["## Inventory", "", f"Stock value: {inv['stock_value']} {inv['currency']}.", ""]
    for title, header, rows in _tables(inv):
        out += [f"### {title}", ""]
        out += md_table(header, [[md(c) for c in r] for r in rows]) if rows else ["None.", ""]
    return "\n".join(out) + "\n"


def html(inv: dict[str, Any]) -> str:
    parts = ["<h2>Inventory</h2>", f"<p>Stock value: {esc(inv['stock_value'])} {esc(inv['currency'])}.</p>"]
    for title, header, rows in _tables(inv):
        parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(html_table(header, [[esc(c) for c in r] for r in rows]) if rows else "<p>None.</p>")
    return "\n".join(parts)


def append(text: str, fmt: str, inv: dict[str, Any]) -> str:
    """The rendered KPI report with the inventory sections added in the same format."""
    if fmt == "json":
        document = orjson.loads(text)
        document["inventory"] = inv
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode() + "\n"
    if fmt == "md":
        return text.rstrip("\n") + "\n\n" + markdown(inv)
    head, sep, tail = text.rpartition("</body>")
    return head + html(inv) + "\n" + sep + tail if sep else text + html(inv)
