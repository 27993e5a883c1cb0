"""Where run journals are kept: the store interface, and the local directory store.

A store holds, per run key, named records (bytes) and one lock. Names are one or more
parts joined by "/" (`plan.json`, `chunks/00001.sent-1.json`), each part letters, digits,
".", "_" and "-", never starting with "." and never "..": a name cannot leave its run.

Guarantees every store keeps (tests/steps/test_store.py runs them against each store):
- `create` makes a record at most once, across threads and processes: of two creators of
  one name exactly one gets True, and the record holds that one's bytes, whole.
- `replace` swaps a record's bytes in one step: a reader sees the old bytes or the new.
- `lock` is held by one holder at a time per run key, and frees itself when its holder
  dies (never a lock file a crashed run leaves behind).

A store shared by several workers is one new class with these methods, reached through
`open_store` by a URL scheme (`register_store`).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from .errors import PipelineError
from .files import create_once, replace_bytes
from .private import private_dir

NAME_PART = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,120}\Z")
LOCK_FILE = "run.lock"


class StoreLocked(PipelineError):
    """Another holder has this run key's lock right now (the journal says it as
    RunInProgressError)."""


def check_name(name: str) -> list[str]:
    parts = name.split("/")
    if not name or any(not NAME_PART.match(part) or part == LOCK_FILE for part in parts):
        raise ValueError(f"not a journal record name: {name!r}")
    return parts


@contextmanager
def file_lock(path: Path, run_key: str) -> Iterator[None]:
    """An OS lock on an open file: the kernel frees it with its holder's process (one
    host); StoreLocked at once when another holder has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLocked(run_key) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class JournalStore(Protocol):
    @property
    def location(self) -> str:
        """Where the store is, for people (a directory, a URL without its password)."""
        ...

    def runs(self, prefix: str = "") -> list[str]:
        """The run keys that start with `prefix`, sorted."""
        ...

    def exists(self, run_key: str) -> bool: ...

    def lock(self, run_key: str) -> AbstractContextManager[None]:
        """Hold the run key; StoreLocked at once when another holder has it."""
        ...

    def create(self, run_key: str, name: str, data: bytes) -> bool:
        """Create the record; False (nothing changed) when it exists."""
        ...

    def replace(self, run_key: str, name: str, data: bytes) -> None: ...

    def read(self, run_key: str, name: str) -> bytes | None: ...

    def has(self, run_key: str, name: str) -> bool: ...

    def names(self, run_key: str, prefix: str) -> list[str]:
        """The records whose names start with `prefix`, within the folder the prefix names
        (`chunks/00001.sent-` lists `chunks/`), sorted."""
        ...


class DirectoryStore:
    """One directory per run key under `root`; a record is a file (0600, dirs 0700)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    @property
    def location(self) -> str:
        return str(self.root)

    def _run(self, run_key: str) -> Path:
        check_name(run_key)
        return self.root / run_key

    def _path(self, run_key: str, name: str) -> Path:
        return self._run(run_key).joinpath(*check_name(name))

    def runs(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.name.startswith(prefix) and NAME_PART.match(p.name) and p.is_dir()
        )

    def exists(self, run_key: str) -> bool:
        return self._run(run_key).is_dir()

    def lock(self, run_key: str) -> AbstractContextManager[None]:
        return file_lock(private_dir(self._run(run_key)) / LOCK_FILE, run_key)

    def create(self, run_key: str, name: str, data: bytes) -> bool:
        return create_once(self._path(run_key, name), data)

    def replace(self, run_key: str, name: str, data: bytes) -> None:
        replace_bytes(self._path(run_key, name), data)

    def read(self, run_key: str, name: str) -> bytes | None:
        try:
            return self._path(run_key, name).read_bytes()
        except FileNotFoundError:
            return None

    def has(self, run_key: str, name: str) -> bool:
        return self._path(run_key, name).is_file()

    def file(self, run_key: str, name: str) -> Path | None:
        """The record as a file, to read in parts (None: there is none). Only stores that
        keep files have this; callers fall back to `read`."""
        path = self._path(run_key, name)
        return path if path.is_file() else None

    def names(self, run_key: str, prefix: str) -> list[str]:
        folder, _, start = prefix.rpartition("/")
        where = self._run(run_key).joinpath(*check_name(folder)) if folder else self._run(run_key)
        if not where.is_dir():
            return []
        lead = f"{folder}/" if folder else ""
        return sorted(
            lead + entry.name
            for entry in os.scandir(where)
            if entry.name.startswith(start)
            and NAME_PART.match(entry.name)  # never a temporary (".name.xyz.part")
            and entry.name != LOCK_FILE
            and entry.is_file()
        )


StoreFactory = Callable[[str], JournalStore]


def _sql_store(url: str) -> JournalStore:
    # Imported when asked for: SQLAlchemy is not loaded by runs that keep directories.
    from .sql_store import SQLStore

    return SQLStore(url)


# SQL databases through SQLAlchemy (tasks/sql_store.py); more by register_store.
_schemes: dict[str, StoreFactory] = {
    scheme: _sql_store for scheme in ("sqlite", "postgresql", "postgresql+psycopg")
}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make `scheme://...` journal roots open with `factory` (given the whole URL)."""
    _schemes[scheme] = factory


def open_store(root: str | os.PathLike[str]) -> JournalStore:
    """The store at `root`: a URL of a registered scheme, or else a directory."""
    text = os.fspath(root)
    scheme, sep, _ = text.partition("://")
    if sep:
        factory = _schemes.get(scheme)
        if factory is None:
            known = ", ".join(sorted(_schemes)) or "none"
            raise ValueError(f"no journal store for {scheme}:// URLs (registered: {known})")
        return factory(text)
    return DirectoryStore(text)
