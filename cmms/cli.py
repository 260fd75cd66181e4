"""The `cmms` command: daemon, migrations and administration. Exit 0, or non-zero with one line."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, TypeVar

import click
import psycopg2
from redis.exceptions import RedisError

from cmms.config import ConfigError, Settings, load_settings
from cmms.domain.errors import DomainError
from cmms.domain.model import UserIn
from cmms.domain.roles import Actor, Role
from cmms.logs import setup_logging

T = TypeVar("T")
log = logging.getLogger("cmms.cli")


_CHOSEN = "cmms.location"  # ctx.meta key: --data-dir/--config as given at every level, innermost last


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)  # type: ignore[return-value]


def _location_options() -> list[click.Parameter]:
    return [
        click.Option(["--data-dir"], type=click.Path(file_okay=False), help="Where embedded servers and files live."),
        click.Option(
            ["--config", "config_file"], type=click.Path(dir_okay=False, exists=True), help="A TOML settings file."
        ),
    ]


class LocatedCommand(click.Command):
    """--data-dir and --config wherever people type them: before the command name or after it.

    Every level records what it was given in the context chain; the innermost level wins, and
    the command that finally runs builds the settings (and the logging) from the result.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_location_options())

    def invoke(self, ctx: click.Context) -> Any:
        chosen: dict[str, str] = ctx.meta.setdefault(_CHOSEN, {})
        for name in ("data_dir", "config_file"):
            value = ctx.params.pop(name, None)
            if value is not None:
                chosen[name] = value
        if not isinstance(self, click.Group):
            ctx.obj = resolve_settings(chosen)
        return super().invoke(ctx)


def resolve_settings(chosen: dict[str, str]) -> Settings:
    try:
        settings = load_settings(chosen.get("config_file"), data_dir=chosen.get("data_dir"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    setup_logging(settings.log.level, settings.log.format)
    return settings


class LocatedGroup(LocatedCommand, click.Group):
    command_class = LocatedCommand
    group_class = type  # nested groups are located too


def run(coro_fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command; turn known errors into one line on stderr and exit status 1."""

    @wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return asyncio.run(coro_fn(*args, **kwargs))
        except (DomainError, ConfigError, OSError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except psycopg2.Error as exc:
            click.echo(f"error: database: {str(exc).strip().splitlines()[0]}", err=True)
            sys.exit(1)
        except RedisError as exc:
            click.echo(f"error: redis: {exc}", err=True)
            sys.exit(1)

    return wrapper


@click.group(cls=LocatedGroup)
def main() -> None:
    """CMMS: work orders, assets, preventive maintenance and alerts.

    --data-dir and --config go before the command name or after it (`cmms serve --data-dir D`).
    """


@main.command()
@click.option("--host", help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default 8080).")
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    help="Processes serving the port together (SO_REUSEPORT), each a full node (default: one per core).",
)
@click.option("--child", type=click.Choice(["first", "other"]), hidden=True)  # set by the supervisor
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None, child: str | None) -> None:
    """Run the daemon: REST API, Socket.IO, health and metrics, on every core."""
    from dataclasses import replace

    from cmms.server import serve as serve_forever
    from cmms.supervisor import default_workers, supervise

    started = time.perf_counter()
    settings = _settings(ctx)
    server = replace(settings.server, host=host or settings.server.host, port=port or settings.server.port)
    settings = replace(settings, server=server)
    workers = workers or default_workers()
    if child is not None or workers == 1:
        run(serve_forever)(settings, started, child=child)
        return
    if server.port == 0:
        raise click.UsageError("--workers N (more than 1) needs a fixed --port: the processes share it")
    sys.exit(run(supervise)(settings, workers, ctx.meta.get(_CHOSEN, {}).get("config_file")))


@main.command()
@click.option("--concurrency", type=int, help="Jobs run at once (default from [jobs] concurrency).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None) -> None:
    """Run job workers (taskiq over Redis streams) until SIGTERM."""
    from cmms.runtime import open_runtime

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            count = concurrency or rt.settings.jobs.concurrency
            log.info("job workers running; stop with Ctrl-C", extra={"concurrency": count})
            await _until_signal(rt.run_workers(concurrency))

    go()


@main.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the periodic jobs (PM recalculation, cleanup, backup) until SIGTERM."""
    from cmms.runtime import open_runtime

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            log.info("scheduler running; stop with Ctrl-C")
            await _until_signal(rt.scheduler().run())

    go()


async def _until_signal(work: Awaitable[None]) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    from cmms.server import stop_tasks

    task = asyncio.ensure_future(work)

    async def stopped() -> None:
        await stop.wait()

    stopper = asyncio.ensure_future(stopped())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    await stop_tasks([task, stopper])


@main.command("migrate")
@click.pass_context
def migrate_cmd(ctx: click.Context) -> None:
    """Apply database migrations."""
    from cmms.db.migrate import migrate
    from cmms.runtime import open_servers

    @run
    async def go() -> None:
        async with open_servers(_settings(ctx)) as (dsn, _):
            applied = await migrate(dsn)
        click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")

    go()


@main.group()
def tenant() -> None:
    """Tenants (organisations)."""


@tenant.command("create")
@click.argument("name")
@click.option("--display-name", help="Human-readable name (default: NAME).")
@click.pass_context
def tenant_create(ctx: click.Context, name: str, display_name: str | None) -> None:
    """Create a tenant named NAME (lowercase letters, digits, - and _)."""
    from cmms.runtime import open_runtime
    from cmms.services import tenants

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            row = await tenants.create(rt.deps, name, display_name)
        click.echo(f"tenant {row['name']} created (id {row['id']})")

    go()


@main.group()
def user() -> None:
    """Users of a tenant."""


@user.command("create")
@click.option("--tenant", "tenant_name", required=True)
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@click.pass_context
def user_create(
    ctx: click.Context, tenant_name: str, email: str, role: str, name: str | None, password_stdin: bool
) -> None:
    """Create a user; the password comes from a prompt or --password-stdin."""
    from pydantic import ValidationError

    from cmms.runtime import open_runtime
    from cmms.services import tenants, users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserIn(email=email, name=name, role=Role(role), password=password)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise click.ClickException(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            found = await tenants.find(rt.deps, tenant_name)
            if found is None:
                raise click.ClickException(f"no tenant named {tenant_name}")
            operator = Actor(tenant_id=found["id"], user_id=None, role=Role.ADMIN, request_id="cli")
            row = await users.create(rt.deps, operator, data)
        click.echo(f"user {row['email']} ({row['role']}) created in {tenant_name} (id {row['id']})")

    go()


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Seed a demo tenant (two plants, ~60 assets, PM plans, 40 orders, one user per role); print logins."""
    from cmms.demo import seed_demo, summary
    from cmms.runtime import open_runtime
    from cmms.welcome import reach_url

    @run
    async def go() -> None:
        settings = _settings(ctx)
        async with open_runtime(settings) as rt:
            logins = await seed_demo(rt.deps)
        click.echo("\n".join(summary(logins, reach_url(settings))))

    go()


@main.command("backup")
@click.option("--keep", type=click.IntRange(1, 1000), help="Backups kept (default: [jobs] backup_keep).")
@click.pass_context
def backup_cmd(ctx: click.Context, keep: int | None) -> None:
    """Back the database up now (pg_dump into <data dir>/backups); print the file's path."""
    from cmms.backup import BackupError, backup_command
    from cmms.runtime import open_servers

    @run
    async def go() -> None:
        settings = _settings(ctx)
        async with open_servers(settings) as (dsn, _):
            try:
                done = await backup_command(settings, dsn, settings.data_dir, keep)
            except BackupError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(1)
        click.echo(str(done.path))

    go()


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@click.pass_context
def restore_cmd(ctx: click.Context, file: str, yes: bool) -> None:
    """Replace the database with a backup FILE. Stop `cmms serve` and workers first."""
    from pathlib import Path

    from cmms.backup import BackupError, is_embedded, restore
    from cmms.runtime import open_servers

    if not yes:
        click.confirm(f"Replace every table of the database with {file}?", abort=True)

    @run
    async def go() -> None:
        settings = _settings(ctx)
        async with open_servers(settings) as (dsn, _):
            try:
                await restore(dsn, Path(file), embedded=is_embedded(settings))
            except BackupError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(1)
        click.echo(f"restored {file}")

    go()


@main.command("seed")
@click.option("--assets", type=click.IntRange(0, 10_000_000), default=0, show_default=True, help="Assets to add.")
@click.option("--orders", type=click.IntRange(0, 100_000_000), default=0, show_default=True, help="Orders to add.")
@click.option("--tenant", "tenant_name", default="seed", show_default=True, help="Tenant (created if missing).")
@click.pass_context
def seed_cmd(ctx: click.Context, assets: int, orders: int, tenant_name: str) -> None:
    """Bulk synthetic plants, assets, work orders and notes for load tests and benchmarks."""
    from cmms.runtime import open_runtime
    from cmms.seed import seed
    from cmms.services import search

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            report = await seed(rt.deps, tenant=tenant_name, assets=assets, orders=orders)
            indexed = await search.reindex(rt.deps, report.tenant_id)  # Elasticsearch: load the tenant
        click.echo(
            f"tenant {report.tenant} (id {report.tenant_id}): {report.assets} assets, {report.orders} orders,"
            f" {report.notes} notes in {report.seconds} s; search: {indexed.get('detail') or indexed}"
        )

    go()


@main.group("search")
def search_group() -> None:
    """Search index operations."""


@search_group.command("reindex")
@click.option("--tenant", "tenant_name", help="Reload one tenant in place instead of rebuilding everything.")
@click.pass_context
def search_reindex(ctx: click.Context, tenant_name: str | None) -> None:
    """Rebuild the search index: the next version of every index, then one atomic alias swap."""
    from cmms.runtime import open_runtime
    from cmms.services import search, tenants

    @run
    async def go() -> None:
        async with open_runtime(_settings(ctx)) as rt:
            tenant_id = None
            if tenant_name is not None:
                found = await tenants.find(rt.deps, tenant_name)
                if found is None:
                    raise click.ClickException(f"no tenant named {tenant_name}")
                tenant_id = int(found["id"])
            report = await search.reindex(rt.deps, tenant_id)
        click.echo(" ".join(f"{k}={v}" for k, v in report.items()))

    go()
