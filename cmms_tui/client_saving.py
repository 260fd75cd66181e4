"""Saving a downloaded file: a name that stays in its folder, never overwriting, never half written."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp


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


async def _save(content: aiohttp.StreamReader, folder: Path, name: str) -> Path:
    """Write under a temporary name, then rename: a broken transfer leaves no half file behind."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    temp = folder / f".{name}.{os.getpid()}.part"
    out = await asyncio.to_thread(temp.open, "wb")
    try:
        async for chunk in content.iter_chunked(1 << 16):
            await asyncio.to_thread(out.write, chunk)
    except BaseException:
        out.close()
        temp.unlink(missing_ok=True)
        raise
    out.close()
    final = _free_path(folder, name)
    await asyncio.to_thread(os.replace, temp, final)
    return final
