"""Configuration of the sandbox server: credentials, token lifetimes, dialect, limits, faults.

Every knob has a default that matches the API contract (``ENGAGE_API.md``), so a bare
``SandboxConfig()`` behaves like RingCX as documented: the ``spec`` dialect. Secrets are
``SecretStr`` so they never appear in a repr, a log line or ``GET /sandbox/config``.

The dialect (``dialect.py``) holds everything the official material leaves open, paging
included. ``page_base``, ``max_rows_default`` and ``max_rows_cap`` were top-level settings
before dialects existed; they stay accepted as shortcuts that change the dialect (as
constructor arguments, ``SANDBOX_PAGE_BASE``-style variables, and read-only attributes).
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .dialect import Dialect, resolve_dialect, with_changes

#: The operation classes of contract section 7; the client names them the same way.
OP_CLASSES: tuple[str, ...] = (
    "token_exchange",
    "lead_search",
    "lead_search_count",
    "lead_actions",
    "lead_loader",
    "lead_update",
    "admin_other",
)

#: (max requests, window seconds) per operation class, per sub-account (contract section 7).
DEFAULT_RATE_LIMITS: dict[str, list[tuple[int, float]]] = {
    "token_exchange": [(5, 60.0)],
    "lead_search": [(15, 10.0), (60, 30.0)],
    "lead_search_count": [(90, 10.0), (180, 30.0)],
    "lead_actions": [(30, 10.0), (120, 60.0)],
    "lead_loader": [(30, 10.0), (120, 60.0)],
    "lead_update": [(12, 3.0), (150, 60.0)],
    "admin_other": [(120, 60.0)],
}

SECRET_FIELDS: frozenset[str] = frozenset({"client_secret", "jwt", "api_token", "password"})

FaultKind = Literal["5xx", "429", "timeout", "drop", "latency", "success_false", "load_failed"]

#: Settings that used to be top-level and now live in the dialect; still accepted here.
DIALECT_SHORTCUTS: tuple[str, ...] = ("page_base", "max_rows_default", "max_rows_cap")


class FaultRule(BaseModel):
    """One entry of the deterministic fault script, consumed in order by matching requests."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    path_contains: str | None = None
    method: str | None = None
    count: int = Field(default=1, ge=0)
    #: "success_false" only matches lead actions and "load_failed" only direct loads.
    #: HTTP status for a "5xx" rule (default: FaultConfig.status_5xx).
    status: int | None = Field(default=None, ge=500, le=599)
    #: Hold time of a "timeout" rule, delay of a "latency" rule, Retry-After of a "429" rule.
    seconds: float | None = Field(default=None, ge=0)


class FaultConfig(BaseModel):
    """Fault injection. Rates are fractions 0..1 drawn from a seeded ``random.Random``.

    5xx and 429 faults answer before the request reaches the app (nothing is processed);
    timeouts and drops let the request be processed and committed first, which is what
    makes a client's write ambiguous. ``success_false`` (lead actions) and ``load_failed``
    (direct loads) answer HTTP 200 with a failure body before the request reaches the app.
    """

    model_config = ConfigDict(extra="forbid")

    rate_5xx: float = Field(default=0.0, ge=0.0, le=1.0)
    status_5xx: int = Field(default=503, ge=500, le=599)
    rate_429: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_seconds: float = Field(default=30.0, ge=0.0)
    drop_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Share of lead actions answered ``{"success": false, ...}`` with HTTP 200.
    success_false_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Share of direct loads answered with the refused-load body with HTTP 200.
    load_failed_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Added to every in-scope request: latency_ms + uniform(0, latency_jitter_ms).
    latency_ms: float = Field(default=0.0, ge=0.0)
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)
    seed: int = 0
    #: Which requests the random rates and latency apply to: reads (GET and lead search), writes
    #: (everything else, token exchange/refresh included) or all.
    scope: Literal["all", "reads", "writes"] = "all"
    #: Further restricts the random rates and the latency to paths containing this substring.
    path_contains: str | None = None
    script: list[FaultRule] = Field(default_factory=list)

    def is_active(self) -> bool:
        rates = (
            self.rate_5xx
            + self.rate_429
            + self.timeout_rate
            + self.drop_rate
            + self.success_false_rate
            + self.load_failed_rate
        )
        return bool(rates or self.latency_ms or self.latency_jitter_ms or self.script)


class SandboxConfig(BaseModel):
    """Everything the sandbox needs to start. Mutable at run time via ``PUT /sandbox/settings``."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # Credentials accepted by the RC OAuth and RingCX endpoints.
    client_id: str = "sandbox-client-id"
    client_secret: SecretStr = SecretStr("sandbox-client-secret")
    jwt: SecretStr = SecretStr("sandbox-jwt")
    api_token: SecretStr = SecretStr("sandbox-api-token")
    username: str = "sandbox-admin"
    password: SecretStr = SecretStr("sandbox-password")
    #: Empty means "any extension (or none) is accepted" on the password grant.
    extension: str = ""

    # Token lifetimes (contract section 2: RingCX access tokens live 5 minutes).
    access_token_ttl_seconds: float = Field(default=300.0, gt=0)
    rc_token_ttl_seconds: float = Field(default=3600.0, gt=0)
    refresh_token_ttl_seconds: float = Field(default=86400.0, gt=0)

    #: Sub-accounts left out of every token's agentDetails: calls against them get 403.
    restricted_account_ids: list[str] = Field(default_factory=list)

    #: The reading of every open question (contract section 8), paging included. Accepts a
    #: dialect name, a (partial) object or a JSON object string (``SANDBOX_DIALECT``).
    dialect: Annotated[Dialect, NoDecode] = Field(default_factory=Dialect)

    # Rate limits (contract section 7).
    rate_limits_enabled: bool = True
    rate_limits: dict[str, list[tuple[int, float]]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_RATE_LIMITS.items()}
    )
    #: Windows are divided by this, so a benchmark keeps the shape of the limits but runs faster.
    rate_limit_scale: float = Field(default=1.0, gt=0)
    #: The contract documents no Retry-After; when on, 429s carry one (whole seconds, ceil).
    send_retry_after: bool = False

    faults: FaultConfig = Field(default_factory=FaultConfig)

    # Process / data.
    db_path: str = ":memory:"
    #: None leaves an empty store empty; otherwise an empty store is seeded at start.
    seed: int | None = 1
    leads: int = Field(default=10_000, ge=0)
    host: str = "127.0.0.1"
    #: 0 picks a free port.
    port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "warning"

    @model_validator(mode="before")
    @classmethod
    def _fold_shortcuts(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not any(k in data for k in DIALECT_SHORTCUTS):
            return data
        data = dict(data)
        changes = {k: data.pop(k) for k in DIALECT_SHORTCUTS if k in data}
        changes = {k: v for k, v in changes.items() if v is not None}
        data["dialect"] = with_changes(resolve_dialect(data.get("dialect", "spec")), **changes)
        return data

    @field_validator("dialect", mode="before")
    @classmethod
    def _dialect(cls, value: Any) -> Dialect:
        return resolve_dialect(value)

    @property
    def page_base(self) -> int:
        return self.dialect.page_base

    @property
    def max_rows_default(self) -> int:
        return self.dialect.max_rows_default

    @property
    def max_rows_cap(self) -> int:
        return self.dialect.max_rows_cap

    @field_validator("rate_limits")
    @classmethod
    def _known_classes(
        cls, value: dict[str, list[tuple[int, float]]]
    ) -> dict[str, list[tuple[int, float]]]:
        unknown = set(value) - set(OP_CLASSES)
        if unknown:
            raise ValueError(f"unknown operation classes: {sorted(unknown)}")
        for windows in value.values():
            for limit, seconds in windows:
                if limit < 1 or seconds <= 0:
                    raise ValueError("each window needs limit >= 1 and seconds > 0")
        return value

    def public_dump(self) -> dict[str, Any]:
        """JSON-ready view without any secret (used by ``GET /sandbox/config``)."""
        view = self.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        view.update({name: getattr(self, name) for name in DIALECT_SHORTCUTS})
        return view

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        """Build from ``SANDBOX_*`` environment variables (``SANDBOX_FAULTS__RATE_5XX=0.1``,
        ``SANDBOX_DIALECT=alternate``, ``SANDBOX_DIALECT__PAGE_BASE=1``); overrides win.

        The old top-level paging variables (``SANDBOX_PAGE_BASE``, ``SANDBOX_MAX_ROWS_CAP``,
        ``SANDBOX_MAX_ROWS_DEFAULT``) still change the dialect.
        """
        environ = {k.upper(): v for k, v in os.environ.items()}
        shortcuts = {
            name: _int_or_text(environ[f"SANDBOX_{name.upper()}"])
            for name in DIALECT_SHORTCUTS
            if f"SANDBOX_{name.upper()}" in environ and name not in overrides
        }
        env = _SandboxEnv(**overrides)
        return cls.model_validate({**env.model_dump(), **shortcuts})


def _int_or_text(value: str) -> int | str:
    # Literal[0, 1] does not coerce "0"; a bad value stays text so validation names it.
    try:
        return int(value)
    except ValueError:
        return value


class _SandboxEnv(BaseSettings, SandboxConfig):
    # Kept separate from SandboxConfig so a plain SandboxConfig() never reads the environment:
    # a stray SANDBOX_PORT in a developer's shell must not change what tests run against.
    model_config = SettingsConfigDict(
        env_prefix="SANDBOX_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_assignment=True,
    )
