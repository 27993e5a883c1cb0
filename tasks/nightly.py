"""The per-campaign loop the nightly jobs share: resolve every campaign (one bad name does
not stop the rest), run each under a key derived from the job's, and finish with one
summary table across campaigns, failing the job when any campaign failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from prefect import get_run_logger
from prefect.artifacts import create_table_artifact
from pydantic import BaseModel, Field

from . import steps
from .errors import RunNotCompleted
from .keys import derived_run_key
from .models import CampaignSelector, ResolvedCampaign, RunReport
from .overlap import in_turn
from .runtime import shared_client


class NightlyFailed(RunNotCompleted, RuntimeError):
    """Some campaigns failed; the others ran. `outcomes` holds every campaign's result."""

    def __init__(self, message: str, outcomes: list[CampaignOutcome]) -> None:
        super().__init__(message)
        self.outcomes = outcomes


class CampaignOutcome(BaseModel):
    """One campaign's result in a nightly run (a row of the summary table)."""

    campaign: str = Field(description="The campaign as named in the parameters.")
    account_id: str | None = None
    campaign_id: int | None = None
    run_key: str | None = None
    status: Literal["verified", "done", "nothing to do", "dry run", "failed"] = Field(
        description="done: acted on without verification (options.verify=False)."
    )
    selected: int = Field(0, description="Leads planned (for nightly_suppress: to suppress).")
    updated: int = Field(0, description="Leads changed (for nightly_suppress: suppressed).")
    unsuppressed: int | None = Field(None, description="nightly_suppress: leads released.")
    message: str = ""


# ---------------------------------------------------------------------------------------
# The per-campaign loop both flows share
# ---------------------------------------------------------------------------------------


def label(selector: CampaignSelector) -> str:
    parts = [selector.campaign]
    if selector.dial_group:
        parts.append(f"dial group {selector.dial_group}")
    if selector.account:
        parts.append(f"account {selector.account}")
    if selector.lists:
        parts.append(f"lists {', '.join(selector.lists)}")
    return " / ".join(parts)


# The campaigns parameter of a nightly job: at least one.
Campaigns = Annotated[list[CampaignSelector], Field(min_length=1)]


@dataclass
class Campaign:
    selector: CampaignSelector
    source: ResolvedCampaign | None
    failure: str | None = None


def resolve_campaigns(campaigns: list[CampaignSelector]) -> list[Campaign]:
    """Every campaign resolved, or its failure recorded; one bad name does not stop the rest."""
    logger = get_run_logger()
    resolved: list[Campaign] = []
    seen: dict[tuple[str, int], str] = {}
    for selector in campaigns:
        try:
            source = steps.resolve_campaign(selector)
        except Exception as exc:
            logger.error("campaign %s: %s", label(selector), exc)
            resolved.append(Campaign(selector, None, f"{type(exc).__name__}: {exc}"))
            continue
        ident = (source.account_id, source.campaign_id)
        if ident in seen:
            # Both entries would share one run key and one suppression state.
            resolved.append(
                Campaign(
                    selector,
                    source,
                    f"campaign {source.campaign_id} is already named by {seen[ident]!r}; "
                    "name each campaign once (put its lists in one entry)",
                )
            )
            continue
        seen[ident] = label(selector)
        resolved.append(Campaign(selector, source))
    return resolved


def pending_outcome(item: Campaign) -> CampaignOutcome:
    """A campaign's outcome before it has run: failed, with its failure if it has one
    (a run that never reports back stays failed)."""
    source = item.source
    return CampaignOutcome(
        campaign=label(item.selector),
        account_id=source.account_id if source else None,
        campaign_id=source.campaign_id if source else None,
        status="failed",
        message=item.failure or "",
    )


def run_each(
    campaigns: list[Campaign],
    base_key: str,
    run_one: Callable[[Campaign, str], CampaignOutcome],
) -> list[CampaignOutcome]:
    """Every campaign's outcome, in order; the campaigns overlapped (`tasks.overlap`): the
    next one selects while the one before acts."""
    logger = get_run_logger()

    def one(item: Campaign) -> CampaignOutcome:
        source = item.source
        outcome = pending_outcome(item)
        if item.failure is not None or source is None:
            return outcome
        key = derived_run_key(base_key, f"{source.account_id}-{source.campaign_id}")
        outcome.run_key = key
        try:
            ran = run_one(item, key)
        except Exception as exc:  # the others still run; the flow fails at the end
            logger.error("campaign %s failed: %s", outcome.campaign, exc)
            outcome.message = f"{type(exc).__name__}: {exc}"
            return outcome
        return ran.model_copy(
            update={
                k: getattr(outcome, k) for k in ("campaign", "account_id", "campaign_id", "run_key")
            }
        )

    return in_turn(campaigns, one)


def status_of(report: RunReport) -> Literal["verified", "done", "nothing to do", "dry run"]:
    if report.dry_run:
        return "dry run"
    if not report.outcomes:
        return "nothing to do"
    verified = all(o.verifications for o in report.outcomes)
    return "verified" if verified else "done"


def finish(kind: str, base_key: str, outcomes: list[CampaignOutcome], note: str) -> None:
    safe = "".join(c if c.isalnum() else "-" for c in base_key.lower()).strip("-")
    create_table_artifact(
        [
            {
                "campaign": o.campaign,
                "account": o.account_id or "",
                "campaign id": o.campaign_id or "",
                "status": o.status,
                "selected": o.selected,
                "updated": o.updated,
                **({} if kind == "nightly-reset" else {"unsuppressed": o.unsuppressed or 0}),
                "run key": o.run_key or "",
                "message": o.message,
            }
            for o in outcomes
        ],
        key=f"{kind}-{safe}"[:100],
        description=f"{kind.replace('-', ' ')}: every campaign. {note}",
    )
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        listing = "; ".join(f"{o.campaign}: {o.message}" for o in failed)
        raise NightlyFailed(
            f"{len(failed)} of {len(outcomes)} campaigns failed: {listing}", outcomes
        )


def check_dispositions(accounts: set[str], wanted: list[str]) -> None:
    """Unknown system dispositions fail the run before any write: a typo would match no
    lead, and the job would silently reset nothing night after night."""
    client = shared_client()
    for account in sorted(accounts):
        known = {d.upper() for d in client.system_dispositions(account)}
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise ValueError(
                f"unknown system dispositions {unknown} for account {account}; "
                f"known: {', '.join(sorted(known))}"
            )
