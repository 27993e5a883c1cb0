"""Process-wide runtime pieces the tasks share: settings, one client, the journal root."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from engage_voice import EngageSettings, SyncEngageClient

JOURNAL_ENV = "LEADS_JOURNAL_DIR"

_clients: dict[str, SyncEngageClient] = {}
_lock = threading.Lock()


def load_settings() -> EngageSettings:
    """Client settings from ENGAGE_* variables (and .env). Loaded inside the run, so a
    deployment never carries a secret as a flow parameter."""
    return EngageSettings()


def _fingerprint(settings: EngageSettings) -> str:
    # Secrets are part of the identity (a rotated key must get a new client) but only as
    # a hash: this key is never printed.
    raw = settings.model_dump_json() + "|".join(
        s.get_secret_value()
        for s in (settings.client_secret, settings.jwt, settings.password, settings.api_token)
        if s is not None
    )
    return hashlib.sha256(raw.encode()).hexdigest()


def shared_client(settings: EngageSettings | None = None) -> SyncEngageClient:
    """One blocking client per settings per process, shared by every task thread.

    Sharing one client means one connection pool and one event loop; pacing and tokens are
    process-wide anyway.
    """
    settings = settings or load_settings()
    key = _fingerprint(settings)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = SyncEngageClient(settings)
        return client


def close_clients() -> None:
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def journal_root() -> Path:
    return Path(os.environ.get(JOURNAL_ENV) or "journal").resolve()
