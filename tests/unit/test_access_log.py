"""Access lines written without the logging module look like every other line of the format."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from cmms.api.access_log import AccessLog
from cmms.logs import setup_logging


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """setup_logging replaces the root handlers: give them back to pytest afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def written(fmt: str) -> str:
    stream = io.StringIO()
    setup_logging("INFO", fmt, stream)

    async def serve() -> None:
        access = AccessLog(every=0.01)
        access.write("GET", "/api/v1/assets/5", 200, 0.42, "ab12cd34")
        access.write("POST", "/api/v1/orders", 422, 3.1, "ab12cd35")
        assert stream.getvalue() == ""  # batched, not written per request
        await asyncio.sleep(0.05)

    asyncio.run(serve())
    return stream.getvalue()


def test_json_lines_carry_the_fields_of_any_other_json_line() -> None:
    first, second = (json.loads(line) for line in written("json").splitlines())
    assert set(first) == {"ts", "level", "logger", "msg", "request_id", "status", "ms"}
    assert first["msg"] == "GET /api/v1/assets/5 200" and first["logger"] == "cmms.access"
    assert (first["status"], first["ms"], first["request_id"]) == (200, 0.42, "ab12cd34")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert second["status"] == 422 and second["level"] == "info"


def test_text_lines_read_like_the_console_format() -> None:
    lines = written("text").splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO  GET /api/v1/assets/5 200 request_id=ab12cd34 ms=0.42", lines[0])
    assert len(lines) == 2


def test_a_level_above_info_writes_nothing() -> None:
    stream = io.StringIO()
    setup_logging("WARNING", "json", stream)

    async def serve() -> None:
        AccessLog(every=0.01).write("GET", "/x", 200, 1.0, "r")
        await asyncio.sleep(0.03)

    asyncio.run(serve())
    assert stream.getvalue() == "" and not logging.getLogger("cmms.access").isEnabledFor(logging.INFO)
