"""The S3-compatible file store (AWS S3, MinIO, Ceph RGW, ...), used when `[files] s3_url` is set.

Objects are named `<prefix><tenant id | "system">/<key>`, so a scope can only ever reach its own
objects. Uploads stream: up to one part (5 MiB, S3's smallest multipart part) is buffered; a
stream that ends within it is one PutObject, a longer one a multipart upload that becomes visible
only when completed, and is aborted on any failure, so nothing partial is ever readable or left
behind. Downloads are ranged GetObject requests read in chunks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cmms.files.base import CHUNK, Meter, Stored, StoreUnavailable

PART = 5 * 1024 * 1024
MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Files:
    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "", part_size: int = PART) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size

    def _object(self, scope: int | None, key: str) -> str:
        return f"{self.prefix}{'system' if scope is None else scope}/{key}"

    async def put(self, scope: int | None, chunks: AsyncIterable[bytes], *, limit: int | None = None) -> Stored:
        key = str(uuid.uuid4())
        name = self._object(scope, key)
        meter = Meter(limit)
        pending = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for piece in chunks:
                meter.feed(piece)
                pending += piece
                if len(pending) >= self.part_size:
                    if upload_id is None:
                        started = await self.client.create_multipart_upload(Bucket=self.bucket, Key=name)
                        upload_id = started["UploadId"]
                    parts.append(await self._part(name, upload_id, len(parts) + 1, pending))
                    pending = bytearray()  # a new buffer, not a copy: the sent one is dropped
            if upload_id is None:
                await self.client.put_object(Bucket=self.bucket, Key=name, Body=bytes(pending))
            else:
                if pending:
                    parts.append(await self._part(name, upload_id, len(parts) + 1, pending))
                await self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
                upload_id = None
        except BaseException:
            if upload_id is not None:
                try:
                    await self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
                except (BotoCoreError, ClientError):
                    pass  # the bucket's lifecycle rule for incomplete uploads is the backstop
            raise
        return Stored(key, meter.size, meter.sha256)

    async def _part(self, name: str, upload_id: str, number: int, data: bytearray) -> dict[str, Any]:
        answer = await self.client.upload_part(
            Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def read(self, scope: int | None, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and start >= end:
            return
        byte_range = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        try:
            answer = await self.client.get_object(Bucket=self.bucket, Key=self._object(scope, key), Range=byte_range)
        except ClientError as exc:
            if _code(exc) in MISSING or _code(exc) == "InvalidRange":
                return
            raise StoreUnavailable(str(exc)) from exc
        async with answer["Body"] as body:
            while data := await body.read(CHUNK):
                yield data

    async def size(self, scope: int | None, key: str) -> int | None:
        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=self._object(scope, key))
        except ClientError as exc:
            if _code(exc) in MISSING:
                return None
            raise StoreUnavailable(str(exc)) from exc
        return int(head["ContentLength"])

    async def delete(self, scope: int | None, key: str) -> bool:
        if await self.size(scope, key) is None:
            return False
        await self.client.delete_object(Bucket=self.bucket, Key=self._object(scope, key))
        return True

    async def keys(self, scope: int | None) -> list[str]:
        return [key for key, _ in await self._listing(scope)]

    async def created_before(self, scope: int | None, before: datetime) -> list[str]:
        return [key for key, modified in await self._listing(scope) if modified < before]

    async def _listing(self, scope: int | None) -> list[tuple[str, datetime]]:
        folder = self._object(scope, "")
        found: list[tuple[str, datetime]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            found += [(item["Key"].removeprefix(folder), item["LastModified"]) for item in page.get("Contents", [])]
        return found

    async def pending_uploads(self) -> list[str]:
        """Multipart uploads started and neither completed nor aborted (should stay empty)."""
        answer = await self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        return [u["Key"] for u in answer.get("Uploads", [])]

    async def health(self) -> dict[str, object]:
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            return {"ok": False, "backend": self.name, "error": str(exc)}
        return {"ok": True, "backend": self.name}

    async def close(self) -> None:
        return None  # the client's context (cmms.files.open_files) closes it


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
