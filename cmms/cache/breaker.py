"""A circuit breaker: after a few consecutive Redis failures, skip Redis for a while.

While open, requests go straight to PostgreSQL instead of each waiting for a timeout; after the
cool-down one request probes Redis (half-open) and a success closes the breaker again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("cmms.cache")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Breaker:
    def __init__(
        self,
        *,
        failures: int = 3,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "cache",
    ) -> None:
        self.name = name
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0

    def allow(self) -> bool:
        if self.state == OPEN and self.clock() - self.opened_at >= self.cooldown:
            self.state = HALF_OPEN
            return True  # this caller probes
        return self.state != OPEN

    def success(self) -> None:
        if self.state != CLOSED:
            log.info("%s breaker closed: Redis answers again", self.name)
        self.state, self.failures = CLOSED, 0

    def failure(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN or (self.state == CLOSED and self.failures >= self.threshold):
            if self.state == CLOSED:
                log.warning(
                    "%s breaker opened: Redis failing; reading from PostgreSQL",
                    self.name,
                    extra={"failures": self.failures},
                )
            self.state, self.opened_at = OPEN, self.clock()
