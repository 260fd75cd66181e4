"""One real daemon for the console's pilot tests (see server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tui.server import Server, running_server


@pytest.fixture(scope="package")  # stopped before the next directory starts its own
def server() -> Iterator[Server]:
    with running_server() as srv:
        yield srv
