"""Shared fixtures of the task tests."""

from __future__ import annotations

import pytest

from engage_sandbox import SandboxConfig, SandboxServer
from engage_voice.sync import SyncEngageClient
from leads_cli.embedded import settings_for

FRAMES_SCALE = 20.0  # every rate window divided by 20 on both sides


@pytest.fixture(scope="module")
def frames_sandbox():
    """A seeded sandbox for one test module (the target-matching tests)."""
    config = SandboxConfig(seed=1, leads=2000, rate_limit_scale=FRAMES_SCALE)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def frames_client(frames_sandbox):
    with SyncEngageClient(settings_for(frames_sandbox, rate_limit_scale=FRAMES_SCALE)) as client:
        yield client


_STATES = ("READY", "PAUSED", "COMPLETE", "CALLBACK", "DO-NOT-CALL", "MAX-DIAL-LIMIT")
_SYSTEM = ("ANSWER", "NOANSWER", "MACHINE", "BUSY")
_AGENT = ("Call Back Later", "Not Interested", "Sale", "Wrong Number")
_PEOPLE = (
    ("Anthony", "Martin", "Brooklyn", "NY", "11215", "EST"),
    ("Maria", "Lopez", "Houston", "TX", "77002", "CST"),
    ("Kevin", "Nguyen", "San Jose", "CA", "95112", "PST"),
    ("Janet", "Okafor", "Denver", "CO", "80202", "MST"),
)


def wire_lead(i: int, campaign_id: int = 12345) -> dict:
    """Lead `i` as the service sends it: camelCase, wire dates, the misspelt disposition,
    absent fields where a lead has no value (never dialled: no last pass)."""
    first, last, city, state, zip_code, tz = _PEOPLE[i % len(_PEOPLE)]
    passes = i % 4
    row = {
        "leadId": 100_000 + i,
        "externId": f"NWO-{i:07d}",
        "campaignId": campaign_id,
        "campaignName": "My Predictive Campaign",
        "dialGroupId": 3001,
        "listId": 2238 + i % 3,
        "listDesc": f"Partner feed {21 + i % 3}",
        "leadPhone": f"347{(7351341 + i * 7919) % 10_000_000:07d}",
        "leadState": _STATES[i % len(_STATES)],
        "leadTimezone": tz,
        "leadPasses": passes,
        "maxPasses": 5,
        "nextDialTime": f"2026-11-{1 + i % 28:02d}T11:51:21.284+0000",
        "suppressed": i % 10 == 0,
        "loadedDts": f"2026-09-{1 + i % 28:02d}T01:07:05.368+0000",
        "firstName": first,
        "lastName": last,
        "address1": f"{1000 + i} Prospect Ln",
        "city": city,
        "state": state,
        "zip": zip_code,
        "email": f"{first.lower()}.{last.lower()}{i}@example.net",
        "auxData1": "Auto",
        "auxData3": f"P{6073739 + i}",
    }
    if passes:
        row["lastPassDts"] = f"2026-10-{1 + i % 28:02d}T16:59:00.289+0000"
        row["lastPassDisposition"] = _SYSTEM[i % len(_SYSTEM)]
        row["agentDispostion"] = _AGENT[i % len(_AGENT)]
    return row


@pytest.fixture
def frames_rows():
    """make(n, start=0) -> list[LeadRow] of realistic leads, validated as from the wire."""
    from engage_voice.models import LeadRow

    def make(n: int, start: int = 0, **overrides):
        rows = [wire_lead(i) | overrides for i in range(start, start + n)]
        return LeadRow.validate_many(rows)

    return make
