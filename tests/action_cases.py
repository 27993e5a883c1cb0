"""The lead actions the flow tests run, each with the server-side filter it runs on and what
every selected lead must look like afterwards (`expect(before_row, after_row)`, rows as the
sandbox's store holds them; after is None for a deleted lead)."""

from __future__ import annotations

from engage_voice.models import (
    AgentReservation,
    CallbackLeads,
    CancelLeads,
    DeleteLeads,
    EmailLeads,
    ManualLeads,
    PauseLeads,
    ReadyLeads,
    ResetLeads,
    SuppressLeads,
    UnsuppressLeads,
)

CAMPAIGN = "My Predictive Campaign"

CASES = [
    (
        ResetLeads(),
        {"lead_states": ["COMPLETE"]},
        lambda b, a: (a["leadState"], a["leadPasses"]) == ("READY", 0),
    ),
    (CancelLeads(), {"lead_states": ["READY"]}, lambda b, a: a["leadState"] == "CANCELLED"),
    (PauseLeads(), {"lead_states": ["READY"]}, lambda b, a: a["leadState"] == "PAUSED"),
    (ReadyLeads(), {"lead_states": ["PAUSED", "COMPLETE"]}, lambda b, a: a["leadState"] == "READY"),
    (
        SuppressLeads(),
        {"suppressed": "ONLY_UNSUPPRESSED", "lead_states": ["READY"]},
        lambda b, a: a["suppressed"] is True and a["leadState"] == b["leadState"],
    ),
    (UnsuppressLeads(), {"suppressed": "ONLY_SUPPRESSED"}, lambda b, a: a["suppressed"] is False),
    (DeleteLeads(), {"lead_states": ["CANCELLED", "DO-NOT-CALL"]}, lambda b, a: a is None),
    (
        ManualLeads(pass_disposition="Call Back Later", requeue=True, pass_delay_minutes=60),
        {"lead_states": ["READY"]},
        lambda b, a: (
            a["leadPasses"] == b["leadPasses"] + 1 and a["agentDispostion"] == "Call Back Later"
        ),
    ),
    (EmailLeads(email_to=["ops@example.com"]), {"lead_states": ["READY"]}, lambda b, a: a == b),
    (
        CallbackLeads(action_type="AGENT", reservation_agent_id=9001),
        {"lead_states": ["READY"]},
        lambda b, a: a["leadState"] == "AGENT-CALLBACK" and a["pendingAgentId"] == 9001,
    ),
    (
        AgentReservation(reservation_agent_id=4242),
        {"lead_states": ["READY"]},
        lambda b, a: a["pendingAgentId"] == 4242,
    ),
]
