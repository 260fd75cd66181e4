"""Webhook rules without I/O: which events a subscription matches, the signature, the retry
schedule and which target URLs are acceptable.

Kept pure so the relay, the sender, the API and integrators' own tests share one definition.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from cmms.domain import events as ev

SIGNATURE_PREFIX = "sha256="
MAX_URL_LENGTH = 2048
MAX_PATTERNS = 50

WEBHOOK_CREATED = "webhook:created"
WEBHOOK_UPDATED = "webhook:updated"
WEBHOOK_DELETED = "webhook:deleted"
DELIVERY_REQUEUED = "webhook:delivery-requeued"

# Event types published by aggregates outside cmms.domain.events (their services name them).
_OTHER_EVENTS = (
    "procedure:created",
    "procedure:updated",
    "procedure:deleted",
    "part:created",
    "part:updated",
    "stock:changed",
    WEBHOOK_CREATED,
    WEBHOOK_UPDATED,
    WEBHOOK_DELETED,
    DELIVERY_REQUEUED,
)
# `job:progress` is ephemeral (never in the outbox), so no subscription could ever receive it.
_NOT_DURABLE = frozenset({ev.JOB_PROGRESS})


def _domain_events() -> frozenset[str]:
    names = (v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str))
    return frozenset(n for n in names if (":" in n or n == ev.NOTIFICATION) and n not in _NOT_DURABLE)


EVENT_TYPES: frozenset[str] = _domain_events() | frozenset(_OTHER_EVENTS)
FAMILIES: frozenset[str] = frozenset(t.partition(":")[0] for t in EVENT_TYPES if ":" in t)


def candidates(event_type: str) -> list[str]:
    """Every pattern that matches `event_type`: a subscription matches when it holds one of them."""
    family, sep, _ = event_type.partition(":")
    found = ["*", event_type]
    if sep:
        found.append(f"{family}:*")
    return found


def matches(patterns: Iterable[str], event_type: str) -> bool:
    return bool(set(patterns) & set(candidates(event_type)))


def check_patterns(patterns: list[str]) -> list[str]:
    """The patterns, de-duplicated in order; ValueError names the first unknown one."""
    if not patterns:
        raise ValueError("name at least one event type or pattern, e.g. 'order:*' or '*'")
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"at most {MAX_PATTERNS} patterns")
    for pattern in patterns:
        family, sep, rest = pattern.partition(":")
        known = pattern == "*" or pattern in EVENT_TYPES or (sep and rest == "*" and family in FAMILIES)
        if not known:
            families = ", ".join(sorted(FAMILIES))
            raise ValueError(f"unknown event type or pattern {pattern!r}; known families: {families}")
    return list(dict.fromkeys(patterns))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-CMMS-Signature value: HMAC-SHA256 over "<timestamp>.<body>", hex, with its scheme."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str, *, now: float, tolerance: float = 300) -> bool:
    """What a receiver checks: the signature, and a timestamp recent enough to refuse replays."""
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_delay(failures: int, base: float, jitter: float) -> float:
    """Seconds before the next attempt after `failures` failed ones: base, doubling, ±20 % jitter.

    `jitter` is a uniform draw in [0, 1): spreading retries keeps a receiver that comes back from
    being hit by every delivery at the same instant.
    """
    return float(base * 2.0 ** (max(failures, 1) - 1) * (0.8 + 0.4 * jitter))


def nominal_schedule(base: float, max_attempts: int) -> list[float]:
    """Offsets (seconds from the first attempt) of every attempt without jitter."""
    offsets, at = [0.0], 0.0
    for failures in range(1, max_attempts):
        at += base * 2 ** (failures - 1)
        offsets.append(at)
    return offsets


def blocked_address(address: str) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast or unspecified: not the Internet."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_url(url: str) -> str:
    """A well-formed http(s) URL with a host and no credentials; ValueError says what is wrong."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValueError("must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("only http:// and https:// URLs are accepted")
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not accepted (they would be stored and shown)")
    if port == 0:
        raise ValueError("port 0 cannot be reached")
    return url


def private_target(url: str) -> bool:
    """Whether the URL names a local or private host literally (names are checked after DNS)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    return _is_ip(host) and blocked_address(host)
