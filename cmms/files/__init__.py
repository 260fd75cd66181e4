"""Files: one port (`base.FileStore`), two backends (PostgreSQL chunks, S3-compatible objects).

`open_files(settings, pool)` is what the runtime calls: PostgreSQL when `[files] s3_url` is
empty, else S3 through aiobotocore (imported only then).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cmms.config import FilesSettings
from cmms.files.base import FileStore
from cmms.files.postgres import PostgresFiles


@asynccontextmanager
async def open_files(settings: FilesSettings, pool: Any) -> AsyncIterator[FileStore]:
    if not settings.s3_url:
        yield PostgresFiles(pool)
        return
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    from cmms.files.s3 import S3Files

    session = get_session()
    config = AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"})
    async with session.create_client(
        "s3",
        endpoint_url=settings.s3_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key or None,
        aws_secret_access_key=settings.s3_secret_key or None,
        config=config,
    ) as client:
        yield S3Files(client, settings.s3_bucket, settings.s3_prefix)
