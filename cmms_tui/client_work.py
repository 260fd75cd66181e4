"""The work on one order over HTTP: its checklist, the caller's timer, time entries and other costs.

Plain functions over `ApiClient.request`, kept apart from client.py so the order's work has one
small module. Money stays a string from the server to the screen (never a float).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypedDict, cast

from cmms_tui.client_errors import ApiError
from cmms_tui.client_session import API

if TYPE_CHECKING:
    from cmms_tui.client import ApiClient

CHECKBOX, PASS_FAIL, NUMBER, TEXT, CHOICE, METER, HEADING = (
    "checkbox", "pass_fail", "number", "text", "choice", "meter", "heading",
)  # fmt: skip
TYPED = frozenset({NUMBER, METER, TEXT, CHOICE})  # recorded through a small input


class Item(TypedDict):
    id: int
    position: int
    label: str
    type: str
    required: bool
    unit: str | None
    min: float | None
    max: float | None
    options: list[str] | None
    meter: str | None
    value: bool | float | str | None
    result: str | None
    notes: str | None
    done_by: int | None
    done_at: str | None
    follow_up_id: int | None
    version: int


class Checklist(TypedDict):
    order_id: int
    procedure_id: int | None
    revision: int
    name: str
    attached_by: int | None
    attached_at: str
    items: list[Item]
    missing_required: list[int]


class Timer(TypedDict):
    order_id: int
    user_id: int
    category: str
    started_at: str


def typed_value(kind: str, text: str) -> Any:
    """What to send for what was typed: a JSON number for measured items when it reads as a finite
    number, else the text as typed, so the server's own message says what is wrong with it."""
    text = text.strip()
    if kind in (NUMBER, METER):
        try:
            number = float(text)
        except ValueError:
            return text
        if not math.isfinite(number):
            return text
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    return text or None


async def checklist(api: ApiClient, order_id: int) -> Checklist | None:
    """The order's checklist, or None when none is attached (404)."""
    try:
        return cast(Checklist, await api.request("GET", f"{API}/orders/{order_id}/checklist"))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def record(api: ApiClient, order_id: int, item: Item, value: Any, notes: str | None = None) -> Item:
    body: dict[str, Any] = {"value": value}
    if notes is not None:
        body["notes"] = notes
    path = f"{API}/orders/{order_id}/checklist/items/{item['id']}"
    return cast(Item, await api.request("PATCH", path, body=body))


async def procedures(api: ApiClient) -> list[dict[str, Any]]:
    data = await api.request("GET", f"{API}/procedures", params={"limit": 200})
    return list(data.get("items", []))


async def attach(api: ApiClient, order_id: int, procedure_id: int) -> Checklist:
    body = {"procedure_id": procedure_id}
    return cast(Checklist, await api.request("POST", f"{API}/orders/{order_id}/checklist", body=body))


async def my_timer(api: ApiClient) -> Timer | None:
    return cast("Timer | None", (await api.request("GET", f"{API}/me/timer")).get("timer"))


async def start_timer(api: ApiClient, order_id: int, category: str = "normal") -> dict[str, Any]:
    body = {"category": category}
    return cast(dict[str, Any], await api.request("POST", f"{API}/orders/{order_id}/timer/start", body=body))


async def stop_timer(api: ApiClient, order_id: int) -> dict[str, Any]:
    return cast(dict[str, Any], await api.request("POST", f"{API}/orders/{order_id}/timer/stop"))


async def time_entries(api: ApiClient, order_id: int) -> list[dict[str, Any]]:
    data = await api.request("GET", f"{API}/orders/{order_id}/time", params={"limit": 100})
    return list(data.get("items", []))


async def add_time(api: ApiClient, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], await api.request("POST", f"{API}/orders/{order_id}/time", body=body))


async def costs(api: ApiClient, order_id: int) -> list[dict[str, Any]]:
    data = await api.request("GET", f"{API}/orders/{order_id}/costs", params={"limit": 100})
    return list(data.get("items", []))


async def add_cost(api: ApiClient, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], await api.request("POST", f"{API}/orders/{order_id}/costs", body=body))


async def cost_summary(api: ApiClient, order_id: int) -> dict[str, Any]:
    return cast(dict[str, Any], await api.request("GET", f"{API}/orders/{order_id}/cost"))
