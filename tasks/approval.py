"""Approval: a run that needs an operator's yes pauses in the Prefect UI with a typed form
that shows the plan's numbers. Nothing is written before the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from prefect import get_run_logger
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

from .models import Guards, Plan
from .planning import NotApproved, approval_reasons
from .reporting import counted, parameters_text

T = TypeVar("T")
P = ParamSpec("P")

# How often a paused run looks for the operator's answer (Prefect's default is 10 s).
APPROVAL_POLL_SECONDS = 2


class Approval(RunInput):
    """Shown in the Prefect UI when a destructive run waits for approval."""

    approve: bool = False
    reason: str = ""


def ask_approval(description: str, timeout: int, what: str) -> None:
    """Pause the flow run until an operator answers the form; `NotApproved` unless they
    approve. Nothing may be written before this returns."""
    logger = get_run_logger()
    logger.warning("waiting for approval: %s", description)
    try:
        answer = pause_flow_run(
            wait_for_input=Approval.with_initial_data(description=description, approve=False),
            timeout=timeout,
            poll_interval=APPROVAL_POLL_SECONDS,
        )
    except FlowPauseTimeout:
        # Nobody answered: a "no", said as one. (Prefect's server still ends a run whose
        # pause timed out Failed: it refuses any other state after the deadline.)
        raise NotApproved(f"{what} was not approved within {timeout} s") from None
    if not answer.approve:
        raise NotApproved(
            f"{what} was not approved" + (f": {answer.reason}" if answer.reason else "")
        )
    logger.info("approved%s", f": {answer.reason}" if answer.reason else "")


def approve_plan(plan: Plan, guards: Guards) -> None:
    description = (
        f"**{plan.action.action}** on **{plan.total_leads:,}** leads of "
        f"**{plan.source.campaign_name}** ({plan.campaign_total:,} in the campaign), "
        f"in {counted(len(plan.chunks), 'chunk')}. Parameters: {parameters_text(plan.action.param_map())}. "
        f"Approval is asked because: {'; '.join(approval_reasons(plan, guards))}. "
        "This cannot be undone completely. Set approve to true to proceed."
    )
    ask_approval(
        description,
        guards.approval_timeout_seconds,
        f"{plan.action.action} on {plan.total_leads:,} leads",
    )


def cancelled_if_denied(run: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`run(**kwargs)`; an approval denied (or not given in time) ends the flow run
    Cancelled with the reason, not Failed with tracebacks: an operator's "no" is not an
    error. A caller of the flow still gets the NotApproved raised."""
    try:
        return run(*args, **kwargs)
    except NotApproved as exc:
        from prefect.states import Cancelled

        # A flow may return its final state; the exception is its data, so calling the
        # flow raises it.
        return cast(T, Cancelled(message=str(exc), data=exc))
