"""What a process remembers of API keys between requests: verified keys and their last use.

A verified key is kept for `ttl` seconds so a machine posting readings every second costs no
database read per request; revocation still takes effect at once, because every request also
asks the revocation record (process, Redis, PostgreSQL). Uses are collected here and written
in batches, so `last_used_at` costs no write per request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from typing import Any


class KeyCache:
    def __init__(self, ttl: float = 30.0, size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._keys: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()
        self.used: dict[int, dict[int, datetime]] = {}  # tenant -> key id -> last use

    def get(self, digest: bytes) -> dict[str, Any] | None:
        entry = self._keys.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: bytes, row: dict[str, Any]) -> None:
        self._keys[digest] = (time.monotonic() + self.ttl, row)
        self._keys.move_to_end(digest)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def forget(self, key_id: int) -> None:
        for digest in [d for d, (_, row) in self._keys.items() if row["id"] == key_id]:
            del self._keys[digest]

    def touch(self, tenant_id: int, key_id: int, at: datetime) -> None:
        self.used.setdefault(tenant_id, {})[key_id] = at

    def take_used(self) -> dict[int, dict[int, datetime]]:
        used, self.used = self.used, {}
        return used
