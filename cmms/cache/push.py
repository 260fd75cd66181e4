"""What other nodes changed, pushed to this one: one Redis pub/sub connection for every in-process copy.

Cache namespace versions and revocations are kept in each process so that a request needs no
Redis round trip; a node that changes them publishes the change (in the same Lua script as the
change itself, so a change is never made without its message). A copy is only trusted while the
subscription is known to be alive: the channel confirms its subscription, then tells each
subscriber to refresh from the source of truth; it pings every 0.5 s, and when Redis stops
answering (or the connection drops, which also covers a Redis restart) every subscriber hears
`lost()` and goes back to asking Redis or PostgreSQL per request until the next subscription.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("cmms.cache")


class Subscriber(Protocol):
    channel: str

    def on_message(self, data: str) -> None: ...

    def on_subscribed(self) -> None:
        """The channel is alive from now on: refresh from the source and trust the copy."""

    def on_lost(self) -> None:
        """Messages may have been missed: stop trusting the copy."""


class PushChannel:
    def __init__(self, redis: Redis, *, ping_every: float = 0.5, dead_after: float = 1.5) -> None:
        self._redis = redis
        self._subscribers: dict[str, Subscriber] = {}
        self.ping_every = ping_every
        self.dead_after = dead_after
        self.live = False
        self.subscriptions = 0  # how many times the channel came alive: for metrics and tests

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers[subscriber.channel] = subscriber

    async def run(self) -> None:
        """Stay subscribed until cancelled, reconnecting with a backoff while Redis is away."""
        backoff = 0.1
        while True:
            before = self.subscriptions
            try:
                await self._listen()
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("push channel lost: %r", exc)
            backoff = 0.1 if self.subscriptions != before else min(backoff * 2, 2.0)
            await asyncio.sleep(backoff)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await self._subscribed(pubsub)
        except asyncio.CancelledError:
            self._lose(quietly=True)  # shutting down: nothing is wrong
            raise
        except BaseException:
            self._lose()  # before the connection is closed, which may take a while
            raise
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _subscribed(self, pubsub: PubSub) -> None:
        """Subscribe, then hand out messages until Redis stops answering pings in time."""
        await pubsub.subscribe(*self._subscribers)
        confirmed: set[str] = set()
        heard = pinged = time.monotonic()
        while True:
            message = await pubsub.get_message(timeout=self.ping_every)
            now = time.monotonic()
            if message is not None:
                heard = now
                self._dispatch(message, confirmed)
            elif now - heard > self.dead_after:
                raise TimeoutError("no answer from Redis on the push channel")
            if now - pinged >= self.ping_every:
                await pubsub.ping()
                pinged = now

    def _dispatch(self, message: dict[str, object], confirmed: set[str]) -> None:
        kind, channel = message.get("type"), _text(message.get("channel"))
        if kind == "message" and self.live:
            subscriber = self._subscribers.get(channel)
            if subscriber is not None:
                subscriber.on_message(_text(message.get("data")))
        elif kind == "subscribe":
            if self.live:  # the client reconnected by itself: messages in between may be lost
                self._lose()
                confirmed.clear()
            confirmed.add(channel)
            if not self.live and confirmed >= set(self._subscribers):
                self.live = True
                self.subscriptions += 1
                for subscriber in self._subscribers.values():
                    subscriber.on_subscribed()
                # Routine at start-up (DEBUG, off the first screen); worth a line when it comes back.
                level = logging.INFO if self.subscriptions > 1 else logging.DEBUG
                log.log(level, "push channel subscribed", extra={"channels": sorted(confirmed)})

    def _lose(self, quietly: bool = False) -> None:
        if self.live and not quietly:
            log.warning("push channel lost; in-process copies are checked against Redis until it is back")
        self.live = False
        for subscriber in self._subscribers.values():
            subscriber.on_lost()


def channel_name(topic: str, redis_url: str) -> str:
    """`cmms:push:<topic>:db<n>`: Redis pub/sub ignores database numbers, so deployments sharing one
    Redis on different databases must not hear each other's changes."""
    url = urlparse(redis_url)
    database = parse_qs(url.query).get("db", ["0"])[0] if url.scheme == "unix" else url.path.strip("/") or "0"
    return f"cmms:push:{topic}:db{database if database.isdigit() else 0}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
