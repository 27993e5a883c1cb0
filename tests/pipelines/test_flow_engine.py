"""What flows/engine.py changes in Prefect's flow engine, on a real flow run."""

from __future__ import annotations

import threading
import time

from prefect import flow
from prefect.flow_engine import FlowRunEngine
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows import engine


def test_a_sync_flow_run_ends_without_joining_its_heartbeat_thread(prefect_api, monkeypatch):
    joins: list[bool] = []
    original = engine._ORIGINAL
    assert original is not None, "the patch did not apply to this Prefect"

    def spy(run_engine, join_on_exit=True):
        joins.append(join_on_exit)
        return original(run_engine, join_on_exit=join_on_exit)

    emitted = threading.Event()
    emit = FlowRunEngine._emit_flow_run_heartbeat

    def emitting(self, *args):
        emitted.set()
        return emit(self, *args)

    monkeypatch.setattr(engine, "_ORIGINAL", spy)
    monkeypatch.setattr(FlowRunEngine, "_emit_flow_run_heartbeat", emitting)

    @flow
    def beating() -> int:
        emitted.wait(10)  # the heartbeat thread beats as soon as it starts
        return 1

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: 30}):
        started = time.monotonic()
        assert beating() == 1
    assert joins == [False] and emitted.is_set()
    assert time.monotonic() - started < 30  # bounded only: the wait it saves is not timed


def test_prefects_own_join_is_kept_where_asked_for(prefect_api, monkeypatch):
    joins: list[bool] = []
    original = engine._ORIGINAL

    def spy(run_engine, join_on_exit=True):
        joins.append(join_on_exit)
        return original(run_engine, join_on_exit=join_on_exit)

    monkeypatch.setattr(engine, "_ORIGINAL", spy)

    @flow
    def plain() -> int:
        return 2

    with engine.heartbeat_joined():
        # Prefect's function is back in place, called as Prefect calls it.
        assert plain() == 2
    assert joins == [True]
    assert engine.patch_heartbeat_join()
    assert plain() == 2 and joins == [True, False]
