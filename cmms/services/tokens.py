"""Access JWTs and opaque refresh tokens.

Access tokens are HS256 JWTs with required claims, issuer, audience and `typ: access`; decoding
never trusts the token header's algorithm. Refresh tokens are random strings prefixed with the
tenant id (so the row can be found under row-level security) and stored only as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from cmms.config import JwtSettings
from cmms.domain.errors import Unauthenticated
from cmms.domain.roles import Actor, Role

ALGORITHM = "HS256"
REQUIRED = ["exp", "iat", "sub", "aud", "iss", "typ", "tid", "role", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    actor: Actor
    session_id: str
    issued_ms: int  # issue time in milliseconds: revocations compare at this precision
    expires_at: int


def issue_access(
    cfg: JwtSettings, secret: str, *, user_id: int, tenant_id: int, role: str, session_id: str, now: datetime
) -> str:
    claims: dict[str, Any] = {
        "iss": cfg.issuer,
        "aud": cfg.audience,
        "sub": str(user_id),
        "tid": tenant_id,
        "role": role,
        "typ": "access",
        "sid": session_id,
        "iat": int(now.timestamp()),
        "ims": int(now.timestamp() * 1000),
        "exp": int((now + timedelta(seconds=cfg.access_ttl)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access(cfg: JwtSettings, secret: str, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=cfg.audience,
            issuer=cfg.issuer,
            options={"require": REQUIRED},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the access token is not valid") from None
    if claims.get("typ") != "access":
        raise Unauthenticated("not an access token")
    try:
        actor = Actor(tenant_id=int(claims["tid"]), user_id=int(claims["sub"]), role=Role(claims["role"]))
    except (TypeError, ValueError):
        raise Unauthenticated("the access token is not valid") from None
    return AccessClaims(
        actor=actor,
        session_id=str(claims["sid"]),
        issued_ms=int(claims.get("ims", int(claims["iat"]) * 1000)),
        expires_at=int(claims["exp"]),
    )


class DecodedTokens:
    """Verified access tokens by their text, until they expire: a client sends the same token for
    up to 15 minutes, and verifying its signature on every request is measurable CPU."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._claims: OrderedDict[str, AccessClaims] = OrderedDict()

    def decode(self, cfg: JwtSettings, secret: str, token: str) -> AccessClaims:
        claims = self._claims.get(token)
        if claims is not None and claims.expires_at > time.time():
            return claims
        claims = decode_access(cfg, secret, token)
        self._claims[token] = claims
        if len(self._claims) > self.size:
            self._claims.popitem(last=False)
        return claims


def new_refresh_token(tenant_id: int) -> tuple[str, bytes]:
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def refresh_token_tenant(token: str) -> int:
    head, _, rest = token.partition(".")
    if not head.isdigit() or not rest or len(head) > 18:
        raise Unauthenticated("the refresh token is not valid")
    return int(head)


def new_session_id() -> str:
    return str(uuid.uuid4())
