"""The do-not-call input of `nightly_suppress`, read fail-closed: one reading of a phone
(`targets.read_phone`) for a table and a `phones=` list alike, every unreadable row kept
with its number, value and reason (nothing is released on a run that has one), and the
leads a run suppressed and proved, read from its journal."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engage_voice.models import SearchCriteria, SuppressedFilter

from .journal import RunJournal
from .models import ChunkStatus, ResolvedCampaign, TargetKey, TargetTable
from .nightly import CampaignOutcome, NightlyFailed
from .phones import read_phone
from .runtime import shared_client
from .targets import load_target_table


class DncRow(BaseModel):
    """A row of the do-not-call input that could not be read as a phone number."""

    row: int = Field(
        description="Spreadsheet row (header = 1), or position in `phones` (1 = first)."
    )
    value: Any = None
    reason: str


class DncUnreadable(NightlyFailed):
    """Rows of the do-not-call input could not be read: the readable ones were suppressed,
    and nothing was released, since an unreadable row may hold a number still on the list."""

    def __init__(self, message: str, outcomes: list[CampaignOutcome], rows: list[DncRow]) -> None:
        super().__init__(message, outcomes)
        self.rows = rows


def unreadable_text(rows: list[DncRow], limit: int = 20) -> str:
    shown = "; ".join(f"row {r.row} {r.value!r}: {r.reason}" for r in rows[:limit])
    more = f" (+{len(rows) - limit} more)" if len(rows) > limit else ""
    return f"{len(rows)} unreadable rows: {shown}{more}"


def dnc_phones(
    dnc: TargetTable | None, phones: list[str | int | float] | None
) -> tuple[list[str], list[DncRow], str]:
    """(readable phones, unreadable rows, a note): one reading (`read_phone`) for both
    inputs, so a list and a file holding the same cells behave the same."""
    if (dnc is None) == (phones is None):
        raise ValueError("give exactly one of `dnc` (a table of phones) and `phones` (a list)")
    if phones is not None:
        values: list[str] = []
        bad: list[DncRow] = []
        for position, raw in enumerate(phones, start=1):
            try:
                values.append(read_phone(raw))
            except ValueError as exc:
                bad.append(DncRow(row=position, value=raw, reason=str(exc)))
        values = list(dict.fromkeys(values))
        return values, bad, f"{len(values)} phones given"
    assert dnc is not None
    if TargetKey(dnc.key) is not TargetKey.PHONE:
        raise ValueError(f"the DNC table must hold phones (key leadPhone), not {dnc.key}")
    keys = load_target_table(dnc)
    bad = [DncRow(row=m["row"], value=m["value"], reason=m["reason"]) for m in keys.malformed]
    return [str(v) for v in keys.values], bad, f"{len(keys.values)} phones in {dnc.path}"


def phone_or_none(value: object) -> str | None:
    try:
        return read_phone(value)
    except ValueError:
        return None


def suppressed_by(journal: RunJournal) -> list[tuple[int, str | None]]:
    """(lead id, phone) of every lead the run acted on and proved: the before-images of
    the done, verified chunks hold exactly the leads that still matched (were unsuppressed)
    when their chunk was sent. A failed chunk's leads may be unchanged: never recorded."""

    def proved(outcome: Any) -> bool:
        return outcome is not None and outcome.status == ChunkStatus.DONE and outcome.verified

    pairs: list[tuple[int, str | None]] = []
    for _, frame in journal.before_images(proved):
        pairs += [
            (int(i), phone_or_none(p))
            for i, p in zip(frame["leadId"], frame["leadPhone"], strict=True)
        ]
    return pairs


def still_suppressed(source: ResolvedCampaign, lead_ids: list[int]) -> set[int]:
    client = shared_client()
    found: set[int] = set()
    for start in range(0, len(lead_ids), 1000):
        criteria = SearchCriteria(
            campaign_ids=[source.campaign_id],
            lead_ids=lead_ids[start : start + 1000],
            suppressed=SuppressedFilter.ONLY_SUPPRESSED,
        )
        for page in client.search_leads(criteria, source.account_id):
            found.update(row.lead_id for row in page)
    return found
