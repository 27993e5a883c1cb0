"""Server-side sliding windows of contract section 7.

Windows are kept per (key, operation class). The key is the sub-account id from the path
(``*`` for calls without one, such as ``GET /accounts``); the token exchange is keyed by
the RC app client id, since the exchange happens before any account is chosen and the
documented 5/min limit is about re-authenticating, not about one account's traffic.

A rejected request is not recorded: the real limits are described as "N requests per
window", and a client that backs off correctly must recover once the window slides, which
would never happen if every 429 extended its own penalty.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from .config import OP_CLASSES, SandboxConfig

_ADMIN = "/voice/api/v1/admin/"
_ACCOUNT = re.compile(r"^/voice/api/v1/admin/accounts/([^/]+)(/.*)?$")
_LEAD_ID = re.compile(r"^/campaignLeads/\d+/?$")
_LOADER = re.compile(r"^/campaigns/[^/]+/leadLoader/direct/?$")
_TRUE = {"true", "1", "yes", "on"}


def classify(method: str, path: str, query: dict[str, str]) -> tuple[str, str] | None:
    """(operation class, sub-account key) of a request, or None when it is not limited."""
    method = method.upper()
    if path.rstrip("/") == "/api/auth/login/rc/accesstoken":
        return "token_exchange", "*"  # the app re-keys it by RC client once the token is known
    if not path.startswith(_ADMIN):
        return None
    match = _ACCOUNT.match(path)
    account = match.group(1) if match else "*"
    rest = (match.group(2) or "") if match else ""
    rest = rest.rstrip("/") or rest
    if rest == "/campaignLeads/leadSearch" and method == "POST":
        count = query.get("count", "").strip().lower() in _TRUE
        return ("lead_search_count" if count else "lead_search"), account
    if rest == "/campaignLeads/actions" and method == "PUT":
        return "lead_actions", account
    if _LOADER.match(rest) and method == "POST":
        return "lead_loader", account
    if _LEAD_ID.match(rest) and method in {"PATCH", "PUT"}:
        return "lead_update", account
    return "admin_other", account


class RateLimiter:
    """Sliding-window log per (key, class); thread-safe; reads limits from the live config."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._log: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.accepted: dict[str, int] = dict.fromkeys(OP_CLASSES, 0)
        self.rejected: dict[str, int] = dict.fromkeys(OP_CLASSES, 0)
        #: The most requests ever inside each window, per (key, class, limit, seconds): the
        #: proof that clients sharing a budget stayed inside it, not only that none got a 429.
        self.peaks: dict[tuple[str, str, int, float], int] = {}
        #: Requests of each class being served right now, and the most ever at once: what
        #: a client's concurrency looked like from here (limited or not).
        self.in_flight: dict[str, int] = dict.fromkeys(OP_CLASSES, 0)
        self.in_flight_peaks: dict[str, int] = dict.fromkeys(OP_CLASSES, 0)
        # Classes ever served at the same moment ("a+b", sorted): shows one run's reads
        # overlapping another's writes, which per-class peaks cannot.
        self.in_flight_together: set[str] = set()

    def acquire(self, op_class: str, key: str) -> float | None:
        """Record one request and return None, or return seconds until it would be allowed."""
        cfg = self._config
        windows = cfg.rate_limits.get(op_class, []) if cfg.rate_limits_enabled else []
        scale = cfg.rate_limit_scale
        with self._lock:
            now = self._clock()
            log = self._log[(key, op_class)]
            longest = max((seconds / scale for _, seconds in windows), default=0.0)
            while log and log[0] <= now - longest:
                log.popleft()
            wait = 0.0
            used: list[int] = []
            for limit, seconds in windows:
                span = seconds / scale
                inside = [t for t in log if t > now - span]
                used.append(len(inside) + 1)
                if len(inside) >= limit:
                    # The request fits once enough of the oldest entries have left the window.
                    oldest_to_leave = inside[len(inside) - limit]
                    wait = max(wait, oldest_to_leave + span - now)
            if wait > 0:
                self.rejected[op_class] = self.rejected.get(op_class, 0) + 1
                return wait
            if windows:
                log.append(now)
            for (limit, seconds), count in zip(windows, used, strict=True):
                peak = (key, op_class, limit, seconds / scale)
                self.peaks[peak] = max(self.peaks.get(peak, 0), count)
            self.accepted[op_class] = self.accepted.get(op_class, 0) + 1
            return None

    def entered(self, op_class: str) -> None:
        with self._lock:
            now = self.in_flight[op_class] = self.in_flight.get(op_class, 0) + 1
            self.in_flight_peaks[op_class] = max(self.in_flight_peaks.get(op_class, 0), now)
            for other, busy in self.in_flight.items():
                if busy and other != op_class:
                    self.in_flight_together.add("+".join(sorted((op_class, other))))

    def left(self, op_class: str) -> None:
        with self._lock:
            self.in_flight[op_class] -= 1

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
            self.in_flight_peaks = dict(self.in_flight)
            self.in_flight_together.clear()
            self.accepted = dict.fromkeys(OP_CLASSES, 0)
            self.rejected = dict.fromkeys(OP_CLASSES, 0)
            self.peaks.clear()

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests_by_class": dict(self.accepted),
                "rate_limited_by_class": dict(self.rejected),
                "rate_limited_429s": sum(self.rejected.values()),
                "in_flight_peaks": dict(self.in_flight_peaks),
                "in_flight_together": sorted(self.in_flight_together),
                "window_peaks": [
                    {"key": key, "class": op, "limit": limit, "seconds": seconds, "peak": peak}
                    for (key, op, limit, seconds), peak in sorted(self.peaks.items())
                ],
            }


class InFlight:
    """ASGI middleware telling the limiter when each classified request starts and ends."""

    def __init__(self, app: Any, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        classified = None
        if scope["type"] == "http":
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            classified = classify(scope["method"], scope.get("path", ""), query)
        if classified is None:
            await self.app(scope, receive, send)
            return
        self.limiter.entered(classified[0])
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.left(classified[0])
