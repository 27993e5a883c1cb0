"""The run journal: an append-only directory per run key.

    <root>/<run_key>/plan.json                     the plan, fixed before the first write
    <root>/<run_key>/targets.parquet               the leads selected at plan time
    <root>/<run_key>/chunks/00001.before.parquet   before-image, written before the write
    <root>/<run_key>/chunks/00001.sent-1.json      intent marker, written before each send
    <root>/<run_key>/chunks/00001.outcome-1.json   outcome of each attempt (latest wins)
    <root>/<run_key>/report.json                   the final report

Nothing is ever overwritten: a before-image written by an earlier (crashed) attempt is the
true prior state and is kept; later attempts add numbered files. An intent marker without
an outcome means a write may have happened: the next attempt checks the state first.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from engage_voice.models import LeadRow

from .errors import RunRefused
from .export import read_lead_ids, stream_to_parquet
from .frames import rows_to_frame
from .models import ChunkOutcome, Plan, RunReport
from .private import private_bytes, private_dir, private_file

# A record name is one or more of these, joined by "/": never "..", never absolute.
RECORD_PART = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,120}\Z")


class RunKeyConflictError(RunRefused, ValueError):
    """The run key already names a run with a different action, filter or lead set."""


class RunInProgressError(RunRefused, RuntimeError):
    """Another live process is running this run key right now."""


@functools.lru_cache(maxsize=8)
def _cached_plan(path: str, mtime: float) -> Plan:
    return Plan.model_validate_json(Path(path).read_text())


def write_new(path: Path, data: bytes) -> bool:
    """Create `path` atomically; False (and nothing written) when it already exists."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    private_bytes(tmp, data)
    try:
        os.link(tmp, path)  # fails if path exists: no silent overwrite, even across processes
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


class RunJournal:
    def __init__(self, root: Path | str, run_key: str) -> None:
        self.root = Path(root)
        self.run_key = run_key
        self.dir = self.root / run_key
        self.chunks_dir = self.dir / "chunks"

    def __repr__(self) -> str:
        return f"RunJournal({str(self.dir)!r})"

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the run key for the whole run: two live runs of one key would both see a
        chunk unsent and both send it. An OS lock, so a crashed holder never blocks."""
        private_dir(self.dir)
        fd = os.open(self.dir / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunInProgressError(
                    f"run key {self.run_key!r} is being run by another process right now; "
                    "wait for it, or use another run key"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- plan --------------------------------------------------------------------------

    @property
    def plan_path(self) -> Path:
        return self.dir / "plan.json"

    def has_plan(self) -> bool:
        return self.plan_path.exists()

    def read_plan(self) -> Plan:
        return Plan.model_validate_json(self.plan_path.read_text())

    def write_plan(self, plan: Plan) -> None:
        private_dir(self.chunks_dir)
        if not write_new(self.plan_path, plan.model_dump_json(indent=2).encode()):
            existing = self.read_plan()
            if existing.fingerprint != plan.fingerprint:
                raise RunKeyConflictError(
                    f"run key {self.run_key!r} already holds a different plan "
                    f"({existing.action.action} on {existing.total_leads} leads); "
                    "choose another run key"
                )

    def created_list_id(self) -> int | None:
        """The list a move into a new list created (recorded once it exists)."""
        path = self.dir / "destination.json"
        return int(json.loads(path.read_text())["list_id"]) if path.exists() else None

    def record_created_list(self, list_id: int) -> None:
        write_new(self.dir / "destination.json", json.dumps({"list_id": list_id}).encode())

    def write_baseline(self, baseline: dict[str, int]) -> None:
        """Counts before the first write (the run-level proof's starting point). Written
        just before the plan and replaced by each attempt that gets that far: once the plan
        exists it is never written again (a resumed run reads it)."""
        self.write_summary("baseline.json", json.dumps(baseline).encode())

    def read_baseline(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in json.loads((self.dir / "baseline.json").read_text()).items()}

    @property
    def targets_path(self) -> Path:
        return self.dir / "targets.parquet"

    # -- the selection -------------------------------------------------------------------

    def write_selection(
        self,
        pages: Iterable[Sequence[LeadRow]],
        conditions: Sequence[Any] = (),
        predicate: Callable[[pd.DataFrame], Any] | None = None,
    ) -> None:
        """The leads selected at plan time, page by page (bounded memory), filtered by the
        row conditions and then by a caller's predicate."""
        private_dir(self.dir)
        stream_to_parquet(pages, self.targets_path, conditions)
        if predicate is not None:
            frame = pd.read_parquet(self.targets_path)
            frame[predicate(frame).astype(bool)].to_parquet(self.targets_path, index=False)
            private_file(self.targets_path)

    def selected_ids(self) -> list[int]:
        return read_lead_ids(self.targets_path)

    def selected_per_list(self, list_ids: Sequence[int]) -> dict[int, int]:
        """How many selected leads each of these lists holds."""
        if not list_ids:
            return {}
        column = pq.read_table(self.targets_path, columns=["listId"]).column("listId").to_pylist()
        counts = Counter(int(v) for v in column if v is not None)
        return {list_id: counts.get(list_id, 0) for list_id in list_ids}

    def read_plan_cached(self) -> Plan:
        """The plan, parsed once per process and file version (every chunk task reads it)."""
        return _cached_plan(str(self.plan_path), self.plan_path.stat().st_mtime)

    # -- chunks ------------------------------------------------------------------------

    def _chunk(self, index: int, suffix: str) -> Path:
        return self.chunks_dir / f"{index + 1:05d}.{suffix}"

    def before_image_path(self, index: int) -> Path:
        return self._chunk(index, "before.parquet")

    def write_before_image(self, index: int, rows: Sequence[LeadRow]) -> bool:
        """Persist the chunk's prior state; keeps an earlier image (False) if there is one."""
        private_dir(self.chunks_dir)
        path = self.before_image_path(index)
        if path.exists():
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        rows_to_frame(rows).to_parquet(tmp, index=False)
        private_file(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def read_before_image(self, index: int) -> pd.DataFrame:
        return pd.read_parquet(self.before_image_path(index))

    def has_before_image(self, index: int) -> bool:
        return self.before_image_path(index).exists()

    def before_images(
        self, keep: Callable[[ChunkOutcome | None], bool] | None = None
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """(chunk index, before-image) of every chunk that has one and whose latest outcome
        `keep` accepts (all of them without `keep`)."""
        if not self.has_plan():
            return
        for index in range(len(self.read_plan().chunks)):
            if not self.has_before_image(index):
                continue
            if keep is None or keep(self.latest_outcome(index)):
                yield index, self.read_before_image(index)

    def _numbered(self, index: int, stem: str) -> list[Path]:
        prefix = f"{index + 1:05d}.{stem}-"
        found = [p for p in self.chunks_dir.glob(f"{prefix}*.json")]
        return sorted(found, key=lambda p: int(p.name[len(prefix) : -5]))

    def sent_count(self, index: int) -> int:
        return len(self._numbered(index, "sent"))

    def mark_sent(
        self, index: int, key: str, lead_ids: Sequence[int], **extra: object
    ) -> None:
        """Record the intent to send, before sending: a crash after this line is ambiguous."""
        private_dir(self.chunks_dir)
        n = self.sent_count(index) + 1
        body = json.dumps(
            {"key": key, "attempt": n, "lead_ids": list(lead_ids), **extra}
        ).encode()
        while not write_new(self._chunk(index, f"sent-{n}.json"), body):
            n += 1

    def first_sent(self, index: int) -> dict[str, Any] | None:
        files = self._numbered(index, "sent")
        return json.loads(files[0].read_text()) if files else None

    def write_outcome(self, outcome: ChunkOutcome) -> None:
        private_dir(self.chunks_dir)
        n = len(self._numbered(outcome.index, "outcome")) + 1
        body = outcome.model_dump_json(indent=2).encode()
        while not write_new(self._chunk(outcome.index, f"outcome-{n}.json"), body):
            n += 1

    def chunks_with_outcome(self) -> int:
        """How many chunks have at least one outcome (one directory listing)."""
        return len({p.name.split(".")[0] for p in self.chunks_dir.glob("*.outcome-*.json")})

    def latest_outcome(self, index: int) -> ChunkOutcome | None:
        files = self._numbered(index, "outcome")
        if not files:
            return None
        return ChunkOutcome.model_validate_json(files[-1].read_text())

    def outcomes(self) -> list[ChunkOutcome]:
        plan = self.read_plan()
        found = (self.latest_outcome(i) for i in range(len(plan.chunks)))
        return [o for o in found if o is not None]

    # -- named records (the undo's plan, copies found, reload markers) --------------------

    def _record(self, name: str) -> Path:
        parts = name.split("/")
        if not name or any(not RECORD_PART.match(part) for part in parts):
            raise ValueError(f"not a journal record name: {name!r}")
        return self.dir.joinpath(*parts)

    def has_record(self, name: str) -> bool:
        return self._record(name).exists()

    def record_once(self, name: str, data: bytes) -> bool:
        """Create the record `name` atomically; False (nothing written) when it exists."""
        return write_new(self._record(name), data)

    def read_record(self, name: str) -> bytes | None:
        path = self._record(name)
        return path.read_bytes() if path.exists() else None

    def record_ids(self, name: str, lead_ids: Sequence[int]) -> Path:
        """A Parquet file of lead ids (a target table for a pipeline), written once: a
        resumed run keeps the ids it started with."""
        path = self._record(name)
        if not path.exists():
            private_dir(path.parent)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            pd.DataFrame({"leadId": pd.array(list(lead_ids), dtype="int64")}).to_parquet(
                tmp, index=False
            )
            private_file(tmp)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return path

    def write_summary(self, name: str, data: bytes) -> None:
        """A summary (a report) rewritten by each attempt, atomically."""
        path = self._record(name)
        private_dir(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        private_bytes(tmp, data)
        tmp.replace(path)

    # -- report ------------------------------------------------------------------------

    def write_report(self, report: RunReport) -> Path:
        path = self.dir / "report.json"
        tmp = path.with_name(".report.json.tmp")
        private_dir(self.dir)
        private_bytes(tmp, report.model_dump_json(indent=2).encode())
        tmp.replace(path)  # the report is a summary, rewritten by each re-run
        return path

    def read_report(self) -> RunReport | None:
        path = self.dir / "report.json"
        return RunReport.model_validate_json(path.read_text()) if path.exists() else None


def progress(root: Path | str, key_prefix: str) -> tuple[int, int]:
    """(chunks with an outcome, chunks planned) over every run whose key starts with
    `key_prefix` (a nightly job's campaigns derive theirs from its key): for progress bars."""
    done = total = 0
    for run_dir in Path(root).glob(f"{key_prefix}*"):
        journal = RunJournal(run_dir.parent, run_dir.name)
        if not journal.has_plan():
            continue
        total += len(journal.read_plan_cached().chunks)  # parsed once per plan file
        done += journal.chunks_with_outcome()
    return done, total
