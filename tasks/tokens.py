"""One RingCX token per set of credentials across processes: kept in PostgreSQL (the
`LEADS_BUDGET_URL` database), so runs in any number of processes and workers exchange a
token once between them instead of once each (the exchange allows 5 per minute per app).

- The renewal lock is a session advisory lock on a connection held for the renewal only:
  a process that dies mid-renewal loses it with its connection.
- A stored token is sealed (Fernet: AES-128-CBC with HMAC-SHA256) with a key the client
  derives from the credentials (engage_voice.auth); the table holds neither the key nor the
  credentials, so reading the database gives no usable token. A row that does not open with
  a caller's key is not that caller's: it is ignored, and replaced on its next renewal.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from engage_voice.auth import SharedToken, use_token_share

from .sql_store import shared_engine

metadata = MetaData()
tokens = Table(
    "leads_shared_tokens",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"token:{name}".encode()).digest()[:8], "big", signed=True)


class SharedTokens:
    """engage_voice.auth.TokenShare on PostgreSQL (see the module)."""

    def __init__(self, url: str) -> None:
        self.engine = shared_engine(url, metadata)

    def __repr__(self) -> str:
        return f"SharedTokens({self.engine.url!r})"  # SQLAlchemy hides the password

    def acquire(self, name: str) -> Callable[[], None]:
        conn = self.engine.connect()
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_key(name)})
            conn.commit()
        except BaseException:
            conn.close()
            raise

        def release() -> None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                conn.commit()
            finally:
                conn.close()

        return release

    def load(self, name: str, seal: bytes) -> SharedToken | None:
        with self.engine.connect() as conn:
            sealed = conn.execute(select(tokens.c.sealed).where(tokens.c.name == name)).scalar()
        if sealed is None:
            return None
        try:
            return SharedToken.unreveal(_fernet(seal).decrypt(sealed))
        except (InvalidToken, ValidationError):
            return None

    def save(self, name: str, token: SharedToken, seal: bytes) -> None:
        sealed = _fernet(seal).encrypt(token.reveal())
        insert = pg_insert(tokens).values(name=name, sealed=sealed)
        with self.engine.begin() as conn:
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[tokens.c.name], set_={"sealed": sealed}
                )
            )


def _fernet(seal: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(seal).digest()))


def share_tokens(url: str | None) -> None:
    """Renew this process's RingCX tokens through the database at `url` (None: alone)."""
    use_token_share(SharedTokens(url) if url else None)
