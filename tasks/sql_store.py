"""A journal store in a SQL database (SQLAlchemy): PostgreSQL for run state every worker
shares, or a SQLite file on one box. Opened by URL: `LEADS_JOURNAL_URL=postgresql+psycopg://
user:password@host/db` (or `sqlite:////var/lib/leads/journal.db`).

The guarantees of `tasks.store` hold by the database's own means, not by a file protocol:
- `create` is an INSERT under the (run key, name) primary key: of two creators exactly one
  commits; the other's insert fails on the constraint and changes nothing.
- `replace` is one upsert statement in one transaction: readers see old bytes or new.
- `lock`: on PostgreSQL a session advisory lock, held by a connection kept open for the
  whole run; the server frees it when that connection ends, so a worker that dies (its
  host too) leaves no lock behind. SQLite is one box: an OS lock on a file beside the
  database, freed by the kernel with its holder.
Names are checked as the directory store checks them; the URL's password is never shown.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    exists,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from .private import private_dir
from .store import StoreLocked, check_name, file_lock

SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")

metadata = MetaData()
records = Table(
    "leads_journal_records",
    metadata,
    Column("run_key", String(100), primary_key=True),
    Column("name", String(400), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
runs_table = Table(
    "leads_journal_runs",
    metadata,
    Column("run_key", String(100), primary_key=True),
)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_created: set[tuple[str, int]] = set()


def shared_engine(url: str, tables: MetaData) -> Engine:
    """One engine (one pool) per URL per process, with `tables` created on first use."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": 60})

                @event.listens_for(engine, "connect")
                def _sqlite_pragmas(conn: Any, _: Any) -> None:
                    # WAL: readers never wait for the writer; several threads and
                    # processes write one file.
                    cursor = conn.cursor()
                    cursor.execute("PRAGMA journal_mode=WAL")
                    cursor.execute("PRAGMA busy_timeout=60000")
                    cursor.close()
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            _engines[url] = engine
        made = (url, id(tables))
        if made not in _created:  # once per process: a journal is opened per run and task
            create_tables(engine, tables)
            _created.add(made)
    return engine


def create_tables(engine: Engine, tables: MetaData) -> None:
    """CREATE TABLE IF NOT EXISTS, safe when several processes start at once: PostgreSQL's
    check-then-create races (a duplicate pg_type row), so it runs under an advisory lock;
    SQLite's file lock serializes it, and a loser of the check is retried."""
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK})
                tables.create_all(conn)
            return
        except (IntegrityError, OperationalError, ProgrammingError):
            if attempt == 2:
                raise


_SCHEMA_LOCK = 7_411_650_273  # one advisory key for schema changes of this package


def _advisory_key(run_key: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, from the run key."""
    digest = hashlib.sha256(f"leads-journal:{run_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class SQLStore:
    """Run journals as rows: one row per record, one per run key."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = shared_engine(url, metadata)
        self.postgres = self.engine.dialect.name == "postgresql"

    def __repr__(self) -> str:
        return f"SQLStore({self.location!r})"

    @property
    def location(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _insert(self) -> Any:
        return (pg_insert if self.postgres else sqlite_insert)(records)

    def _touch_run(self, conn: Any, run_key: str) -> None:
        insert = (pg_insert if self.postgres else sqlite_insert)(runs_table)
        conn.execute(insert.values(run_key=run_key).on_conflict_do_nothing())

    def runs(self, prefix: str = "") -> list[str]:
        query = select(runs_table.c.run_key).where(
            runs_table.c.run_key.startswith(prefix, autoescape=True)
        )
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def exists(self, run_key: str) -> bool:
        check_name(run_key)
        query = select(exists().where(runs_table.c.run_key == run_key))
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    @contextmanager
    def lock(self, run_key: str) -> Iterator[None]:
        check_name(run_key)
        with self.engine.begin() as conn:
            self._touch_run(conn, run_key)
        if self.postgres:
            with self._advisory(run_key):
                yield
        else:
            with self._file_lock(run_key):
                yield

    @contextmanager
    def _advisory(self, run_key: str) -> Iterator[None]:
        key = _advisory_key(run_key)
        # A connection of its own, open for the whole run: the lock lives and dies with it.
        with self.engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise StoreLocked(run_key)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def _file_lock(self, run_key: str) -> AbstractContextManager[None]:
        database = self.engine.url.database or ""
        locks = private_dir(Path(f"{database}.locks" if database else ".leads-journal.locks"))
        return file_lock(locks / f"{run_key}.lock", run_key)

    def create(self, run_key: str, name: str, data: bytes) -> bool:
        check_name(run_key)
        check_name(name)
        try:
            with self.engine.begin() as conn:
                self._touch_run(conn, run_key)
                conn.execute(records.insert().values(run_key=run_key, name=name, data=data))
        except IntegrityError:
            return False
        return True

    def replace(self, run_key: str, name: str, data: bytes) -> None:
        check_name(run_key)
        check_name(name)
        upsert = self._insert().values(run_key=run_key, name=name, data=data)
        upsert = upsert.on_conflict_do_update(
            index_elements=[records.c.run_key, records.c.name], set_={"data": data}
        )
        with self.engine.begin() as conn:
            self._touch_run(conn, run_key)
            conn.execute(upsert)

    def read(self, run_key: str, name: str) -> bytes | None:
        check_name(run_key)
        check_name(name)
        query = select(records.c.data).where(
            records.c.run_key == run_key, records.c.name == name
        )
        with self.engine.connect() as conn:
            data = conn.execute(query).scalar()
        return bytes(data) if data is not None else None

    def has(self, run_key: str, name: str) -> bool:
        check_name(run_key)
        check_name(name)
        query = select(
            exists().where(records.c.run_key == run_key, records.c.name == name)
        )
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def names(self, run_key: str, prefix: str) -> list[str]:
        check_name(run_key)
        folder, _, _ = prefix.rpartition("/")
        if folder:
            check_name(folder)
        depth = folder.count("/") + 1 if folder else 0
        query = select(records.c.name).where(
            records.c.run_key == run_key, records.c.name.startswith(prefix, autoescape=True)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalars()
            # Within the folder the prefix names, as a directory listing would be.
            return sorted(n for n in found if n.count("/") == depth)


def sql_store(url: str) -> SQLStore:
    return SQLStore(url)
