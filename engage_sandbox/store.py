"""``SandboxStore``: the sandbox's state in SQLite, and every read and write the app needs.

One ``sqlite3`` connection guarded by a re-entrant lock: every public method runs atomically
under the lock, writes in one explicit transaction (rolled back on any error, so a refused
request changes nothing). Times are stored as epoch milliseconds and leave the store
formatted as wire dates (``2026-07-01T07:00:00.000+0000``). Every public method returns
JSON-ready values in the wire shape (camelCase), so the app only has to serialise them.

Dialects (``dialect.py``): every public method that serves the HTTP API takes an optional
``dialect``. The app always passes the configured one; a call without it is the tests'
ground truth (:data:`~engage_sandbox.dialect.GROUND_TRUTH`): ``campaignId`` scopes, rows
carry every column (``pendingAgentId``, ``originalLeadId``), and the visibility delay never
hides anything. The delay is stored per lead (``visible_at``) and only searches and counts
made with a dialect filter on it; it is filtered only while some lead is still hidden, so
the common case pays nothing.

Direct lead load: see ``loader.py`` for its Decisions.

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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from . import actions as _actions
from . import loader as _loader
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
from .dialect import GROUND_TRUTH, Dialect
from .errors import INVALID_PARAM, INVALID_REQUEST, MISSING_PARAM, BadRequest, NotFound
from .loader import STATE_TIMEZONES
from .rows import SEARCH_SELECT, wire_rows

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

__all__ = ["LEAD_COLUMNS", "STATE_TIMEZONES", "SandboxStore"]

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
    original_lead_id      INTEGER,
    visible_at            INTEGER
);
CREATE TABLE IF NOT EXISTS agents (
    agent_id        INTEGER PRIMARY KEY,
    agent_name      TEXT NOT NULL
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
    ("idx_leads_visible_at", "(visible_at) WHERE visible_at IS NOT NULL"),
)

# Above this many campaigns a page query falls back to one IN-list query (and a sort).
_MERGE_MAX_CAMPAIGNS = 32


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
        self.agents: dict[int, str] = dict(conn.execute("SELECT agent_id, agent_name FROM agents"))


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
    def _state(cls, value: str | None, info: ValidationInfo) -> str | None:
        lenient = info.context.get("lenient", True) if isinstance(info.context, dict) else True
        return None if value is None else normalize_lead_state(value, lenient)

    @field_validator("lead_timezone", "state")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return None if value is None else value.upper()

    @field_validator("next_dial_time", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_wire_date(value, "nextDialTime")


#: What a full (PUT) update gives a field it does not pass, besides null: a new lead's value.
_PUT_DEFAULTS: tuple[str, ...] = (
    "lead_state",
    "lead_passes",
    "max_passes",
    "next_dial_time",
    "suppressed",
)


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
        self._migrate()
        self._create_lead_indexes()
        self._reset_counters()
        # Latest visible_at ever written (epoch ms): while the clock is before it, some lead
        # may still be hidden and dialect searches must filter; after it, none can be.
        self._hidden_until = self._conn.execute(
            "SELECT coalesce(max(visible_at), 0) FROM leads"
        ).fetchone()[0]

    # ------------------------------------------------------------------ plumbing

    def _migrate(self) -> None:
        # A database file made before a column existed: CREATE TABLE IF NOT EXISTS skips it.
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(leads)")}
        if "visible_at" not in columns:
            self._conn.execute("ALTER TABLE leads ADD COLUMN visible_at INTEGER")

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
                "agents",
                "accounts",
            ):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM sqlite_sequence")
        self._invalidate_meta()
        self._reset_counters()
        self._hidden_until = 0

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
    def add_agents(self, names: dict[int, str]) -> None:
        """Name agents (``pendingAgentName`` of the leads reserved for them); replaces names."""
        with self._tx() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO agents (agent_id, agent_name) VALUES (?,?)",
                list(names.items()),
            )
        self._invalidate_meta()

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
            raise NotFound(f"Dial group {dial_group_id} not found")
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
            raise NotFound(f"Campaign {campaign_id} not found")
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
            raise NotFound(f"Campaign {campaign_id} not found")
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
                    raise BadRequest(INVALID_PARAM, f"unknown lead columns: {sorted(unknown)}")
                cid = row["campaign_id"]
                if cid not in defaults_by_campaign:
                    defaults_by_campaign[cid] = self._lead_defaults(cid)
                values = {**defaults_by_campaign[cid], **row}
                if values.get("lead_phone") is not None:
                    values["lead_phone"] = normalize_phone(values["lead_phone"])
                try:
                    values["lead_state"] = normalize_lead_state(values["lead_state"])
                except ValueError as exc:
                    raise BadRequest(INVALID_PARAM, str(exc)) from None
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
        row = self._conn.execute(SEARCH_SELECT + " WHERE lead_id = ?", (lead_id,)).fetchone()
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
            raise NotFound(f"Account {account_id} not found")

    def _require_dial_group(self, account_id: str, dial_group_id: int) -> None:
        self.require_account(account_id)
        row = self._conn.execute(
            "SELECT 1 FROM dial_groups WHERE dial_group_id = ? AND account_id = ?",
            (dial_group_id, str(account_id)),
        ).fetchone()
        if row is None:
            raise NotFound(
                f"Dial group {dial_group_id} not found in account {account_id}",
            )

    def _require_campaign_in_group(
        self, account_id: str, dial_group_id: int, campaign_id: int
    ) -> None:
        self._require_dial_group(account_id, dial_group_id)
        info = self._campaign(campaign_id)
        if info is None or info[1] != dial_group_id:
            raise NotFound(
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

    def _compile(
        self, account_id: str, criteria: Any, dialect: Dialect, hide_invisible: bool = False
    ) -> CompiledCriteria:
        parsed = parse_criteria(criteria, lenient=dialect.lenient_inputs)
        campaigns = self._meta().account_campaigns.get(str(account_id), frozenset())
        now = self.now_ms()
        visible = now if hide_invisible and now < self._hidden_until else None
        return compile_criteria(
            parsed, str(account_id), campaigns, dialect.campaign_id_criterion, visible
        )

    def _wire_rows(
        self, rows: list[tuple[Any, ...]], dialect: Dialect = GROUND_TRUTH
    ) -> list[dict[str, Any]]:
        meta = self._meta()
        return wire_rows(
            rows, meta.campaigns, meta.list_desc, meta.agents, dialect.legacy_row_fields
        )

    def _select_wire(
        self, compiled: CompiledCriteria, dialect: Dialect, limit: int = -1, offset: int = 0
    ) -> list[dict[str, Any]]:
        if compiled.matches_nothing:
            return []
        rows = self._conn.execute(
            f"{SEARCH_SELECT} WHERE {compiled.where} ORDER BY lead_id LIMIT ? OFFSET ?",
            (*compiled.params, limit, offset),
        ).fetchall()
        return self._wire_rows(rows, dialect)

    @_locked
    def search(
        self,
        account_id: str,
        criteria: dict[str, Any] | None,
        offset: int,
        limit: int,
        dialect: Dialect | None = None,
    ) -> list[dict[str, Any]]:
        """One page of matching leads, ordered by leadId (stable paging).

        Semantically ``ORDER BY leadId LIMIT limit OFFSET offset``. When the previous page of
        the same criteria ended exactly at ``offset`` and nothing was written since, the page
        is fetched by seeking past that page's last leadId, which yields the same rows.
        With a ``dialect`` (the HTTP API): its criteria reading and row shape, and leads
        still hidden by its visibility delay are left out; without: the ground truth.
        """
        self.require_account(account_id)
        view = dialect if dialect is not None else GROUND_TRUTH
        compiled = self._compile(account_id, criteria, view, hide_invisible=dialect is not None)
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
        return self._wire_rows(rows, view)

    @staticmethod
    def _page_query(
        compiled: CompiledCriteria, limit: int, offset: int, after: int | None
    ) -> tuple[str, tuple[Any, ...]]:
        """SQL for one page; ``after`` (a previous page's last leadId) replaces the OFFSET."""
        seek_params: tuple[Any, ...]
        window_params: tuple[Any, ...]
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
                f"{SEARCH_SELECT} WHERE lead_id IN ({branches} ORDER BY 1 {window})"
                " ORDER BY lead_id"
            )
            return sql, (*params, *window_params)
        sql = f"{SEARCH_SELECT} WHERE {compiled.where}{seek} ORDER BY lead_id {window}"
        return sql, (*compiled.params, *seek_params, *window_params)

    @_locked
    def count(
        self, account_id: str, criteria: dict[str, Any] | None, dialect: Dialect | None = None
    ) -> int:
        """How many leads match (``count=true``); ``dialect`` as in :meth:`search`."""
        self.require_account(account_id)
        view = dialect if dialect is not None else GROUND_TRUTH
        compiled = self._compile(account_id, criteria, view, hide_invisible=dialect is not None)
        if compiled.matches_nothing:
            return 0
        row = self._conn.execute(
            f"SELECT count(*) FROM leads WHERE {compiled.where}", compiled.params
        ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ actions

    @_locked
    def apply_action(
        self,
        account_id: str,
        action: str,
        criteria: dict[str, Any] | None,
        param_map: dict[str, Any] | None,
        dialect: Dialect | None = None,
    ) -> dict[str, Any]:
        """Run one lead action in one transaction and return its ``LeadActionResult``.

        ``dialect`` decides how the criteria and the paramMap are read and which reading of
        the open questions applies; without one the spec's readings apply, with the ground
        truth's criteria (``campaignId`` scopes). Actions always see every lead: the
        visibility delay only hides leads from searches and counts.
        """
        self.require_account(account_id)
        view = dialect if dialect is not None else GROUND_TRUTH
        request = _actions.prepare(action, param_map, view)  # 400s happen before any write
        compiled = self._compile(account_id, criteria, view)
        now = self.now_ms()
        delay_ms = int(view.visibility_delay_seconds * 1000)
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
                dialect=view,
                visible_at=now + delay_ms if delay_ms > 0 else None,
            )
            outcome = _actions.execute(ctx, request)
        if ctx.visible_at is not None:
            self._hidden_until = max(self._hidden_until, ctx.visible_at)
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
    def wire_rows(
        self, where: str, params: Sequence[Any], dialect: Dialect
    ) -> list[dict[str, Any]]:
        return self._select_wire(CompiledCriteria(where, tuple(params)), dialect)

    # ------------------------------------------------------------------ direct load

    @_locked
    def load_leads(
        self,
        account_id: str,
        campaign_id: int,
        body: dict[str, Any],
        dialect: Dialect | None = None,
    ) -> dict[str, Any]:
        """Direct lead load (contract section 6, ``loader.py``): a failed load is a 200 body.

        ``dialect``: its visibility delay hides the new leads from searches for a while, and
        without lenient inputs a blank ``description`` fails the load (the list needs a name).
        """
        self.require_account(account_id)
        view = dialect if dialect is not None else GROUND_TRUTH
        camp = self._campaign(campaign_id)
        if camp is None or camp[2] != str(account_id):
            raise NotFound(f"Campaign {campaign_id} not found in account {account_id}")
        if not isinstance(body, dict):
            raise BadRequest(INVALID_REQUEST, "The lead load body must be a JSON object")
        try:
            req = _loader.LoadRequest.model_validate(body)
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise BadRequest(INVALID_PARAM, f"Invalid lead load request: {detail}") from None

        if not view.lenient_inputs and _loader.text(req.description) is None:
            self._writes += 1
            self._loads += 1
            return _loader.failed_result(req, "GENERAL_FAILURE", 0, [])

        now = self.now_ms()
        defaults = self._lead_defaults(campaign_id)
        accepted: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        failed_agents = 0
        for raw in req.upload_leads:
            lead, problem, bad_agent = _loader.validate_upload(raw, defaults, req, now)
            if lead is None:
                rejected.append(_loader.rejected_row(raw, problem))
            else:
                accepted.append(lead)
                failed_agents += bad_agent
        n_accepted = len(accepted)
        if not accepted:
            self._writes += 1
            self._loads += 1
            return _loader.failed_result(
                req, "NO_LEADS_PASSED_VALIDATION", 0, rejected, failed_agents
            )

        delay_ms = int(view.visibility_delay_seconds * 1000)
        visible_at = now + delay_ms if delay_ms > 0 else None
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
                len(req.upload_leads),
                n_accepted,
                now,
            )
            cols = (*LEAD_COLUMNS[1:], "visible_at")  # lead_id comes from AUTOINCREMENT
            extra = {"list_id": list_id, "visible_at": visible_at}
            conn.executemany(
                f"INSERT INTO leads ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                [tuple({**lead, **extra}.get(c) for c in cols) for lead in accepted],
            )
        if visible_at is not None:
            self._hidden_until = max(self._hidden_until, visible_at)
        self._writes += 1
        self._loads += 1
        self._leads_written += len(accepted) + deleted
        self._leads_loaded += len(accepted)
        return _loader.ok_result(req, n_accepted, len(accepted), deleted, rejected, failed_agents)

    # ------------------------------------------------------------------ single-lead update

    @_locked
    def update_lead(
        self,
        account_id: str,
        lead_id: int,
        fields: dict[str, Any],
        campaign_id: int | None = None,
        dialect: Dialect | None = None,
        method: Literal["PATCH", "PUT"] = "PATCH",
    ) -> dict[str, Any]:
        """PATCH/PUT ``campaignLeads/{leadId}``; returns the lead as a search row.

        Per the spec both take a required ``campaignId`` query parameter (it must be the
        lead's campaign, else 404 like an unknown lead); PATCH updates "only those fields
        passed in", PUT updates "entire lead including fields not passed in": every
        updatable field it does not pass gets a new lead's value (strings null, READY, 0
        passes, the campaign's maxPasses, next dial now, not suppressed), and ``externId``
        and ``leadPhone`` are required. With lenient inputs (and in the ground truth)
        ``campaignId`` is optional and PUT is a partial update like PATCH. ``null`` means
        "not passed"; read-only fields (``leadId``, dispositions, ...) are ignored. Counts
        as one write.
        """
        self.require_account(account_id)
        view = dialect if dialect is not None else GROUND_TRUTH
        if not isinstance(fields, dict):
            raise BadRequest(INVALID_REQUEST, "The lead body must be a JSON object")
        if campaign_id is None and not view.lenient_inputs:
            raise BadRequest(
                MISSING_PARAM,
                "Required request parameter 'campaignId' is not present",
                "campaignId (query parameter, integer)",
            )
        try:
            update = _LeadUpdate.model_validate(fields, context={"lenient": view.lenient_inputs})
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise BadRequest(INVALID_PARAM, f"Invalid lead: {detail}") from None
        row = self._conn.execute(
            "SELECT campaign_id FROM leads WHERE lead_id = ? AND account_id = ?",
            (lead_id, str(account_id)),
        ).fetchone()
        if row is None or (campaign_id is not None and row[0] != campaign_id):
            raise NotFound(f"Lead {lead_id} not found")
        values = update.model_dump(exclude_none=True)  # field names are the column names
        if method == "PUT" and not view.lenient_inputs:
            missing = [
                w
                for w, c in (("externId", "extern_id"), ("leadPhone", "lead_phone"))
                if c not in values
            ]
            if missing:
                raise BadRequest(
                    MISSING_PARAM,
                    f"PUT replaces the whole lead: {' and '.join(missing)} required",
                    ", ".join(missing),
                )
            defaults = self._lead_defaults(row[0])
            values = {
                **{name: None for name in _LeadUpdate.model_fields},
                **{k: defaults[k] for k in _PUT_DEFAULTS},
                **values,
            }
            values["suppressed"] = int(bool(values["suppressed"]))
        changed = 0
        with self._tx() as conn:
            if values:
                changed = conn.execute(
                    f"UPDATE leads SET {', '.join(f'{c} = ?' for c in values)} WHERE lead_id = ?",
                    (*values.values(), lead_id),
                ).rowcount
        self._writes += 1
        self._leads_written += changed
        lead = self._select_wire(CompiledCriteria("leads.lead_id = ?", (lead_id,)), view)
        return lead[0]

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
