"""Dialects: the readings of RingCX that the official material leaves open, as settings.

Where the spec and the docs are silent or read two ways (contract section 8), the sandbox
serves each reading, so the product can be tested against every plausible RingCX. A
:class:`Dialect` holds one reading of every open question; named dialects bundle them:

- ``spec`` (the default): the reading the official material supports.
- ``strict``: ``spec``, plus refusing criteria scoped by ``campaignId`` alone and a small
  default page on the discovery endpoints.
- ``alternate``: the other reading of every open question.
- ``legacy``: what the sandbox did before dialects existed, for old scripts.

Invariants:

- A dialect is immutable (``frozen``): the registry's instances are shared by every config,
  so a change is always a new object (:func:`resolve_dialect`, ``model_copy``).
- A dialect never changes *which* data exists, only how the HTTP API exposes and reads it.
  The store's Python API (tests' ground truth) uses :data:`GROUND_TRUTH`, which is in no
  registry: ``campaignId`` is a scope there, rows carry every column, nothing is delayed.
- The README's table (``engage_sandbox/README.md``) documents each setting with its evidence;
  change both together.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Dialect(BaseModel):
    """One reading of every open question of the RingCX API (see the README's table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "spec"
    #: Lead search ``page`` of the first page (docs: "Zero-indexed page number").
    page_base: Literal[0, 1] = 0
    #: What a page number below the base answers: an empty array, the first page, or a 400.
    below_base_page: Literal["empty", "first", "error"] = "empty"
    #: Rows per lead-search page when ``maxRows`` is absent.
    max_rows_default: int = Field(default=100, ge=1)
    #: A larger ``maxRows`` silently returns at most this many rows.
    max_rows_cap: int = Field(default=1000, ge=1)
    #: dialGroups, dialGroups/withChildren, campaigns: rows per page when ``maxRows`` is
    #: absent (None: everything). ``page``/``maxRows`` are honoured always, with the same
    #: page base as lead search.
    discovery_page_size: int | None = Field(default=None, ge=1)
    #: CREATE_COPY_SETTING=TRANSITION: which side becomes TRANSITIONED (the other is READY
    #: for copies / unchanged for originals).
    transition_marks: Literal["copies", "originals"] = "copies"
    #: DUPLICATE_ACTION_SETTING=IGNORE compares a lead's phone against the target list
    #: (docs) or the whole target campaign.
    ignore_scope: Literal["list", "campaign"] = "list"
    #: leadUpdateCount counts rows changed, or rows matched by the criteria (whether changed
    #: or not; for an IGNORE move the ignored ones too).
    update_count: Literal["changed", "matched"] = "changed"
    #: Leads created (loads, copies) or moved into another campaign by a write are invisible
    #: to search and count=true for this long (seconds of the store's clock, not scaled by
    #: rate_limit_scale); other changes are visible at once.
    visibility_delay_seconds: float = Field(default=0.0, ge=0.0)
    #: A ``campaignId`` in lead criteria: ignored (the spec's criteria have only
    #: ``campaignIds``, so criteria scoped by ``campaignId`` alone cover the whole
    #: sub-account), rejected with 400 when it is the only campaign scope, or treated as a
    #: campaign scope (the old sandbox). A campaignId also in campaignIds is always harmless.
    campaign_id_criterion: Literal["ignored", "rejected", "scope"] = "ignored"
    #: Search rows also carry pendingAgentId and originalLeadId (the old sandbox; not in the
    #: spec's CampaignLeadSearchResultsView).
    legacy_row_fields: bool = False
    #: Accept what the real service would not (the old sandbox): an encoded ``%3F`` split
    #: back into a query, bare-string leadTimezones, any lead-state spelling, MOVE/COPY/0/1
    #: as CREATE_COPY_SETTING, PUT campaignLeads/{id} without campaignId and as a partial
    #: update, a direct load without a description.
    lenient_inputs: bool = False


class UnknownDialect(ValueError):
    """A dialect name that is not in the registry; the message lists the known names."""


DIALECTS: dict[str, Dialect] = {
    "spec": Dialect(),
    "strict": Dialect(name="strict", campaign_id_criterion="rejected", discovery_page_size=25),
    "alternate": Dialect(
        name="alternate",
        page_base=1,
        below_base_page="error",
        max_rows_cap=250,
        discovery_page_size=10,
        transition_marks="originals",
        ignore_scope="campaign",
        update_count="matched",
        visibility_delay_seconds=0.4,
        campaign_id_criterion="ignored",
    ),
    "legacy": Dialect(
        name="legacy",
        page_base=1,
        below_base_page="first",
        ignore_scope="campaign",
        campaign_id_criterion="scope",
        legacy_row_fields=True,
        lenient_inputs=True,
    ),
}

DEFAULT_DIALECT = "spec"

#: What the store's Python API (``store.search/count/get_lead/apply_action`` called without a
#: dialect) uses: the tests' ground truth. ``campaignId`` scopes, rows carry every column,
#: nothing is delayed, any spelling is accepted; the readings of actions are the spec's.
GROUND_TRUTH = Dialect(
    name="ground-truth",
    campaign_id_criterion="scope",
    legacy_row_fields=True,
    lenient_inputs=True,
)


def dialect_names() -> list[str]:
    return list(DIALECTS)


def get_dialect(name: str) -> Dialect:
    """The registered dialect of that name; :class:`UnknownDialect` names the known ones."""
    key = name.strip().lower() if isinstance(name, str) else name
    try:
        return DIALECTS[key]
    except (KeyError, TypeError):
        raise UnknownDialect(
            f"unknown dialect {name!r}; known dialects: {', '.join(DIALECTS)}"
        ) from None


def resolve_dialect(value: Any, base: Dialect | None = None) -> Dialect:
    """A Dialect from a name, a JSON object string, a (partial) mapping or a Dialect.

    A mapping starts from the registered dialect its ``name`` names, else from ``base``
    (the current dialect when a setting changes it; ``spec`` when none is given), and
    overrides the fields it gives.
    """
    if isinstance(value, Dialect):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            return get_dialect(text)
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"dialect is neither a name nor a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"dialect must be a name or an object, got {type(value).__name__}")
    name = value.get("name")
    if isinstance(name, str) and name.strip().lower() in DIALECTS:
        start = get_dialect(name)
        value = {**value, "name": start.name}
    else:
        start = base if base is not None else get_dialect(DEFAULT_DIALECT)
    return Dialect.model_validate({**start.model_dump(), **value})


def with_changes(dialect: Dialect, **changes: Any) -> Dialect:
    """A validated copy with some fields changed (``model_copy`` would not validate)."""
    return Dialect.model_validate({**dialect.model_dump(), **changes})
