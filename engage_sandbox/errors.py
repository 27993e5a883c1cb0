"""The one exception type the data layer raises, and the error codes the sandbox sends.

The store never returns an HTTP response itself: it raises ``SandboxError`` with the status,
error code and message the app should send (contract section 7), so the same rules hold
whether the store is driven over HTTP or directly from a test.

Error codes are dotted lower case, the form RingCX's docs show (``access.denied.exception``
in RingCentral's RingCX docs for a missing permission, ``missing.required.param`` in
public code and the contract). Where no published example exists the sandbox uses the same
form; every code it sends is one of the constants below, and the exception classes refuse
anything else, so an upper-case invention cannot creep back in.
"""

from __future__ import annotations

import re

#: 403: the caller may not use this account (RingCentral's RingCX docs).
ACCESS_DENIED = "access.denied.exception"
#: 400: a required parameter or field is absent (public code, contract section 6).
MISSING_PARAM = "missing.required.param"
#: 400: a parameter or field has a value the service does not accept.
INVALID_PARAM = "invalid.param"
#: 400: the body is missing, not JSON, or not the expected shape.
INVALID_REQUEST = "invalid.request"
#: 404: an id names nothing in this account, or no endpoint has this path.
NOT_FOUND = "not.found"
#: 405: the endpoint exists but not for this method.
METHOD_NOT_ALLOWED = "method.not.allowed"
#: 401: no credentials were sent.
AUTHENTICATION_REQUIRED = "authentication.required"
#: 401: a token or API key that is unknown, expired or revoked.
INVALID_TOKEN = "invalid.token"
#: 429: a rate-limit window is full.
TOO_MANY_REQUESTS = "too.many.requests"
#: 500: a bug in the sandbox.
INTERNAL_ERROR = "internal.server.error"

_CODE = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)+$")


def check_code(code: str) -> str:
    """``code`` itself when it is dotted lower case; ValueError otherwise."""
    if not _CODE.match(code):
        raise ValueError(f"error code {code!r} is not dotted lower case like 'not.found'")
    return code


def status_code_name(phrase: str) -> str:
    """An HTTP reason phrase as a dotted code: ``Service Unavailable`` -> ``service.unavailable``."""
    words = re.findall(r"[a-z0-9]+", phrase.lower())
    return check_code(".".join(words) if len(words) > 1 else f"http.{'.'.join(words) or 'error'}")


class SandboxError(Exception):
    """A request the sandbox refuses, with the HTTP status and error body fields to send."""

    def __init__(
        self, status: int, error_code: str, message: str, details: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = check_code(error_code)
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, error_code={self.error_code!r}, "
            f"message={self.message!r}, details={self.details!r})"
        )


class BadRequest(SandboxError):
    """400: the body or a parameter is malformed; nothing was changed."""

    def __init__(self, error_code: str, message: str, details: str | None = None) -> None:
        super().__init__(400, error_code, message, details)


class NotFound(SandboxError):
    """404: an id in the path or in the parameters names nothing in this account."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(404, NOT_FOUND, message, details)
