"""The live events that pop up a toast: a triggered alert and a notification."""

from __future__ import annotations

from typing import Any

from textual.app import App

from cmms_tui.live import LiveEvent

ALERT_SEVERITY = {"critical": "error", "warning": "warning", "info": "information"}
NOTICE_SEVERITY = {"error": "error", "critical": "error", "warning": "warning"}


def toast(app: App[Any], event: LiveEvent) -> None:
    if event.type == "alert:triggered":
        _toast_alert(app, event.data)
    elif event.type == "notification":
        data = event.data
        app.notify(
            str(data.get("body") or ""),
            title=str(data.get("title") or "Notification"),
            severity=NOTICE_SEVERITY.get(str(data.get("level")), "information"),  # type: ignore[arg-type]
            timeout=8,
            markup=False,
        )


def _toast_alert(app: App[Any], alert: dict[str, Any]) -> None:
    severity = str(alert.get("severity", "warning"))
    asset = alert.get("asset") or {}
    where = f" · {asset.get('code') or asset.get('name')}" if asset else ""
    app.notify(
        str(alert.get("message", "")),
        title=f"{severity.upper()} alert{where}",
        severity=ALERT_SEVERITY.get(severity, "warning"),  # type: ignore[arg-type]
        timeout=12 if severity == "critical" else 8,
        markup=False,
    )
