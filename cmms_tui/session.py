"""The saved session: server, tenant, email and the refresh token, in the user's config directory.

The file is written with mode 0600 (its folder 0700) by an atomic rename, and every console of the
user takes the same lock before rotating the token, so two consoles never spend one refresh token
twice (the server would revoke the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

from platformdirs import user_config_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "tui-session.json"


@dataclass(frozen=True)
class SavedSession:
    server: str
    tenant: str
    email: str
    refresh_token: str


def default_dir() -> Path:
    return Path(os.environ.get("CMMS_TUI_CONFIG_DIR") or user_config_dir("cmms"))


class SessionFile:
    """Implements the client's TokenKeeper for one identity (server, tenant, email)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_dir()
        self.path = self.directory / FILE_NAME
        self._identity: tuple[str, str, str] | None = None

    def bind(self, server: str, tenant: str, email: str) -> None:
        self._identity = (server, tenant, email)

    def read(self) -> SavedSession | None:
        try:
            data = json.loads(self.path.read_text())
            return SavedSession(
                server=str(data["server"]),
                tenant=str(data["tenant"]),
                email=str(data["email"]),
                refresh_token=str(data["refresh_token"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, session: SavedSession) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(session), out)
        os.chmod(tmp, 0o600)  # in case the file existed with wider permissions
        os.replace(tmp, self.path)

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # ---- TokenKeeper --------------------------------------------------------------------------

    def load_refresh_token(self) -> str | None:
        saved = self.read()
        if saved is None or self._identity is None or (saved.server, saved.tenant, saved.email) != self._identity:
            return None
        return saved.refresh_token

    def save_refresh_token(self, token: str) -> None:
        if self._identity is not None:
            server, tenant, email = self._identity
            self.write(SavedSession(server, tenant, email, token))

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        if fcntl is None:
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / "tui-session.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            for _ in range(200):  # up to ~10 s; never block the event loop on flock
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.05)
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
