"""Token issuing and checking: RC OAuth, the RingCX exchange, refresh, API tokens, revocation.

All state lives in memory (tokens die with the process, as a restarted real service would
not, but no test needs that). Access tokens are JWT-shaped and HMAC-signed with a per-process
key, and every one is also tracked server-side, because the admin endpoints must be able to
expire or revoke tokens a client already holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from .config import SandboxConfig
from .errors import AUTHENTICATION_REQUIRED, INVALID_TOKEN, MISSING_PARAM
from .wire import ApiError

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

#: Records are pruned only past this many, so a long benchmark cannot grow memory unbounded.
_PRUNE_ABOVE = 5_000

ADMIN_ID = 5001
RC_OWNER_ID = "170848004"
RC_ENDPOINT_ID = "sandbox-endpoint"


class TokenExpired(Exception):
    """An access token we issued whose lifetime is over: rendered as plain ``Jwt is expired``."""


class RcOAuthError(Exception):
    """An error of the RC platform's token endpoint, rendered in RC's own OAuth shape."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "error_description": self.description,
            "errors": [{"errorCode": "OAU-251", "message": self.description}],
        }


class RcTokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    refresh_token_expires_in: int
    scope: str = "ReadAccounts"
    owner_id: str = RC_OWNER_ID
    endpoint_id: str = RC_ENDPOINT_ID


class AgentDetail(BaseModel):
    accountId: str
    accountName: str
    agentId: int
    firstName: str = "Sandbox"
    lastName: str = "Admin"
    username: str
    email: str
    agentType: str = "AGENT"
    enableSoftphone: bool = False
    allowLoginControl: bool = True


class EngageTokenResponse(BaseModel):
    """``AccessTokenUserDetails`` of the spec (the fields a client uses)."""

    accessToken: str
    refreshToken: str | None = None
    tokenType: str = "Bearer"
    mainAccountId: str | None
    agentDetails: list[AgentDetail]
    adminId: int = ADMIN_ID
    adminUrl: str
    agentUrl: str
    analyticsUrl: str
    platformId: str = "sandbox"
    ssoLogin: bool = True


class AuthCounters(BaseModel):
    rc_logins: int = 0
    rc_refreshes: int = 0
    exchanges: int = 0
    refreshes: int = 0
    unauthorized_401s: int = 0


@dataclass
class Principal:
    """Who is calling a /voice/ endpoint."""

    kind: Literal["bearer", "api_token"]
    subject: str


@dataclass
class _RcGrant:
    client_id: str
    owner_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class _AccessRecord:
    subject: str
    signed_exp: float
    expires_at: float
    revoked: bool = False


@dataclass
class _EngageRefresh:
    subject: str
    expires_at: float


@dataclass
class _State:
    rc_access: dict[str, _RcGrant] = field(default_factory=dict)
    rc_refresh: dict[str, _RcGrant] = field(default_factory=dict)
    access: dict[str, _AccessRecord] = field(default_factory=dict)
    refresh: dict[str, _EngageRefresh] = field(default_factory=dict)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _opaque(prefix: str) -> str:
    # URL-safe on purpose: the official SDK puts tokens into form bodies without encoding.
    return f"{prefix}-{secrets.token_urlsafe(24)}"


class TokenService:
    """Thread-safe registry of every token the sandbox has issued."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._state = _State()
        self.counters = AuthCounters()

    # RC platform: POST /restapi/oauth/token ------------------------------------------------

    def rc_token(self, authorization: str | None, form: Mapping[str, str]) -> RcTokenResponse:
        client_id = self._check_client(authorization)
        grant_type = form.get("grant_type", "")
        if grant_type == JWT_BEARER_GRANT:
            if not hmac.compare_digest(
                form.get("assertion", ""), self._config.jwt.get_secret_value()
            ):
                raise RcOAuthError(400, "invalid_grant", "Invalid assertion")
        elif grant_type == "password":
            self._check_password(form)
        elif grant_type == "refresh_token":
            return self._rc_refresh(client_id, form.get("refresh_token", ""))
        else:
            raise RcOAuthError(
                400, "unsupported_grant_type", f"Unsupported grant type: {grant_type!r}"
            )
        with self._lock:
            self.counters.rc_logins += 1
            return self._issue_rc(client_id)

    def rc_revoke(self, token: str) -> None:
        with self._lock:
            for table in (self._state.rc_access, self._state.rc_refresh):
                grant = table.get(token)
                if grant is not None:
                    grant.revoked = True

    def _check_client(self, authorization: str | None) -> str:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise RcOAuthError(401, "invalid_client", "Client authentication is required")
        try:
            client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise RcOAuthError(401, "invalid_client", "Malformed client credentials") from exc
        expected_secret = self._config.client_secret.get_secret_value()
        id_ok = hmac.compare_digest(client_id, self._config.client_id)
        secret_ok = hmac.compare_digest(secret, expected_secret)
        if not (id_ok and secret_ok):
            raise RcOAuthError(401, "invalid_client", "Invalid client credentials")
        return client_id

    def _check_password(self, form: Mapping[str, str]) -> None:
        cfg = self._config
        user_ok = hmac.compare_digest(form.get("username", ""), cfg.username)
        pass_ok = hmac.compare_digest(form.get("password", ""), cfg.password.get_secret_value())
        ext_ok = not cfg.extension or form.get("extension", "") == cfg.extension
        if not (user_ok and pass_ok and ext_ok):
            raise RcOAuthError(400, "invalid_grant", "Invalid resource owner credentials")

    def _rc_refresh(self, client_id: str, token: str) -> RcTokenResponse:
        with self._lock:
            grant = self._state.rc_refresh.pop(token, None)
            if grant is None or grant.revoked or grant.expires_at <= self._clock():
                raise RcOAuthError(400, "invalid_grant", "Token is expired or revoked")
            if grant.client_id != client_id:
                raise RcOAuthError(400, "invalid_grant", "Token was issued to another client")
            self.counters.rc_refreshes += 1
            return self._issue_rc(client_id)

    def _issue_rc(self, client_id: str) -> RcTokenResponse:
        now = self._clock()
        cfg = self._config
        access, refresh = _opaque("rcat"), _opaque("rcrt")
        self._state.rc_access[access] = _RcGrant(
            client_id, RC_OWNER_ID, now + cfg.rc_token_ttl_seconds
        )
        self._state.rc_refresh[refresh] = _RcGrant(
            client_id, RC_OWNER_ID, now + cfg.refresh_token_ttl_seconds
        )
        return RcTokenResponse(
            access_token=access,
            expires_in=int(cfg.rc_token_ttl_seconds),
            refresh_token=refresh,
            refresh_token_expires_in=int(cfg.refresh_token_ttl_seconds),
        )

    # RingCX: exchange, refresh ----------------------------------------------------------

    def check_rc_access_token(self, token: str | None) -> str:
        """Return the RC app client id the token was issued to; 401 when it is not live."""
        if not token:
            raise ApiError(400, MISSING_PARAM, "rcAccessToken is required")
        with self._lock:
            grant = self._state.rc_access.get(token)
            if grant is None or grant.revoked:
                raise ApiError(401, INVALID_TOKEN, "Invalid RingCentral access token")
            if grant.expires_at <= self._clock():
                raise ApiError(401, INVALID_TOKEN, "RingCentral access token is expired")
            return grant.client_id

    def exchange(
        self, accounts: list[dict[str, Any]], include_refresh: bool, base_url: str
    ) -> EngageTokenResponse:
        with self._lock:
            self.counters.exchanges += 1
            return self._issue_engage(str(ADMIN_ID), accounts, include_refresh, base_url)

    def refresh(
        self, refresh_token: str | None, accounts: list[dict[str, Any]], base_url: str
    ) -> EngageTokenResponse:
        if not refresh_token:
            raise ApiError(400, MISSING_PARAM, "refresh_token is required")
        with self._lock:
            # pop: rotation means the presented refresh token is single-use, success or not.
            record = self._state.refresh.pop(refresh_token, None)
            if record is None:
                raise ApiError(401, INVALID_TOKEN, "Invalid refresh token")
            if record.expires_at <= self._clock():
                raise ApiError(401, INVALID_TOKEN, "Refresh token is expired")
            self.counters.refreshes += 1
            return self._issue_engage(record.subject, accounts, True, base_url)

    def _issue_engage(
        self, subject: str, accounts: list[dict[str, Any]], include_refresh: bool, base_url: str
    ) -> EngageTokenResponse:
        now = self._clock()
        cfg = self._config
        exp = now + cfg.access_token_ttl_seconds
        jti = uuid.uuid4().hex
        access = self._sign({"sub": subject, "iat": now, "exp": exp, "jti": jti, "iss": "sandbox"})
        self._prune(now)
        self._state.access[jti] = _AccessRecord(subject, exp, exp)
        refresh = None
        if include_refresh:
            refresh = _opaque("rxrt")
            self._state.refresh[refresh] = _EngageRefresh(
                subject, now + cfg.refresh_token_ttl_seconds
            )
        main = next((str(a.get("mainAccountId") or "") for a in accounts), None) or None
        details = [
            AgentDetail(
                accountId=str(a["accountId"]),
                accountName=str(a.get("accountName", "")),
                agentId=100_000 + index,
                username=cfg.username,
                email=f"{cfg.username}@sandbox.invalid",
            )
            for index, a in enumerate(accounts, start=1)
        ]
        base = base_url.rstrip("/")
        return EngageTokenResponse(
            accessToken=access,
            refreshToken=refresh,
            mainAccountId=main,
            agentDetails=details,
            adminUrl=f"{base}/voice/admin/",
            agentUrl=f"{base}/voice/agent/",
            analyticsUrl=f"{base}/voice/analytics/",
        )

    def _sign(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        mac = hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(mac)}"

    def _prune(self, now: float) -> None:
        # Only tokens past their *signed* exp go: those are still recognised as expired from
        # the payload alone, so pruning never turns "Jwt is expired" into "invalid token".
        if len(self._state.access) > _PRUNE_ABOVE:
            stale = [k for k, r in self._state.access.items() if r.signed_exp <= now]
            for key in stale:
                del self._state.access[key]
        if len(self._state.refresh) > _PRUNE_ABOVE:
            stale = [k for k, r in self._state.refresh.items() if r.expires_at <= now]
            for key in stale:
                del self._state.refresh[key]

    # /voice/ request authentication -------------------------------------------------------

    def authenticate(self, authorization: str | None, x_auth_token: str | None) -> Principal:
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise ApiError(401, INVALID_TOKEN, "Unsupported authorization scheme")
            return self._check_access(token.strip())
        if x_auth_token:
            if hmac.compare_digest(x_auth_token, self._config.api_token.get_secret_value()):
                return Principal(kind="api_token", subject=self._config.username)
            raise ApiError(401, INVALID_TOKEN, "Invalid API token")
        raise ApiError(401, AUTHENTICATION_REQUIRED, "Full authentication is required")

    def _check_access(self, token: str) -> Principal:
        payload = self._verify(token)
        if payload is None:
            raise ApiError(401, INVALID_TOKEN, "Invalid access token")
        now = self._clock()
        with self._lock:
            record = self._state.access.get(str(payload.get("jti")))
            if record is None:
                if float(payload.get("exp", 0)) <= now:
                    raise TokenExpired()
                raise ApiError(401, INVALID_TOKEN, "Invalid access token")
            if record.revoked:
                raise ApiError(401, INVALID_TOKEN, "Access token has been revoked")
            if record.expires_at <= now:
                raise TokenExpired()
            return Principal(kind="bearer", subject=record.subject)

    def _verify(self, token: str) -> dict[str, Any] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            mac = _unb64(parts[2])
            expected = hmac.new(
                self._key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(mac, expected):
                return None
            payload = json.loads(_unb64(parts[1]))
        except (binascii.Error, ValueError):
            return None
        return payload if isinstance(payload, dict) else None

    # Admin -------------------------------------------------------------------------------

    def expire_all(self) -> int:
        """Every live access token expires now (refresh tokens stay valid)."""
        now = self._clock()
        with self._lock:
            live = [r for r in self._state.access.values() if r.expires_at > now]
            for record in live:
                record.expires_at = now
            return len(live)

    def revoke_all(self) -> int:
        """Every access and refresh token (RingCX and RC) stops working."""
        with self._lock:
            count = 0
            for record in self._state.access.values():
                if not record.revoked:
                    record.revoked = True
                    count += 1
            count += len(self._state.refresh) + len(self._state.rc_refresh)
            self._state.refresh.clear()
            self._state.rc_refresh.clear()
            for grant in self._state.rc_access.values():
                grant.revoked = True
            return count

    def count_unauthorized(self) -> None:
        with self._lock:
            self.counters.unauthorized_401s += 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return self.counters.model_dump()

    def reset_counters(self) -> None:
        with self._lock:
            self.counters = AuthCounters()
