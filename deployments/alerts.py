"""Alerts: a failed, crashed or verification-failed run of a scheduled deployment (tag
`scheduled`) notifies through a webhook, by a Prefect automation.

    .venv/bin/python -m deployments.alerts https://hooks.example.org/...

Re-runnable: the webhook block (`leads-alerts`) and the automation (`leads: a scheduled run
failed`) are replaced, never duplicated. A run whose verification fails ends Failed
(RunFailed), so it alerts like any other failure. Needs a Prefect server with its services
(the automations run there; `prefect server start` has them).
"""

from __future__ import annotations

import sys
from typing import Any

from prefect.blocks.notifications import CustomWebhookNotificationBlock

BLOCK = "leads-alerts"
AUTOMATION = "leads: a scheduled run failed"
STATES = ("Failed", "Crashed")

BODY = (
    "Flow run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}: "
    "{{ flow_run.state.message }}"
)


def ensure_alerts(webhook_url: str) -> Any:
    """Save the webhook block and the automation; returns the automation."""
    from prefect.automations import Automation
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import EventTrigger, Posture

    block = CustomWebhookNotificationBlock(
        name=BLOCK,
        url=webhook_url,
        method="POST",
        json_data={"subject": "{{subject}}", "text": "{{body}}"},
    )
    block_id = block.save(BLOCK, overwrite=True)
    for existing in _automations_named(AUTOMATION):
        existing.delete()
    automation = Automation(
        name=AUTOMATION,
        description="A scheduled lead pipeline failed, crashed or could not prove its work.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={
                "prefect.resource.role": "tag",
                "prefect.resource.id": "prefect.tag.scheduled",
            },
            expect={f"prefect.flow-run.{state}" for state in STATES},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="Lead pipeline run {{ flow_run.state.name }}",
                body=BODY,
            )
        ],
    )
    return automation.create()


def _automations_named(name: str) -> list[Any]:
    from prefect.automations import Automation

    try:
        found = Automation.read(name=name)
    except ValueError:
        return []
    return found if isinstance(found, list) else [found]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m deployments.alerts WEBHOOK_URL")
    created = ensure_alerts(sys.argv[1])
    print(f"automation {created.name!r} ({created.id}) notifies {BLOCK!r}")
