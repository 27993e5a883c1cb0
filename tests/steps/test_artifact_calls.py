"""The run's Prefect API calls that wait on nothing of each other are made together, and
progress updates never hold up the thread that records chunk outcomes."""

from __future__ import annotations

import contextvars
import threading
import time
from types import SimpleNamespace

import pytest

from tasks import reporting


def test_independent_calls_run_at_once_in_the_callers_context():
    run = contextvars.ContextVar("run", default=None)
    run.set("flow-run-1")
    # Three calls that each wait for the other two: made one after another, they time out.
    meeting = threading.Barrier(3, timeout=5)
    seen: list[str | None] = []

    def call() -> None:
        meeting.wait()
        seen.append(run.get())

    reporting.at_once([call, call, call])
    assert seen == ["flow-run-1"] * 3


def test_a_failed_call_is_raised_once_all_have_ended():
    ended: list[str] = []

    def fails() -> None:
        raise RuntimeError("no artifact")

    def slow() -> None:
        time.sleep(0.2)
        ended.append("slow")

    with pytest.raises(RuntimeError, match="no artifact"):
        reporting.at_once([fails, slow])
    assert ended == ["slow"]


def test_progress_updates_are_sent_in_order_without_waiting_for_the_api(monkeypatch):
    sent: list[float] = []
    release = threading.Event()

    def update(artifact_id, percent) -> None:
        release.wait(5)  # a slow Prefect API
        sent.append(percent)

    monkeypatch.setattr(reporting, "update_progress_artifact", update)
    now = [0.0]
    progress = reporting.Progress(SimpleNamespace(run_key="r"), clock=lambda: now[0])
    progress.artifact_id = "00000000-0000-0000-0000-000000000001"
    started = time.perf_counter()
    for done in (1, 2, 3, 4):
        now[0] += reporting.PROGRESS_INTERVAL_SECONDS
        progress.update(done, 4)
    assert time.perf_counter() - started < 1.0 and sent == []
    release.set()
    progress.close()
    assert sent == [25.0, 50.0, 75.0, 100.0] and progress.updates == 4
    progress.close()  # twice is harmless


def test_a_failed_progress_update_never_fails_the_run(monkeypatch):
    def update(artifact_id, percent) -> None:
        raise ConnectionError("the Prefect API is away")

    monkeypatch.setattr(reporting, "update_progress_artifact", update)
    progress = reporting.Progress(SimpleNamespace(run_key="r"))
    progress.artifact_id = "00000000-0000-0000-0000-000000000001"
    progress.update(1, 1)
    progress.close()
    assert progress.updates == 1
