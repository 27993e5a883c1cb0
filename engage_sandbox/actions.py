"""The semantics of every lead action (contract section 5), run inside the store's transaction.

``prepare`` validates the action name and its ``paramMap`` without touching the database, so
a malformed request is refused (400) before anything is written; ``execute`` then applies
the action to the leads the criteria select. The store wraps ``execute`` in one transaction,
so an error raised half-way (e.g. an unknown target list) rolls everything back.

``paramMap`` values arrive as strings, numbers or booleans: ``"true"``/``True``/``1`` and
``"60"``/``60`` are equivalent; ``null`` counts as absent. Keys are case-sensitive (as the
docs say). Keys an action does not use are ignored.

What ``leadUpdateCount`` counts is the dialect's ``update_count`` (undocumented). ``changed``:
the number of lead rows the action actually changed; a lead that already has the target value
is matched but not changed and not counted (a second ``PAUSE_LEADS`` on the same leads reports
0) - every update carries a guard that skips rows already in the target state. ``matched``:
the number of leads the criteria select, changed or not (for a move, the ignored duplicates
and the leads already in the target list too). DELETE_LEADS reports its deletions in
``leadDeleteCount`` and DIALER_REFRESH 0 under both readings.

Per-action Decisions:

- RESET_LEADS: passes 0, state READY, nextDialTime now (nothing else changes).
- CANCEL_LEADS / PAUSE_LEADS / READY_LEADS: only the state changes; the prior state is lost.
- DELETE_LEADS: rows deleted; ``leadDeleteCount`` = n, ``leadUpdateCount`` = 0.
- SUPPRESS_LEADS / UNSUPPRESS_LEADS: only the ``suppressed`` flag; the state is untouched.
- MANUAL_LEADS (not idempotent): ``PASS_DISPOSITION`` required (non-blank); ``REQUEUE``,
  ``DO_NOT_CALL``, ``MERGE_ORIGINAL`` default false, ``PASS_DELAY`` defaults to 0 (minutes,
  >= 0). Every selected lead gets passes + 1, lastPassDts now, lastPassDisposition
  MANUAL_PASS, agent disposition = PASS_DISPOSITION; then DO_NOT_CALL -> DO-NOT-CALL, else
  REQUEUE -> READY with nextDialTime now + PASS_DELAY, else COMPLETE. With MERGE_ORIGINAL a
  selected copy's original (when it still exists) gets the same pass history (passes + 1 per
  selected copy, last pass time and dispositions) but keeps its state; originals are not
  counted in ``leadUpdateCount``.
- EMAIL_LEADS: ``EMAIL_TO`` required, comma-separated, each a plausible address. The matching
  rows are exported as CSV into the store's outbox; lead rows are unchanged.
  ``leadUpdateCount`` = number of leads exported (the real service reports the export size).
- CALLBACK_LEADS: ``ACTION_TYPE`` AGENT (``RESERVATION_AGENT_ID`` > 0 required, optional
  ``CALLBACK_DATE`` default now): state AGENT-CALLBACK, pendingAgentId, nextDialTime = the
  callback date, for every selected lead. CANCEL: leads in CALLBACK, AGENT-CALLBACK or
  PENDING-CALLBACK become CALLBACK-CANCELLED with pendingAgentId cleared; other leads are
  untouched and not counted. RESET: leads in those states become READY, pendingAgentId
  cleared, nextDialTime now.
- MOVE_TO_CAMPAIGN: ``CAMPAIGN_ID`` (must be in the account, else 404), ``LIST_ID`` and
  ``CREATE_COPY_SETTING`` required; ``DUPLICATE_ACTION_SETTING`` defaults to MOVE.
  ``LIST_ID`` 0 creates a list named ``LIST_NAME`` (required then) in the target campaign,
  even when no lead ends up in it; a nonzero ``LIST_ID`` that does not exist is a 404, one
  that belongs to another campaign or is DELETED a 400. ``CREATE_COPY_SETTING`` is ``false``
  / ``true`` (JSON booleans or those strings, any case) or ``TRANSITION``; lenient inputs
  also take MOVE/COPY/0/1. false moves (campaign and list updated in place, everything else
  kept); true copies (a new lead, new leadId, same contact data and suppression, the source
  recorded as its original, READY with 0 passes, no pass history, no agents, loadedDts and
  nextDialTime now); TRANSITION copies the same way, and the dialect's ``transition_marks``
  says who becomes TRANSITIONED: the copies (the originals are unchanged) or the originals
  (the copies are READY). ``DUPLICATE_ACTION_SETTING`` IGNORE leaves leads whose phone
  belongs to another lead already in the target list (the docs) or, per the dialect's
  ``ignore_scope``, anywhere in the target campaign. Leads already in the target campaign
  and list are left alone. A list created by the action records the number of leads
  moved/copied into it as its ``leadsSupplied``/``leadsAccepted``. Moved leads and copies
  are hidden from searches for the dialect's ``visibility_delay_seconds``.
- AGENT_RESERVATION: ``RESERVATION_AGENT_ID`` required (>= 0); pendingAgentId = id, 0 clears.
- DIALER_REFRESH: no lead changes. The campaigns named in the criteria (those in the account)
  are refreshed, or, when the criteria name none, the campaigns of the matching leads; each
  refresh is counted per campaign in ``stats()``. ``dialerRefreshed`` is true when at least
  one campaign was refreshed. ``force_dialer_cache_refresh`` is optional (validated if sent).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .criteria import format_wire_date, parse_wire_date
from .dialect import GROUND_TRUTH, Dialect
from .errors import INVALID_PARAM, MISSING_PARAM, BadRequest, NotFound

CALLBACK_STATES: tuple[str, ...] = ("CALLBACK", "AGENT-CALLBACK", "PENDING-CALLBACK")

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z]{2,}$")


class ActionHost(Protocol):
    """What an action needs from the store besides the connection."""

    def campaign_info(self, campaign_id: int) -> tuple[str, int, str] | None: ...

    def list_info(self, list_id: int) -> tuple[int, str] | None: ...

    def create_list(self, campaign_id: int, desc: str, now_ms: int) -> int: ...

    def wire_rows(
        self, where: str, params: Sequence[Any], dialect: Dialect
    ) -> list[dict[str, Any]]: ...


@dataclass
class ActionContext:
    conn: sqlite3.Connection
    host: ActionHost
    account_id: str
    now_ms: int
    where: str
    params: tuple[Any, ...]
    matches_nothing: bool
    criteria: dict[str, Any]
    #: The account's campaigns the criteria name (None when they name none).
    campaign_ids: tuple[int, ...] | None = None
    #: The readings in force (transition marks, ignore scope, update count, row shape).
    dialect: Dialect = GROUND_TRUTH
    #: visible_at of the leads a move or copy writes (None: visible at once).
    visible_at: int | None = None

    def matched(self, extra_where: str = "", extra_params: Sequence[Any] = ()) -> int:
        """How many leads the criteria select (before the action changes any)."""
        if self.matches_nothing:
            return 0
        sql = f"SELECT count(*) FROM leads WHERE {self.where}{extra_where}"
        return int(self.conn.execute(sql, (*self.params, *extra_params)).fetchone()[0])


@dataclass
class ActionOutcome:
    result: dict[str, Any]
    rows_written: int = 0
    refreshed_campaigns: list[int] = field(default_factory=list)
    email: dict[str, Any] | None = None


_Runner = Callable[[ActionContext, Any], ActionOutcome]


@dataclass(frozen=True)
class PreparedAction:
    action: str
    params: Any
    run: _Runner


def result(
    action: str, updated: int = 0, deleted: int = 0, refreshed: bool = False
) -> dict[str, Any]:
    """A successful ``LeadActionResult`` in wire shape."""
    return {
        "success": True,
        "leadActionType": action,
        "leadUpdateCount": updated,
        "leadDeleteCount": deleted,
        "redialDeleteCount": 0,
        "dialerRefreshed": refreshed,
        "errorMessage": None,
    }


# --------------------------------------------------------------------------- params


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True)


class ManualParams(_Params):
    pass_disposition: str = Field(alias="PASS_DISPOSITION", min_length=1)
    requeue: bool = Field(False, alias="REQUEUE")
    do_not_call: bool = Field(False, alias="DO_NOT_CALL")
    pass_delay: int = Field(0, alias="PASS_DELAY", ge=0)
    merge_original: bool = Field(False, alias="MERGE_ORIGINAL")


class EmailParams(_Params):
    email_to: list[str] = Field(alias="EMAIL_TO")

    @field_validator("email_to", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> list[str]:
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        if not isinstance(value, str):
            raise ValueError("must be a comma-separated list of e-mail addresses")
        addresses = [a.strip() for a in value.split(",") if a.strip()]
        if not addresses:
            raise ValueError("at least one e-mail address is required")
        bad = [a for a in addresses if not _EMAIL.match(a)]
        if bad:
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return addresses


class CallbackParams(_Params):
    action_type: Literal["AGENT", "CANCEL", "RESET"] = Field(alias="ACTION_TYPE")
    reservation_agent_id: int | None = Field(None, alias="RESERVATION_AGENT_ID")
    callback_date: int | None = Field(None, alias="CALLBACK_DATE")

    @field_validator("action_type", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("callback_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_wire_date(value, "CALLBACK_DATE")

    @model_validator(mode="after")
    def _agent_needed(self) -> CallbackParams:
        if self.action_type == "AGENT" and not (self.reservation_agent_id or 0) > 0:
            raise ValueError("ACTION_TYPE AGENT needs a positive RESERVATION_AGENT_ID")
        return self


class MoveParams(_Params):
    campaign_id: int = Field(alias="CAMPAIGN_ID", gt=0)
    list_id: int = Field(alias="LIST_ID", ge=0)
    list_name: str | None = Field(None, alias="LIST_NAME")
    copy_mode: Literal["MOVE", "COPY", "TRANSITION"] = Field(alias="CREATE_COPY_SETTING")
    ignore_duplicates: bool = Field(False, alias="DUPLICATE_ACTION_SETTING")

    @field_validator("copy_mode", mode="before")
    @classmethod
    def _copy_mode(cls, value: Any, info: ValidationInfo) -> Any:
        context = info.context if isinstance(info.context, dict) else {}
        if context.get("lenient", True):
            key = str(value).strip().upper() if isinstance(value, str | bool | int) else value
            return {"FALSE": "MOVE", "0": "MOVE", "TRUE": "COPY", "1": "COPY"}.get(key, key)
        # The docs: "false" to move, "true" to copy, TRANSITION; a JSON number is neither.
        if isinstance(value, bool):
            return "COPY" if value else "MOVE"
        key = value.strip().upper() if isinstance(value, str) else None
        mode = {"FALSE": "MOVE", "TRUE": "COPY", "TRANSITION": "TRANSITION"}.get(key or "")
        if mode is None:
            raise ValueError(f"must be false, true or TRANSITION, got {value!r}")
        return mode

    @field_validator("ignore_duplicates", mode="before")
    @classmethod
    def _duplicates(cls, value: Any) -> bool:
        key = value.strip().upper() if isinstance(value, str) else value
        if key not in ("MOVE", "IGNORE"):
            raise ValueError(f"must be MOVE or IGNORE, got {value!r}")
        return key == "IGNORE"

    @model_validator(mode="after")
    def _name_needed(self) -> MoveParams:
        if self.list_id == 0 and not self.list_name:
            raise ValueError("LIST_ID 0 (create a new list) needs a non-empty LIST_NAME")
        return self


class ReservationParams(_Params):
    reservation_agent_id: int = Field(alias="RESERVATION_AGENT_ID", ge=0)


class RefreshParams(_Params):
    force: bool | None = Field(None, alias="force_dialer_cache_refresh")


# --------------------------------------------------------------------------- helpers


def _update(
    ctx: ActionContext,
    assignments: dict[str, Any],
    extra_where: str = "",
    extra_params: Sequence[Any] = (),
) -> int:
    """UPDATE the selected leads, skipping rows that already hold every assigned value."""
    if ctx.matches_nothing:
        return 0
    sets = ", ".join(f"{col} = ?" for col in assignments)
    guard = " AND ".join(f"{col} IS ?" for col in assignments)
    values = list(assignments.values())
    sql = f"UPDATE leads SET {sets} WHERE {ctx.where}{extra_where} AND NOT ({guard})"
    return ctx.conn.execute(sql, (*values, *ctx.params, *extra_params, *values)).rowcount


def _select_into_temp(ctx: ActionContext, extra_where: str = "", extra: Sequence[Any] = ()) -> int:
    """Freeze the selection in temp._sel so later statements cannot change who is selected."""
    conn = ctx.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _sel (lead_id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp._sel")
    if ctx.matches_nothing:
        return 0
    return conn.execute(
        f"INSERT INTO temp._sel (lead_id) SELECT lead_id FROM leads WHERE {ctx.where}{extra_where}",
        (*ctx.params, *extra),
    ).rowcount


_SELECTED = "lead_id IN (SELECT lead_id FROM temp._sel)"


def _simple(action: str, assignments: dict[str, Any]) -> _Runner:
    def run(ctx: ActionContext, _: Any) -> ActionOutcome:
        n = _update(ctx, assignments)
        return ActionOutcome(result(action, updated=n), rows_written=n)

    return run


# --------------------------------------------------------------------------- actions


def _reset(ctx: ActionContext, _: Any) -> ActionOutcome:
    n = _update(ctx, {"lead_passes": 0, "lead_state": "READY", "next_dial_time": ctx.now_ms})
    return ActionOutcome(result("RESET_LEADS", updated=n), rows_written=n)


def _delete(ctx: ActionContext, _: Any) -> ActionOutcome:
    n = 0
    if not ctx.matches_nothing:
        n = ctx.conn.execute(f"DELETE FROM leads WHERE {ctx.where}", ctx.params).rowcount
    return ActionOutcome(result("DELETE_LEADS", deleted=n), rows_written=n)


def _manual(ctx: ActionContext, p: ManualParams) -> ActionOutcome:
    conn = ctx.conn
    _select_into_temp(ctx)
    written = 0
    if p.merge_original:
        merged = conn.execute(
            f"SELECT original_lead_id, count(*) FROM leads WHERE {_SELECTED}"
            " AND original_lead_id IS NOT NULL GROUP BY original_lead_id"
        ).fetchall()
        for original_id, passes in merged:
            written += conn.execute(
                "UPDATE leads SET lead_passes = lead_passes + ?, last_pass_dts = ?,"
                " last_pass_disposition = 'MANUAL_PASS', agent_disposition = ?"
                " WHERE lead_id = ? AND account_id = ?",
                (passes, ctx.now_ms, p.pass_disposition, original_id, ctx.account_id),
            ).rowcount
    if p.do_not_call:
        state, next_dial = "DO-NOT-CALL", None
    elif p.requeue:
        state, next_dial = "READY", ctx.now_ms + p.pass_delay * 60_000
    else:
        state, next_dial = "COMPLETE", None
    next_dial_sql = "?" if next_dial is not None else "next_dial_time"
    n = conn.execute(
        "UPDATE leads SET lead_passes = lead_passes + 1, last_pass_dts = ?,"
        " last_pass_disposition = 'MANUAL_PASS', agent_disposition = ?, lead_state = ?,"
        f" next_dial_time = {next_dial_sql} WHERE {_SELECTED}",
        (ctx.now_ms, p.pass_disposition, state, *(() if next_dial is None else (next_dial,))),
    ).rowcount
    conn.execute("DELETE FROM temp._sel")
    return ActionOutcome(result("MANUAL_LEADS", updated=n), rows_written=n + written)


def _email(ctx: ActionContext, p: EmailParams) -> ActionOutcome:
    rows = [] if ctx.matches_nothing else ctx.host.wire_rows(ctx.where, ctx.params, ctx.dialect)
    for row in rows:
        row.pop("campaignLead", None)  # nested: repeats the row, and a CSV cell cannot hold it
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    entry = {
        "to": p.email_to,
        "accountId": ctx.account_id,
        "leadCount": len(rows),
        "criteria": ctx.criteria,
        "sentAt": format_wire_date(ctx.now_ms),
        "csv": buffer.getvalue(),
    }
    return ActionOutcome(result("EMAIL_LEADS", updated=len(rows)), email=entry)


def _callback(ctx: ActionContext, p: CallbackParams) -> ActionOutcome:
    in_callback = f" AND leads.lead_state IN ({','.join('?' * len(CALLBACK_STATES))})"
    if p.action_type == "AGENT":
        when = ctx.now_ms if p.callback_date is None else p.callback_date
        n = _update(
            ctx,
            {
                "lead_state": "AGENT-CALLBACK",
                "pending_agent_id": p.reservation_agent_id,
                "next_dial_time": when,
            },
        )
    elif p.action_type == "CANCEL":
        n = _update(
            ctx,
            {"lead_state": "CALLBACK-CANCELLED", "pending_agent_id": None},
            in_callback,
            CALLBACK_STATES,
        )
    else:
        n = _update(
            ctx,
            {"lead_state": "READY", "pending_agent_id": None, "next_dial_time": ctx.now_ms},
            in_callback,
            CALLBACK_STATES,
        )
    return ActionOutcome(result("CALLBACK_LEADS", updated=n), rows_written=n)


def _reservation(ctx: ActionContext, p: ReservationParams) -> ActionOutcome:
    n = _update(ctx, {"pending_agent_id": p.reservation_agent_id or None})
    return ActionOutcome(result("AGENT_RESERVATION", updated=n), rows_written=n)


def _refresh(ctx: ActionContext, _: RefreshParams) -> ActionOutcome:
    if ctx.campaign_ids:
        campaigns = list(ctx.campaign_ids)
    elif ctx.matches_nothing:
        campaigns = []
    else:
        campaigns = [
            cid
            for (cid,) in ctx.conn.execute(
                f"SELECT DISTINCT campaign_id FROM leads WHERE {ctx.where} ORDER BY 1", ctx.params
            )
        ]
    return ActionOutcome(
        result("DIALER_REFRESH", refreshed=bool(campaigns)), refreshed_campaigns=campaigns
    )


# Columns a copy takes from its source unchanged (everything that describes the contact).
_COPIED_COLUMNS = (
    "account_id, extern_id, lead_phone, lead_timezone, max_passes, suppressed, first_name,"
    " mid_name, last_name, address1, address2, city, state, zip, email, aux_data1, aux_data2,"
    " aux_data3, aux_data4, aux_data5, caller_id"
)


def _move(ctx: ActionContext, p: MoveParams) -> ActionOutcome:
    conn = ctx.conn
    target = ctx.host.campaign_info(p.campaign_id)
    if target is None or target[2] != ctx.account_id:
        raise NotFound(f"Target campaign {p.campaign_id} not found in account {ctx.account_id}")
    if p.list_id:
        info = ctx.host.list_info(p.list_id)
        if info is None:
            raise NotFound(f"List {p.list_id} not found")
        if info[0] != p.campaign_id:
            raise BadRequest(
                INVALID_PARAM,
                f"List {p.list_id} does not belong to target campaign {p.campaign_id}",
            )
        if info[1] == "DELETED":
            raise BadRequest(INVALID_PARAM, f"List {p.list_id} is DELETED")
        list_id = p.list_id
    else:
        list_id = ctx.host.create_list(p.campaign_id, p.list_name or "", ctx.now_ms)

    extra = " AND NOT (leads.campaign_id = ? AND leads.list_id IS ?)"
    extra_params: list[Any] = [p.campaign_id, list_id]
    if p.ignore_duplicates:
        # A duplicate is another lead with the same phone where the lead would land.
        where = "d.list_id = ?" if ctx.dialect.ignore_scope == "list" else "d.campaign_id = ?"
        extra += (
            f" AND NOT EXISTS (SELECT 1 FROM leads AS d WHERE {where}"
            " AND d.lead_phone = leads.lead_phone AND d.lead_id <> leads.lead_id)"
        )
        extra_params.append(list_id if ctx.dialect.ignore_scope == "list" else p.campaign_id)
    _select_into_temp(ctx, extra, extra_params)

    if p.copy_mode == "MOVE":
        n = conn.execute(
            f"UPDATE leads SET campaign_id = ?, list_id = ?, visible_at = ? WHERE {_SELECTED}",
            (p.campaign_id, list_id, ctx.visible_at),
        ).rowcount
        written = n
    else:
        mark_copies = p.copy_mode == "TRANSITION" and ctx.dialect.transition_marks == "copies"
        n = conn.execute(
            f"INSERT INTO leads ({_COPIED_COLUMNS}, campaign_id, list_id, lead_state,"
            " lead_passes, next_dial_time, loaded_dts, original_lead_id, visible_at)"
            f" SELECT {_COPIED_COLUMNS}, ?, ?, ?, 0, ?, ?, lead_id, ? FROM leads"
            f" WHERE {_SELECTED} ORDER BY lead_id",
            (
                p.campaign_id,
                list_id,
                "TRANSITIONED" if mark_copies else "READY",
                ctx.now_ms,
                ctx.now_ms,
                ctx.visible_at,
            ),
        ).rowcount
        written = n
        if p.copy_mode == "TRANSITION" and not mark_copies:
            written += conn.execute(
                f"UPDATE leads SET lead_state = 'TRANSITIONED' WHERE {_SELECTED}"
                " AND lead_state IS NOT 'TRANSITIONED'"
            ).rowcount
    if not p.list_id:
        conn.execute(
            "UPDATE lists SET leads_supplied = ?, leads_accepted = ? WHERE list_id = ?",
            (n, n, list_id),
        )
    conn.execute("DELETE FROM temp._sel")
    return ActionOutcome(result("MOVE_TO_CAMPAIGN", updated=n), rows_written=written)


_ACTIONS: dict[str, tuple[type[_Params] | None, _Runner]] = {
    "RESET_LEADS": (None, _reset),
    "CANCEL_LEADS": (None, _simple("CANCEL_LEADS", {"lead_state": "CANCELLED"})),
    "DELETE_LEADS": (None, _delete),
    "PAUSE_LEADS": (None, _simple("PAUSE_LEADS", {"lead_state": "PAUSED"})),
    "READY_LEADS": (None, _simple("READY_LEADS", {"lead_state": "READY"})),
    "SUPPRESS_LEADS": (None, _simple("SUPPRESS_LEADS", {"suppressed": 1})),
    "UNSUPPRESS_LEADS": (None, _simple("UNSUPPRESS_LEADS", {"suppressed": 0})),
    "MANUAL_LEADS": (ManualParams, _manual),
    "EMAIL_LEADS": (EmailParams, _email),
    "CALLBACK_LEADS": (CallbackParams, _callback),
    "MOVE_TO_CAMPAIGN": (MoveParams, _move),
    "AGENT_RESERVATION": (ReservationParams, _reservation),
    "DIALER_REFRESH": (RefreshParams, _refresh),
}

LEAD_ACTIONS: tuple[str, ...] = tuple(_ACTIONS)


# Actions whose leadUpdateCount is not about updated leads under either reading.
_NOT_UPDATES = frozenset({"DELETE_LEADS", "DIALER_REFRESH"})


def prepare(action: Any, param_map: Any, dialect: Dialect = GROUND_TRUTH) -> PreparedAction:
    """Validate the action and its paramMap (400 on any problem); touches no data."""
    entry = _ACTIONS.get(action) if isinstance(action, str) else None
    if entry is None:
        code = MISSING_PARAM if action in (None, "") else INVALID_PARAM
        raise BadRequest(
            code, f"Unknown leadAction {action!r}; expected one of {', '.join(LEAD_ACTIONS)}"
        )
    if param_map is None:
        param_map = {}
    if not isinstance(param_map, dict):
        raise BadRequest(INVALID_PARAM, "leadActionParams.paramMap must be a JSON object")
    model, run = entry
    params = None
    if model is not None:
        present = {k: v for k, v in param_map.items() if v is not None}
        try:
            params = model.model_validate(present, context={"lenient": dialect.lenient_inputs})
        except ValidationError as exc:
            missing = all(err["type"] == "missing" for err in exc.errors())
            raise BadRequest(
                MISSING_PARAM if missing else INVALID_PARAM,
                f"Invalid paramMap for {action}: {_describe(exc)}",
            ) from None
    return PreparedAction(action, params, run)


def execute(ctx: ActionContext, prepared: PreparedAction) -> ActionOutcome:
    """Apply a prepared action; must run inside the store's write transaction."""
    count_matched = ctx.dialect.update_count == "matched" and prepared.action not in _NOT_UPDATES
    matched = ctx.matched() if count_matched else 0  # before the action changes who matches
    outcome = prepared.run(ctx, prepared.params)
    if count_matched:
        outcome.result["leadUpdateCount"] = matched
    return outcome


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "paramMap"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if err["loc"] else msg)
    return "; ".join(parts)
