"""The typed vocabulary of a pipeline run: what to select, how to guard it, the plan, the
outcomes. Flow parameters are built from these, so they render as forms in the Prefect UI
and are validated before a run is created."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engage_voice.models import ActionParams, SearchCriteria

from .parameters import LeadFilter

# \A...\Z, not ^...$: `$` also matches before a trailing newline, and a key is a path.
RUN_KEY = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
# Directories beside the run journals (tasks.runtime.RESERVED): a run key never names one.
RESERVED_KEYS = frozenset({"exports", "inventory", "nightly_suppress", "targets"})


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampaignSelector(_Param):
    """A campaign named the way an operator names it. Ids work too (as digits)."""

    campaign: str = Field(
        ..., min_length=1, title="Campaign name", description="Campaign name (or id)."
    )
    dial_group: str | None = Field(
        None, description="Dial group name (or id): needed when the campaign name repeats."
    )
    account: str | None = Field(None, description="Sub-account id or name.")
    lists: list[str] = Field(
        default_factory=list,
        description="Restrict to these lists (names or ids). Empty: every list of the campaign.",
    )


class ConditionOp(StrEnum):
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    IN = "in"
    NOT_IN = "not in"
    IS_NULL = "is null"
    NOT_NULL = "not null"
    CONTAINS = "contains"
    OLDER_THAN_DAYS = "older than days"
    WITHIN_DAYS = "within days"


class Condition(_Param):
    """A row condition applied in pandas to the searched leads. Never evaluated as code.

    `column` is a lead field (`leadPasses` or `lead_passes`); `value` is a scalar, a list
    (for `in`/`not in`), a number of days (for `older than days`/`within days`) or absent
    (for `is null`/`not null`). Checked against the column's type when the run starts.
    """

    column: str = Field(..., description="Lead field, e.g. leadPasses, lastPassDisposition.")
    op: ConditionOp
    value: int | float | bool | str | list[int | float | str] | None = None


class TargetKey(StrEnum):
    EXTERN_ID = "externId"
    LEAD_ID = "leadId"
    PHONE = "leadPhone"


class TargetTable(_Param):
    """Leads given as a table: a CSV or Parquet file of extern ids, lead ids or phones."""

    path: str = Field(..., description="CSV or Parquet file.")
    key: TargetKey = Field(TargetKey.EXTERN_ID, description="What the key column holds.")
    column: str | None = Field(
        None, description="Name of the key column in the file (default: the key's name)."
    )


class LeadSelection(_Param):
    """Which leads: a campaign, server-side criteria, pandas conditions, or a target table."""

    source: CampaignSelector = Field(..., title="Campaign and lists")
    criteria: LeadFilter = Field(
        default_factory=LeadFilter,
        title="Filter",
        description="Server-side filter; empty selects every lead of the campaign (or lists).",
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        title="Row conditions",
        description="Further conditions on the selected leads' fields, checked row by row.",
    )
    targets: TargetTable | None = Field(None, title="Target table")

    def search_criteria(self) -> SearchCriteria:
        """The filter as RingCX takes it (the campaign is added once it is resolved)."""
        return self.criteria.to_criteria()


class Guards(_Param):
    """Refusals checked before any write, decided on the counts RingCX reports.

    A selection is judged by what it selects, never by how it is worded: one that selects
    every lead of its campaign (or of every list it names) is a whole-campaign selection,
    whatever criteria, conditions or target table produced it.
    """

    whole_campaign: bool = Field(
        False,
        description="Allow a selection of every lead of the campaign (or of every named "
        "list), as counted by RingCX.",
    )
    max_leads: int | None = Field(100_000, ge=1, description="Refuse more leads than this.")
    max_fraction_of_campaign: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Refuse when the selection exceeds this share of the campaign.",
    )
    approval_threshold: int | None = Field(
        1000,
        ge=0,
        description="Destructive actions (DELETE, CANCEL, MOVE) on more leads than this wait "
        "for approval in the Prefect UI. None: no count rule.",
    )
    approval_fraction: float | None = Field(
        0.5,
        gt=0,
        le=1,
        description="Destructive actions on more than this share of the campaign wait for "
        "approval at any size. None: no share rule.",
    )
    approval_timeout_seconds: int = Field(3600, ge=10)


#: The most lead ids one action carries. RingCX documents no maximum; 5,000 ids are a
#: request body of about 40 KB, and a chunk's before-image or read-back five pages.
MAX_CHUNK_SIZE = 5000
#: The smallest chunk chosen for a run that does not name one: a chunk is the unit of
#: proof and of resume, and below this the action budget, not the run, sets its pace.
MIN_AUTO_CHUNK_SIZE = 500
#: How many chunks a run that names no chunk size is cut into (more when MAX_CHUNK_SIZE
#: asks for it, fewer when the action budget starts fewer at once): chunk tasks share one
#: worker's interpreter, and past a handful each further chunk adds a task run, a count
#: before and after, and a journal record, not parallelism. Measured with
#: `benchmarks/bench_end_to_end.py --chunk-size`.
AUTO_CHUNKS = 8
#: The most chunks in flight at once (and the flows' task threads). RingCX's action budget
#: lets 30 start at once; more would only wait in the pacer, one thread each.
MAX_CONCURRENCY = 32


class RunOptions(_Param):
    """How a run goes about its work. Whether it writes at all is the flow's `dry_run`."""

    # 0 rather than None for "choose": the Prefect UI shows an optional number as a type
    # chooser a supervisor must click through first; this stays one number field.
    chunk_size: int = Field(
        0,
        ge=0,
        le=MAX_CHUNK_SIZE,
        title="Leads per request",
        description=f"0: chosen for the run, about {AUTO_CHUNKS} chunks (no more than the "
        f"action budget lets start at once), {MIN_AUTO_CHUNK_SIZE:,} to {MAX_CHUNK_SIZE:,} "
        "leads each.",
    )
    run_key: str | None = Field(
        None,
        title="Run key",
        description="Names the run for resuming: re-running with the same key skips the "
        "chunks already done. Default: the flow run id.",
    )
    max_concurrency: int = Field(
        0,
        ge=0,
        le=MAX_CONCURRENCY,
        title="Requests in flight",
        description="Chunks in flight at once. 0: chosen from the action budget, as many as "
        f"it lets start at once (at most {MAX_CONCURRENCY}).",
    )
    verify: bool = Field(True, description="Re-read RingCX after each chunk and prove it.")

    @model_validator(mode="before")
    @classmethod
    def _dry_run_moved(cls, value: Any) -> Any:
        if isinstance(value, dict) and "dry_run" in value:
            raise ValueError(
                "dry_run is a parameter of the flow, beside `options`: "
                '{"dry_run": true, "options": {...}}'
            )
        return value

    @field_validator("chunk_size", "max_concurrency", mode="before")
    @classmethod
    def _not_a_flag(cls, value: Any) -> Any:
        # Python's True is 1: `"chunk_size": true` would mean a request per lead.
        if isinstance(value, bool):
            raise ValueError("a number, not true or false")
        return value

    @field_validator("run_key")
    @classmethod
    def _safe_key(cls, value: str | None) -> str | None:
        if value is not None and not RUN_KEY.match(value):
            raise ValueError("run_key: letters, digits, '.', '_' and '-' only (max 100)")
        if value is not None and value.casefold() in RESERVED_KEYS:
            raise ValueError(
                f"run_key: {value!r} is reserved (it names the directory of other state)"
            )
        return value


class ResolvedCampaign(BaseModel):
    account_id: str
    dial_group_id: int
    dial_group_name: str
    campaign_id: int
    campaign_name: str
    list_ids: list[int] = Field(default_factory=list)
    list_names: list[str] = Field(default_factory=list)


class ListScope(BaseModel):
    """A named list as the guards see it: how many of its leads the selection holds."""

    list_id: int
    name: str
    selected: int
    total: int


class ChunkSpec(BaseModel):
    index: int
    lead_ids: list[int]


class Plan(BaseModel):
    """Everything a run will do, fixed before the first write and kept in the journal.

    Re-running with the same run key reuses this plan rather than searching again: the
    leads already acted on may no longer match the filter, and must still be accounted for.
    """

    run_key: str
    flow: str
    action: ActionParams = Field(discriminator="action")
    source: ResolvedCampaign
    base_criteria: SearchCriteria
    chunks: list[ChunkSpec]
    total_leads: int
    campaign_total: int
    created_at: datetime
    conditions: list[Condition] = Field(default_factory=list)
    target_report: dict[str, Any] | None = None
    list_scopes: list[ListScope] = Field(
        default_factory=list, description="Each named list: leads selected of leads in it."
    )
    destination: ResolvedCampaign | None = None
    selection_key: str | None = Field(
        None, description="Hash of the selection, so a run key is never reused for another."
    )

    def chunk_criteria(self, index: int) -> SearchCriteria:
        return self.base_criteria.and_lead_ids(self.chunks[index].lead_ids)

    @property
    def fingerprint(self) -> str:
        """Identifies the work: action, parameters, filter and every chunk's ids."""
        payload = json.dumps(
            {
                "action": self.action.model_dump(mode="json"),
                "criteria": self.base_criteria.to_wire(),
                "chunks": [c.lead_ids for c in self.chunks],
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def chunk_key(self, index: int) -> str:
        """Resumability key of one chunk: (run key, action, parameters, chunk ids)."""
        payload = json.dumps(
            {
                "run": self.run_key,
                "action": self.action.model_dump(mode="json"),
                "criteria": self.base_criteria.to_wire(),
                "ids": self.chunks[index].lead_ids,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


class ChunkStatus(StrEnum):
    DONE = "done"
    FAILED = "failed"
    AMBIGUOUS = "ambiguous"
    # Not applied (proven by read-back) after transient failures: a re-run with the same
    # run key sends it again.
    DEFERRED = "deferred"


class Verification(BaseModel):
    """One proof: a count of leads in the expected post-state, against what was expected."""

    check: str
    expected: int
    observed: int
    mismatched_lead_ids: list[int] = Field(default_factory=list)
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.expected == self.observed and not self.mismatched_lead_ids


class ChunkOutcome(BaseModel):
    index: int
    key: str
    status: ChunkStatus
    planned: int
    present: int = Field(0, description="Chunk leads still matching the filter when acted on.")
    updated: int = 0
    deleted: int = 0
    attempts: int = 0
    ambiguity: str | None = Field(
        None, description="How an ambiguous write was resolved, if there was one."
    )
    verifications: list[Verification] = Field(default_factory=list)
    created_ids: list[int] | None = Field(
        None, description="Leads the chunk created (a copy's copies); None: not recorded."
    )
    marked_ids: list[int] = Field(
        default_factory=list,
        description="Originals a TRANSITION copy marked TRANSITIONED (one reading of RingCX).",
    )
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def verified(self) -> bool:
        return all(v.ok for v in self.verifications)


class RunReport(BaseModel):
    run_key: str
    flow: str
    action: str
    dry_run: bool
    total_leads: int
    campaign_total: int
    chunks: int
    outcomes: list[ChunkOutcome] = Field(default_factory=list)
    run_verifications: list[Verification] = Field(default_factory=list)
    message: str = ""
    journal_dir: str | None = None
    target_report: dict[str, Any] | None = Field(
        None,
        description="How a target table matched: rows read, matched, unmatched, malformed, "
        "duplicates folded (its `summary` is one line of all of it).",
    )

    @model_validator(mode="after")
    def _sorted(self) -> RunReport:
        self.outcomes.sort(key=lambda o: o.index)
        return self

    @property
    def updated(self) -> int:
        return sum(o.updated for o in self.outcomes)

    @property
    def deleted(self) -> int:
        return sum(o.deleted for o in self.outcomes)

    @property
    def discrepancies(self) -> list[Verification]:
        found = [v for o in self.outcomes for v in o.verifications if not v.ok]
        return found + [v for v in self.run_verifications if not v.ok]

    @property
    def ok(self) -> bool:
        return all(o.status == ChunkStatus.DONE for o in self.outcomes) and not self.discrepancies
