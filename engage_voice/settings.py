"""Client settings: everything needed to point the client at a RingCX account or a sandbox."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigurationError

SECRET_FIELDS = ("client_secret", "jwt", "password", "api_token")

DEFAULT_HOST = "https://ringcx.ringcentral.com"
DEFAULT_PLATFORM_HOST = "https://platform.ringcentral.com"

# Contract section 7: per sub-account sliding windows, as (requests, window seconds).
DEFAULT_RATE_LIMITS: dict[str, list[tuple[int, float]]] = {
    "token_exchange": [(5, 60.0)],
    "lead_search": [(15, 10.0), (60, 30.0)],
    "lead_search_count": [(90, 10.0), (180, 30.0)],
    "lead_actions": [(30, 10.0), (120, 60.0)],
    "lead_loader": [(30, 10.0), (120, 60.0)],
    "lead_update": [(12, 3.0), (150, 60.0)],
    "admin_other": [(120, 60.0)],
}


class SettingsError(ConfigurationError, ValueError):
    """`ENGAGE_*` settings are invalid. The message names every offending field and says
    what is wrong with it, and never repeats a value: pydantic's own error text echoes the
    input, which would put the tail of a JWT or a client secret into logs and run states."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        listing = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(f"invalid ENGAGE_* settings: {listing}")

    def __reduce__(self) -> tuple[type[SettingsError], tuple[list[tuple[str, str]]]]:
        # Prefect pickles a failed run's exception: rebuild from the problems alone.
        return (type(self), (self.problems,))


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = ".".join(str(part) for part in error["loc"])
        field = f"ENGAGE_{loc.upper()}" if loc else "credentials"
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append((field, message))
    return found


class EngageSettings(BaseSettings):
    """Read from `ENGAGE_*` environment variables and a `.env` file.

    Authentication is either a permanent API token (`ENGAGE_API_TOKEN`) or the
    JWT -> RingCentral OAuth -> RingCX exchange (`ENGAGE_CLIENT_ID`, `ENGAGE_CLIENT_SECRET`,
    `ENGAGE_JWT`), or the legacy password grant (`ENGAGE_USERNAME`, `ENGAGE_PASSWORD`).
    """

    model_config = SettingsConfigDict(
        env_prefix="ENGAGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        hide_input_in_errors=True,
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            # `from None`: the ValidationError (which holds the raw input) must not travel
            # with the exception into tracebacks, pickled results or Prefect's states.
            raise SettingsError(_problems(exc)) from None

    host: str = Field(DEFAULT_HOST, description="RingCX host serving /api/auth and /voice.")
    platform_host: str = Field(
        DEFAULT_PLATFORM_HOST, description="RingCentral platform host serving OAuth."
    )
    client_id: str | None = None
    client_secret: SecretStr | None = None
    jwt: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    extension: str | None = None
    api_token: SecretStr | None = None
    account_id: str | None = Field(
        None, description="Default sub-account for calls that need one."
    )

    # Contract section 4: the real service documents neither the page base nor the row cap.
    page_base: int | None = Field(
        None,
        ge=0,
        le=1,
        description="Page number of the first page (0 or 1). Unset: found by a probe of two "
        "one-row searches, once per host and process.",
    )
    page_size: int = Field(1000, ge=1, le=10_000)
    page_prefetch: int = Field(
        15,
        ge=1,
        le=32,
        description="Pages of one counted lead search in flight at once (paced within the "
        "search budget like any other search; RingCX's lets 15 start at once); 1 reads "
        "them one at a time.",
    )

    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    write_timeout: float = Field(30.0, gt=0)
    pool_timeout: float = Field(30.0, gt=0)
    max_connections: int = Field(
        50,
        ge=1,
        description="Connections to the host at once: RingCX's action budget lets 30 "
        "writes start together, and a search reads 15 pages ahead beside them.",
    )

    max_retries: int = Field(4, ge=0, description="Retries of a read after a transient failure.")
    backoff_initial: float = Field(0.5, gt=0)
    backoff_max: float = Field(30.0, gt=0)
    max_rate_limit_wait: float = Field(
        600.0, gt=0, description="Total seconds one request may spend waiting out 429s."
    )

    pacing: bool = Field(True, description="Pace requests client-side to stay under the limits.")
    rate_limits: dict[str, list[tuple[int, float]]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_RATE_LIMITS.items()}
    )
    rate_limit_scale: float = Field(
        1.0, gt=0, description="Divides every window, to match a sandbox run faster."
    )
    pacing_margin: float = Field(
        0.05, ge=0, description="Seconds added to each window against clock and network jitter."
    )

    token_lifetime: float = Field(
        300.0, gt=0, description="Assumed access-token lifetime when the token carries no exp."
    )
    token_refresh_margin: float = Field(
        30.0, ge=0, description="Refresh this many seconds before the token expires."
    )

    @field_validator("host", "platform_host")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            # The value is not echoed: a URL may carry user:password.
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("rate_limits")
    @classmethod
    def _complete_limits(
        cls, value: dict[str, list[tuple[int, float]]]
    ) -> dict[str, list[tuple[int, float]]]:
        merged = {k: list(v) for k, v in DEFAULT_RATE_LIMITS.items()}
        unknown = set(value) - set(merged)
        if unknown:
            raise ValueError(
                f"unknown operation classes {sorted(unknown)}; known: {sorted(merged)}"
            )
        merged.update(value)
        return merged

    @model_validator(mode="after")
    def _check_credentials(self) -> EngageSettings:
        # Field names only: a value here could be a secret.
        ways = [
            name
            for name, present in (
                ("ENGAGE_API_TOKEN", self.api_token is not None),
                ("ENGAGE_JWT", self.jwt is not None),
                ("ENGAGE_USERNAME/ENGAGE_PASSWORD", bool(self.username or self.password)),
            )
            if present
        ]
        if len(ways) > 1:
            raise ValueError(
                f"conflicting credentials: {' and '.join(ways)} are both set; set one way "
                "to authenticate"
            )
        if bool(self.username) != bool(self.password):
            missing = "ENGAGE_PASSWORD" if self.username else "ENGAGE_USERNAME"
            raise ValueError(f"username login needs {missing} as well")
        if self.api_token is None and self.client_id and not (
            self.jwt or (self.username and self.password)
        ):
            raise ValueError(
                "ENGAGE_CLIENT_ID is set but neither ENGAGE_JWT nor "
                "ENGAGE_USERNAME/ENGAGE_PASSWORD is"
            )
        if (self.jwt or self.username) and not (self.client_id and self.client_secret):
            absent = [
                name
                for name, value in (
                    ("ENGAGE_CLIENT_ID", self.client_id),
                    ("ENGAGE_CLIENT_SECRET", self.client_secret),
                )
                if not value
            ]
            raise ValueError(
                f"jwt or username login needs client_id and client_secret: "
                f"{' and '.join(absent)} missing"
            )
        return self

    @property
    def auth_mode(self) -> str:
        if self.api_token is not None:
            return "api_token"
        if self.jwt is not None:
            return "jwt"
        if self.username and self.password:
            return "password"
        return "none"

    def limits_for(self, op_class: str) -> list[tuple[int, float]]:
        return [(n, w / self.rate_limit_scale) for n, w in self.rate_limits[op_class]]
