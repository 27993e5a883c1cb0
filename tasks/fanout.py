"""Fan-out of the nightly jobs: one child run per sub-account, through its deployment.

When a nightly job runs from its deployment and its campaigns span several sub-accounts,
it starts one run of the job's `-account` deployment per sub-account (`run_deployment`),
all at once: sub-accounts run in parallel (on any worker), the campaigns of one sub-account
serially in their child, so each sub-account's budget is used by one run at a time. The
parent waits for every child and fails when one did not complete (Prefect does not fail a
parent for its children by itself). Each campaign's outcome is read back from its journal
(the children's run keys are derived from the parent's, so a re-run resumes them all);
where the journal cannot be read here, the child's state stands for its campaigns.

Invariant: a child is given the parent's own parameters, with only `campaigns` (that
sub-account's) and `options.run_key` (derived) changed; a child never fans out again.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .journal import RunJournal
from .keys import derived_run_key
from .models import RunReport
from .nightly import Campaign, CampaignOutcome, pending_outcome
from .runtime import journal_root

CHILD_SUFFIX = "-account"


def _child_deployment(flow_name: str, deployment_name: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    name = f"{flow_name}/{deployment_name}{CHILD_SUFFIX}"
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
    return name


def fan_out(
    resolved: list[Campaign],
    base_key: str,
    status_of: Callable[[RunReport], str],
) -> list[CampaignOutcome] | None:
    """The outcomes of one child run per sub-account, or None when this run is not one to
    fan out (not a deployment run, a child itself, or one sub-account only)."""
    from prefect.runtime import deployment, flow_run

    if not deployment.id or str(deployment.name).endswith(CHILD_SUFFIX):
        return None
    accounts: dict[str, list[Campaign]] = {}
    for item in resolved:
        if item.source is not None and item.failure is None:
            accounts.setdefault(item.source.account_id, []).append(item)
    if len(accounts) < 2:
        return None
    child = _child_deployment(str(flow_run.flow_name), str(deployment.name))
    if child is None:
        return None
    parameters = dict(flow_run.parameters or {})

    def start(account: str, items: list[Campaign]) -> Any:
        from prefect.deployments import run_deployment

        options = dict(_as_dict(parameters.get("options")) or {})
        options["run_key"] = derived_run_key(base_key, account)
        params = {
            **{k: _as_dict(v) for k, v in parameters.items()},
            "campaigns": [i.selector.model_dump(mode="json") for i in items],
            "options": options,
        }
        return run_deployment(child, parameters=params, timeout=None, as_subflow=True)

    with ThreadPoolExecutor(max_workers=len(accounts)) as pool:
        futures = {
            account: pool.submit(contextvars.copy_context().run, start, account, items)
            for account, items in accounts.items()
        }
        children = {account: future.result() for account, future in futures.items()}

    outcomes: list[CampaignOutcome] = []
    for item in resolved:
        source = item.source
        outcome = pending_outcome(item)
        if source is not None and item.failure is None:
            run = children[source.account_id]
            child_key = derived_run_key(base_key, source.account_id)
            key = derived_run_key(child_key, f"{source.account_id}-{source.campaign_id}")
            outcome.run_key = key
            report = _report(key)
            completed = bool(run.state and run.state.is_completed())
            if report is not None and report.ok:
                outcome.status = status_of(report)  # type: ignore[assignment]
                outcome.selected, outcome.updated = report.total_leads, report.updated
                outcome.message = report.message
            elif report is None and completed:
                outcome.status = "done"  # its journal is on the worker that ran it
                outcome.message = f"in child run {run.name}"
            else:
                state = run.state.name if run.state else "unknown"
                outcome.message = (report.message if report else "") or (
                    f"child run {run.name} ended {state}: "
                    + ((run.state.message or "") if run.state else "")
                )
        outcomes.append(outcome)
    return outcomes


def _as_dict(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _report(run_key: str) -> RunReport | None:
    try:
        return RunJournal(journal_root(), run_key).read_report()
    except (OSError, ValueError):
        return None
