"""One served product for the operator-facing tests: a Prefect server (API and UI), the
deployments served from prefect.yaml, and a sandbox (tests/ui/served.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .served import REPO, served

# Screenshots and the servers' logs, kept after the run (CI can upload them).
OUTPUT = Path(os.environ.get("LEADS_TEST_OUTPUT", REPO / "test-output"))


@pytest.fixture(scope="session")
def product(tmp_path_factory):
    with served(tmp_path_factory.mktemp("product")) as running:
        yield running


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
