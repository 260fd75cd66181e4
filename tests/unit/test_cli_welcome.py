"""The URL and command lines that `cmms serve` and `cmms demo` hand to a newcomer."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from cmms.config import load_settings
from cmms.demo import CONSOLE_EMAIL, TENANT, summary
from cmms.welcome import cmms_command, reach_url, tui_command


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://127.0.0.1:8080"),
        ({"server_host": "0.0.0.0", "server_port": 9000}, "http://127.0.0.1:9000"),
        ({"server_host": "::"}, "http://[::1]:8080"),
        ({"server_host": "fe80::1"}, "http://[fe80::1]:8080"),
        ({"server_host": "cmms.internal"}, "http://cmms.internal:8080"),
        ({"server_public_url": "https://cmms.example.com/"}, "https://cmms.example.com"),
    ],
)
def test_the_url_people_reach(overrides: dict[str, Any], expected: str) -> None:
    assert reach_url(load_settings(env={}, **overrides)) == expected


def test_commands_name_a_data_dir_that_is_not_the_default() -> None:
    assert cmms_command(load_settings(env={}), "demo") == "cmms demo"
    chosen = load_settings(env={}, data_dir="/srv/my data")
    assert shlex.split(cmms_command(chosen, "tenant", "create", "NAME")) == [
        "cmms",
        "tenant",
        "create",
        "NAME",
        "--data-dir",
        "/srv/my data",
    ]


def test_the_demo_prints_the_console_line_after_the_logins() -> None:
    logins = [
        {"role": "admin", "email": "ada@demo.cmms.local", "password": "pw-admin"},
        {"role": "technician", "email": CONSOLE_EMAIL, "password": "pw-tech"},
    ]
    lines = summary(logins, "http://127.0.0.1:8181")
    console = tui_command("http://127.0.0.1:8181", TENANT, CONSOLE_EMAIL)
    assert console == f"cmms-tui --server http://127.0.0.1:8181 --tenant demo --email {CONSOLE_EMAIL}"
    assert f"  {console}" in lines
    assert next(i for i, line in enumerate(lines) if "pw-tech" in line) < lines.index(f"  {console}")
