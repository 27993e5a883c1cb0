"""A journal store in this process's memory: a second implementation of the store
interface, so that the contract tests run against more than the directory store, and a run
journalled here proves that nothing reaches a run's records except through the journal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tasks.store import StoreLocked, check_name

_stores: dict[str, MemoryStore] = {}
_guard = threading.Lock()


class MemoryStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.records: dict[tuple[str, str], bytes] = {}
        self.locks: dict[str, threading.Lock] = {}
        self._mutex = threading.Lock()

    @classmethod
    def at(cls, url: str) -> MemoryStore:
        """One store per URL in this process (every task thread sees the same one)."""
        with _guard:
            return _stores.setdefault(url, cls(url))

    @property
    def location(self) -> str:
        return self.url

    def runs(self, prefix: str = "") -> list[str]:
        with self._mutex:
            keys = {key for key, _ in self.records} | set(self.locks)
        return sorted(k for k in keys if k.startswith(prefix))

    def exists(self, run_key: str) -> bool:
        return run_key in self.runs(run_key)

    @contextmanager
    def lock(self, run_key: str) -> Iterator[None]:
        check_name(run_key)
        with self._mutex:
            lock = self.locks.setdefault(run_key, threading.Lock())
        if not lock.acquire(blocking=False):
            raise StoreLocked(run_key)
        try:
            yield
        finally:
            lock.release()

    def create(self, run_key: str, name: str, data: bytes) -> bool:
        check_name(run_key), check_name(name)
        with self._mutex:
            if (run_key, name) in self.records:
                return False
            self.records[(run_key, name)] = bytes(data)
            return True

    def replace(self, run_key: str, name: str, data: bytes) -> None:
        check_name(run_key), check_name(name)
        with self._mutex:
            self.records[(run_key, name)] = bytes(data)

    def read(self, run_key: str, name: str) -> bytes | None:
        check_name(name)
        with self._mutex:
            return self.records.get((run_key, name))

    def has(self, run_key: str, name: str) -> bool:
        return self.read(run_key, name) is not None

    def names(self, run_key: str, prefix: str) -> list[str]:
        folder = prefix.rpartition("/")[0]
        with self._mutex:
            found = [n for k, n in self.records if k == run_key and n.startswith(prefix)]
        # Only the folder the prefix names, as a directory listing would give.
        return sorted(n for n in found if n.rpartition("/")[0] == folder)
