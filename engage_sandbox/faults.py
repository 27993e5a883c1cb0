"""Fault injection as a pure ASGI middleware wrapped around the whole app.

It has to be the outermost layer that sees ``send``: dropping a connection *after* the
request was committed needs the server's transport, and under uvicorn the ``send`` an
outermost app receives is a bound method of uvicorn's ``RequestResponseCycle``, whose
``transport`` we abort. Any wrapper in between (Starlette's ServerErrorMiddleware wraps
``send`` in a closure) would hide it, which is why the app builds its middleware stack
with this one outside Starlette's own.

Kinds: ``5xx`` and ``429`` answer before the request reaches the app (nothing processed);
``latency`` delays it; ``timeout`` processes and commits it, then holds the response
(the client's read timeout fires); ``drop`` processes and commits it, then closes the TCP
connection without any response. ``success_false`` (lead actions only) and ``load_failed``
(direct loads only) answer HTTP 200 with a failure body before the request reaches the app,
so nothing changes: ``{"success": false, ...}`` as the spec's ``LeadActionResult`` allows,
and the refused-load body public code reports (no processingResult at all). A rule of those
kinds never matches, and never uses up its count on, another kind of request.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import random
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from .config import FaultConfig, FaultRule, SandboxConfig
from .errors import status_code_name
from .loader import LOAD_REFUSED_BODY
from .wire import JSON, dumps, error_body, retry_after_header

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

FAULT_PREFIXES = ("/voice/", "/api/auth/")
FAULT_KINDS = ("5xx", "429", "timeout", "drop", "latency", "success_false", "load_failed")

_LEAD_ACTION = re.compile(r"/campaignLeads/actions/?$")
_LEAD_LOAD = re.compile(r"/campaigns/[^/]+/leadLoader/direct/?$")


@dataclass
class Decision:
    kind: str | None = None  # None: only latency (or nothing)
    latency: float = 0.0
    status: int = 503
    seconds: float | None = None


@dataclass
class _ScriptEntry:
    rule: FaultRule
    remaining: int


def is_read(method: str, path: str) -> bool:
    """Lead search is a POST but changes nothing; everything else that is not GET is a write."""
    method = method.upper()
    return method in {"GET", "HEAD"} or (
        method == "POST" and path.rstrip("/").endswith("/campaignLeads/leadSearch")
    )


def applies(kind: str, method: str, path: str) -> bool:
    """Whether a fault of ``kind`` can hit this request (the 200-body kinds are endpoint-bound)."""
    if kind == "success_false":
        return method.upper() == "PUT" and bool(_LEAD_ACTION.search(path))
    if kind == "load_failed":
        return method.upper() == "POST" and bool(_LEAD_LOAD.search(path))
    return True


class FaultInjector:
    """The fault configuration in force, its seeded random source, its script and counters."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.configure(config)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)
            self._script = [_ScriptEntry(r, r.count) for r in config.script if r.count > 0]

    def clear(self) -> None:
        self.configure(FaultConfig())

    def remaining_script(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**e.rule.model_dump(), "count": e.remaining} for e in self._script if e.remaining
            ]

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def reset_counters(self) -> None:
        with self._lock:
            self.counts = dict.fromkeys(FAULT_KINDS, 0)

    def decide(self, method: str, path: str) -> Decision | None:
        with self._lock:
            cfg = self._config
            for entry in self._script:
                rule = entry.rule
                if entry.remaining <= 0:
                    continue
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if rule.path_contains and rule.path_contains not in path:
                    continue
                if not applies(rule.kind, method, path):
                    continue
                entry.remaining -= 1
                self.counts[rule.kind] += 1
                if rule.kind == "latency":
                    return Decision(latency=rule.seconds or 0.0)
                return Decision(rule.kind, 0.0, rule.status or cfg.status_5xx, rule.seconds)
            if not cfg.is_active():
                return None
            decision = Decision(status=cfg.status_5xx, seconds=None)
            in_scope = self._rates_apply(cfg, method, path)
            # Latency obeys the same scope as the rates: "slow down the actions" must not
            # slow the searches too.
            if in_scope and (cfg.latency_ms or cfg.latency_jitter_ms):
                jitter = self._rng.uniform(0.0, cfg.latency_jitter_ms)
                decision.latency = (cfg.latency_ms + jitter) / 1000.0
                self.counts["latency"] += 1
            if in_scope:
                draw = self._rng.random()
                for kind, rate in (
                    ("5xx", cfg.rate_5xx),
                    ("429", cfg.rate_429),
                    ("timeout", cfg.timeout_rate),
                    ("drop", cfg.drop_rate),
                    ("success_false", cfg.success_false_rate),
                    ("load_failed", cfg.load_failed_rate),
                ):
                    if not applies(kind, method, path):
                        continue  # one draw per request whatever applies: reproducible
                    if draw < rate:
                        decision.kind = kind
                        self.counts[kind] += 1
                        break
                    draw -= rate
            if decision.kind is None and not decision.latency:
                return None
            return decision

    @staticmethod
    def _rates_apply(cfg: FaultConfig, method: str, path: str) -> bool:
        if cfg.path_contains and cfg.path_contains not in path:
            return False
        if cfg.scope == "reads":
            return is_read(method, path)
        if cfg.scope == "writes":
            return not is_read(method, path)
        return True


class FaultMiddleware:
    """Pure ASGI middleware applying a FaultInjector to /voice/ and /api/auth/ requests."""

    def __init__(self, app: ASGIApp, injector: FaultInjector, config: SandboxConfig) -> None:
        self.app = app
        self.injector = injector
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(FAULT_PREFIXES):
            await self.app(scope, receive, send)
            return
        decision = self.injector.decide(scope["method"], path)
        if decision is None:
            await self.app(scope, receive, send)
            return
        if decision.latency > 0:
            await asyncio.sleep(decision.latency)
        if decision.kind == "5xx":
            await self._answer_error(scope, send, decision.status, {})
        elif decision.kind == "429":
            headers = {}
            if self.config.send_retry_after:
                headers = retry_after_header(decision.seconds or 1.0)
            await self._answer_error(scope, send, 429, headers)
        elif decision.kind == "timeout":
            hold = self.injector.config.timeout_seconds
            if decision.seconds is not None:
                hold = decision.seconds
            await self._process_then_hold(scope, receive, send, hold)
        elif decision.kind == "drop":
            await self._process_then_drop(scope, receive, send)
        elif decision.kind == "success_false":
            await _answer_json(send, _failed_action(scope))
        elif decision.kind == "load_failed":
            await _answer_json(send, dict(LOAD_REFUSED_BODY))
        else:
            await self.app(scope, receive, send)

    @staticmethod
    async def _answer_error(scope: Scope, send: Send, status: int, headers: dict[str, str]) -> None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = f"HTTP {status}"
        code = status_code_name(phrase)
        message = f"Injected fault: {phrase}"
        body = dumps(error_body(code, message, None, scope["path"], scope["method"]))
        raw_headers = [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _process_then_hold(
        self, scope: Scope, receive: Receive, send: Send, hold: float
    ) -> None:
        held: list[Message] = []

        async def buffer(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, buffer)
        # Stop holding as soon as the client gives up, so a stopping server is not kept
        # waiting on a response nobody will read.
        disconnected = await _wait_disconnect(receive, hold)
        if disconnected:
            return
        with contextlib.suppress(Exception):  # the client may vanish while we answer late
            for message in held:
                await send(message)

    async def _process_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def swallow(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, swallow)
        transport = _transport_of(send)
        if transport is not None:
            transport.abort()
            # connection_lost runs via call_soon; let it mark the cycle disconnected so the
            # server does not try to answer "returned without starting response" with a 500.
            for _ in range(3):
                await asyncio.sleep(0)
            return
        await _truncate(send, held)


def _failed_action(scope: Scope) -> dict[str, Any]:
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    action = (query.get("leadAction") or [None])[0]
    return {
        "success": False,
        "leadActionType": action,
        "leadUpdateCount": 0,
        "leadDeleteCount": 0,
        "redialDeleteCount": 0,
        "dialerRefreshed": False,
        "errorMessage": "Injected fault: the lead action was not performed",
    }


async def _answer_json(send: Send, body: dict[str, Any], status: int = 200) -> None:
    raw = dumps(body)
    headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw, "more_body": False})


def _transport_of(send: Send) -> Any | None:
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None and callable(getattr(transport, "abort", None)):
        return transport
    return None


async def _truncate(send: Send, held: list[Message]) -> None:
    """Fallback when the transport is out of reach: promise a body and never deliver it.

    The server then closes the connection mid-response; the client reads no usable answer,
    which is as close to a drop as pure ASGI allows.
    """
    log.warning("fault 'drop': server transport not reachable, truncating the response instead")
    start = next((m for m in held if m.get("type") == "http.response.start"), None)
    status = start["status"] if start else 200
    headers = [(b"content-type", JSON.encode()), (b"content-length", b"1048576")]
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        # more_body=True and then return: the server closes a response left incomplete
        await send({"type": "http.response.body", "body": b"{", "more_body": True})


async def _wait_disconnect(receive: Receive, timeout: float) -> bool:
    async def until_disconnect() -> bool:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return True

    try:
        return await asyncio.wait_for(until_disconnect(), timeout)
    except TimeoutError:
        return False
