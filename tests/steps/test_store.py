"""The journal store's guarantees (tasks/store.py), run against every store we have: the
directory store, the SQL store on a SQLite file and on a real PostgreSQL (tasks/sql_store.py),
and an in-memory one that stands for "one new class"."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from tasks.files import atomic_path, create_once
from tasks.journal import RunInProgressError, RunJournal
from tasks.store import DirectoryStore, StoreLocked, open_store, register_store

from .memory_store import MemoryStore
from .postgres import create_database

register_store("memory", MemoryStore.at)


@pytest.fixture(params=["directory", "memory", "sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "directory":
        return DirectoryStore(tmp_path / "journal")
    if request.param == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'journal.db'}")
    if request.param == "postgresql":
        return open_store(request.getfixturevalue("pg_url"))
    return MemoryStore(f"memory://{request.node.name}")


def test_create_is_once_and_replace_swaps(store):
    assert store.create("run-1", "plan.json", b"one")
    assert not store.create("run-1", "plan.json", b"two")
    assert store.read("run-1", "plan.json") == b"one"
    store.replace("run-1", "report.json", b"a")
    store.replace("run-1", "report.json", b"b")
    assert store.read("run-1", "report.json") == b"b"
    assert store.read("run-1", "missing.json") is None
    assert store.read("run-2", "plan.json") is None
    assert store.exists("run-1") and not store.exists("run-2")


def test_names_list_one_folder_in_order(store):
    for name in ["chunks/00001.sent-1.json", "chunks/00001.sent-2.json",
                 "chunks/00002.sent-1.json", "chunks/sub/00001.sent-9.json", "plan.json"]:
        store.create("r", name, b"x")
    assert store.names("r", "chunks/00001.sent-") == [
        "chunks/00001.sent-1.json", "chunks/00001.sent-2.json"
    ]
    assert store.names("r", "chunks/") == [
        "chunks/00001.sent-1.json", "chunks/00001.sent-2.json", "chunks/00002.sent-1.json"
    ]
    assert store.names("r", "pl") == ["plan.json"]
    assert store.names("other", "chunks/") == []
    assert store.runs("") == ["r"] and store.runs("x") == []


@pytest.mark.parametrize(
    "name", ["", "../x", "/abs", "a//b", ".hidden", "chunks/..", "run.lock", "a b", "ü"]
)
def test_a_name_cannot_leave_its_run(store, name):
    with pytest.raises(ValueError, match="not a journal record name"):
        store.create("run-1", name, b"x")


def test_racing_threads_create_exactly_once(store):
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def race(n: int) -> None:
        barrier.wait()
        if store.create("run-1", "plan.json", str(n).encode() * 10_000):
            wins.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.read("run-1", "plan.json") == str(wins[0]).encode() * 10_000


def test_the_lock_is_held_once_per_run_key(store):
    with store.lock("k1"):
        with pytest.raises(StoreLocked), store.lock("k1"):
            pass
        with store.lock("k2"):
            pass
    with store.lock("k1"):
        pass


def test_the_journal_turns_a_held_lock_into_run_in_progress(tmp_path):
    holder, second = RunJournal(tmp_path, "k1"), RunJournal(tmp_path, "k1")
    with (
        holder.exclusive(),
        pytest.raises(RunInProgressError, match="another process"),
        second.exclusive(),
    ):
        pass


def _create_in_child(path: str, n: int, start, wins) -> None:
    start.wait()
    if create_once(path, str(n).encode() * 100_000):
        wins.put(n)


def test_racing_processes_create_exactly_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    start, wins = context.Event(), context.Queue()
    path = str(tmp_path / "run" / "plan.json")
    children = [
        context.Process(target=_create_in_child, args=(path, n, start, wins)) for n in range(4)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(60)
    winners = []
    while not wins.empty():
        winners.append(wins.get())
    assert len(winners) == 1
    assert Path(path).read_bytes() == str(winners[0]).encode() * 100_000
    assert [p for p in os.listdir(tmp_path / "run") if p.startswith(".")] == []  # no leftovers


def test_a_crash_inside_the_block_leaves_nothing(tmp_path):
    target = tmp_path / "exports" / "leads.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("crash")
    assert not target.exists() and os.listdir(target.parent) == []
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError), atomic_path(target, once=True) as temporary:
        temporary.write_bytes(b"again")
    assert target.read_bytes() == b"whole"


def test_open_store_by_scheme(tmp_path):
    assert isinstance(open_store(tmp_path), DirectoryStore)
    assert isinstance(open_store("memory://a"), MemoryStore)
    with pytest.raises(ValueError, match=r"no journal store for mysql:// URLs") as caught:
        open_store("mysql://user:secret@db/leads")
    assert "secret" not in str(caught.value)


def test_a_sql_store_never_shows_its_password(pg_base):
    url = create_database(pg_base, "with_password").replace("postgres@", "postgres:s3cret@")
    store = open_store(url)  # trust authentication: any password is accepted
    assert store.create("r", "plan.json", b"x")
    assert "s3cret" not in store.location + repr(store)
    assert RunJournal(url, "r").location.endswith("/with_password/r")


def _create_in_store(url: str, n: int, start, wins) -> None:
    start.wait()
    if open_store(url).create("run-1", "plan.json", str(n).encode() * 100_000):
        wins.put(n)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_racing_processes_create_exactly_once_in_a_sql_store(kind, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'journal.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    open_store(url)  # tables made before the race
    context = multiprocessing.get_context("spawn")
    start, wins = context.Event(), context.Queue()
    children = [
        context.Process(target=_create_in_store, args=(url, n, start, wins)) for n in range(4)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(120)
    winners = []
    while not wins.empty():
        winners.append(wins.get())
    assert len(winners) == 1
    assert open_store(url).read("run-1", "plan.json") == str(winners[0]).encode() * 100_000


def _hold_lock(url: str, held) -> None:
    with open_store(url).lock("run-1"):
        held.set()
        time.sleep(600)


def test_a_lock_left_by_a_dead_worker_frees_itself(pg_url):
    """The run-key lock holds across processes (and hosts: it lives in PostgreSQL), and a
    holder killed with SIGKILL leaves none behind."""
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold_lock, args=(pg_url, held))
    holder.start()
    assert held.wait(60)
    store = open_store(pg_url)
    with pytest.raises(StoreLocked), store.lock("run-1"):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    deadline = time.monotonic() + 30
    while True:
        try:
            with store.lock("run-1"):
                break
        except StoreLocked:
            assert time.monotonic() < deadline, "the dead holder's lock stayed"
            time.sleep(0.2)
