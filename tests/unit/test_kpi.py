"""KPI rules against hand-computed expectations, and the report renderers (escaping, well-formed SVG)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from cmms.domain import kpi
from cmms.domain.errors import ValidationFailed
from cmms.domain.kpi import KpiInputs, KpiQuery, Period
from cmms.jobs.tasks import reports


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# March 1 to March 11 (240 hours), looked at on April 1: the whole period has happened.
P = Period(at(1), at(11), at(1, month=4))


def order(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": "corrective",
        "status": "completed",
        "priority": "medium",
        "asset_id": 1,
        "asset_name": "Press",
        "asset_status": "operational",
        "completed_at": at(2),
        "created_at": at(1, 1),
        "downtime_minutes": 0,
    }
    row.update(fields)
    return row


# ---- the period ---------------------------------------------------------------------------------


def test_period_defaults_to_the_last_30_days() -> None:
    now = at(15, 12)
    p = kpi.resolve_period(None, None, now)
    assert (p.start, p.end, p.as_of) == (now - timedelta(days=30), now, now)
    assert p.observed_hours == 720


def test_period_with_one_end_given() -> None:
    now = at(15)
    assert kpi.resolve_period(at(1), None, now).end == now
    assert kpi.resolve_period(None, at(10), now).start == at(10) - timedelta(days=30)


@pytest.mark.parametrize(
    ("start", "end"),
    [(at(10), at(10)), (at(10), at(9)), (at(20), None), (datetime(2000, 1, 1, tzinfo=UTC), at(1))],
)
def test_bad_periods_are_refused(start: datetime, end: datetime | None) -> None:
    with pytest.raises(ValidationFailed) as exc:
        kpi.resolve_period(start, end, at(15))
    assert exc.value.field == "from"


def test_observed_time_stops_at_now() -> None:
    assert Period(at(1), at(11), at(6)).observed_hours == 120
    assert Period(at(1), at(11), at(1, month=2)).observed_hours == 0
    assert 2 * 3600 not in P and at(1) in P and at(11) not in P and at(10, 23, 59) in P


def test_query_model() -> None:
    q = KpiQuery.model_validate({"from": "2026-03-01T01:00:00+01:00", "to": "2026-03-02T00:00:00Z", "plant_id": "4"})
    assert (q.from_, q.to, q.plant_id) == (at(1), at(2), 4)
    for bad in (
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "2026-03-01T00:00:00"},  # naive: refused
        {"since": "2026-03-01T00:00:00Z"},
        {"plant_id": 0},
    ):
        with pytest.raises(ValidationError):
            KpiQuery.model_validate(bad)
    with pytest.raises(ValidationError) as exc:
        KpiQuery.model_validate({"from": "2026-03-02T00:00:00Z", "to": "2026-03-02T00:00:00Z"})
    assert [e["loc"] for e in exc.value.errors()] == [("to",)]  # the problem document names the field


# ---- MTTR ---------------------------------------------------------------------------------------


def test_mttr_is_repair_downtime_over_repairs() -> None:
    rows = [
        order(downtime_minutes=90),
        order(type="emergency", downtime_minutes=30),
        order(downtime_minutes=0),  # a repair without downtime is still a repair
        order(status="closed", downtime_minutes=60),
        order(type="preventive", downtime_minutes=600),  # not a repair
        order(status="cancelled", completed_at=None, downtime_minutes=500),
        order(status="in_progress", completed_at=None, downtime_minutes=500),
        order(completed_at=at(11), downtime_minutes=1000),  # after the period
        order(completed_at=at(28, month=2), downtime_minutes=1000),  # before it
    ]
    m = kpi.mttr(rows, P)
    assert m.repairs == 4
    assert m.repair_hours == 3.0  # 90 + 30 + 0 + 60 = 180 min
    assert m.hours == 0.75


def test_mttr_without_repairs_is_none() -> None:
    m = kpi.mttr([order(type="inspection", downtime_minutes=30)], P)
    assert (m.hours, m.repairs, m.repair_hours) == (None, 0, 0.0)


def test_grouped_rows_count_like_single_orders() -> None:
    single = [order(downtime_minutes=d) for d in (20, 70, 90)]
    grouped = [{"type": "corrective", "asset_id": 1, "n": 3, "downtime_minutes": 180}]
    assert kpi.mttr(single, P) == kpi.mttr(grouped, P)
    assert kpi.mttr(grouped, P).hours == 1.0


# ---- MTBF ---------------------------------------------------------------------------------------

MTBF_ROWS = [
    order(asset_id=1, downtime_minutes=120),
    order(asset_id=1, type="emergency", downtime_minutes=60),
    order(asset_id=1, type="preventive", downtime_minutes=60),  # downtime, but not a failure
    order(asset_id=2, asset_name="Pump", downtime_minutes=30),
    order(asset_id=3, asset_name="Fan", type="preventive", downtime_minutes=120),
    order(asset_id=9, asset_name="Old", asset_status="retired", downtime_minutes=600),
    order(asset_id=None, asset_name=None, asset_status=None, downtime_minutes=45),
    order(asset_id=2, status="cancelled", completed_at=None, downtime_minutes=999),
]


def test_mtbf_overall_and_per_asset() -> None:
    # 4 assets considered (1, 2, 3 and one without orders) x 240 h = 960 h,
    # minus downtime 4 h (asset 1) + 0.5 h (asset 2) + 2 h (asset 3) = 953.5 h; 3 failures.
    m = kpi.mtbf(MTBF_ROWS, 4, P)
    assert m.failures == 3
    assert m.operating_hours == 953.5
    assert m.hours == 317.83
    assert m.assets == 4
    assert [(a.asset_id, a.failures, a.downtime_hours, a.operating_hours, a.mtbf_hours) for a in m.by_asset] == [
        (1, 2, 4.0, 236.0, 118.0),
        (2, 1, 0.5, 239.5, 239.5),
    ]
    assert m.by_asset[1].name == "Pump"


def test_mtbf_counts_only_time_that_has_passed() -> None:
    halfway = Period(at(1), at(11), at(6))  # 120 h observed
    m = kpi.mtbf([order(asset_id=1, downtime_minutes=60)], 2, halfway)
    assert m.operating_hours == 119 + 120
    assert m.hours == 239.0


def test_mtbf_never_counts_negative_operating_time() -> None:
    m = kpi.mtbf([order(downtime_minutes=300 * 60)], 1, P)  # 300 h of downtime in a 240 h period
    assert m.operating_hours == 0
    assert m.hours == 0
    assert kpi.mtbf([], 5, P).hours is None


# ---- PM compliance ------------------------------------------------------------------------------


def pm(due: datetime, completed: datetime | None, interval: int | None, status: str = "completed", **kw: Any) -> Any:
    return {
        "type": "preventive",
        "status": status,
        "due_at": due,
        "completed_at": completed,
        "interval_days": interval,
        **kw,
    }


def test_pm_deadline_is_due_date_plus_a_tenth_of_the_interval() -> None:
    assert kpi.pm_deadline(at(2), 30) == at(5)
    assert kpi.pm_deadline(at(2), 7) == at(2, 16, 48)
    assert kpi.pm_deadline(at(2), None) == at(2)


def test_pm_compliance() -> None:
    as_of_20th = Period(at(1), at(11), at(20))
    rows = [
        pm(at(2), at(4, 23), 30),  # deadline March 5: on time
        pm(at(2), at(5), 30),  # exactly at the deadline: on time
        pm(at(2), at(5, 0, 1), 30),  # a minute late
        pm(at(3), at(3), None),  # no interval, no grace: done at due_at is on time
        pm(at(3), at(3, 0, 1), None),  # ... a minute after is late
        pm(at(4), None, 10, status="open"),  # deadline March 5 passed, not done: missed
        pm(at(10, 23), None, 200, status="in_progress"),  # deadline March 30, still ahead: pending
        pm(at(1), at(27, month=2), 30, status="closed"),  # done early: on time; due at the start: included
        pm(at(11), None, 30, status="open"),  # due at the end: outside the period
        pm(at(5), None, 30, status="cancelled"),
        pm(at(5), None, 30, status="open", type="corrective"),
        pm(None, None, 30, status="open"),  # never due
    ]
    c = kpi.pm_compliance(rows, as_of_20th)
    assert (c.on_time, c.late, c.missed, c.pending, c.considered) == (4, 2, 1, 1, 7)
    assert c.percent == 57.14  # 4 / 7


def test_pm_compliance_without_due_orders_is_none() -> None:
    assert kpi.pm_compliance([], P).percent is None


# ---- planned maintenance, backlog, counts, downtime ---------------------------------------------


def test_planned_percentage_is_a_share_of_completed_order_counts() -> None:
    rows = [
        order(type="preventive"),
        order(type="preventive", status="closed"),
        order(type="inspection"),
        order(type="corrective"),
        order(type="corrective"),
        order(type="corrective"),
        order(type="emergency"),
        order(type="preventive", status="cancelled", completed_at=None),
        order(type="preventive", completed_at=at(12)),
    ]
    share = kpi.planned_percentage(rows, P)
    assert (share.planned, share.total, share.percent) == (3, 7, 42.86)
    assert share.basis == "order counts"
    assert kpi.planned_percentage([], P).percent is None


def test_backlog_in_hours_and_crew_weeks() -> None:
    rows = [
        {"status": "open", "priority": "high"},  # 6 h
        {"status": "in_progress", "priority": "critical"},  # 8 h
        {"status": "on_hold", "priority": "low"},  # 2 h
        {"status": "open", "priority": "medium", "n": 3},  # 3 x 4 h
        {"status": "requested", "priority": "high"},  # not approved yet
        {"status": "completed", "priority": "critical"},
    ]
    b = kpi.backlog(rows, technicians=2)
    assert (b.orders, b.hours, b.crew_hours_per_week, b.crew_weeks) == (6, 28.0, 80.0, 0.35)
    assert b.by_priority == {"low": 1, "medium": 3, "high": 1, "critical": 1}
    assert b.hours_per_order == {"low": 2.0, "medium": 4.0, "high": 6.0, "critical": 8.0}
    assert kpi.backlog(rows, technicians=0).crew_weeks is None


def test_orders_by_status_priority_and_type() -> None:
    rows = [
        order(status="open", priority="high", type="corrective", created_at=at(2)),
        order(status="completed", priority="high", type="preventive", created_at=at(3)),
        {"status": "requested", "priority": "low", "type": "inspection", "n": 4},
        order(status="open", created_at=at(28, month=2)),  # before the period
    ]
    c = kpi.order_counts(rows, P)
    assert c.total == 6
    assert c.by_status == {
        "requested": 4,
        "open": 1,
        "in_progress": 0,
        "on_hold": 0,
        "completed": 1,
        "closed": 0,
        "cancelled": 0,
    }
    assert c.by_priority == {"low": 4, "medium": 0, "high": 2, "critical": 0}
    assert c.by_type == {"corrective": 1, "preventive": 1, "inspection": 4, "emergency": 0}


def test_top_assets_by_downtime() -> None:
    rows = [*MTBF_ROWS, order(asset_id=4, asset_name="Idle", downtime_minutes=0)]
    top = kpi.top_assets_by_downtime(rows, P)
    assert [(a.asset_id, a.name, a.downtime_hours, a.orders) for a in top] == [
        (9, "Old", 10.0, 1),  # retired assets still show their downtime
        (1, "Press", 4.0, 3),
        (3, "Fan", 2.0, 1),
        (2, "Pump", 0.5, 1),
    ]
    assert [a.asset_id for a in kpi.top_assets_by_downtime(rows, P, top=2)] == [9, 1]


def example() -> kpi.Kpis:
    return kpi.compute(
        KpiInputs(
            period=P,
            plant_id=7,
            completed=[
                *MTBF_ROWS,
                order(asset_id=5, asset_name='<script>alert("x")</script> & | *bold*', downtime_minutes=75),
            ],
            created=[{"status": "open", "priority": "high", "type": "corrective", "n": 2}],
            open_orders=[{"status": "open", "priority": "high", "n": 2}],
            preventive=[pm(at(2), at(3), 30)],
            assets=5,
            technicians=1,
        )
    )


def test_compute_gathers_every_kpi_in_wire_form() -> None:
    data = example().as_json()
    assert data["period"] == {
        "from": "2026-03-01T00:00:00Z",
        "to": "2026-03-11T00:00:00Z",
        "as_of": "2026-04-01T00:00:00Z",
        "observed_hours": 240.0,
        "plant_id": 7,
    }
    assert data["mttr"]["repairs"] == 6  # 120 + 60 + 30 + 600 + 45 + 75 = 930 min = 15.5 h
    assert data["mttr"]["hours"] == 2.58
    assert data["mtbf"]["failures"] == 4
    assert data["pm_compliance"]["percent"] == 100.0
    assert data["backlog"]["hours"] == 12.0
    assert data["backlog"]["crew_weeks"] == 0.3
    assert data["orders"]["total"] == 2
    assert data["top_assets_by_downtime"][0]["name"] == "Old"
    orjson.dumps(data)


# ---- the report renderers -----------------------------------------------------------------------

NOW = at(1, 12, month=4)
PLANT = {"id": 7, "name": "North & <South>"}


def test_html_report_escapes_names_and_draws_wellformed_svg() -> None:
    text = reports.render_html(example(), PLANT, NOW)
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text  # the asset name is shown, escaped, never run
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; | *bold*" in text
    assert "North &amp; &lt;South&gt;" in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    svgs = re.findall(r"<svg.*?</svg>", text, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ET.fromstring(svg)  # well-formed XML
    status, downtime = svgs
    assert status.count("<rect") == 7  # one bar per status
    assert downtime.count("<rect") == 5  # assets with downtime: Old, Press, Fan, the escaped one, Pump
    assert "10.00 h" in downtime
    # 4 failures; operating time 236 + 239.5 + 238 + 238.75 (assets 1, 2, 3, 5) + 240 (the fifth) = 1192.25 h
    for shown in ("2.58 h", "298.06 h", "100.00%", "12.00 h", "0.30"):
        assert shown in text


def test_markdown_report_escapes_table_cells() -> None:
    text = reports.render_md(example(), PLANT, NOW)
    assert text.startswith("# Maintenance KPI report")
    assert '\\<script\\>alert("x")\\</script\\> & \\| \\*bold\\*' in text
    assert "| MTTR | 2.58 h |" in text
    row = next(line for line in text.splitlines() if "alert" in line and line.startswith("| "))
    assert len(re.split(r"(?<!\\)\|", row)) == 3 + 2  # the escaped pipe does not split the cell


def test_json_report_is_the_api_shape_with_a_header() -> None:
    data = orjson.loads(reports.render_json(example(), PLANT, NOW))
    assert data["report"] == "maintenance-kpis"
    assert data["generated_at"] == "2026-04-01T12:00:00Z"
    assert data["plant"] == PLANT
    assert data["mttr"] == example().as_json()["mttr"]
