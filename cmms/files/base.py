"""The file-store port: one interface, two backends (PostgreSQL chunks, S3-compatible objects).

A store keeps opaque byte objects under keys it chooses, in a scope: a tenant id, or None for
system output (system jobs). Objects are written by streaming chunks in and read by streaming
chunks out, so neither side holds a whole file in memory. A `put` is all or nothing: an upload
that fails, is cancelled or goes over its limit leaves nothing behind, and an object becomes
readable only when `put` has returned. What the bytes mean (attachments, job results, dedup by
content) is the services' business; the store only counts and hashes what it was given.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

CHUNK = 256 * 1024  # bytes per chunk read from disk and written to PostgreSQL


class FileTooLarge(Exception):
    """The stream went past the limit given to `put`; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


class StoreUnavailable(Exception):
    """The backend cannot answer now (unreachable, misconfigured bucket, refused credentials)."""


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


@dataclass
class Meter:
    """Counts and hashes a stream as it passes and stops it at `limit` (checked per chunk)."""

    limit: int | None = None
    size: int = 0
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256)

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            raise FileTooLarge(self.limit)
        self._hash.update(chunk)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


@runtime_checkable
class FileStore(Protocol):
    name: str

    async def put(self, scope: int | None, chunks: AsyncIterable[bytes], *, limit: int | None = None) -> Stored:
        """Store the stream as a new object and return its key, size and SHA-256.

        Raises `FileTooLarge` as soon as more than `limit` bytes have arrived; any exception
        (from the stream too) leaves no object and no partial upload behind.
        """
        ...

    def read(self, scope: int | None, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes [start, end) of an object (end None: to its end), in chunks.

        The caller checks the range against `size` first; a missing object yields nothing.
        """
        ...

    async def size(self, scope: int | None, key: str) -> int | None:
        """The object's size, or None when there is no such object in this scope."""
        ...

    async def delete(self, scope: int | None, key: str) -> bool:
        """Remove the object; False when it was not there."""
        ...

    async def keys(self, scope: int | None) -> list[str]:
        """Every key of the scope (tests and orphan sweeps; not for request paths)."""
        ...

    async def created_before(self, scope: int | None, before: datetime) -> list[str]:
        """Keys of the scope's objects written before `before`: candidates for the orphan sweep."""
        ...

    async def health(self) -> dict[str, object]: ...

    async def close(self) -> None: ...


async def file_chunks(path: Path, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    """A local file as a stream of chunks, read off the event loop."""
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while data := await asyncio.to_thread(f.read, chunk):
            yield data
    finally:
        f.close()


async def read_all(store: FileStore, scope: int | None, key: str) -> bytes:
    """The whole object in memory: for tests and small files only."""
    return b"".join([c async for c in store.read(scope, key)])
