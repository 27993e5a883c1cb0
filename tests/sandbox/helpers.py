"""Small helpers the sandbox tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from typing import Any

#: Every error code the sandbox sends: dotted lower case, like the docs' examples.
DOTTED_CODE = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)+$")


def scope(*campaign_ids: int) -> dict[str, Any]:
    """Criteria scoped the way the docs' search example does it: campaignId and campaignIds."""
    return {"campaignId": campaign_ids[0], "campaignIds": list(campaign_ids)}


#: The store's clock in the store-level tests: epoch milliseconds (Nov 2026).
T0 = 1_780_000_000_000


class Clock:
    """A settable clock for a SandboxStore (milliseconds; the store reads seconds)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000
