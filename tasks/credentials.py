"""RingCX credentials as a Prefect block: several RingCX accounts in one workspace, each a
block by name, loaded inside the run.

Invariants:
- A flow takes the block's *name* (a parameter with a default), never a secret: parameters,
  job variables, states and results hold no credential. The block is read inside the run,
  once, and its settings are the run's (its task threads and child flows included).
- No block of that name (or none named): the run uses `ENGAGE_*` as before, and says so.
- The block's secrets are `SecretStr`; Prefect stores them encrypted, and nothing here
  prints them. Other client settings (limits, timeouts, page size) still come from
  `ENGAGE_*` on the worker: they describe the machine and the account's budgets, not who
  signs in.

Registered for `prefect block register -m tasks.credentials` and through the
`prefect.collections` entry point of this package.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, ParamSpec, TypeVar, cast

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from engage_voice import EngageSettings

from .errors import RunRefused

T = TypeVar("T")
P = ParamSpec("P")

DEFAULT_BLOCK = "ringcx"

# The settings of the run in progress (None: ENGAGE_* as read by EngageSettings()).
_run_settings: contextvars.ContextVar[EngageSettings | None] = contextvars.ContextVar(
    "ringcx_run_settings", default=None
)


class NoCredentials(RunRefused, LookupError):
    """Neither a credentials block of the given name nor a sign-in in ENGAGE_*."""


class RingCXCredentials(Block):
    """How to sign in to one RingCX account (one block per account)."""

    _block_type_name: ClassVar[str] = "RingCX Credentials"
    _block_type_slug: ClassVar[str] = "ringcx-credentials"
    _description: ClassVar[str] = (
        "Sign-in to a RingCX (Engage Voice) account: a JWT or username and password for "
        "RingCentral's OAuth exchange, or a permanent API token."
    )

    host: str = Field(
        "https://ringcx.ringcentral.com", description="RingCX host (/api/auth and /voice)."
    )
    platform_host: str = Field(
        "https://platform.ringcentral.com", description="RingCentral platform (OAuth)."
    )
    client_id: str | None = Field(None, description="The RingCentral app's client id.")
    client_secret: SecretStr | None = Field(None, description="The app's client secret.")
    jwt: SecretStr | None = Field(None, description="A RingCentral JWT credential.")
    username: str | None = Field(None, description="Password grant (legacy): user.")
    password: SecretStr | None = Field(None, description="Password grant (legacy): password.")
    extension: str | None = Field(None, description="Password grant (legacy): extension.")
    api_token: SecretStr | None = Field(
        None, description="A permanent RingCX API token, instead of the OAuth exchange."
    )
    account_id: str | None = Field(None, description="Default sub-account id.")

    def settings(self) -> EngageSettings:
        """Client settings: these credentials, the rest from ENGAGE_* as usual."""
        given = {
            name: getattr(self, name)
            for name in CREDENTIAL_FIELDS
            if getattr(self, name) is not None
        }
        # Every credential field is set from the block (None where the block has none),
        # so an ENGAGE_JWT on the worker cannot mix with a block's API token.
        cleared = {name: None for name in CREDENTIAL_FIELDS if name not in given}
        return EngageSettings(**{**cleared, **given})


CREDENTIAL_FIELDS = (
    "host",
    "platform_host",
    "client_id",
    "client_secret",
    "jwt",
    "username",
    "password",
    "extension",
    "api_token",
    "account_id",
)


def settings_from(block: str | None) -> tuple[EngageSettings, str]:
    """The run's settings and where they came from (for the log; never a secret)."""
    if block:
        try:
            credentials = cast(RingCXCredentials, RingCXCredentials.load(block))
        except ValueError:  # no block of that name (Prefect says "Unable to find block")
            pass
        else:
            return credentials.settings(), f"credentials block {block!r}"
    return EngageSettings(), "ENGAGE_* settings"


def run_settings() -> EngageSettings | None:
    return _run_settings.get()


@contextmanager
def using(settings: EngageSettings) -> Iterator[None]:
    token = _run_settings.set(settings)
    try:
        yield
    finally:
        _run_settings.reset(token)


def with_credentials(
    block: str | None, run: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """`run(*args, **kwargs)` signed in with the block `block` (else ENGAGE_*)."""
    from prefect import get_run_logger

    settings, source = settings_from(block)
    if settings.auth_mode == "none":
        raise NoCredentials(
            f"no credentials: no RingCX Credentials block named {block!r} and no sign-in in "
            "ENGAGE_* (ENGAGE_API_TOKEN, or ENGAGE_CLIENT_ID/ENGAGE_CLIENT_SECRET/ENGAGE_JWT)"
        )
    get_run_logger().info("signing in to %s with %s", settings.host, source)
    with using(settings):
        return run(*args, **kwargs)
