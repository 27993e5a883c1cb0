"""`leads demo`: the main job against a freshly seeded sandbox, through a real Prefect API."""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import UTC, datetime

from rich.console import Console
from rich.rule import Rule

from engage_voice.models import LeadState, SearchCriteria
from tasks.journal import RunJournal
from tasks.models import CampaignSelector, Condition, Guards, LeadSelection, RunOptions
from tasks.runtime import close_clients, journal_root, shared_client

from . import render
from .embedded import embedded_sandbox, settings_env, settings_for
from .prefect_api import prefect_api

SOURCE = "My Predictive Campaign"
DESTINATION = "My New Predictive Campaign Python"


def run_demo(console: Console, leads: int) -> None:
    from flows.move_leads import Destination, move_leads
    from flows.nightly_reset import nightly_reset

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with ExitStack() as stack:
        with console.status(f"seeding a sandbox with {leads:,} leads..."):
            server = stack.enter_context(embedded_sandbox(seed=1, leads=leads))
        os.environ.update(settings_env(settings_for(server)))
        stack.callback(close_clients)
        console.print(f"[bold green]RingCX sandbox[/] at {server.base_url} (seed 1)")
        with console.status("connecting to Prefect (starting a local server if none runs)..."):
            api = stack.enter_context(prefect_api())
        console.print(f"[bold green]Prefect API[/] at {api.url}")

        tree = shared_client().account_tree()
        console.print(render.account_tree(tree))

        console.print(Rule("1. move_leads: READY leads with 2+ passes get a fresh campaign"))
        move_key = f"demo-move-{stamp}"
        report = move_leads(
            selection=LeadSelection(
                source=CampaignSelector(campaign=SOURCE),
                criteria=SearchCriteria(lead_states=[LeadState.READY]),
                conditions=[Condition(column="leadPasses", op=">=", value=2)],
            ),
            destination=Destination(campaign=DESTINATION, new_list=f"Second chance {stamp}"),
            # A move is destructive: above this many leads it would wait for approval in
            # the Prefect UI. The demo's selection stays below it.
            guards=Guards(approval_threshold=5_000),
            options=RunOptions(run_key=move_key, chunk_size=100),
        )
        render.print_result(console, report)

        console.print(Rule("2. nightly_reset: finished leads that reached nobody, dialled again"))
        outcomes = nightly_reset(
            campaigns=[
                CampaignSelector(campaign=SOURCE),
                CampaignSelector(campaign="Renewals", dial_group="Sales East"),
            ],
            options=RunOptions(run_key=f"demo-reset-{stamp}", chunk_size=100),
        )
        for outcome in outcomes:
            saved = RunJournal(journal_root(), outcome.run_key).read_report() if outcome.run_key else None
            if saved is not None:
                render.print_result(console, saved)
            else:
                console.print(f"{outcome.campaign}: {outcome.status} {outcome.message}")

        console.print(Rule("Where to look"))
        console.print(f"Journals (plans, before-images, outcomes): {journal_root()}")
        console.print(
            "Every run, with its plan, progress, outcome and verification artifacts, is in "
            "Prefect."
        )
        console.print(api.where_to_look())
