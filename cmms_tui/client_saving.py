"""Saving a downloaded file: a name that stays in its folder, never overwriting, never half written."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import aiohttp

Progress = Callable[[int, int | None], None]  # (bytes done, total when known)
CHUNK = 1 << 16


def _safe_name(name: str | None, fallback: str) -> str:
    """Only the last part of a server-given file name: it may not climb out of the folder."""
    base = Path(name or "").name.strip().lstrip(".")
    return base or fallback


def _free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `stem (2).ext` and so on when that file exists already."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    n = 2
    while path.exists():
        path = folder / f"{stem} ({n}){suffix}"
        n += 1
    return path


async def _save(
    content: aiohttp.StreamReader,
    folder: Path,
    name: str,
    progress: Progress | None = None,
    total: int | None = None,
) -> Path:
    """Write under a temporary name, then rename: a broken transfer leaves no half file behind."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    temp = folder / f".{name}.{os.getpid()}.part"
    out = await asyncio.to_thread(temp.open, "wb")
    done = 0
    try:
        async for chunk in content.iter_chunked(CHUNK):
            await asyncio.to_thread(out.write, chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    except BaseException:
        out.close()
        temp.unlink(missing_ok=True)
        raise
    out.close()
    final = _free_path(folder, name)
    await asyncio.to_thread(os.replace, temp, final)
    return final
