"""Fixtures every test directory may use: a throwaway PostgreSQL on loopback, and the flow
tests' Prefect harness and sandbox (`flow_env`)."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from flow_env import dialect, engage_env, flow_sandbox, prefect_api  # noqa: F401
from steps.postgres import create_database, postgres

_databases = itertools.count()


@pytest.fixture(scope="session")
def pg_base():
    """A PostgreSQL cluster for the session (a directory postgres may enter, not tmp_path)."""
    root = Path(tempfile.mkdtemp(prefix="leads-pg-"))
    try:
        with postgres(root) as base:
            yield base
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_base):
    """A fresh database of that cluster, as a journal store URL."""
    return create_database(pg_base, f"journal_{next(_databases)}")
