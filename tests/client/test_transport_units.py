"""Pure pieces of the transport: backoff, Retry-After, token expiry, error mapping."""

from __future__ import annotations

import base64
import json
import random
import time

import httpx
import pytest

from engage_voice.auth import jwt_expiry
from engage_voice.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
)
from engage_voice.transport import compute_backoff, error_from_response, parse_retry_after


def test_backoff_grows_caps_and_jitters():
    rng = random.Random(7)
    delays = [compute_backoff(a, initial=0.5, cap=8.0, rng=rng) for a in range(1, 10)]
    for attempt, delay in enumerate(delays, start=1):
        base = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert base * 0.5 <= delay <= base
    assert max(delays) <= 8.0


def test_backoff_never_below_retry_after():
    rng = random.Random(1)
    for attempt in range(1, 8):
        assert compute_backoff(attempt, initial=0.1, cap=1.0, retry_after=5.0, rng=rng) >= 5.0


def test_parse_retry_after_seconds_and_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 10))
    assert 8 <= parse_retry_after(http_date, now=now) <= 11


def _jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': 'HS256'})}.{enc(claims)}.sig"


def test_jwt_expiry():
    assert jwt_expiry(_jwt({"exp": 1234.5})) == 1234.5
    assert jwt_expiry(_jwt({"sub": "x"})) is None
    assert jwt_expiry("opaque-token") is None
    assert jwt_expiry("a.!!!.c") is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (503, ServerError),
    ],
)
def test_error_mapping_keeps_error_code_and_request_uri(status, cls):
    body = {
        "errorCode": "E123",
        "generalMessage": "nope",
        "details": "more",
        "requestUri": "/voice/x - PUT",
        "timestamp": 1,
    }
    err = error_from_response(httpx.Response(status, json=body), "PUT", "/voice/x")
    assert isinstance(err, cls)
    assert (err.status, err.error_code, err.request_uri, err.details) == (
        status,
        "E123",
        "/voice/x - PUT",
        "more",
    )
    assert "E123" in str(err) and "nope" in str(err)


def test_error_mapping_plain_text_body():
    err = error_from_response(httpx.Response(401, text="Jwt is expired"), "GET", "/voice/a")
    assert isinstance(err, AuthenticationError)
    assert err.message == "Jwt is expired"
    assert err.request_uri == "/voice/a - GET"


def test_backoff_never_overflows():
    # Regression: 2 ** 1024 overflowed after ~1000 attempts.
    assert compute_backoff(5000, initial=0.5, cap=30.0) <= 30.0


def test_zero_backoff_is_refused():
    # Regression: backoff_initial=0 made 429 waits zero, so max_rate_limit_wait never bound.
    from engage_voice import EngageSettings, SettingsError

    with pytest.raises(SettingsError, match="ENGAGE_BACKOFF_INITIAL"):
        EngageSettings(_env_file=None, backoff_initial=0)


def test_clients_share_one_verifying_ssl_context_per_ca_setting(monkeypatch):
    """Loading the CA bundle cost every new client about 17 ms: one context per process,
    still verifying, and a new one when SSL_CERT_FILE names another bundle."""
    import ssl

    import certifi

    from engage_voice import EngageSettings
    from engage_voice.transport import Transport, verifying_ssl_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    settings = EngageSettings(_env_file=None, host="https://ringcx.invalid", api_token="t")
    first, second = Transport(settings, None), Transport(settings, None)
    shared = verifying_ssl_context()
    assert shared is verifying_ssl_context()
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    for transport in (first, second):
        pool = transport.http._transport._pool  # type: ignore[attr-defined]
        assert pool._ssl_context is shared
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    other = verifying_ssl_context()
    assert other is not shared and other.verify_mode == ssl.CERT_REQUIRED
