"""``SandboxStore``: the sandbox's state in SQLite, and every read and write the app needs.

One ``sqlite3`` connection guarded by a re-entrant lock: every public method runs atomically
under the lock, writes in one explicit transaction (rolled back on any error, so a refused
request changes nothing). Times are stored as epoch milliseconds and leave the store
formatted as wire dates (``2026-07-01T07:00:00.000+0000``). Every public method returns
JSON-ready values in the wire shape (camelCase), so the app only has to serialise them.

Direct lead load (contract section 6) Decisions:

- A load creates a new list (``listDesc`` = ``description``) only when at least one lead
  passes validation; otherwise the result is ``NO_LEADS_PASSED_VALIDATION`` with no list.
- A lead is rejected (``rejectedRows``) when ``externId`` is missing/blank or ``leadPhone``
  (``leadPhoneE164`` as a fallback) has fewer than 10 digits. ``rowData`` holds the supplied
  values as strings, in the order they were sent.
- ``duplicateHandling``: ``RETAIN_ALL`` inserts every accepted lead; ``REMOVE_ALL_EXISTING``
  first deletes the campaign's existing leads that share a phone with an accepted lead
  (``deletedCount``); ``REMOVE_FROM_LIST`` leaves out accepted leads whose phone already
  exists in the campaign or earlier in the same upload. ``leadsAccepted`` counts leads that
  passed validation, ``leadsInserted`` the rows actually inserted.
- ``leadTimezone`` is taken from the lead when given, otherwise derived from its US ``state``.
- ``dialPriority`` IMMEDIATE gives the list ``listPriority`` 10, NORMAL gives 1.
- ``reserveAgent``, when numeric, becomes the lead's ``pendingAgentId``; any other non-blank
  value is counted in ``failedAgentAssignment`` and the lead is still accepted.

Counters (``stats()``): ``writes`` counts every ``apply_action``/``load_leads``/``update_lead``
call that returned a result, including those that matched or inserted 0 leads and loads whose
leads all failed validation; calls that raised ``SandboxError`` are not counted. ``leadsWritten``
counts lead rows actually inserted, updated or deleted by those calls (an e-mail export writes
none). Builders (``add_*``, ``insert_leads``) and the seed are not counted.
"""

from __future__ import annotations

import functools
import gc
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from . import actions as _actions
from .criteria import (
    LEAD_STATES,
    SYSTEM_DISPOSITIONS,
    CompiledCriteria,
    compile_criteria,
    format_wire_date,
    normalize_lead_state,
    normalize_phone,
    parse_criteria,
    parse_wire_date,
)
from .errors import BadRequest, NotFound

P = ParamSpec("P")
R = TypeVar("R")

#: Every lead column, in the order bulk inserts use.
LEAD_COLUMNS: tuple[str, ...] = (
    "lead_id",
    "account_id",
    "campaign_id",
    "list_id",
    "extern_id",
    "lead_phone",
    "lead_state",
    "lead_timezone",
    "lead_passes",
    "max_passes",
    "next_dial_time",
    "last_pass_dts",
    "last_pass_disposition",
    "agent_disposition",
    "suppressed",
    "loaded_dts",
    "first_name",
    "mid_name",
    "last_name",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "email",
    "aux_data1",
    "aux_data2",
    "aux_data3",
    "aux_data4",
    "aux_data5",
    "caller_id",
    "agent_id",
    "pending_agent_id",
    "original_lead_id",
)

DEFAULT_DISPOSITIONS: tuple[str, ...] = (
    "Sale",
    "Interested",
    "Not Interested",
    "Call Back Later",
    "Left Voicemail",
    "Wrong Number",
    "Do Not Call",
)

_ZONE_STATES: dict[str, str] = {
    "EST": "CT DE DC FL GA ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV IN KY",
    "CST": "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI",
    "MST": "AZ CO ID MT NM UT WY",
    "PST": "CA NV OR WA",
    "AKST": "AK",
    "HST": "HI",
}
#: Timezone names the sandbox uses per US state (the dominant zone where a state spans two).
STATE_TIMEZONES: dict[str, str] = {
    state: zone for zone, states in _ZONE_STATES.items() for state in states.split()
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id      TEXT PRIMARY KEY,
    account_name    TEXT NOT NULL,
    main_account_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dial_groups (
    dial_group_id   INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL,
    dial_group_name TEXT NOT NULL,
    dial_group_desc TEXT,
    dial_mode       TEXT NOT NULL,
    is_active       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_dial_groups_account ON dial_groups (account_id);
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id     INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL,
    dial_group_id   INTEGER NOT NULL,
    campaign_name   TEXT NOT NULL,
    campaign_desc   TEXT,
    is_active       INTEGER NOT NULL,
    max_passes      INTEGER NOT NULL,
    caller_id       TEXT
);
CREATE INDEX IF NOT EXISTS idx_campaigns_dial_group ON campaigns (dial_group_id);
CREATE TABLE IF NOT EXISTS campaign_dispositions (
    campaign_id     INTEGER NOT NULL,
    position        INTEGER NOT NULL,
    disposition     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
CREATE TABLE IF NOT EXISTS lists (
    list_id         INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL,
    list_desc       TEXT,
    list_state      TEXT NOT NULL,
    list_priority   INTEGER NOT NULL,
    leads_supplied  INTEGER NOT NULL,
    leads_accepted  INTEGER NOT NULL,
    upload_date     INTEGER
);
CREATE INDEX IF NOT EXISTS idx_lists_campaign ON lists (campaign_id);
CREATE TABLE IF NOT EXISTS leads (
    lead_id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id            TEXT NOT NULL,
    campaign_id           INTEGER NOT NULL,
    list_id               INTEGER,
    extern_id             TEXT,
    lead_phone            TEXT,
    lead_state            TEXT NOT NULL,
    lead_timezone         TEXT,
    lead_passes           INTEGER NOT NULL,
    max_passes            INTEGER NOT NULL,
    next_dial_time        INTEGER,
    last_pass_dts         INTEGER,
    last_pass_disposition TEXT,
    agent_disposition     TEXT,
    suppressed            INTEGER NOT NULL,
    loaded_dts            INTEGER,
    first_name            TEXT COLLATE NOCASE,
    mid_name              TEXT,
    last_name             TEXT COLLATE NOCASE,
    address1              TEXT,
    address2              TEXT,
    city                  TEXT COLLATE NOCASE,
    state                 TEXT,
    zip                   TEXT,
    email                 TEXT COLLATE NOCASE,
    aux_data1             TEXT,
    aux_data2             TEXT,
    aux_data3             TEXT,
    aux_data4             TEXT,
    aux_data5             TEXT,
    caller_id             TEXT,
    agent_id              INTEGER,
    pending_agent_id      INTEGER,
    original_lead_id      INTEGER
);
"""

# One index per searchable column. Low-cardinality columns lead with campaign_id: nearly every
# search names a campaign, and an equality on (campaign_id, x) yields rows already in lead_id
# (rowid) order, so a page needs no sort. Sparse columns get partial indexes: a comparison or
# IN on x implies x IS NOT NULL, so the planner still uses them, and they cost far less to
# build when seeding a million leads.
_LEAD_INDEXES: tuple[tuple[str, str], ...] = (
    ("idx_leads_campaign", "(campaign_id, lead_id)"),
    ("idx_leads_account", "(account_id, lead_id)"),
    ("idx_leads_camp_state", "(campaign_id, lead_state)"),
    ("idx_leads_camp_list", "(campaign_id, list_id)"),
    ("idx_leads_list", "(list_id)"),
    ("idx_leads_camp_timezone", "(campaign_id, lead_timezone)"),
    ("idx_leads_camp_passes", "(campaign_id, lead_passes)"),
    ("idx_leads_camp_loaded", "(campaign_id, loaded_dts)"),
    ("idx_leads_camp_us_state", "(campaign_id, state)"),
    ("idx_leads_camp_suppressed", "(campaign_id) WHERE suppressed = 1"),
    ("idx_leads_camp_next_dial", "(campaign_id, next_dial_time) WHERE next_dial_time IS NOT NULL"),
    ("idx_leads_camp_last_pass", "(campaign_id, last_pass_dts) WHERE last_pass_dts IS NOT NULL"),
    (
        "idx_leads_camp_system_dispo",
        "(campaign_id, last_pass_disposition) WHERE last_pass_disposition IS NOT NULL",
    ),
    (
        "idx_leads_camp_agent_dispo",
        "(campaign_id, agent_disposition) WHERE agent_disposition IS NOT NULL",
    ),
    ("idx_leads_phone", "(lead_phone, campaign_id)"),
    ("idx_leads_extern", "(extern_id)"),
    ("idx_leads_first_name", "(first_name)"),
    ("idx_leads_last_name", "(last_name)"),
    ("idx_leads_email", "(email) WHERE email IS NOT NULL"),
    ("idx_leads_address1", "(address1)"),
    ("idx_leads_address2", "(address2) WHERE address2 IS NOT NULL"),
    ("idx_leads_city", "(city)"),
    ("idx_leads_zip", "(zip)"),
    ("idx_leads_aux1", "(aux_data1) WHERE aux_data1 IS NOT NULL"),
    ("idx_leads_aux2", "(aux_data2) WHERE aux_data2 IS NOT NULL"),
    ("idx_leads_aux3", "(aux_data3) WHERE aux_data3 IS NOT NULL"),
    ("idx_leads_aux4", "(aux_data4) WHERE aux_data4 IS NOT NULL"),
    ("idx_leads_aux5", "(aux_data5) WHERE aux_data5 IS NOT NULL"),
    ("idx_leads_caller_id", "(caller_id) WHERE caller_id IS NOT NULL"),
    ("idx_leads_agent", "(agent_id) WHERE agent_id IS NOT NULL"),
    ("idx_leads_pending_agent", "(pending_agent_id) WHERE pending_agent_id IS NOT NULL"),
    ("idx_leads_original", "(original_lead_id) WHERE original_lead_id IS NOT NULL"),
)

# Above this many campaigns a page query falls back to one IN-list query (and a sort).
_MERGE_MAX_CAMPAIGNS = 32

# The search result columns; _wire_row below indexes into them positionally.
_SEARCH_SELECT = (
    "SELECT lead_id, extern_id, campaign_id, list_id, lead_phone, lead_state, lead_timezone,"
    " lead_passes, max_passes, next_dial_time, last_pass_dts, last_pass_disposition,"
    " agent_disposition, suppressed, loaded_dts, first_name, mid_name, last_name, address1,"
    " address2, city, state, zip, email, aux_data1, aux_data2, aux_data3, aux_data4,"
    " aux_data5, caller_id, pending_agent_id, original_lead_id FROM leads"
)


def _locked(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return fn(*args, **kwargs)

    return wrapper


class _Meta:
    """Small lookup tables kept in memory so a page of leads needs no joins."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        # campaign_id -> (name, dial_group_id, account_id)
        self.campaigns: dict[int, tuple[str, int, str]] = {
            cid: (name, dg, acc)
            for cid, name, dg, acc in conn.execute(
                "SELECT campaign_id, campaign_name, dial_group_id, account_id FROM campaigns"
            )
        }
        self.list_desc: dict[int, str | None] = dict(
            conn.execute("SELECT list_id, list_desc FROM lists")
        )
        self.account_campaigns: dict[str, frozenset[int]] = {}
        by_account: dict[str, set[int]] = {}
        for cid, (_, _, acc) in self.campaigns.items():
            by_account.setdefault(acc, set()).add(cid)
        self.account_campaigns = {acc: frozenset(ids) for acc, ids in by_account.items()}


class _LoadRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    description: str | None = None
    list_state: Literal[
        "ACTIVE",
        "PAUSED",
        "PENDING_DNC",
        "LOADING",
        "DELETED",
        "READY",
        "CALLBACKS",
        "CALLBACKS_AGENT",
        "DUPLICATES_NOT_MERGED",
        "DUPLICATES_NOT_MOVED",
        "ARCHIVED",
    ] = "ACTIVE"
    dial_priority: Literal["IMMEDIATE", "NORMAL"] = "NORMAL"
    duplicate_handling: Literal["RETAIN_ALL", "REMOVE_ALL_EXISTING", "REMOVE_FROM_LIST"] = (
        "RETAIN_ALL"
    )
    time_zone_option: Literal["NPA_NXX", "ZIPCODE", "EXPLICIT", "COUNTRY", "NOT_APPLICABLE"] = (
        "NOT_APPLICABLE"
    )
    upload_leads: list[Any] = Field(default_factory=list)


class _LeadUpdate(BaseModel):
    """The updatable part of a CampaignLead body (single-lead PATCH/PUT)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )

    extern_id: str | None = None
    lead_phone: str | None = None
    lead_state: str | None = None
    lead_timezone: str | None = None
    lead_passes: int | None = Field(None, ge=0)
    max_passes: int | None = Field(None, ge=0)
    next_dial_time: int | None = None
    suppressed: bool | None = None
    first_name: str | None = None
    mid_name: str | None = None
    last_name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    email: str | None = None
    aux_data1: str | None = None
    aux_data2: str | None = None
    aux_data3: str | None = None
    aux_data4: str | None = None
    aux_data5: str | None = None
    caller_id: str | None = None

    @field_validator("lead_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        phone = normalize_phone(value)
        if len(phone) < 10:
            raise ValueError(f"{value!r} is not a phone number of at least 10 digits")
        return phone

    @field_validator("lead_state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        return None if value is None else normalize_lead_state(value)

    @field_validator("lead_timezone", "state")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @field_validator("next_dial_time", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_wire_date(value, "nextDialTime")


# Wire name in an uploaded CampaignLead -> lead column (string-valued fields).
_LOAD_STRING_FIELDS: tuple[tuple[str, str], ...] = (
    ("firstName", "first_name"),
    ("midName", "mid_name"),
    ("lastName", "last_name"),
    ("address1", "address1"),
    ("address2", "address2"),
    ("city", "city"),
    ("zip", "zip"),
    ("email", "email"),
    ("auxData1", "aux_data1"),
    ("auxData2", "aux_data2"),
    ("auxData3", "aux_data3"),
    ("auxData4", "aux_data4"),
    ("auxData5", "aux_data5"),
    ("callerId", "caller_id"),
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class SandboxStore:
    """The sandbox's data: accounts, dial groups, campaigns, lists and leads."""

    def __init__(self, path: str = ":memory:", clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._tx_depth = 0
        self._meta_cache: _Meta | None = None
        # Where each page of a recent search ended: (where, params) -> {offset: last lead_id}.
        # Valid until the next committed write; lets sequential paging seek by lead_id instead
        # of walking OFFSET rows of the index (a deep page of a 1M-lead campaign).
        self._page_marks: dict[tuple[str, tuple[Any, ...]], dict[int, int]] = {}
        if path != ":memory:" and not path.startswith("file::memory:"):
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA temp_store=MEMORY")
        self._conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: index builds stay in RAM
        self._conn.executescript(_SCHEMA)
        self._create_lead_indexes()
        self._reset_counters()

    # ------------------------------------------------------------------ plumbing

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested use joins the outer one. Any error rolls back."""
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield self._conn
            finally:
                self._tx_depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._tx_depth = 1
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            self._meta_cache = None
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._tx_depth = 0
            self._page_marks.clear()

    def _meta(self) -> _Meta:
        if self._meta_cache is None:
            self._meta_cache = _Meta(self._conn)
        return self._meta_cache

    def _invalidate_meta(self) -> None:
        self._meta_cache = None

    def _reset_counters(self) -> None:
        self._writes = 0
        self._actions_by_type: dict[str, int] = {}
        self._leads_written = 0
        self._dialer_refreshes: dict[int, int] = {}
        self._loads = 0
        self._leads_loaded = 0
        self._outbox: list[dict[str, Any]] = []

    def _create_lead_indexes(self) -> None:
        for name, spec in _LEAD_INDEXES:
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON leads {spec}")

    def _drop_lead_indexes(self) -> None:
        for name, _ in _LEAD_INDEXES:
            self._conn.execute(f"DROP INDEX IF EXISTS {name}")

    @_locked
    def reset(self) -> None:
        """Drop every row and counter (the schema stays)."""
        with self._tx() as conn:
            for table in (
                "leads",
                "lists",
                "campaign_dispositions",
                "campaigns",
                "dial_groups",
                "accounts",
            ):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
        self._invalidate_meta()
        self._reset_counters()

    @_locked
    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------------ builders

    @_locked
    def add_account(self, account_id: str, name: str, main_account_id: str) -> str:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO accounts (account_id, account_name, main_account_id) VALUES (?,?,?)",
                (str(account_id), name, str(main_account_id)),
            )
        return str(account_id)

    @_locked
    def add_dial_group(
        self,
        account_id: str,
        name: str,
        desc: str | None = None,
        dial_mode: str = "PREDICTIVE",
        is_active: bool = True,
        dial_group_id: int | None = None,
    ) -> int:
        self.require_account(account_id)
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO dial_groups (dial_group_id, account_id, dial_group_name,"
                " dial_group_desc, dial_mode, is_active) VALUES (?,?,?,?,?,?)",
                (dial_group_id, str(account_id), name, desc, dial_mode, int(is_active)),
            )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    @_locked
    def add_campaign(
        self,
        dial_group_id: int,
        name: str,
        desc: str | None = None,
        is_active: bool = True,
        campaign_id: int | None = None,
        dispositions: Sequence[str] = DEFAULT_DISPOSITIONS,
        max_passes: int = 3,
        caller_id: str | None = None,
    ) -> int:
        row = self._conn.execute(
            "SELECT account_id FROM dial_groups WHERE dial_group_id = ?", (dial_group_id,)
        ).fetchone()
        if row is None:
            raise NotFound("DIAL_GROUP_NOT_FOUND", f"Dial group {dial_group_id} not found")
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO campaigns (campaign_id, account_id, dial_group_id, campaign_name,"
                " campaign_desc, is_active, max_passes, caller_id) VALUES (?,?,?,?,?,?,?,?)",
                (
                    campaign_id,
                    row[0],
                    dial_group_id,
                    name,
                    desc,
                    int(is_active),
                    max_passes,
                    caller_id,
                ),
            )
            new_id = int(cur.lastrowid)  # type: ignore[arg-type]
            conn.executemany(
                "INSERT INTO campaign_dispositions (campaign_id, position, disposition)"
                " VALUES (?,?,?)",
                [(new_id, i, d) for i, d in enumerate(dispositions)],
            )
        self._invalidate_meta()
        return new_id

    @_locked
    def add_list(
        self,
        campaign_id: int,
        desc: str | None,
        list_state: str = "ACTIVE",
        list_priority: int = 1,
        leads_supplied: int = 0,
        leads_accepted: int = 0,
        upload_date: int | None = None,
        list_id: int | None = None,
    ) -> int:
        if self._campaign(campaign_id) is None:
            raise NotFound("CAMPAIGN_NOT_FOUND", f"Campaign {campaign_id} not found")
        with self._tx():
            new_id = self._insert_list(
                campaign_id,
                desc,
                list_state,
                list_priority,
                leads_supplied,
                leads_accepted,
                self.now_ms() if upload_date is None else upload_date,
                list_id,
            )
        return new_id

    def _insert_list(
        self,
        campaign_id: int,
        desc: str | None,
        list_state: str,
        list_priority: int,
        leads_supplied: int,
        leads_accepted: int,
        upload_date: int | None,
        list_id: int | None = None,
    ) -> int:
        cur = self._conn.execute(
            "INSERT INTO lists (list_id, campaign_id, list_desc, list_state, list_priority,"
            " leads_supplied, leads_accepted, upload_date) VALUES (?,?,?,?,?,?,?,?)",
            (
                list_id,
                campaign_id,
                desc,
                list_state,
                list_priority,
                leads_supplied,
                leads_accepted,
                upload_date,
            ),
        )
        self._invalidate_meta()
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def _lead_defaults(self, campaign_id: int) -> dict[str, Any]:
        camp = self._conn.execute(
            "SELECT account_id, max_passes FROM campaigns WHERE campaign_id = ?", (campaign_id,)
        ).fetchone()
        if camp is None:
            raise NotFound("CAMPAIGN_NOT_FOUND", f"Campaign {campaign_id} not found")
        now = self.now_ms()
        return {
            "account_id": camp[0],
            "campaign_id": campaign_id,
            "lead_state": "READY",
            "lead_passes": 0,
            "max_passes": camp[1],
            "next_dial_time": now,
            "suppressed": 0,
            "loaded_dts": now,
        }

    @_locked
    def insert_leads(self, rows: Iterable[dict[str, Any]]) -> list[int]:
        """Insert leads keyed by column name; unset columns get a fresh READY lead's defaults.

        ``campaign_id`` is required; ``account_id`` comes from the campaign; phones are
        normalised like every other phone in the store; lead states accept either spelling.
        """
        ids: list[int] = []
        defaults_by_campaign: dict[int, dict[str, Any]] = {}
        with self._tx() as conn:
            for row in rows:
                unknown = set(row) - set(LEAD_COLUMNS)
                if unknown:
                    raise BadRequest("INVALID_LEAD", f"unknown lead columns: {sorted(unknown)}")
                cid = row["campaign_id"]
                if cid not in defaults_by_campaign:
                    defaults_by_campaign[cid] = self._lead_defaults(cid)
                values = {**defaults_by_campaign[cid], **row}
                if values.get("lead_phone") is not None:
                    values["lead_phone"] = normalize_phone(values["lead_phone"])
                try:
                    values["lead_state"] = normalize_lead_state(values["lead_state"])
                except ValueError as exc:
                    raise BadRequest("INVALID_LEAD", str(exc)) from None
                values["suppressed"] = int(bool(values["suppressed"]))
                cols = [c for c in LEAD_COLUMNS if c in values]
                cur = conn.execute(
                    f"INSERT INTO leads ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                    [values[c] for c in cols],
                )
                ids.append(int(cur.lastrowid))  # type: ignore[arg-type]
        return ids

    @_locked
    def bulk_insert_leads(
        self,
        rows: Iterable[Sequence[Any]],
        columns: Sequence[str] = LEAD_COLUMNS,
        batch_size: int = 50_000,
    ) -> int:
        """Fast path for the seed: raw tuples in ``columns`` order, no defaults, no checks.

        Indexes are dropped first and rebuilt afterwards (building an index once over sorted
        data is far cheaper than maintaining ~30 of them row by row), then ``ANALYZE`` gives
        the planner real selectivities.
        """
        sql = f"INSERT INTO leads ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"
        total = 0
        # Millions of short-lived tuples would otherwise trigger full GC passes for nothing.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        self._drop_lead_indexes()
        try:
            with self._tx() as conn:
                for chunk in _chunks(rows, batch_size):
                    conn.executemany(sql, chunk)
                    total += len(chunk)
        finally:
            if gc_was_enabled:
                gc.enable()
            with self._tx():
                self._create_lead_indexes()
            self._conn.execute("PRAGMA analysis_limit=1000")
            self._conn.execute("ANALYZE")
        return total

    @_locked
    def get_lead(self, lead_id: int) -> dict[str, Any] | None:
        row = self._conn.execute(_SEARCH_SELECT + " WHERE lead_id = ?", (lead_id,)).fetchone()
        return None if row is None else self._wire_rows([row])[0]

    # ------------------------------------------------------------------ discovery

    def _campaign(self, campaign_id: int) -> tuple[str, int, str] | None:
        """(name, dial_group_id, account_id) of a campaign, or None."""
        return self._meta().campaigns.get(campaign_id)

    @_locked
    def require_account(self, account_id: str) -> None:
        row = self._conn.execute(
            "SELECT 1 FROM accounts WHERE account_id = ?", (str(account_id),)
        ).fetchone()
        if row is None:
            raise NotFound("ACCOUNT_NOT_FOUND", f"Account {account_id} not found")

    def _require_dial_group(self, account_id: str, dial_group_id: int) -> None:
        self.require_account(account_id)
        row = self._conn.execute(
            "SELECT 1 FROM dial_groups WHERE dial_group_id = ? AND account_id = ?",
            (dial_group_id, str(account_id)),
        ).fetchone()
        if row is None:
            raise NotFound(
                "DIAL_GROUP_NOT_FOUND",
                f"Dial group {dial_group_id} not found in account {account_id}",
            )

    def _require_campaign_in_group(
        self, account_id: str, dial_group_id: int, campaign_id: int
    ) -> None:
        self._require_dial_group(account_id, dial_group_id)
        info = self._campaign(campaign_id)
        if info is None or info[1] != dial_group_id:
            raise NotFound(
                "CAMPAIGN_NOT_FOUND",
                f"Campaign {campaign_id} not found in dial group {dial_group_id}",
            )

    @_locked
    def accounts(self) -> list[dict[str, Any]]:
        return [
            {"accountId": a, "accountName": n, "mainAccountId": m}
            for a, n, m in self._conn.execute(
                "SELECT account_id, account_name, main_account_id FROM accounts ORDER BY account_id"
            )
        ]

    def _dial_group_rows(self, account_id: str) -> list[dict[str, Any]]:
        self.require_account(account_id)
        return [
            {
                "dialGroupId": dg,
                "dialGroupName": name,
                "dialGroupDesc": desc,
                "dialMode": mode,
                "isActive": bool(active),
            }
            for dg, name, desc, mode, active in self._conn.execute(
                "SELECT dial_group_id, dial_group_name, dial_group_desc, dial_mode, is_active"
                " FROM dial_groups WHERE account_id = ? ORDER BY dial_group_id",
                (str(account_id),),
            )
        ]

    @_locked
    def dial_groups(self, account_id: str) -> list[dict[str, Any]]:
        return self._dial_group_rows(account_id)

    @_locked
    def dial_groups_with_children(self, account_id: str) -> list[dict[str, Any]]:
        groups = self._dial_group_rows(account_id)
        children: dict[int, list[dict[str, Any]]] = {g["dialGroupId"]: [] for g in groups}
        for cid, name, dg, active in self._conn.execute(
            "SELECT campaign_id, campaign_name, dial_group_id, is_active FROM campaigns"
            " WHERE account_id = ? ORDER BY campaign_id",
            (str(account_id),),
        ):
            children[dg].append({"campaignId": cid, "campaignName": name, "isActive": active})
        for group in groups:
            group["campaigns"] = children[group["dialGroupId"]]
        return groups

    @_locked
    def campaigns(self, account_id: str, dial_group_id: int) -> list[dict[str, Any]]:
        self._require_dial_group(account_id, dial_group_id)
        return [
            {
                "campaignId": cid,
                "campaignName": name,
                "campaignDesc": desc,
                "isActive": active,
                "dialGroup": {"dialGroupId": dg, "dialGroupName": dg_name},
            }
            for cid, name, desc, active, dg, dg_name in self._conn.execute(
                "SELECT c.campaign_id, c.campaign_name, c.campaign_desc, c.is_active,"
                " d.dial_group_id, d.dial_group_name FROM campaigns c"
                " JOIN dial_groups d ON d.dial_group_id = c.dial_group_id"
                " WHERE c.dial_group_id = ? ORDER BY c.campaign_id",
                (dial_group_id,),
            )
        ]

    @_locked
    def lists(self, account_id: str, dial_group_id: int, campaign_id: int) -> list[dict[str, Any]]:
        self._require_campaign_in_group(account_id, dial_group_id, campaign_id)
        return [
            {
                "listId": lid,
                "listDesc": desc,
                "listState": state,
                "listPriority": priority,
                "leadsSupplied": supplied,
                "leadsAccepted": accepted,
                "uploadDate": format_wire_date(uploaded),
            }
            for lid, desc, state, priority, supplied, accepted, uploaded in self._conn.execute(
                "SELECT list_id, list_desc, list_state, list_priority, leads_supplied,"
                " leads_accepted, upload_date FROM lists WHERE campaign_id = ? ORDER BY list_id",
                (campaign_id,),
            )
        ]

    @_locked
    def campaign_dispositions(
        self, account_id: str, dial_group_id: int, campaign_id: int
    ) -> list[str]:
        self._require_campaign_in_group(account_id, dial_group_id, campaign_id)
        return [
            d
            for (d,) in self._conn.execute(
                "SELECT disposition FROM campaign_dispositions WHERE campaign_id = ?"
                " ORDER BY position",
                (campaign_id,),
            )
        ]

    def lead_states(self) -> list[str]:
        return list(LEAD_STATES)

    def system_dispositions(self) -> list[str]:
        return list(SYSTEM_DISPOSITIONS)

    # ------------------------------------------------------------------ search

    def _compile(self, account_id: str, criteria: Any) -> CompiledCriteria:
        parsed = parse_criteria(criteria)
        campaigns = self._meta().account_campaigns.get(str(account_id), frozenset())
        return compile_criteria(parsed, str(account_id), campaigns)

    def _wire_rows(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        meta = self._meta()
        campaigns = meta.campaigns
        list_desc = meta.list_desc
        fmt = format_wire_date
        out = []
        for r in rows:
            camp = campaigns.get(r[2])
            out.append(
                {
                    "leadId": r[0],
                    "externId": r[1],
                    "campaignId": r[2],
                    "campaignName": camp[0] if camp else None,
                    "dialGroupId": camp[1] if camp else None,
                    "listId": r[3],
                    "listDesc": list_desc.get(r[3]),
                    "leadPhone": r[4],
                    "leadState": r[5],
                    "leadTimezone": r[6],
                    "leadPasses": r[7],
                    "maxPasses": r[8],
                    "nextDialTime": None if r[9] is None else fmt(r[9]),
                    "lastPassDts": None if r[10] is None else fmt(r[10]),
                    "lastPassDisposition": r[11],
                    "agentDispostion": r[12],  # sic: the spec's spelling
                    "suppressed": bool(r[13]),
                    "loadedDts": None if r[14] is None else fmt(r[14]),
                    "firstName": r[15],
                    "midName": r[16],
                    "lastName": r[17],
                    "address1": r[18],
                    "address2": r[19],
                    "city": r[20],
                    "state": r[21],
                    "zip": r[22],
                    "email": r[23],
                    "auxData1": r[24],
                    "auxData2": r[25],
                    "auxData3": r[26],
                    "auxData4": r[27],
                    "auxData5": r[28],
                    "callerId": r[29],
                    "pendingAgentId": r[30],
                    "originalLeadId": r[31],
                }
            )
        return out

    def _select_wire(
        self, compiled: CompiledCriteria, limit: int = -1, offset: int = 0
    ) -> list[dict[str, Any]]:
        if compiled.matches_nothing:
            return []
        rows = self._conn.execute(
            f"{_SEARCH_SELECT} WHERE {compiled.where} ORDER BY lead_id LIMIT ? OFFSET ?",
            (*compiled.params, limit, offset),
        ).fetchall()
        return self._wire_rows(rows)

    @_locked
    def search(
        self, account_id: str, criteria: dict[str, Any] | None, offset: int, limit: int
    ) -> list[dict[str, Any]]:
        """One page of matching leads, ordered by leadId (stable paging).

        Semantically ``ORDER BY leadId LIMIT limit OFFSET offset``. When the previous page of
        the same criteria ended exactly at ``offset`` and nothing was written since, the page
        is fetched by seeking past that page's last leadId, which yields the same rows.
        """
        self.require_account(account_id)
        compiled = self._compile(account_id, criteria)
        offset = max(0, offset)
        if limit <= 0 or compiled.matches_nothing:
            return []
        key = (compiled.where, compiled.params)
        marks = self._page_marks.get(key)
        after = marks.get(offset) if marks and offset else None
        sql, params = self._page_query(compiled, limit, offset, after)
        rows = self._conn.execute(sql, params).fetchall()
        if rows:
            if marks is None:
                if len(self._page_marks) >= 64:
                    self._page_marks.clear()
                marks = self._page_marks.setdefault(key, {})
            if len(marks) < 100_000:
                marks[offset + len(rows)] = rows[-1][0]
        return self._wire_rows(rows)

    @staticmethod
    def _page_query(
        compiled: CompiledCriteria, limit: int, offset: int, after: int | None
    ) -> tuple[str, tuple[Any, ...]]:
        """SQL for one page; ``after`` (a previous page's last leadId) replaces the OFFSET."""
        if after is None:
            seek, seek_params = "", ()
            window, window_params = "LIMIT ? OFFSET ?", (limit, offset)
        else:
            seek, seek_params = " AND leads.lead_id > ?", (after,)
            window, window_params = "LIMIT ?", (limit,)
        campaigns = compiled.campaign_ids or ()
        if 1 < len(campaigns) <= _MERGE_MAX_CAMPAIGNS:
            # campaign_id IN (a, b) cannot walk one index in leadId order, so SQLite would sort
            # every matching lead for each page. One ordered branch per campaign, merged by
            # UNION ALL ... ORDER BY, only walks as far as the page needs.
            branch = f"SELECT lead_id FROM leads WHERE leads.campaign_id = ? AND {compiled.rest}"
            branches = " UNION ALL ".join([branch + seek] * len(campaigns))
            params: tuple[Any, ...] = ()
            for cid in campaigns:
                params += (cid, *compiled.rest_params, *seek_params)
            sql = (
                f"{_SEARCH_SELECT} WHERE lead_id IN ({branches} ORDER BY 1 {window})"
                " ORDER BY lead_id"
            )
            return sql, (*params, *window_params)
        sql = f"{_SEARCH_SELECT} WHERE {compiled.where}{seek} ORDER BY lead_id {window}"
        return sql, (*compiled.params, *seek_params, *window_params)

    @_locked
    def count(self, account_id: str, criteria: dict[str, Any] | None) -> int:
        self.require_account(account_id)
        compiled = self._compile(account_id, criteria)
        if compiled.matches_nothing:
            return 0
        return self._conn.execute(
            f"SELECT count(*) FROM leads WHERE {compiled.where}", compiled.params
        ).fetchone()[0]

    # ------------------------------------------------------------------ actions

    @_locked
    def apply_action(
        self,
        account_id: str,
        action: str,
        criteria: dict[str, Any] | None,
        param_map: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Run one lead action in one transaction and return its ``LeadActionResult``."""
        self.require_account(account_id)
        request = _actions.prepare(action, param_map)  # 400s happen before any write
        compiled = self._compile(account_id, criteria)
        now = self.now_ms()
        with self._tx() as conn:
            ctx = _actions.ActionContext(
                conn=conn,
                host=self,
                account_id=str(account_id),
                now_ms=now,
                where=compiled.where,
                params=compiled.params,
                matches_nothing=compiled.matches_nothing,
                criteria=criteria or {},
                campaign_ids=compiled.campaign_ids,
            )
            outcome = _actions.execute(ctx, request)
        self._writes += 1
        self._actions_by_type[action] = self._actions_by_type.get(action, 0) + 1
        self._leads_written += outcome.rows_written
        for cid in outcome.refreshed_campaigns:
            self._dialer_refreshes[cid] = self._dialer_refreshes.get(cid, 0) + 1
        if outcome.email is not None:
            self._outbox.append(outcome.email)
        return outcome.result

    # Hooks actions.py calls back into (inside the action's transaction).

    @_locked
    def campaign_info(self, campaign_id: int) -> tuple[str, int, str] | None:
        return self._campaign(campaign_id)

    @_locked
    def list_info(self, list_id: int) -> tuple[int, str] | None:
        """(campaign_id, list_state) of a list, or None."""
        row = self._conn.execute(
            "SELECT campaign_id, list_state FROM lists WHERE list_id = ?", (list_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    @_locked
    def create_list(self, campaign_id: int, desc: str, now_ms: int) -> int:
        with self._tx():  # joins the action's transaction
            return self._insert_list(campaign_id, desc, "ACTIVE", 1, 0, 0, now_ms)

    @_locked
    def wire_rows(self, where: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        return self._select_wire(CompiledCriteria(where, tuple(params)))

    # ------------------------------------------------------------------ direct load

    @_locked
    def load_leads(self, account_id: str, campaign_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Direct lead load (contract section 6); a load nobody passes is a normal failure body."""
        self.require_account(account_id)
        camp = self._campaign(campaign_id)
        if camp is None or camp[2] != str(account_id):
            raise NotFound(
                "CAMPAIGN_NOT_FOUND", f"Campaign {campaign_id} not found in account {account_id}"
            )
        if not isinstance(body, dict):
            raise BadRequest("INVALID_REQUEST", "The lead load body must be a JSON object")
        try:
            req = _LoadRequest.model_validate(body)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise BadRequest("INVALID_REQUEST", f"Invalid lead load request: {detail}") from None

        now = self.now_ms()
        defaults = self._lead_defaults(campaign_id)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        failed_agents = 0
        for raw in req.upload_leads:
            lead, problem, bad_agent = self._validate_upload(raw, defaults, req, now)
            if lead is None:
                row_data = (
                    [("" if v is None else str(v)) for v in raw.values()]
                    if isinstance(raw, dict)
                    else [str(raw)]
                )
                rejected.append({"message": problem, "rowData": row_data})
            else:
                accepted.append(lead)
                failed_agents += bad_agent

        supplied = len(req.upload_leads)
        result: dict[str, Any] = {
            "leadsSupplied": supplied,
            "leadsAccepted": len(accepted),
            "leadsInserted": 0,
            "leadsConverted": 0,
            "dncReturnedCount": 0,
            "deletedCount": 0,
            "hasDeletedLeads": False,
            "failedAgentAssignment": failed_agents,
            "listState": None,
            "timeZoneOption": req.time_zone_option,
            "processingStatus": "NO_LEADS_PASSED_VALIDATION",
            "processingResult": "FAILED",
            "message": f"No leads passed validation ({len(rejected)} of {supplied} rejected)",
            "rejectedRows": rejected,
        }
        if not accepted:
            self._writes += 1
            self._loads += 1
            return result

        with self._tx() as conn:
            phones = sorted({lead["lead_phone"] for lead in accepted})
            deleted = 0
            if req.duplicate_handling == "REMOVE_ALL_EXISTING":
                deleted = conn.execute(
                    "DELETE FROM leads WHERE campaign_id = ? AND lead_phone IN"
                    " (SELECT value FROM json_each(?))",
                    (campaign_id, _json_list(phones)),
                ).rowcount
            elif req.duplicate_handling == "REMOVE_FROM_LIST":
                seen = {
                    p
                    for (p,) in conn.execute(
                        "SELECT DISTINCT lead_phone FROM leads WHERE campaign_id = ? AND"
                        " lead_phone IN (SELECT value FROM json_each(?))",
                        (campaign_id, _json_list(phones)),
                    )
                }
                kept = []
                for lead in accepted:
                    if lead["lead_phone"] not in seen:
                        seen.add(lead["lead_phone"])
                        kept.append(lead)
                accepted = kept
            list_id = self._insert_list(
                campaign_id,
                req.description,
                req.list_state,
                10 if req.dial_priority == "IMMEDIATE" else 1,
                supplied,
                result["leadsAccepted"],
                now,
            )
            cols = LEAD_COLUMNS[1:]  # lead_id comes from AUTOINCREMENT
            conn.executemany(
                f"INSERT INTO leads ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                [tuple({**lead, "list_id": list_id}.get(c) for c in cols) for lead in accepted],
            )
        self._writes += 1
        self._loads += 1
        self._leads_written += len(accepted) + deleted
        self._leads_loaded += len(accepted)
        result.update(
            leadsInserted=len(accepted),
            deletedCount=deleted,
            hasDeletedLeads=deleted > 0,
            listState=req.list_state,
            processingStatus="DEFAULT_NOT_A_FAILURE",
            processingResult="OK",
            message=f"{len(accepted)} of {supplied} leads inserted",
        )
        return result

    @staticmethod
    def _validate_upload(
        raw: Any, defaults: dict[str, Any], req: _LoadRequest, now: int
    ) -> tuple[dict[str, Any] | None, str, int]:
        """(lead columns, "", bad agent 0/1) for a valid upload row, else (None, reason, 0)."""
        if not isinstance(raw, dict):
            return None, "Lead is not a JSON object", 0
        extern_id = _text(raw.get("externId"))
        if extern_id is None:
            return None, "Missing required field externId", 0
        phone_raw = _text(raw.get("leadPhone")) or _text(raw.get("leadPhoneE164"))
        if phone_raw is None:
            return None, "Missing required field leadPhone", 0
        phone = normalize_phone(phone_raw)
        if len(phone) < 10:
            return None, f"Invalid leadPhone {phone_raw!r}: at least 10 digits required", 0
        lead: dict[str, Any] = {
            **defaults,
            "extern_id": extern_id,
            "lead_phone": phone,
            "next_dial_time": now,
            "loaded_dts": now,
        }
        for wire, column in _LOAD_STRING_FIELDS:
            lead[column] = _text(raw.get(wire))
        state = _text(raw.get("state"))
        lead["state"] = state.upper() if state else None
        max_passes = raw.get("maxPasses")
        if max_passes not in (None, ""):
            try:
                lead["max_passes"] = int(max_passes)
            except (TypeError, ValueError):
                return None, f"Invalid maxPasses {max_passes!r}", 0
        lead["suppressed"] = 1 if raw.get("suppressed") in (True, "true", "TRUE", 1) else 0
        zone = _text(raw.get("leadTimezone"))
        if zone is None and req.time_zone_option != "EXPLICIT" and lead["state"]:
            zone = STATE_TIMEZONES.get(lead["state"])
        lead["lead_timezone"] = zone.upper() if zone else None
        bad_agent = 0
        agent = _text(raw.get("reserveAgent"))
        if agent is not None:
            if agent.isdigit() and int(agent) > 0:
                lead["pending_agent_id"] = int(agent)
            else:
                bad_agent = 1
        return lead, "", bad_agent

    # ------------------------------------------------------------------ single-lead update

    @_locked
    def update_lead(
        self,
        account_id: str,
        lead_id: int,
        fields: dict[str, Any],
        campaign_id: int | None = None,
    ) -> dict[str, Any]:
        """PATCH/PUT ``campaignLeads/{leadId}``: update only the fields passed; wire row back.

        Decisions: ``null`` means "not passed" (partial update), read-only fields (``leadId``,
        ``campaignId``, ...) are ignored, a given ``campaign_id`` must be the lead's campaign
        (else 404, like an unknown lead). Counts as one write.
        """
        self.require_account(account_id)
        if not isinstance(fields, dict):
            raise BadRequest("INVALID_REQUEST", "The lead body must be a JSON object")
        try:
            update = _LeadUpdate.model_validate(fields)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise BadRequest("INVALID_REQUEST", f"Invalid lead: {detail}") from None
        row = self._conn.execute(
            "SELECT campaign_id FROM leads WHERE lead_id = ? AND account_id = ?",
            (lead_id, str(account_id)),
        ).fetchone()
        if row is None or (campaign_id is not None and row[0] != campaign_id):
            raise NotFound("LEAD_NOT_FOUND", f"Lead {lead_id} not found")
        values = update.model_dump(exclude_none=True)  # field names are the column names
        changed = 0
        with self._tx() as conn:
            if values:
                changed = conn.execute(
                    f"UPDATE leads SET {', '.join(f'{c} = ?' for c in values)} WHERE lead_id = ?",
                    (*values.values(), lead_id),
                ).rowcount
        self._writes += 1
        self._leads_written += changed
        lead = self.get_lead(lead_id)
        assert lead is not None
        return lead

    # ------------------------------------------------------------------ observability

    @_locked
    def stats(self) -> dict[str, Any]:
        """Counters for tests and the admin endpoint; dict keys are strings (JSON-ready)."""
        return {
            "writes": self._writes,
            "actionsByType": dict(self._actions_by_type),
            "leadsWritten": self._leads_written,
            "dialerRefreshes": {str(k): v for k, v in self._dialer_refreshes.items()},
            "loads": self._loads,
            "leadsLoaded": self._leads_loaded,
            "emailsSent": len(self._outbox),
            "leadCount": self._conn.execute("SELECT count(*) FROM leads").fetchone()[0],
        }

    @_locked
    def email_outbox(self) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self._outbox]


def _json_list(values: Iterable[Any]) -> str:
    return json.dumps(list(values))
