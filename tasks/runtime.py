"""Process-wide runtime pieces the tasks share: settings, one client, the journal root."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engage_voice import EngageSettings, SyncEngageClient

from .credentials import run_settings
from .files import check_location
from .models import RESERVED_KEYS

JOURNAL_ENV = "LEADS_JOURNAL_DIR"  # Places.journal_dir

_clients: dict[str, SyncEngageClient] = {}
_lock = threading.Lock()


def load_settings() -> EngageSettings:
    """The run's client settings: its credentials block's (tasks.credentials), else
    ENGAGE_* variables (and .env). Loaded inside the run, so a deployment never carries a
    secret as a flow parameter."""
    return run_settings() or EngageSettings()


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
    _share_with_other_processes()
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = SyncEngageClient(settings)
        return client


_shared_url: list[str | None] = [None]  # the LEADS_BUDGET_URL this process was set up with


def _share_with_other_processes() -> None:
    """Request budgets (tasks.budgets) and RingCX tokens (tasks.tokens) in the database
    named by LEADS_BUDGET_URL, when it is set."""
    url = Places().budget_url
    with _lock:
        if url == _shared_url[0]:
            return
        from .budgets import share_budgets
        from .tokens import share_tokens

        share_budgets(url)
        share_tokens(url)
        _shared_url[0] = url


def thread_pool(max_workers: int) -> Any:
    """Prefect's thread-pool task runner. Typed Any: the `@flow` decorator's annotation
    rejects Prefect's own ThreadPoolTaskRunner under a strict checker."""
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=max_workers)


def close_clients() -> None:
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


class Places(BaseSettings):
    """Where the pipelines keep what they write, as typed settings (`LEADS_*`).

    Run journals live in the store at `journal_url` when one is set, else in
    `journal_dir/<run key>/`; every other kind of state has a named place of its own (by
    default a reserved directory beside the journals, a name no run key may take).
    """

    # URLs may carry passwords: an error names the field and the reason, never the value.
    model_config = SettingsConfigDict(
        env_prefix="LEADS_", extra="ignore", hide_input_in_errors=True
    )

    journal_dir: Path = Field(Path("journal"), description="Run journals, one per run key.")
    journal_url: str | None = Field(
        None,
        description="A journal store's URL (tasks.store.register_store) instead of a directory.",
    )
    # Files for people, which any worker may write: a directory or an fsspec URL
    # (s3://bucket/leads/exports, with that fsspec backend installed; tasks.files).
    exports_dir: str | None = Field(None, description="export_leads files (a path or a URL).")
    inventory_dir: str | None = Field(None, description="Inventory snapshots (a path or a URL).")
    suppression_dir: Path | None = Field(
        None, description="nightly_suppress state per campaign, and its copies of DNC tables."
    )
    targets_dir: Path | None = Field(
        None, description="Target tables the pipelines write for their own runs (undo, release)."
    )
    budget_url: str | None = Field(
        None,
        description="A PostgreSQL URL where every process keeps the sub-accounts' request "
        "budgets (tasks.budgets) and the RingCX tokens (tasks.tokens); unset, each process "
        "paces itself and gets its own token.",
    )

    @field_validator("budget_url")
    @classmethod
    def _postgresql_only(cls, value: str | None) -> str | None:
        # Budgets and tokens are shared through PostgreSQL's advisory locks: nothing else
        # (a SQLite file would not even reach two hosts).
        if value and not value.startswith(("postgresql://", "postgresql+psycopg://")):
            scheme = value.split("://", 1)[0] if "://" in value else value[:20]
            raise ValueError(
                f"LEADS_BUDGET_URL must be a PostgreSQL URL (postgresql+psycopg://...), "
                f"not {scheme!r}"
            )
        return value

    @field_validator("exports_dir", "inventory_dir")
    @classmethod
    def _reachable(cls, value: str | None) -> str | None:
        if value:
            check_location(value)
        return value

    def place(self, name: str) -> Path:
        """The directory of state the runs read back themselves ("suppression", "targets")."""
        given = getattr(self, f"{name}_dir")
        return (given or self.journal_dir / RESERVED[name]).resolve()

    def location(self, name: str) -> str:
        """Where files for people go ("exports", "inventory"): a directory or a URL."""
        given = getattr(self, f"{name}_dir")
        return given or str((self.journal_dir / RESERVED[name]).resolve())


# The default directories of the other state, beside the run journals: never run keys.
RESERVED = {
    "exports": "exports",
    "inventory": "inventory",
    "suppression": "nightly_suppress",
    "targets": "targets",
}
assert set(RESERVED.values()) == RESERVED_KEYS  # one list of names no run key may take


def places() -> Places:
    return Places()


def journal_root() -> str:
    """The journal store's root: its URL, or the journal directory."""
    given = places()
    return given.journal_url or str(given.journal_dir.resolve())


def place(name: str) -> Path:
    """The directory of one kind of state the runs read back: "suppression" or "targets"."""
    return places().place(name)


def location(name: str) -> str:
    """Where one kind of file for people goes: "exports" or "inventory" (a path or a URL)."""
    return places().location(name)
