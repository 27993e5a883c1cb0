"""Sending one request: pacing, auth, retries, 429 handling and error mapping.

Rules, in the order they apply:

* Pacing: a request waits for its (host, sub-account, operation class) limiter first.
* 429: waited out with capped exponential backoff and jitter, never shorter than a
  `Retry-After` the service sends. It is not a failed attempt, so it does not consume a
  retry; only `max_rate_limit_wait` seconds of such waiting bounds it.
* 401 on a bearer request: the token is refreshed once and the request replayed once; a
  401 means the service did not act on the request, so replaying a write is safe.
* Connection never established (connect error or timeout, pool timeout): the request was
  not sent, so it is retried whether read or write.
* After the request was sent (read timeout, dropped connection, 5xx): reads are retried;
  writes raise `AmbiguousWriteError` and are never resent blindly.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .errors import (
    AmbiguousWriteError,
    EngageError,
    ServerError,
    TransportError,
    error_for_status,
)
from .ratelimit import UNLIMITED, classify, shared_limiter
from .settings import EngageSettings

if TYPE_CHECKING:
    from .ratelimit import SlidingWindowLimiter

log = logging.getLogger("engage_voice")

# Not sent at all: safe to retry any request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Sent, outcome unknown.
_AFTER_SEND = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.NetworkError,
)


_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def verifying_ssl_context() -> ssl.SSLContext:
    """The process's verifying SSL context, as httpx would build it (SSL_CERT_FILE or
    SSL_CERT_DIR when set, else certifi's bundle). Loading a CA bundle takes about 17 ms,
    which every new client paid; one context serves any number of connections and threads."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _ssl_lock:
        context = _ssl_contexts.get(key)
        if context is None:
            context = _ssl_contexts[key] = httpx.create_ssl_context(verify=True, trust_env=True)
        return context


class AuthProvider(Protocol):
    kind: str

    async def headers(self, transport: Transport) -> dict[str, str]: ...

    async def invalidate(self, headers_used: Mapping[str, str]) -> None: ...


def compute_backoff(
    attempt: int,
    *,
    initial: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Capped exponential backoff with jitter in [50%, 100%], never below `retry_after`."""
    source: random.Random | Any = rng or random
    # The exponent is capped: 2**1024 overflows a float long before any cap applies.
    base = min(cap, initial * (2.0 ** min(max(0, attempt - 1), 60)))
    delay = base * (0.5 + source.random() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def retry_budget_seconds(settings: EngageSettings) -> float:
    """The longest a read may spend waiting between its retries: the sum of the capped
    backoffs of `max_retries` attempts at full jitter. Callers that resend a write they
    have proven unapplied give it the same time before giving up."""
    return sum(
        min(settings.backoff_max, settings.backoff_initial * (2.0 ** min(k - 1, 60)))
        for k in range(1, settings.max_retries + 1)
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def error_from_response(response: httpx.Response, method: str, path: str) -> EngageError:
    """Map an error response to the typed error, keeping RingCX's errorCode and requestUri."""
    error_code = details = None
    request_uri = f"{path} - {method}"
    message = response.reason_phrase or f"HTTP {response.status_code}"
    text = response.text
    body: Any = None
    if text:
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, dict):
        error_code = body.get("errorCode") or body.get("error")
        message = (
            body.get("generalMessage")
            or body.get("message")
            or body.get("error_description")
            or message
        )
        details = body.get("details")
        request_uri = body.get("requestUri") or request_uri
    elif text:
        message = text.strip()[:300]
    return error_for_status(
        response.status_code,
        str(message),
        error_code=str(error_code) if error_code is not None else None,
        request_uri=request_uri,
        details=str(details) if details is not None else None,
    )


class Transport:
    def __init__(
        self,
        settings: EngageSettings,
        auth: AuthProvider | None,
        http: httpx.AsyncClient | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.write_timeout,
                pool=settings.pool_timeout,
            ),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            http2=False,
            follow_redirects=False,
            verify=verifying_ssl_context(),
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        # Counters a caller (or a benchmark) can read.
        self.stats: dict[str, float] = {
            "requests": 0,
            "rate_limited": 0,
            "rate_limited_wait": 0.0,
            "retries": 0,
            "auth_replays": 0,
        }

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    def limiter(self, account_key: str, op_class: str) -> SlidingWindowLimiter | Any:
        s = self.settings
        if not s.pacing:
            return UNLIMITED
        return shared_limiter(
            (s.host, account_key, op_class), s.limits_for(op_class), s.pacing_margin
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        account_key: str = "-",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool = False,
        authenticated: bool = True,
        base_url: str | None = None,
    ) -> httpx.Response:
        """Send one logical request and return its successful response."""
        s = self.settings
        url = (base_url or s.host) + path
        op_class = classify(method, path, dict(params or {}))
        limiter = self.limiter(account_key, op_class)
        attempt = 0
        rate_waits = 0
        rate_waited = 0.0
        replayed_auth = False
        while True:
            req_headers = dict(headers or {})
            if authenticated and self.auth is not None:
                req_headers.update(await self.auth.headers(self))
            async with limiter.slot():
                started = time.monotonic()
                self.stats["requests"] += 1
                try:
                    response = await self.http.request(
                        method, url, params=params, json=json, data=data, headers=req_headers
                    )
                except _NOT_SENT as exc:
                    failure: BaseException | None = exc
                    response = None
                except _AFTER_SEND as exc:
                    if write:
                        raise AmbiguousWriteError(
                            f"{method} {path} was sent but no response arrived "
                            f"({type(exc).__name__}); it may or may not have been applied. "
                            "Check the state before sending it again.",
                            cause=exc,
                            request_uri=f"{path} - {method}",
                        ) from exc
                    failure = exc
                    response = None
                else:
                    failure = None
                    assert response is not None
                    log.debug(
                        "%s %s -> %s in %.0f ms",
                        method,
                        path,
                        response.status_code,
                        (time.monotonic() - started) * 1000,
                    )

            if response is not None and response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                rate_waits += 1
                delay = compute_backoff(
                    rate_waits,
                    initial=s.backoff_initial,
                    cap=s.backoff_max,
                    retry_after=retry_after,
                    rng=self._rng,
                )
                if rate_waited + delay > s.max_rate_limit_wait:
                    raise error_from_response(response, method, path)
                rate_waited += delay
                self.stats["rate_limited"] += 1
                self.stats["rate_limited_wait"] += delay
                log.info("429 on %s %s; waiting %.2f s", method, path, delay)
                await self._sleep(delay)
                continue

            if (
                response is not None
                and response.status_code == 401
                and authenticated
                and self.auth is not None
                and self.auth.kind != "api_token"
                and not replayed_auth
            ):
                replayed_auth = True
                self.stats["auth_replays"] += 1
                log.info("401 on %s %s; refreshing the token and replaying once", method, path)
                await self.auth.invalidate(req_headers)
                continue

            if response is not None and response.status_code >= 500:
                if write:
                    raise AmbiguousWriteError(
                        f"{method} {path} answered {response.status_code}; the write may or "
                        "may not have been applied. Check the state before sending it again.",
                        status=response.status_code,
                        request_uri=f"{path} - {method}",
                    )
                failure = error_from_response(response, method, path)

            if failure is None:
                assert response is not None
                # Redirects are not followed: a 3xx is a misconfigured host, not a success.
                if response.status_code >= 300:
                    raise error_from_response(response, method, path)
                return response

            attempt += 1
            if attempt > s.max_retries:
                if isinstance(failure, ServerError):
                    raise failure
                raise TransportError(
                    f"{method} {path} failed after {attempt} attempts: "
                    f"{type(failure).__name__}: {failure}",
                    request_uri=f"{path} - {method}",
                ) from failure
            self.stats["retries"] += 1
            delay = compute_backoff(
                attempt, initial=s.backoff_initial, cap=s.backoff_max, rng=self._rng
            )
            log.info(
                "retrying %s %s in %.2f s after %s", method, path, delay, type(failure).__name__
            )
            await self._sleep(delay)


__all__ = [
    "AuthProvider",
    "Transport",
    "compute_backoff",
    "error_from_response",
    "parse_retry_after",
    "retry_budget_seconds",
]
