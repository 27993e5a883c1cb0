"""What every router of the HTTP layer shares: the app state and body/response helpers.

Invariants: every response body is built with :func:`json_response` (bytes straight from
``wire.dumps``); every malformed body is a 400 ``invalid.request`` raised as ``ApiError``,
so the error handlers render it in the contract's shape.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from .auth import TokenService
from .config import SandboxConfig
from .errors import INVALID_REQUEST
from .faults import FaultInjector
from .limits import RateLimiter
from .store import SandboxStore
from .wire import JSON, ApiError, dumps

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclasses.dataclass
class SandboxState:
    config: SandboxConfig
    store: SandboxStore
    tokens: TokenService
    limiter: RateLimiter
    faults: FaultInjector


def state_of(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # The store is synchronous and may take a while: keep the event loop serving meanwhile.
    return await run_in_threadpool(fn, *args, **kwargs)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Straight to bytes: jsonable_encoder walks every value of a 1000-row page in Python.
    return Response(content=dumps(obj), status_code=status, media_type=JSON, headers=headers)


async def body_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, INVALID_REQUEST, "Required request body is missing")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, INVALID_REQUEST, "Malformed JSON request body", str(exc)) from exc


async def body_object(request: Request) -> dict[str, Any]:
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_REQUEST, "Request body must be a JSON object")
    return body


def parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, INVALID_REQUEST, "Invalid request body", errors_text(exc)) from exc


def errors_text(exc: ValidationError | RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)
