"""jsonb parameters serialised the way the rest of the product writes JSON."""

from __future__ import annotations

from typing import Any

from psycopg2.extras import Json

from cmms.wire import dumps


def jsonb(value: Any) -> Json:
    return Json(value, dumps=dumps)
