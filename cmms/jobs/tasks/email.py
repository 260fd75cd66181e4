"""Email jobs: notifications sent through SMTP when `smtp.url` is set (CMMS_SMTP_URL), otherwise
written as one `.eml` file per recipient into `<data dir>/outbox/`.

`smtp.url` is `smtp://[user:password@]host[:port]` (port 25; STARTTLS when the server offers it)
or `smtps://...` (implicit TLS, port 465); query options: `from=` (the sender address),
`starttls=true|false` (require or forbid STARTTLS), `timeout=` (seconds).

Idempotent on the job: each message has a Message-ID made of the job and the recipient, a retry
skips recipients an earlier attempt already reached (kept in Redis for a week), and an outbox file
has a fixed name written atomically (temporary file, then rename).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.exceptions import RedisError

from cmms.config import Settings
from cmms.domain.jobs import EmailParams
from cmms.jobs.context import JobContext, JobResult
from cmms.services import notify

log = logging.getLogger(__name__)
DEFAULT_SENDER = "CMMS <cmms@localhost>"
SENT_TTL = 7 * 86_400


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    start_tls: bool | None
    username: str | None
    password: str | None
    sender: str
    timeout: float


def smtp_target(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("smtp.url must look like smtp://[user:password@]host[:port] or smtps://...")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    start_tls = {"true": True, "1": True, "false": False, "0": False}.get(query.get("starttls", "").lower())
    use_tls = parts.scheme == "smtps"
    return SmtpTarget(
        hostname=parts.hostname,
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        start_tls=None if use_tls else start_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from") or DEFAULT_SENDER,
        timeout=float(query.get("timeout", 30)),
    )


def base_url(settings: Settings) -> str:
    """Where links in messages point: the public URL, else the daemon's address."""
    if settings.server.public_url:
        return settings.server.public_url.rstrip("/")
    host = settings.server.host
    if host in ("", "0.0.0.0", "::"):
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


async def run(ctx: JobContext, params: EmailParams) -> JobResult:
    settings = ctx.deps.settings
    mails, facts = await notify.compose(ctx.deps, ctx.actor, params, base_url(settings))
    target = smtp_target(settings.smtp.url) if settings.smtp.url else None
    sender = target.sender if target else DEFAULT_SENDER
    messages = [(m.user_id, _message(ctx, m, sender, params.template)) for m in mails]
    await ctx.progress(0.0, f"{len(messages)} recipients", force=True)
    summary: dict[str, Any] = {
        "template": params.template,
        "recipients": len(messages),
        "transport": "smtp" if target else "outbox",
        "user_ids": [uid for uid, _ in messages],
        **facts,
    }
    if target is not None:
        summary["sent"], summary["already_sent"] = await _send_smtp(ctx, target, messages)
    else:
        folder = ctx.data_dir / "outbox"
        summary["files"] = await _write_outbox(ctx, folder, params.template, messages)
        summary["outbox"] = str(folder)
    return JobResult(summary=summary)


def _message(ctx: JobContext, mail: notify.Mail, sender: str, template: str) -> EmailMessage:
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "localhost"
    message_id = f"<cmms.job-{ctx.job_id}.{template}.user-{mail.user_id}@{domain}>"
    return notify.message(mail, sender=sender, message_id=message_id)


async def _send_smtp(ctx: JobContext, target: SmtpTarget, messages: list[tuple[int, EmailMessage]]) -> tuple[int, int]:
    """Send over one connection; returns (sent now, skipped because an earlier attempt sent them)."""
    import aiosmtplib  # only needed when SMTP is configured

    key = f"cmms:jobs:email:{ctx.job_id}:sent"
    already = await _sent_before(ctx, key)
    todo = [(uid, msg) for uid, msg in messages if str(uid) not in already]
    if not todo:
        return 0, len(messages)
    smtp = aiosmtplib.SMTP(
        hostname=target.hostname,
        port=target.port,
        username=target.username,
        password=target.password,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        timeout=target.timeout,
    )
    async with smtp:
        for i, (uid, msg) in enumerate(todo, 1):
            await smtp.send_message(msg)
            await _mark_sent(ctx, key, uid)
            await ctx.progress(i / len(todo), f"sent {i} of {len(todo)}")
    return len(todo), len(messages) - len(todo)


async def _sent_before(ctx: JobContext, key: str) -> set[str]:
    try:
        members = await ctx.deps.redis.smembers(key)
    except RedisError:
        log.warning("email job %s: cannot read which recipients were already sent to", ctx.job_id)
        return set()
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}


async def _mark_sent(ctx: JobContext, key: str, user_id: int) -> None:
    try:
        await ctx.deps.redis.sadd(key, str(user_id))
        await ctx.deps.redis.expire(key, SENT_TTL)
    except RedisError:
        log.warning("email job %s: cannot record that user %s was sent to", ctx.job_id, user_id)


async def _write_outbox(
    ctx: JobContext, folder: Path, template: str, messages: list[tuple[int, EmailMessage]]
) -> list[str]:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    names = []
    for i, (uid, msg) in enumerate(messages, 1):
        name = f"job-{ctx.job_id}-{template}-user-{uid}.eml"
        await asyncio.to_thread(_write_atomically, folder / name, msg.as_bytes(policy=policy.SMTP))
        names.append(name)
        await ctx.progress(i / len(messages), f"wrote {i} of {len(messages)}")
    return names


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
