"""`cmms` writes readable lines to a terminal and JSON lines to a pipe, as a real process.

`cmms migrate` at level DEBUG against the suite's database is the cheap command used: it starts
no server, and asyncio's first DEBUG line comes out on every run, migrations or not.
"""

from __future__ import annotations

import errno
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)
TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d (\x1b\[[\d;]+m)?(DEBUG|INFO |WARN |ERROR)(\x1b\[0m)? \S")


def _env(database_url: str, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMMS_") and k not in ("NO_COLOR", "TERM")}
    env.update(
        CMMS_DATABASE_URL=database_url,
        CMMS_REDIS_URL=redis_url,
        CMMS_LOG_LEVEL="DEBUG",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _command(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "cmms", "migrate", "--data-dir", str(data_dir)]


def _in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """Run with standard output and error on a pseudo-terminal; the lines it showed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # EIO: the last writer closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode(errors="replace").replace("\r\n", "\n").splitlines()


def test_a_terminal_gets_text_lines_in_colour(database_url: str, redis_url: str, tmp_path: Path) -> None:
    status, lines = _in_terminal(_command(tmp_path), _env(database_url, redis_url, tmp_path, TERM="xterm"))
    assert status == 0, lines
    logged = [line for line in lines if TEXT_LINE.match(line)]
    assert logged, lines
    assert not [line for line in lines if line.startswith("{")], lines
    assert any("\x1b[2mDEBUG\x1b[0m" in line for line in logged), logged


def test_no_color_turns_colour_off(database_url: str, redis_url: str, tmp_path: Path) -> None:
    env = _env(database_url, redis_url, tmp_path, TERM="xterm", NO_COLOR="1")
    status, lines = _in_terminal(_command(tmp_path), env)
    assert status == 0, lines
    assert [line for line in lines if TEXT_LINE.match(line)], lines
    assert not [line for line in lines if "\x1b[" in line], lines


def test_a_pipe_gets_json_lines(database_url: str, redis_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        _command(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(database_url, redis_url, tmp_path, TERM="xterm"),
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert {"ts", "level", "logger", "msg"} <= set(entries[0])


def test_the_setting_wins_over_the_terminal(database_url: str, redis_url: str, tmp_path: Path) -> None:
    env = _env(database_url, redis_url, tmp_path, TERM="xterm", CMMS_LOG_FORMAT="json")
    status, lines = _in_terminal(_command(tmp_path), env)
    assert status == 0, lines
    logged = [line for line in lines if line.startswith("{")]
    assert logged, lines
    assert all(json.loads(line)["level"] for line in logged)
    assert not [line for line in lines if TEXT_LINE.match(line)], lines
