"""The errors callers branch on: one class per failure a caller can act on.

Every error raised by an API call carries the HTTP status, RingCX's `errorCode` and the
`requestUri` it names (path and method, never a query string or a token).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class EngageError(Exception):
    """Base of every error this library raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_uri: str | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.request_uri = request_uri
        self.details = details

    def __str__(self) -> str:
        parts = [self.message]
        extra = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status),
                ("errorCode", self.error_code),
                ("requestUri", self.request_uri),
            )
            if value is not None
        ]
        if extra:
            parts.append(f"({', '.join(extra)})")
        return " ".join(parts)


class ConfigurationError(EngageError):
    """Settings are missing or inconsistent; nothing was sent."""


class TransportError(EngageError):
    """The service could not be reached after the allowed retries (reads only)."""


class ApiError(EngageError):
    """The service answered with an error status."""


class AuthenticationError(ApiError):
    """401: credentials rejected, or a token could not be obtained or refreshed."""


class PermissionDeniedError(ApiError):
    """403: the credentials are valid but may not touch this account or object."""


class NotFoundError(ApiError):
    """404: an unknown account, dial group, campaign, list or lead id."""


class InvalidRequestError(ApiError):
    """400/422: the service rejected the request body or parameters."""


class RateLimitedError(ApiError):
    """429 kept arriving for longer than `max_rate_limit_wait`."""


class ServerError(ApiError):
    """5xx on a read, after the allowed retries."""


class AmbiguousWriteError(EngageError):
    """A write may or may not have been applied.

    Raised when a write request was sent and then the connection dropped, the response
    timed out, or the service answered 5xx. The client never resends such a write: check
    the state first (e.g. search the leads), then decide.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.cause = cause


class ActionFailedError(ApiError):
    """A lead action answered HTTP 200 with `success: false`."""

    def __init__(self, message: str, *, result: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result = result


class LeadLoadFailedError(ApiError):
    """A direct lead load answered HTTP 200 but its body reports a failed load."""

    def __init__(self, message: str, *, result: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result = result


class UnsafeCriteriaError(EngageError):
    """Criteria that would select far more than intended (e.g. no campaign); nothing was sent."""


class PagingMismatchError(EngageError):
    """Paged search results do not add up to the `count=true` total.

    Usually the page base (`ENGAGE_PAGE_BASE`) or the row cap (`ENGAGE_PAGE_SIZE`) does not
    match the service, or leads changed while they were being read.
    """

    def __init__(self, message: str, *, expected: int, received: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.expected = expected
        self.received = received


class NameResolutionError(EngageError):
    """A name given by a user does not identify exactly one object."""

    def __init__(self, message: str, *, kind: str, name: str, candidates: Sequence[Any]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.candidates = list(candidates)


class AmbiguousNameError(NameResolutionError):
    """The name matches more than one object; `candidates` lists every match."""


class UnknownNameError(NameResolutionError):
    """The name matches nothing; `candidates` lists the closest names."""


def error_for_status(
    status: int,
    message: str,
    *,
    error_code: str | None = None,
    request_uri: str | None = None,
    details: str | None = None,
) -> ApiError:
    cls: type[ApiError]
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status in (400, 405, 409, 413, 415, 422):
        cls = InvalidRequestError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500:
        cls = ServerError
    else:
        cls = ApiError
    return cls(
        message, status=status, error_code=error_code, request_uri=request_uri, details=details
    )
