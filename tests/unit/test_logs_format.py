"""Which log format a process writes (terminal or not, setting, NO_COLOR) and what each line looks like."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from cmms.config import ConfigError, load_settings
from cmms.logs import FOR_PEOPLE, JsonFormatter, TextFormatter, choose_format, make_handler, request_id_var, use_colour

TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO |WARN |ERROR|FATAL) \S")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def record(msg: str, level: int = logging.INFO, name: str = "cmms.server", **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    rec.__dict__.update(extra)
    return rec


@pytest.mark.parametrize(
    ("setting", "terminal", "expected"),
    [
        ("auto", True, "text"),
        ("auto", False, "json"),
        ("json", True, "json"),
        ("text", False, "text"),
    ],
)
def test_format_follows_the_setting_and_the_terminal(setting: str, terminal: bool, expected: str) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert choose_format(setting, stream) == expected


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        choose_format("xml", io.StringIO())


def test_a_closed_stream_is_no_terminal() -> None:
    stream = io.StringIO()
    stream.close()
    assert choose_format("auto", stream) == "json"


@pytest.mark.parametrize(
    ("terminal", "env", "expected"),
    [
        (True, {"TERM": "xterm-256color"}, True),
        (True, {"TERM": "xterm", "NO_COLOR": "1"}, False),
        (True, {"TERM": "dumb"}, False),
        (True, {"TERM": "xterm", "NO_COLOR": ""}, True),  # no-color.org: only a non-empty value counts
        (False, {"TERM": "xterm"}, False),
    ],
)
def test_colour_only_at_a_terminal_without_no_color(terminal: bool, env: dict[str, str], expected: bool) -> None:
    stream = Terminal() if terminal else io.StringIO()
    assert use_colour(stream, env) is expected


def test_a_text_line_is_time_level_message_and_fields() -> None:
    line = TextFormatter().format(record("job failed", logging.WARNING, job_id=42, reason="disk full"))
    assert TEXT_LINE.match(line), line
    assert line.endswith(' WARN  job failed job_id=42 reason="disk full"')
    assert "\033[" not in line


def test_a_field_the_message_already_shows_is_left_out() -> None:
    url = "http://127.0.0.1:8080"
    line = TextFormatter().format(record(f"listening on {url} (ready in 2.5 s)", url=url, startup_s=2.5, port=80))
    assert line.endswith(f"listening on {url} (ready in 2.5 s) port=80")


def test_a_sentence_for_people_replaces_the_message_in_text_only() -> None:
    rec = record("cmms ready", url="http://h:1", startup_s=1.5, **{FOR_PEOPLE: "listening on http://h:1"})
    assert TextFormatter().format(rec).endswith(" INFO  listening on http://h:1 startup_s=1.5")
    entry = json.loads(JsonFormatter().format(rec))
    assert entry["msg"] == "cmms ready"
    assert FOR_PEOPLE not in entry


def test_text_carries_the_request_id_and_foreign_logger_names() -> None:
    token = request_id_var.set("req-7")
    try:
        line = TextFormatter().format(record("slow", name="aiohttp.server"))
    finally:
        request_id_var.reset(token)
    assert line.endswith("slow request_id=req-7 logger=aiohttp.server")


def test_colour_marks_the_level() -> None:
    line = TextFormatter(colour=True).format(record("boom", logging.ERROR))
    assert "\033[31mERROR\033[0m boom" in line


def test_json_lines_keep_every_field() -> None:
    entry = json.loads(JsonFormatter().format(record("cmms ready", url="http://x", embedded=True)))
    assert entry["msg"] == "cmms ready"
    assert entry["level"] == "info"
    assert entry["logger"] == "cmms.server"
    assert (entry["url"], entry["embedded"]) == ("http://x", True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["ts"])


def test_a_terminal_handler_leaves_routine_background_lines_out() -> None:
    stream = Terminal()
    handler = make_handler("INFO", "auto", stream, env={"TERM": "dumb"})
    for rec in [
        record("migration applied", name="cmms.db.migrate"),
        record("Listening started.", name="taskiq.receiver.receiver"),
        record("job retried", logging.WARNING, name="cmms.jobs.worker"),
        record("cmms listening"),
    ]:
        handler.handle(rec)
    lines = stream.getvalue().splitlines()
    assert [line.split(maxsplit=2)[2] for line in lines] == ["job retried", "cmms listening"]


def test_json_and_debug_keep_every_line() -> None:
    for fmt, stream in [("auto", io.StringIO()), ("text", Terminal())]:
        level = "INFO" if fmt == "auto" else "DEBUG"
        handler = make_handler(level, fmt, stream)
        handler.handle(record("migration applied", name="cmms.db.migrate"))
        assert "migration applied" in stream.getvalue()


def test_the_setting_defaults_to_auto_and_is_checked() -> None:
    assert load_settings(env={}).log.format == "auto"
    assert load_settings(env={"CMMS_LOG_FORMAT": "text"}).log.format == "text"
    with pytest.raises(ConfigError, match=r"\[log\] format: expected auto, json or text, got 'xml'"):
        load_settings(env={"CMMS_LOG_FORMAT": "xml"})
