"""The fault matrix (`matrix.py`): its quick profile runs in `make test`, the full one in
`make reliability` (LEADS_RELIABILITY=full), which also writes docs/RELIABILITY.md."""

from __future__ import annotations

import os

import pytest

from .matrix import cells, record, run_cell

PROFILE = os.environ.get("LEADS_RELIABILITY", "quick")


@pytest.mark.parametrize(
    ("case", "fault", "seed"), cells(PROFILE), ids=lambda v: str(v).lower().replace("_", "-")
)
def test_a_faulted_run_and_its_retry_leave_every_lead_as_planned(
    engage_env, tmp_path, case, fault, seed
):
    result = run_cell(engage_env, case, fault, seed, tmp_path)
    record(result)
    assert result.leads_wrong == 0, "\n".join(result.wrong[:20])
