"""The console's client against a real daemon (the same harness as tests/tui)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tui.server import Server, running_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv
