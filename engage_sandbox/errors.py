"""The one exception type the data layer raises; the app renders it as the contract's error body.

The store never returns an HTTP response itself: it raises ``SandboxError`` with the status,
error code and message the app should send (contract section 7), so the same rules hold
whether the store is driven over HTTP or directly from a test.
"""

from __future__ import annotations


class SandboxError(Exception):
    """A request the sandbox refuses, with the HTTP status and error body fields to send."""

    def __init__(
        self, status: int, error_code: str, message: str, details: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
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

    def __init__(self, error_code: str, message: str, details: str | None = None) -> None:
        super().__init__(404, error_code, message, details)
