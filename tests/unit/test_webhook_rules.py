"""The pure webhook rules: patterns, signature, retry schedule, URL and address checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from cmms.domain import events as ev
from cmms.domain import webhooks as rules
from cmms.domain.webhook_model import WebhookIn

README = Path(__file__).resolve().parents[2] / "README.md"


def test_patterns_match_families_exact_types_and_everything() -> None:
    assert rules.matches(["order:*"], "order:created")
    assert rules.matches(["order:*"], "order:status-changed")
    assert not rules.matches(["order:*"], "asset:created")
    assert rules.matches(["alert:triggered"], "alert:triggered")
    assert not rules.matches(["alert:triggered"], "alert:updated")
    assert rules.matches(["*"], "notification")
    assert rules.matches(["stock:changed", "plan:*"], "plan:deleted")
    assert not rules.matches(["order:created"], "order:updated")


def test_every_event_of_the_domain_can_be_subscribed() -> None:
    published = {v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str) and ":" in v}
    assert published - {ev.JOB_PROGRESS} <= rules.EVENT_TYPES
    assert {"stock:changed", "order:created", "alert:triggered", "webhook:updated"} <= rules.EVENT_TYPES
    assert ev.JOB_PROGRESS not in rules.EVENT_TYPES  # ephemeral: never in the outbox


@pytest.mark.parametrize("patterns", [[], ["nope:*"], ["order:nothing"], ["order"], ["order:**"], [""], ["*:created"]])
def test_empty_or_unknown_patterns_are_refused_naming_events(patterns: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookIn.model_validate({"url": "https://hooks.example.com/cmms", "events": patterns})
    assert {".".join(map(str, e["loc"])).split(".")[0] for e in caught.value.errors()} == {"events"}


def test_patterns_are_kept_once_in_order() -> None:
    hook = WebhookIn.model_validate({"url": "https://x.example/", "events": ["order:*", "*", "order:*"]})
    assert hook.events == ["order:*", "*"]


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "http://",
        "ftp://files.example.com/in",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:secret@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "",
        "https://" + "a" * 2100 + ".example/",
    ],
)
def test_malformed_urls_and_other_schemes_are_refused_naming_url(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WebhookIn.model_validate({"url": url, "events": ["*"]})
    assert {e["loc"][0] for e in caught.value.errors()} == {"url"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/x",
        "http://api.localhost/",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
    ],
)
def test_local_and_private_targets_are_recognised(url: str) -> None:
    assert rules.private_target(url)


@pytest.mark.parametrize("url", ["https://hooks.example.com/", "http://8.8.8.8/", "https://[2606:4700::1111]/"])
def test_public_targets_pass(url: str) -> None:
    assert not rules.private_target(url)
    assert rules.check_url(url) == url


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"seq":1,"type":"order:created"}'
    signature = rules.sign("whsec_test", 1_700_000_000, body)
    assert signature == "sha256=" + __import__("hmac").new(b"whsec_test", b"1700000000." + body, "sha256").hexdigest()
    assert rules.verify("whsec_test", 1_700_000_000, body, signature, now=1_700_000_010)
    assert not rules.verify("whsec_other", 1_700_000_000, body, signature, now=1_700_000_010)
    assert not rules.verify("whsec_test", 1_700_000_000, body + b" ", signature, now=1_700_000_010)
    assert not rules.verify("whsec_test", 1_700_000_000, body, signature, now=1_700_001_000)  # a replay


def test_readme_example_verifies_a_real_signature() -> None:
    """The 10-line example integrators copy from the README accepts our signature and refuses others."""
    text = README.read_text()
    found = re.search(r"<!-- webhook-verify -->\s*```python\n(.*?)```", text, re.S)
    assert found, "README has the signature example"
    code = found.group(1)
    assert len(code.strip().splitlines()) <= 12
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    verify = namespace["verify"]
    import time

    body = b'{"seq": 7, "type": "alert:triggered"}'
    now = int(time.time())
    headers = {"X-CMMS-Timestamp": str(now), "X-CMMS-Signature": rules.sign("whsec_s3cret", now, body)}
    assert verify("whsec_s3cret", headers, body) is True  # type: ignore[operator]
    assert verify("whsec_wrong", headers, body) is False  # type: ignore[operator]
    assert verify("whsec_s3cret", headers, body + b"x") is False  # type: ignore[operator]
    old = {"X-CMMS-Timestamp": str(now - 3600), "X-CMMS-Signature": rules.sign("whsec_s3cret", now - 3600, body)}
    assert verify("whsec_s3cret", old, body) is False  # type: ignore[operator]


def test_default_schedule_makes_at_least_six_attempts_over_about_an_hour() -> None:
    offsets = rules.nominal_schedule(30.0, 8)
    assert len(offsets) >= 6
    assert offsets[:4] == [0.0, 30.0, 90.0, 210.0]
    assert 45 * 60 <= offsets[-1] <= 75 * 60


def test_retry_delay_doubles_with_bounded_jitter() -> None:
    assert rules.retry_delay(1, 30, 0.5) == pytest.approx(30)
    assert rules.retry_delay(2, 30, 0.5) == pytest.approx(60)
    assert rules.retry_delay(3, 30, 0.0) == pytest.approx(120 * 0.8)
    assert rules.retry_delay(3, 30, 0.999) < 120 * 1.2
    assert len({rules.retry_delay(2, 30, j / 10) for j in range(10)}) == 10  # jitter spreads retries
