"""One home per lead action: its promise, proof, resend rule, checks and undo.

    state.py         RESET, CANCEL, PAUSE, READY
    suppression.py   SUPPRESS, UNSUPPRESS
    agents.py        CALLBACK_LEADS, AGENT_RESERVATION
    delete.py        DELETE_LEADS
    move.py          MOVE_TO_CAMPAIGN (move, copy, transition; IGNORE duplicates)
    irreversible.py  MANUAL_LEADS, EMAIL_LEADS, DIALER_REFRESH

`spec_for(params)` is the only place an action's class is looked at; everything else asks
the spec it returns. Adding an action: docs/architecture.md, "Adding an action".
"""

from __future__ import annotations

from typing import Any

from engage_voice import models as m

from . import agents, delete, irreversible, move, state, suppression
from .base import ActionSpec, Chunk, Expectation, Unresolvable

SPECS: dict[type, type[ActionSpec]] = {
    m.ResetLeads: state.Reset,
    m.CancelLeads: state.Cancel,
    m.PauseLeads: state.Pause,
    m.ReadyLeads: state.Ready,
    m.SuppressLeads: suppression.Suppress,
    m.UnsuppressLeads: suppression.Unsuppress,
    m.CallbackLeads: agents.Callback,
    m.AgentReservation: agents.Reservation,
    m.DeleteLeads: delete.Delete,
    m.MoveToCampaign: move.Move,
    m.ManualLeads: irreversible.ManualPass,
    m.EmailLeads: irreversible.EmailExport,
    m.DialerRefresh: irreversible.DialerRefresh,
}


def spec_for(params: Any) -> ActionSpec:
    try:
        return SPECS[type(params)](params)
    except KeyError:
        raise TypeError(f"no action spec for {type(params).__name__}") from None


__all__ = ["SPECS", "ActionSpec", "Chunk", "Expectation", "Unresolvable", "spec_for"]
