"""The console's client against a real daemon (the same harness as tests/tui)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tui.server import Server, running_server


@pytest.fixture(scope="package")  # stopped before the next directory starts its own
def server() -> Iterator[Server]:
    with running_server("redis://127.0.0.1:6379/8") as srv:
        yield srv
