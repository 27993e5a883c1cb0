"""`flows/memory.py`: importing the flows puts Arrow on the system allocator and caps glibc's
arenas, unless the operator said otherwise. Each case is a fresh interpreter: the settings
are process-wide and applied once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, pyarrow as pa, flows.memory as m\n"
    "print(json.dumps({**m.lean_memory(), 'pool': pa.default_memory_pool().backend_name}))\n"
)


OURS = ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX", "LEADS_LEAN_MEMORY")


def _probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_importing_the_flows_applies_both_settings():
    assert _probe() == {"arrow": True, "arenas": True, "pool": "system"}


def test_lean_memory_off_leaves_the_allocators_alone():
    found = _probe(LEADS_LEAN_MEMORY="0")
    assert (found["arrow"], found["arenas"]) == (False, False)
    assert found["pool"] != "system"


def test_what_the_operator_set_wins():
    found = _probe(ARROW_DEFAULT_MEMORY_POOL="jemalloc", MALLOC_ARENA_MAX="4")
    assert (found["arrow"], found["arenas"]) == (False, False)
    assert found["pool"] == "jemalloc"


def test_a_malformed_switch_is_refused_by_name():
    done = subprocess.run(
        [sys.executable, "-c", "import flows.memory"],
        env={**os.environ, "LEADS_LEAN_MEMORY": "maybe", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "lean_memory" in done.stderr and "valid boolean" in done.stderr
