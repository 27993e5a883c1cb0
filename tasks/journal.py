"""The run journal: the only code that reads or writes a run's state.

Records of one run (names in its store, `tasks.store`):

    plan.json                     the plan, fixed before the first write
    baseline.json                 counts before the first write
    targets.parquet               the leads selected at plan time
    targets.fields.json           the fields the selection's rows carried
    destination.json              the list a move into a new list created
    chunks/00001.before.parquet   before-image read for the chunk, written before the write
    chunks/00001.before.ref.json  or: the before-image is the selection's rows at the
                                  chunk's place (start, count), written before the write
    chunks/00001.sent-1.json      intent marker, written before each send
    chunks/00001.outcome-1.json   outcome of each attempt (latest wins)
    report.json                   the final report
    <other names>                 an undo's plan, copies found, reload markers

Nothing but summaries (baseline, report, the selection before the plan) is ever
overwritten: a before-image written by an earlier (crashed) attempt is the true prior state
and is kept; later attempts add numbered records. An intent marker without an outcome means
a write may have happened: the next attempt checks the state first.

A chunk's numbered records are 1..k with no gap: each is created once at the next free
number and none is ever deleted. They are found by probing k + 1 names, so what a chunk
costs to look up does not grow with the run's other records.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engage_voice.models import LeadRow

from .errors import RunRefused
from .export import Pages, noting_fields, stream_to_parquet
from .frames import rows_to_frame
from .models import ChunkOutcome, Plan, RunReport
from .store import JournalStore, StoreLocked, check_name, open_store

PLAN, BASELINE, TARGETS, DESTINATION, REPORT = (
    "plan.json",
    "baseline.json",
    "targets.parquet",
    "destination.json",
    "report.json",
)
BEFORE, BEFORE_REF = "before.parquet", "before.ref.json"
ROW_FIELDS = "fields.json"  # per chunk: the fields the service's rows carried (contract 8)
TARGET_FIELDS = "targets.fields.json"


class RunKeyConflictError(RunRefused, ValueError):
    """The run key already names a run with a different action, filter or lead set."""


class RunInProgressError(RunRefused, RuntimeError):
    """Another live process is running this run key right now."""


# The plans this process holds, per journal, beside what identifies each one's record. A
# chunk task takes the flow's own Plan from here: a 1,000,000-lead plan is 17 MB of JSON and
# about 60 MB parsed, and the first eight chunk threads each parsing it added 230 MB of peak.
_PLANS: dict[tuple[str, str], tuple[object, Plan]] = {}
_PLANS_LOCK = threading.Lock()
_PLANS_KEPT = 4


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


# The selections of the runs this process is acting on, as chunk tasks read their row groups:
# the file (or, in a store without files, the bytes; a 1,000,000-lead selection is about
# 90 MB, so a file is read in parts) and its parsed footer. Keyed by store, run key and the
# plan's time: the selection is fixed once the plan exists, and a plan is written once.
_SELECTIONS: dict[tuple[str, str, str], tuple[str | bytes, pq.FileMetaData]] = {}
_SELECTIONS_LOCK = threading.Lock()
_SELECTIONS_KEPT = 2


def _readable(source: str | bytes) -> str | pa.BufferReader:
    # A path is opened afresh by each reader: chunk threads never share a file position.
    return source if isinstance(source, str) else pa.BufferReader(source)


def _chunk_start(plan: Plan, index: int) -> int:
    """Where chunk `index`'s rows start in the selection: the chunks are its rows in order."""
    return sum(len(chunk.lead_ids) for chunk in plan.chunks[:index])


def _ids_frame(lead_ids: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame({"leadId": pd.array(list(lead_ids), dtype="int64")})


class RunJournal:
    """The journal of `run_key` in the store at `root` (a directory, or a store's URL)."""

    def __init__(self, root: Path | str, run_key: str) -> None:
        check_name(run_key)
        self.root = os.fspath(root)
        self.run_key = run_key
        self.store: JournalStore = open_store(self.root)

    def __repr__(self) -> str:
        return f"RunJournal({self.location!r})"

    @property
    def location(self) -> str:
        """Where this run's records are, for people."""
        return f"{self.store.location}/{self.run_key}"

    def exists(self) -> bool:
        return self.store.exists(self.run_key)

    def _create(self, name: str, data: bytes) -> bool:
        return self.store.create(self.run_key, name, data)

    def _read(self, name: str) -> bytes | None:
        return self.store.read(self.run_key, name)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the run key for the whole run: two live runs of one key would both see a
        chunk unsent and both send it. The store's lock frees itself if its holder dies."""
        try:
            with self.store.lock(self.run_key):
                yield
        except StoreLocked:
            raise RunInProgressError(
                f"run key {self.run_key!r} is being run by another process right now; "
                "wait for it, or use another run key"
            ) from None

    # -- plan --------------------------------------------------------------------------

    def has_plan(self) -> bool:
        return self.store.has(self.run_key, PLAN)

    def read_plan(self) -> Plan:
        data = self._read(PLAN)
        if data is None:
            raise FileNotFoundError(f"{self.location}: no plan")
        return Plan.model_validate_json(data)

    def read_plan_cached(self) -> Plan:
        """The plan, parsed once per process and record (every chunk task reads it): one
        object, shared, never to be changed by its readers."""
        with _PLANS_LOCK:  # however many chunk threads ask at once, one of them parses
            token, data = self._plan_token()
            kept = _PLANS.get((self.store.location, self.run_key))
            if kept is not None and kept[0] == token:
                return kept[1]
            data = data if data is not None else self._read(PLAN)
            if data is None:
                raise FileNotFoundError(f"{self.location}: no plan")
            plan = Plan.model_validate_json(data)
            self._keep_plan(token, plan)
            return plan

    def _plan_token(self) -> tuple[object, bytes | None]:
        """What identifies the plan's record, and its bytes when they had to be read: a file
        is known by its identity (a plan is created once, never rewritten in place), a
        record of another store by its digest."""
        file = getattr(self.store, "file", None)
        path = file(self.run_key, PLAN) if file is not None else None
        if path is not None:
            found = path.stat()
            return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns), None
        data = self._read(PLAN)
        if data is None:
            raise FileNotFoundError(f"{self.location}: no plan")
        return hashlib.sha256(data).digest(), data

    def _keep_plan(self, token: object, plan: Plan) -> None:
        key = (self.store.location, self.run_key)
        _PLANS.pop(key, None)
        while len(_PLANS) >= _PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]
        _PLANS[key] = (token, plan)

    def write_plan(self, plan: Plan) -> None:
        """Journal the plan (once: a different plan under this run key is refused), and
        keep it as the one chunk tasks read."""
        if not self._create(PLAN, plan.model_dump_json(indent=2).encode()):
            existing = self.read_plan()
            if existing.fingerprint != plan.fingerprint:
                raise RunKeyConflictError(
                    f"run key {self.run_key!r} already holds a different plan "
                    f"({existing.action.action} on {existing.total_leads} leads); "
                    "choose another run key"
                )
            plan = existing
        with _PLANS_LOCK:
            self._keep_plan(self._plan_token()[0], plan)

    def created_list_id(self) -> int | None:
        """The list a move into a new list created (recorded once it exists)."""
        data = self._read(DESTINATION)
        return int(json.loads(data)["list_id"]) if data is not None else None

    def record_created_list(self, list_id: int) -> None:
        self._create(DESTINATION, json.dumps({"list_id": list_id}).encode())

    def write_baseline(self, baseline: dict[str, int]) -> None:
        """Counts before the first write (the run-level proof's starting point). Written
        just before the plan and replaced by each attempt that gets that far: once the plan
        exists it is never written again (a resumed run reads it)."""
        self.write_summary(BASELINE, json.dumps(baseline).encode())

    def read_baseline(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads(self._read(BASELINE) or b"{}").items()}

    # -- the selection -------------------------------------------------------------------

    def write_selection(
        self,
        pages: Pages,
        conditions: Sequence[Any] = (),
        predicate: Callable[[pd.DataFrame], Any] | None = None,
    ) -> None:
        """The leads selected at plan time, page by page (bounded memory), filtered by the
        row conditions and then by a caller's predicate. Replaced by each attempt until the
        plan exists."""
        # A private scratch directory (0700, file 0600): the rows are personal data.
        fields: set[str] = set()
        with tempfile.TemporaryDirectory(prefix="leads-selection-") as scratch:
            path = Path(scratch) / TARGETS
            stream_to_parquet(noting_fields(pages, fields), path, conditions)
            if predicate is not None:
                frame = pd.read_parquet(path)
                frame[predicate(frame).astype(bool)].to_parquet(path, index=False)
            self.write_summary(TARGET_FIELDS, json.dumps(sorted(fields)).encode())
            self.store.replace(self.run_key, TARGETS, path.read_bytes())

    def _selection_source(self) -> str | bytes:
        """The selection's file when the store keeps files (read in parts), else its bytes."""
        file = getattr(self.store, "file", None)
        path = file(self.run_key, TARGETS) if file is not None else None
        data = os.fspath(path) if path is not None else self._read(TARGETS)
        if data is None:
            raise FileNotFoundError(f"{self.location}: no selection")
        return data

    def _selection(self, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(_readable(self._selection_source()), columns=columns)

    def selected_ids(self) -> list[int]:
        column = self._selection(["leadId"]).column("leadId").drop_null()
        return [int(v) for v in column.to_pylist()]

    def selected_per_list(self, list_ids: Sequence[int]) -> dict[int, int]:
        """How many selected leads each of these lists holds."""
        if not list_ids:
            return {}
        column = self._selection(["listId"]).column("listId").to_pylist()
        counts = Counter(int(v) for v in column if v is not None)
        return {list_id: counts.get(list_id, 0) for list_id in list_ids}

    # -- chunks ------------------------------------------------------------------------

    @staticmethod
    def _chunk(index: int, suffix: str) -> str:
        return f"chunks/{index + 1:05d}.{suffix}"

    def write_before_image(self, index: int, rows: Sequence[LeadRow]) -> bool:
        """Persist the chunk's prior state; keeps an earlier image (False) if there is one."""
        # A null in a before-image must be told from a field the service did not send (a
        # service may leave out null fields): the fields its rows carried, per chunk.
        fields = set().union(*(row.model_fields_set for row in rows))
        name = self._chunk(index, BEFORE)
        if self.store.has(self.run_key, name) or self.store.has(
            self.run_key, self._chunk(index, BEFORE_REF)
        ):
            return False
        self._create(self._chunk(index, ROW_FIELDS), json.dumps(sorted(fields)).encode())
        return self._create(name, _parquet_bytes(rows_to_frame(rows)))

    def write_before_ref(self, plan: Plan, index: int) -> bool:
        """Record that chunk `index`'s before-image is the selection's rows at its place
        (`selected_rows` returned them): one small record instead of a file per chunk.
        Keeps an earlier image (False) if there is one."""
        if self.store.has(self.run_key, self._chunk(index, BEFORE)):
            return False
        # For people reading the journal; a reader takes the place from the plan again.
        body = {"start": _chunk_start(plan, index), "count": len(plan.chunks[index].lead_ids)}
        return self._create(self._chunk(index, BEFORE_REF), json.dumps(body).encode())

    def selected_rows(
        self, plan: Plan, index: int, columns: list[str] | None = None
    ) -> pa.Table | None:
        """Chunk `index`'s rows as the selection read them (these `columns`, default all);
        None when the selection's rows at the chunk's place are not exactly its leads (a
        selection holding a lead twice, or a journal from before the fields were recorded).
        `columns=["leadId"]` decides that without reading the rows."""
        if not self.store.has(self.run_key, TARGET_FIELDS):
            return None
        ids = plan.chunks[index].lead_ids
        table = self._selected_slice(plan, _chunk_start(plan, index), len(ids), columns)
        if table is None or table.column("leadId").to_pylist() != ids:
            return None
        return table

    def _selected_slice(
        self, plan: Plan, start: int, count: int, columns: list[str] | None = None
    ) -> pa.Table | None:
        # Only the row groups holding the rows are read.
        source, metadata = self._selection_file(plan)
        if metadata.num_rows != plan.total_leads:
            return None  # a lead in it twice (or without an id): its place is not its chunk's
        groups: list[int] = []
        offset = first = 0
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            if offset + rows > start and offset < start + count:
                if not groups:
                    first = offset
                groups.append(group)
            offset += rows
        selection = pq.ParquetFile(_readable(source), metadata=metadata)
        return selection.read_row_groups(groups, columns=columns).slice(start - first, count)

    def _selection_file(self, plan: Plan) -> tuple[str | bytes, pq.FileMetaData]:
        key = (self.store.location, self.run_key, plan.created_at.isoformat())
        with _SELECTIONS_LOCK:
            kept = _SELECTIONS.get(key)
            if kept is None:
                source = self._selection_source()
                while len(_SELECTIONS) >= _SELECTIONS_KEPT:
                    del _SELECTIONS[next(iter(_SELECTIONS))]
                kept = _SELECTIONS[key] = (source, pq.read_metadata(_readable(source)))
            return kept

    def reported_fields(self) -> set[str] | None:
        """The LeadRow fields the service's rows carried in any before-image (None: not
        recorded, a journal from before they were)."""
        names = self.store.names(self.run_key, "chunks/")
        found = [self._read(n) for n in names if n.endswith(ROW_FIELDS)]
        if any(n.endswith(BEFORE_REF) for n in names):
            found.append(self._read(TARGET_FIELDS))
        if not found:
            return None
        return set().union(*(set(json.loads(data or b"[]")) for data in found))

    def read_before_table(self, index: int) -> pa.Table:
        """Chunk `index`'s before-image, as written or as the selection's rows it names."""
        data = self._read(self._chunk(index, BEFORE))
        if data is not None:
            return pq.read_table(pa.BufferReader(data))
        if not self.store.has(self.run_key, self._chunk(index, BEFORE_REF)):
            raise FileNotFoundError(f"{self.location}: no before-image of chunk {index}")
        table = self.selected_rows(self.read_plan_cached(), index)  # its leads, checked
        if table is None:
            raise FileNotFoundError(f"{self.location}: the selection no longer holds chunk {index}")
        return table

    def read_before_image(self, index: int) -> pd.DataFrame:
        return self.read_before_table(index).to_pandas()

    def has_before_image(self, index: int) -> bool:
        return any(
            self.store.has(self.run_key, self._chunk(index, name)) for name in (BEFORE, BEFORE_REF)
        )

    def before_images(
        self, keep: Callable[[ChunkOutcome | None], bool] | None = None
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """(chunk index, before-image) of every chunk that has one and whose latest outcome
        `keep` accepts (all of them without `keep`)."""
        if not self.has_plan():
            return
        for index in range(len(self.read_plan_cached().chunks)):
            if not self.has_before_image(index):
                continue
            if keep is None or keep(self.latest_outcome(index)):
                yield index, self.read_before_image(index)

    def _numbered(self, index: int, stem: str) -> list[str]:
        found: list[str] = []
        while True:  # 1..k without a gap (the module docstring): k + 1 look-ups
            name = self._chunk(index, f"{stem}-{len(found) + 1}.json")
            if not self.store.has(self.run_key, name):
                return found
            found.append(name)

    def _create_numbered(self, index: int, stem: str, body: bytes) -> int:
        n = len(self._numbered(index, stem)) + 1
        while not self._create(self._chunk(index, f"{stem}-{n}.json"), body):
            n += 1  # another attempt took that number first
        return n

    def sent_count(self, index: int) -> int:
        return len(self._numbered(index, "sent"))

    def mark_sent(self, index: int, key: str, lead_ids: Sequence[int], **extra: object) -> None:
        """Record the intent to send, before sending: a crash after this line is ambiguous."""
        n = self.sent_count(index) + 1
        body = json.dumps({"key": key, "attempt": n, "lead_ids": list(lead_ids), **extra}).encode()
        self._create_numbered(index, "sent", body)

    def first_sent(self, index: int) -> dict[str, Any] | None:
        names = self._numbered(index, "sent")
        return dict(json.loads(self._read(names[0]) or b"{}")) if names else None

    def write_outcome(self, outcome: ChunkOutcome) -> None:
        self._create_numbered(outcome.index, "outcome", outcome.model_dump_json(indent=2).encode())

    def any_sent(self) -> bool:
        """Whether any chunk recorded an intent to send (one listing)."""
        return any(".sent-" in n for n in self.store.names(self.run_key, "chunks/"))

    def chunks_with_outcome(self) -> int:
        """How many chunks have at least one outcome (one listing)."""
        names = self.store.names(self.run_key, "chunks/")
        return len({n.split(".")[0] for n in names if ".outcome-" in n})

    def latest_outcome(self, index: int) -> ChunkOutcome | None:
        names = self._numbered(index, "outcome")
        if not names:
            return None
        return ChunkOutcome.model_validate_json(self._read(names[-1]) or b"")

    def outcomes(self) -> list[ChunkOutcome]:
        plan = self.read_plan()
        found = (self.latest_outcome(i) for i in range(len(plan.chunks)))
        return [o for o in found if o is not None]

    # -- named records (the undo's plan, copies found, reload markers) --------------------

    def has_record(self, name: str) -> bool:
        return self.store.has(self.run_key, name)

    def record_once(self, name: str, data: bytes) -> bool:
        """Create the record `name` atomically; False (nothing written) when it exists."""
        return self._create(name, data)

    def read_record(self, name: str) -> bytes | None:
        return self._read(name)

    def record_ids(self, name: str, lead_ids: Sequence[int]) -> list[int]:
        """Record these lead ids once; the ids recorded (a resumed run keeps the ids it
        started with, whatever it is given now)."""
        self._create(name, _parquet_bytes(_ids_frame(lead_ids)))
        data = self._read(name) or b""
        column = pq.read_table(pa.BufferReader(data), columns=["leadId"]).column("leadId")
        return [int(v) for v in column.to_pylist()]

    def write_summary(self, name: str, data: bytes) -> None:
        """A summary rewritten by each attempt, in one step."""
        self.store.replace(self.run_key, name, data)

    # -- report ------------------------------------------------------------------------

    def write_report(self, report: RunReport) -> str:
        self.write_summary(REPORT, report.model_dump_json(indent=2).encode())
        return f"{self.location}/{REPORT}"

    def read_report(self) -> RunReport | None:
        data = self._read(REPORT)
        return RunReport.model_validate_json(data) if data is not None else None


def progress(root: Path | str, key_prefix: str) -> tuple[int, int]:
    """(chunks with an outcome, chunks planned) over every run whose key starts with
    `key_prefix` (a nightly job's campaigns derive theirs from its key): for progress bars."""
    done = total = 0
    for run_key in open_store(root).runs(key_prefix):
        journal = RunJournal(root, run_key)
        if not journal.has_plan():
            continue
        total += len(journal.read_plan_cached().chunks)  # parsed once per plan content
        done += journal.chunks_with_outcome()
    return done, total
