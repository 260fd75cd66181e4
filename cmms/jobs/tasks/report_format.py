"""Formatting shared by the report renderers: numbers, times, labels, Markdown and HTML escaping, tables."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any


def number(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return f"{text} {unit}".rstrip() if unit and unit != "%" else f"{text}{unit}"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def plant_label(plant: dict[str, Any] | None) -> str:
    return "every plant" if plant is None else f"{plant['name']} (plant {plant['id']})"


def label(key: str) -> str:
    return key.replace("_", " ")


MD_SPECIAL = "\\`*_[]<>#|~"


def md(text: str) -> str:
    """Text that Markdown shows as written (one line; table pipes and markup escaped)."""
    flat = " ".join(str(text).split())
    return "".join("\\" + c if c in MD_SPECIAL else c for c in flat)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def shorten(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric_from: int = 1) -> str:
    """A table of already-escaped cells; columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
