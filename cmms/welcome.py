"""The first minute: the address people reach the daemon at, and the command lines to type next.

`cmms serve` and `cmms demo` print these, so the two agree on the URL and on how a command
reaches the same installation.
"""

from __future__ import annotations

import shlex

from cmms.config import Settings


def reach_url(settings: Settings) -> str:
    """`[server] public_url`, else the listen address; a wildcard address is reached on loopback."""
    if settings.server.public_url:
        return settings.server.public_url.rstrip("/")
    host = settings.server.host
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def cmms_command(settings: Settings, *args: str) -> str:
    """A `cmms` command line for the same installation: with `--data-dir` unless it is the default one."""
    words = ["cmms", *args]
    if settings.data.dir:
        words += ["--data-dir", str(settings.data_dir)]
    return shlex.join(words)


def tui_command(url: str, tenant: str, email: str) -> str:
    return shlex.join(["cmms-tui", "--server", url, "--tenant", tenant, "--email", email])
