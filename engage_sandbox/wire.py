"""Wire helpers shared by the HTTP layer: fast JSON bytes and the contract's error body."""

from __future__ import annotations

import json
import time
from typing import Any

from .errors import check_code

try:  # orjson is much faster on 1000-row lead pages; plain json keeps the sandbox dependency-free
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - depends on the environment

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

#: Body of a 401 for an expired RingCX access token (contract section 2, verbatim).
JWT_EXPIRED = "Jwt is expired"


class ApiError(Exception):
    """An error the app renders as the contract's error body (section 7)."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = check_code(error_code)
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_body(
    error_code: str, message: str, details: str | None, path: str, method: str
) -> dict[str, Any]:
    return {
        "errorCode": error_code,
        "generalMessage": message,
        "details": details,
        "requestUri": f"{path} - {method.upper()}",
        "timestamp": int(time.time() * 1000),
    }


def retry_after_header(seconds: float) -> dict[str, str]:
    # Whole seconds, rounded up, never 0: a client sleeping 0 s would just hit the window again.
    whole = max(1, int(-(-seconds // 1)))
    return {"Retry-After": str(whole)}
