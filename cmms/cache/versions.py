"""The cache's namespace versions, kept in process and pushed by the nodes that bump them.

A version is learnt from Redis the first time it is needed (one MGET, the truth at that instant)
and then kept up to date by the messages that every bump publishes (`cmms:push:cache:db<n>`). Within
one epoch versions only grow, so the higher of two answers is the newer one, whatever order a
reply and a message arrive in. An epoch other than the one the book knows means the epoch moved
on (or an old message crossed a newer reply): the book forgets everything and learns again from
Redis. Every forgetting starts a new generation, and a reply to a lookup begun in an older
generation is not learnt.
"""

from __future__ import annotations


class VersionBook:
    def __init__(self, channel: str = "cmms:push:cache:db0") -> None:
        self.channel = channel
        self.trusted = False  # only while the push channel is subscribed
        self.generation = 0
        self._epoch: int | None = None
        self._versions: dict[str, int] = {}

    def get(self, name: str) -> tuple[int, int] | None:
        """(epoch, version) of a version key, when the book may answer without Redis."""
        if not self.trusted or self._epoch is None:
            return None
        version = self._versions.get(name)
        return None if version is None else (self._epoch, version)

    def learn(self, generation: int, epoch: int, versions: dict[str, int]) -> None:
        if generation != self.generation or not self.trusted:
            return
        if self._epoch is None:
            self._epoch = epoch
        elif epoch != self._epoch:
            self.forget()
            return
        for name, version in versions.items():
            if version > self._versions.get(name, -1):
                self._versions[name] = version

    def forget(self) -> None:
        self.generation += 1
        self._epoch = None
        self._versions.clear()

    # ---- the push channel's subscriber ----------------------------------------------------------

    def on_message(self, data: str) -> None:
        """`<epoch> <version key>=<version> ...`, published by every bump and epoch move."""
        try:
            epoch_text, *pairs = data.split()
            versions = {name: int(value) for name, _, value in (p.partition("=") for p in pairs)}
            epoch = int(epoch_text)
        except ValueError:
            self.forget()
            return
        self.learn(self.generation, epoch, versions)

    def on_subscribed(self) -> None:
        self.forget()
        self.trusted = True

    def on_lost(self) -> None:
        self.trusted = False
        self.forget()
