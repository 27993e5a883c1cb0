"""An embedded sandbox plus client settings pointing at it: the default for demo and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from engage_sandbox import SandboxConfig, SandboxServer
from engage_voice import EngageSettings


def settings_for(server: SandboxServer, **overrides: Any) -> EngageSettings:
    """Client settings that authenticate against `server` with the JWT chain. The page base
    is left to the client to find, as it must against RingCX."""
    cfg = server.config
    values: dict[str, Any] = {
        "host": server.base_url,
        "platform_host": server.base_url,
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret.get_secret_value(),
        "jwt": cfg.jwt.get_secret_value(),
        "page_size": cfg.max_rows_cap,
        "rate_limit_scale": cfg.rate_limit_scale,
    }
    values.update(overrides)
    # _env_file=None: a developer's .env must not redirect the embedded demo elsewhere.
    return EngageSettings(_env_file=None, **values)


@contextmanager
def embedded_sandbox(**config: Any) -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxConfig(**config))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def settings_env(settings: EngageSettings) -> dict[str, str]:
    """The ENGAGE_* environment that reproduces `settings` (for flows run in-process)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, dict | list):
            import json

            value = json.dumps(value)
        env[f"ENGAGE_{name.upper()}"] = str(value)
    return env
