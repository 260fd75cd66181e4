"""Access JWTs and opaque refresh tokens: what is accepted and everything that must not be."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from cmms.config import JwtSettings
from cmms.domain.errors import Unauthenticated
from cmms.domain.roles import Role
from cmms.services import tokens

SECRET = "unit-test-secret-" + "0123456789abcdef" * 4  # 64+ bytes: long enough for HS512 too
CFG = JwtSettings(secret=SECRET)


def issue(now: datetime | None = None, **cfg: Any) -> str:
    return tokens.issue_access(
        JwtSettings(secret=SECRET, **cfg),
        SECRET,
        user_id=7,
        tenant_id=3,
        role="technician",
        session_id="sid-1",
        now=now or datetime.now(UTC),
    )


def claims(**changes: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, Any] = {
        "iss": "cmms",
        "aud": "cmms-api",
        "sub": "7",
        "tid": 3,
        "role": "technician",
        "typ": "access",
        "sid": "sid-1",
        "iat": now,
        "exp": now + 900,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def forge(payload: dict[str, Any], key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def test_issued_token_decodes_to_the_actor() -> None:
    now = datetime.now(UTC)
    decoded = tokens.decode_access(CFG, SECRET, issue(now))
    assert decoded.actor.user_id == 7
    assert decoded.actor.tenant_id == 3
    assert decoded.actor.role == Role.TECHNICIAN
    assert decoded.session_id == "sid-1"
    assert decoded.issued_ms == int(now.timestamp() * 1000)  # revocations compare in milliseconds
    assert decoded.expires_at == int(now.timestamp()) + 900


def test_a_hand_built_token_with_every_claim_is_accepted() -> None:
    assert tokens.decode_access(CFG, SECRET, forge(claims())).actor.user_id == 7


def test_refresh_token_is_not_an_access_token() -> None:
    refresh, _ = tokens.new_refresh_token(3)
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, refresh)


@pytest.mark.parametrize("typ", ["refresh", "id", "", None])
def test_a_jwt_of_another_type_is_refused(typ: str | None) -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(typ=typ)))


def test_wrong_audience_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(aud="another-api")))
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, issue(audience="another-api"))


def test_wrong_issuer_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(iss="evil")))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg: str) -> None:
    unsigned = f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims())}."
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, unsigned)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_with_the_right_key_are_refused(alg: str) -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(), algorithm=alg))


def test_expired_token_is_refused() -> None:
    old = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.decode_access(CFG, SECRET, issue(old))


def test_tampered_payload_is_refused() -> None:
    header, _, signature = issue().split(".")
    admin = _b64(claims(role="admin"))
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, f"{header}.{admin}.{signature}")


def test_tampered_signature_is_refused() -> None:
    token = issue()
    head, _, signature = token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, f"{head}.{flipped}")


def test_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(), key="another-secret-" + "fedcba9876543210" * 4))


@pytest.mark.parametrize("missing", tokens.REQUIRED)
def test_every_required_claim_is_required(missing: str) -> None:
    payload = claims()
    payload.pop(missing)
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(payload))


@pytest.mark.parametrize(("claim", "value"), [("role", "root"), ("tid", "three"), ("sub", "seven"), ("tid", None)])
def test_malformed_identity_claims_are_refused(claim: str, value: Any) -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, forge(claims(**{claim: value})))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x", "\u00e9\u00e9.\u00e9.\u00e9"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(Unauthenticated):
        tokens.decode_access(CFG, SECRET, garbage)


def test_token_without_millisecond_claim_falls_back_to_iat() -> None:
    payload = claims()
    assert tokens.decode_access(CFG, SECRET, forge(payload)).issued_ms == payload["iat"] * 1000


def test_decoded_token_cache_serves_only_the_same_text() -> None:
    cache = tokens.DecodedTokens(size=2)
    token = issue()
    assert cache.decode(CFG, SECRET, token) == tokens.decode_access(CFG, SECRET, token)
    assert cache.decode(CFG, SECRET, token).actor.user_id == 7
    head, _, signature = token.rpartition(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(Unauthenticated):
        cache.decode(CFG, SECRET, f"{head}.{flipped}")
    with pytest.raises(Unauthenticated):
        cache.decode(CFG, SECRET, forge(claims(aud="another-api")))


def test_decoded_token_cache_is_bounded_and_never_caches_failures() -> None:
    cache = tokens.DecodedTokens(size=2)
    for _ in range(5):
        cache.decode(CFG, SECRET, issue())
    assert len(cache._claims) == 2
    expired = issue(datetime.now(UTC) - timedelta(hours=1))
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="expired"):
            cache.decode(CFG, SECRET, expired)
    assert expired not in cache._claims


def test_refresh_tokens_are_random_and_stored_as_hashes() -> None:
    token, digest = tokens.new_refresh_token(42)
    again, _ = tokens.new_refresh_token(42)
    assert token != again
    assert token.startswith("42.")
    assert len(token) > 40
    assert digest == tokens.hash_refresh_token(token)
    assert len(digest) == 32
    assert token.encode() not in digest


def test_refresh_token_tenant() -> None:
    token, _ = tokens.new_refresh_token(42)
    assert tokens.refresh_token_tenant(token) == 42


@pytest.mark.parametrize("bad", ["", "abc", "42", "42.", ".abc", "-1.abc", "x1.abc", "1234567890123456789.abc"])
def test_refresh_token_tenant_refuses_malformed_tokens(bad: str) -> None:
    with pytest.raises(Unauthenticated):
        tokens.refresh_token_tenant(bad)


def test_session_ids_are_unique() -> None:
    assert len({tokens.new_session_id() for _ in range(100)}) == 100
