"""One access line per request, in the configured log format, without a LogRecord per line.

Building and handling a `logging.LogRecord` cost more CPU than serving a cached answer, so the
access log writes the line the configured handler would write (JSON or text, `cmms.logs`) itself
and hands the handler's stream a batch every 50 ms. Lines still waiting when the process is
killed are lost (50 ms at most). When the root handler is not one of ours (a test capturing
logs, say), lines go through `logging` as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TextIO

import orjson

from cmms.logs import JsonFormatter, TextFormatter

log = logging.getLogger("cmms.access")


class AccessLog:
    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self._lines: list[str] = []
        self._flush: asyncio.TimerHandle | None = None
        handler = logging.getLogger().handlers[0] if logging.getLogger().handlers else None
        formatter = handler.formatter if isinstance(handler, logging.StreamHandler) else None
        direct = isinstance(formatter, JsonFormatter | TextFormatter) and not log.handlers and log.propagate
        self._stream: TextIO | None = getattr(handler, "stream", None) if direct else None
        self._json = isinstance(formatter, JsonFormatter)
        self._colour = isinstance(formatter, TextFormatter) and formatter.colour
        self._second = -1
        self._stamp = ""  # the timestamp up to the second, formatted once a second

    def write(self, method: str, path: str, status: int, ms: float, request_id: str) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        if self._stream is None:
            log.info("%s %s %s", method, path, status, extra={"status": status, "ms": ms})
            return
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            self._stamp = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) if self._json else time.strftime("%H:%M:%S")
            )
        message = f"{method} {path} {status}"
        if self._json:
            stamp = f"{self._stamp}.{int(now * 1000) % 1000:03d}Z"
            entry = {"ts": stamp, "level": "info", "logger": log.name, "msg": message, "request_id": request_id}
            line = orjson.dumps({**entry, "status": status, "ms": ms}).decode()
        else:
            pairs = f"request_id={request_id} ms={ms}"
            level, pairs = ("\033[32mINFO \033[0m", f"\033[2m{pairs}\033[0m") if self._colour else ("INFO ", pairs)
            line = f"{self._stamp} {level} {message} {pairs}"
        self._lines.append(line + "\n")
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(self.every, self.flush)

    async def on_cleanup(self, _app: object) -> None:
        """Lines still waiting when the app stops go out."""
        self.flush()

    def flush(self) -> None:
        self._flush = None
        lines, self._lines = self._lines, []
        if lines and self._stream is not None:
            try:
                self._stream.write("".join(lines))
                self._stream.flush()
            except (OSError, ValueError):  # a closed or broken stream must not break requests
                pass
