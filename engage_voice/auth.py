"""Authentication: a permanent API token, or JWT -> RingCentral OAuth -> RingCX exchange.

One `OAuthTokenHolder` per (host, platform, client id, credential) per process, shared by
every client, thread and event loop in it. Getting a token is single-flight: when the
token is due, the first caller refreshes it and every concurrent caller waits for that
one refresh (a `concurrent.futures.Future`, so waiting works across threads and loops).

Order of fallbacks: refresh with the rotating refresh token; if that fails, exchange the
RingCentral access token again (paced by the 5/min exchange limiter); if the RingCentral
token is gone or rejected, log in to RingCentral again with the JWT (or password).

Across processes (`use_token_share`): the renewal is single-flight across every process
that shares a `TokenShare`. Under the share's lock a renewing process first adopts a token
another process left there (and always its newest rotating refresh token, which would
otherwise be spent by whoever refreshed first); only when none is valid does it renew, and
it leaves the result for the others. A token the service rejected is never adopted again.
What the share holds is sealed with a key derived from the credentials, which the share
never sees in clear and which is not derivable from the share's names.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .errors import ApiError, AuthenticationError, ConfigurationError, InvalidRequestError
from .models import AgentDetail, EngageTokenResponse, RcTokenResponse
from .settings import EngageSettings

if TYPE_CHECKING:
    from .transport import Transport

log = logging.getLogger("engage_voice.auth")


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT-shaped token (epoch seconds), without verifying it."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        exp = claims.get("exp")
        return float(exp) if exp is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


class ApiTokenAuth:
    """`X-Auth-Token`: a permanent token, nothing to refresh."""

    kind = "api_token"

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    async def headers(self, transport: Transport) -> dict[str, str]:
        return {"X-Auth-Token": self._token.get_secret_value()}

    async def invalidate(self, headers_used: Mapping[str, str]) -> None:
        return None

    def __repr__(self) -> str:
        return "ApiTokenAuth(token=**********)"


class SharedToken(BaseModel):
    """A RingCX token as processes share it (`TokenShare`)."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: float  # epoch seconds
    lifetime: float
    main_account_id: str | None = None
    agent_details: list[AgentDetail] = Field(default_factory=list)

    def reveal(self) -> bytes:
        """The token with its secrets in clear, for a share to seal (never to log)."""
        data = self.model_dump(mode="json")
        data["access_token"] = self.access_token.get_secret_value()
        if self.refresh_token is not None:
            data["refresh_token"] = self.refresh_token.get_secret_value()
        return json.dumps(data).encode()

    @classmethod
    def unreveal(cls, data: bytes) -> SharedToken:
        return cls.model_validate_json(data)


class TokenShare(Protocol):
    """Where processes sharing credentials keep their RingCX token (`use_token_share`).

    `acquire(name)` blocks until this process holds the cross-process lock of `name` and
    returns its release; a holder that dies must lose the lock by itself. `load` returns
    None for nothing stored or nothing that opens with `seal` (other credentials).
    """

    def acquire(self, name: str) -> Callable[[], None]: ...

    def load(self, name: str, seal: bytes) -> SharedToken | None: ...

    def save(self, name: str, token: SharedToken, seal: bytes) -> None: ...


_share: TokenShare | None = None


def use_token_share(share: TokenShare | None) -> None:
    """Renew tokens through `share` from now on (None: each process for itself)."""
    global _share
    _share = share


async def _acquire(share: TokenShare, name: str) -> Callable[[], None]:
    # The lock is taken in a thread; a caller cancelled while it waits must still release
    # it once taken, or every other process would wait on this one for good.
    pending = asyncio.ensure_future(asyncio.to_thread(share.acquire, name))
    try:
        return await asyncio.shield(pending)
    except asyncio.CancelledError:
        pending.add_done_callback(lambda done: done.exception() or done.result()())
        raise


class OAuthTokenHolder:
    kind = "bearer"

    def __init__(self, settings: EngageSettings) -> None:
        if settings.auth_mode not in ("jwt", "password"):
            raise ConfigurationError(
                "OAuth needs ENGAGE_CLIENT_ID, ENGAGE_CLIENT_SECRET and ENGAGE_JWT "
                "(or ENGAGE_USERNAME/ENGAGE_PASSWORD)"
            )
        self._settings = settings
        self._lock = threading.Lock()
        self._inflight: concurrent.futures.Future[None] | None = None
        self._access: SecretStr | None = None
        self._access_expires = 0.0
        self._access_lifetime = settings.token_lifetime
        self._refresh: SecretStr | None = None
        self._rc_access: SecretStr | None = None
        self._rc_expires = 0.0
        self.main_account_id: str | None = None
        self.agent_details: list[AgentDetail] = []
        self.counts = {
            "rc_logins": 0,
            "exchanges": 0,
            "refreshes": 0,
            "refresh_failures": 0,
            "adopted": 0,
        }
        secrets = _secrets(settings)
        parts = (settings.host, settings.platform_host, settings.client_id, settings.username)
        identity = "\x00".join(str(part) for part in parts)
        self._share_name = hashlib.sha256(f"name\x00{identity}\x00{secrets}".encode()).hexdigest()
        self._seal = hashlib.sha256(f"seal\x00{identity}\x00{secrets}".encode()).digest()
        self._rejected: set[str] = set()

    def __repr__(self) -> str:
        state = "valid" if self._valid(time.time()) else "due"
        return f"OAuthTokenHolder(host={self._settings.host!r}, token={state})"

    def _valid(self, now: float) -> bool:
        expires, lifetime = self._access_expires, self._access_lifetime
        return self._access is not None and self._good(expires, lifetime, now)

    def _good(self, expires: float, lifetime: float, now: float) -> bool:
        # Renew ahead of expiry, but never so early that a short-lived token (seconds, in
        # tests) is renewed on every call.
        return now < expires - min(self._settings.token_refresh_margin, lifetime / 4)

    async def headers(self, transport: Transport) -> dict[str, str]:
        token = await self.token(transport)
        return {"Authorization": f"Bearer {token}"}

    async def token(self, transport: Transport) -> str:
        while True:
            leader = False
            with self._lock:
                if self._valid(time.time()):
                    assert self._access is not None
                    return self._access.get_secret_value()
                if self._inflight is None:
                    self._inflight = concurrent.futures.Future()
                    # A running future cannot be cancelled: a waiter that is cancelled
                    # (a timeout, a sibling task failing) must not cancel the renewal that
                    # every other waiter, on any thread or loop, is waiting for.
                    self._inflight.set_running_or_notify_cancel()
                    leader = True
                future = self._inflight
            if not leader:
                await asyncio.wrap_future(future)
                continue
            try:
                await self._renew_shared(transport)
            except BaseException as exc:
                with self._lock:
                    self._inflight = None
                if isinstance(exc, Exception):
                    future.set_exception(exc)  # a real failure: every waiter sees it
                else:
                    future.set_result(None)  # the leader was cancelled: a waiter takes over
                raise
            with self._lock:
                self._inflight = None
            future.set_result(None)

    async def invalidate(self, headers_used: Mapping[str, str]) -> None:
        """The service rejected the token in `headers_used`; make the next caller renew."""
        used = headers_used.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            self._rejected.add(_digest(used))
            if self._access is not None and self._access.get_secret_value() == used:
                self._access_expires = 0.0

    async def _renew_shared(self, transport: Transport) -> None:
        share = _share
        if share is None:
            await self._renew(transport)
            return
        # The share saves exchanges; it is not needed for a token. A share that fails is
        # logged and the renewal goes on alone (exchanges stay paced by their budget).
        try:
            release = await _acquire(share, self._share_name)
        except Exception as exc:
            log.warning("token share unavailable (%s); renewing alone", type(exc).__name__)
            await self._renew(transport)
            return
        try:
            try:
                found = await asyncio.to_thread(share.load, self._share_name, self._seal)
            except Exception as exc:
                log.warning("token share unreadable (%s); renewing alone", type(exc).__name__)
                found = None
            if found is not None and self._adopt(found):
                return
            await self._renew(transport)
            try:
                await asyncio.to_thread(share.save, self._share_name, self._shared(), self._seal)
            except Exception as exc:
                log.warning("token not shared (%s)", type(exc).__name__)
        finally:
            try:
                await asyncio.to_thread(release)
            except Exception as exc:  # its connection is gone, and the lock with it
                log.warning("token share lock not released (%s)", type(exc).__name__)

    def _adopt(self, found: SharedToken) -> bool:
        """Take what another process left: its refresh token always (the newest of a
        rotating chain), its access token when it is still good here. True: adopted."""
        with self._lock:
            if found.refresh_token is not None:
                self._refresh = found.refresh_token
            if _digest(found.access_token.get_secret_value()) in self._rejected:
                return False
            if not self._good(found.expires_at, found.lifetime, time.time()):
                return False
            self._access, self._access_expires = found.access_token, found.expires_at
            self._access_lifetime = found.lifetime
            self.main_account_id = found.main_account_id or self.main_account_id
            self.agent_details = list(found.agent_details) or self.agent_details
            self.counts["adopted"] += 1
            return True

    def _shared(self) -> SharedToken:
        with self._lock:
            assert self._access is not None
            return SharedToken(
                access_token=self._access,
                refresh_token=self._refresh,
                expires_at=self._access_expires,
                lifetime=self._access_lifetime,
                main_account_id=self.main_account_id,
                agent_details=self.agent_details,
            )

    def _lifetime_from(self, token: str, issued: float) -> float:
        exp = jwt_expiry(token)
        if exp is not None:
            # Trust the token's own clock, but never beyond the documented lifetime pattern
            # if the local clock is skewed far ahead of the issuer's.
            return exp if exp > issued else issued + self._settings.token_lifetime
        return issued + self._settings.token_lifetime

    def _store(self, body: EngageTokenResponse, issued: float) -> None:
        access = body.access_token.get_secret_value()
        with self._lock:
            self._access = body.access_token
            self._access_expires = self._lifetime_from(access, issued)
            self._access_lifetime = max(self._access_expires - issued, 0.0)
            if body.refresh_token is not None:
                self._refresh = body.refresh_token
            if body.main_account_id:
                self.main_account_id = body.main_account_id
            if body.agent_details:
                self.agent_details = list(body.agent_details)

    async def _renew(self, transport: Transport) -> None:
        if self._refresh is not None:
            try:
                await self._refresh_token(transport)
                return
            except (AuthenticationError, InvalidRequestError) as exc:
                self.counts["refresh_failures"] += 1
                log.info("token refresh rejected (%s); exchanging again", exc.status)
                self._refresh = None
        await self._exchange(transport)

    async def _refresh_token(self, transport: Transport) -> None:
        assert self._refresh is not None
        issued = time.time()
        response = await transport.request(
            "POST",
            "/api/auth/token/refresh",
            data={"refresh_token": self._refresh.get_secret_value(), "rcTokenType": "Bearer"},
            authenticated=False,
        )
        self.counts["refreshes"] += 1
        self._store(EngageTokenResponse.model_validate(response.json()), issued)

    async def _exchange(self, transport: Transport) -> None:
        for attempt in (1, 2):
            if self._rc_access is None or time.time() >= self._rc_expires - 60:
                await self._rc_login(transport)
            assert self._rc_access is not None
            issued = time.time()
            try:
                response = await transport.request(
                    "POST",
                    "/api/auth/login/rc/accesstoken",
                    params={"includeRefresh": "true"},
                    data={
                        "rcAccessToken": self._rc_access.get_secret_value(),
                        "rcTokenType": "Bearer",
                    },
                    account_key="auth",
                    authenticated=False,
                )
            except AuthenticationError:
                # The RingCentral token was revoked or expired early: log in once more.
                self._rc_access = None
                if attempt == 2:
                    raise
                continue
            self.counts["exchanges"] += 1
            self._store(EngageTokenResponse.model_validate(response.json()), issued)
            return

    async def _rc_login(self, transport: Transport) -> None:
        s = self._settings
        assert s.client_id and s.client_secret
        if s.auth_mode == "jwt":
            assert s.jwt is not None
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": s.jwt.get_secret_value(),
            }
        else:
            assert s.username and s.password
            form = {
                "grant_type": "password",
                "username": s.username,
                "password": s.password.get_secret_value(),
            }
            if s.extension:
                form["extension"] = s.extension
        basic = base64.b64encode(
            f"{s.client_id}:{s.client_secret.get_secret_value()}".encode()
        ).decode()
        issued = time.time()
        try:
            response = await transport.request(
                "POST",
                "/restapi/oauth/token",
                data=form,
                headers={"Authorization": f"Basic {basic}"},
                authenticated=False,
                base_url=s.platform_host,
            )
        except ApiError as exc:
            if exc.status in (400, 401, 403):
                raise AuthenticationError(
                    "RingCentral rejected the client credentials or the JWT "
                    f"({exc.message})",
                    status=exc.status,
                    error_code=exc.error_code,
                    request_uri=exc.request_uri,
                ) from None
            raise
        body = RcTokenResponse.model_validate(response.json())
        self.counts["rc_logins"] += 1
        self._rc_access = body.access_token
        self._rc_expires = issued + float(body.expires_in or 3600)


def _secrets(settings: EngageSettings) -> str:
    """The credentials' secrets as one string: only ever hashed, never kept or shown."""
    return "\x00".join(
        s.get_secret_value() if s is not None else ""
        for s in (settings.client_secret, settings.jwt, settings.password)
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_holders: dict[tuple[str | None, ...], OAuthTokenHolder] = {}
_holders_lock = threading.Lock()


def auth_for(settings: EngageSettings) -> ApiTokenAuth | OAuthTokenHolder:
    """The process-wide auth provider for these settings."""
    mode = settings.auth_mode
    if mode == "api_token":
        assert settings.api_token is not None
        return ApiTokenAuth(settings.api_token)
    if mode == "none":
        raise ConfigurationError(
            "no credentials: set ENGAGE_API_TOKEN, or ENGAGE_CLIENT_ID + ENGAGE_CLIENT_SECRET "
            "+ ENGAGE_JWT"
        )
    # Every credential is part of the identity: a changed secret must never reuse a token
    # obtained with the old one. Only a hash is kept.
    fingerprint = hashlib.sha256(_secrets(settings).encode()).hexdigest()
    key = (
        settings.host,
        settings.platform_host,
        settings.client_id,
        settings.username,
        fingerprint,
    )
    with _holders_lock:
        holder = _holders.get(key)
        if holder is None:
            holder = _holders[key] = OAuthTokenHolder(settings)
        return holder


def forget_tokens() -> None:
    """Drop every cached token holder of this process (e.g. after rotating credentials)."""
    with _holders_lock:
        _holders.clear()
