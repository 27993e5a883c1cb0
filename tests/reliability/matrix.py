"""The fault matrix: every lead action run under each fault the sandbox can inject, then run
again with the same run key, and judged by the sandbox's own rows.

A cell is (case, fault, seed). Its first run meets the fault and may fail or be killed; the
second run, with the same run key and no fault, must finish what the first left. Then:

- every planned lead (the filter's leads as the store held them before the first run) is as
  its case expects: a manual pass added exactly one pass, a move landed in the target list;
- every other lead of the store is exactly as it was, field for field;
- a copy made exactly one copy of each planned lead, in the target list, and no other lead
  appeared; no other action made a lead;
- the second run's report is green (every chunk proved) and covers the planned leads.
  The exception is an e-mail export, which nobody can read back: a chunk whose write was in
  doubt is refused rather than resent, with the reason in its outcome. Every other chunk is
  proven, and the sandbox's outbox shows that no lead was e-mailed twice.

The judge reads the store directly (ground truth, no dialect), never the client under test.
The figures of a cell: runs, faults injected (as the sandbox counted them), leads checked,
leads wrong.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from action_cases import CAMPAIGN, CASES
from flow_env import SandboxAdmin, sandbox_env
from processes import spawn

from engage_voice.models import (
    CopySetting,
    DialerRefresh,
    EmailLeads,
    MoveToCampaign,
    SearchCriteria,
)
from flows.lead_action import lead_action
from tasks.journal import RunJournal
from tasks.models import (
    CampaignSelector,
    ChunkStatus,
    Guards,
    LeadSelection,
    Plan,
    RunOptions,
    RunReport,
)
from tasks.run import RunFailed

REPO = Path(__file__).resolve().parents[2]
PYTHON = 12346  # "My New Predictive Campaign Python"
PYTHON_LIST = 2235  # "Trade show Sep" of campaign 12346
PROMO = 12347
PROMO_LIST = 2223  # "Purchased list G" of campaign 12347
CHUNKS = 10  # chunks per run, so a kill can land between any two of them

Expect = Callable[[dict[str, Any], dict[str, Any] | None], bool]


@dataclass(frozen=True)
class Case:
    name: str
    action: Any
    criteria: dict[str, Any]
    expect: Expect
    #: A copy: the store gains one lead per planned lead, in this (campaign, list).
    copies_into: tuple[int, int] | None = None
    #: False for an action on the campaign (a dialer refresh): it plans no lead.
    on_leads: bool = True
    #: An e-mail export: judged by the sandbox's outbox (see `audit_mail`).
    mailed: bool = False


def _cases() -> list[Case]:
    found = [Case(a.action, a, c, e, mailed=isinstance(a, EmailLeads)) for a, c, e in CASES]
    found += [
        Case(
            "DIALER_REFRESH",
            DialerRefresh(),
            {"lead_states": ["READY"]},
            lambda b, a: a == b,
            on_leads=False,
        ),
        Case(
            "MOVE",
            MoveToCampaign(campaign_id=PYTHON, list_id=PYTHON_LIST),
            {"lead_states": ["READY"]},
            lambda b, a: (
                a is not None
                and (a["campaignId"], a["listId"]) == (PYTHON, PYTHON_LIST)
                and a["leadPhone"] == b["leadPhone"]
            ),
        ),
        Case(
            "COPY",
            MoveToCampaign(campaign_id=PROMO, list_id=PROMO_LIST, copy_setting=CopySetting.COPY),
            {"lead_states": ["CANCELLED"]},
            lambda b, a: a == b,
            copies_into=(PROMO, PROMO_LIST),
        ),
    ]
    return found


CASES_BY_NAME: dict[str, Case] = {c.name: c for c in _cases()}


@dataclass(frozen=True)
class Fault:
    name: str
    describe: str
    #: PUT /sandbox/faults (the seed is the cell's).
    faults: dict[str, Any] | None = None
    #: PUT /sandbox/settings, put back afterwards.
    settings: dict[str, Any] | None = None
    #: Every access and refresh token revoked this often (seconds) during the first run.
    revoke_every: float | None = None
    #: The first run is a process of its own, SIGKILLed at a point the seed picks.
    kill: bool = False


def _bursts(n: int, size: int, gap: int) -> list[dict[str, Any]]:
    """`n` bursts of `size` 429s, `gap` requests apart, on the lead endpoints."""
    rule = {"path_contains": "campaignLeads"}
    script: list[dict[str, Any]] = []
    for _ in range(n):
        script.append({"kind": "429", "count": size, **rule})
        script.append({"kind": "latency", "seconds": 0, "count": gap, **rule})
    return script


ACTIONS = "campaignLeads/actions"
#: Every request of a faulted run takes 20-60 ms, as on a real network, so a run lasts long
#: enough for expiring tokens, revocations and kills to land in it.
NETWORK = {"latency_ms": 20, "latency_jitter_ms": 40}


def _first_write(kind: str, **rule: Any) -> dict[str, Any]:
    """The run's first lead action meets `kind` whatever the seed draws after it."""
    return {"script": [{"kind": kind, "path_contains": ACTIONS, "count": 1, **rule}]}


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "5xx",
            "10% of requests answered 503 before they reach the service",
            {**NETWORK, "rate_5xx": 0.1, **_first_write("5xx")},
        ),
        Fault(
            "429-bursts",
            "bursts of 3 x 429, 6 requests apart, on every lead endpoint",
            {**NETWORK, "script": _bursts(8, 3, 6)},
        ),
        Fault(
            "stalls",
            "10% of requests processed, then answered 2 s late",
            {**NETWORK, "timeout_rate": 0.1, "timeout_seconds": 2.0, **_first_write("timeout")},
        ),
        Fault(
            "drops",
            "5% of requests processed and committed, then the connection dropped unanswered",
            {**NETWORK, "drop_rate": 0.05, **_first_write("drop")},
        ),
        Fault(
            "token-expiry",
            "access tokens live 1 s",
            NETWORK,
            settings={"access_token_ttl_seconds": 1.0},
        ),
        Fault(
            "revoked-refresh",
            "every access and refresh token revoked every 1.5 s of the first run",
            NETWORK,
            revoke_every=1.5,
        ),
        Fault(
            "sigkill",
            "the first run's process SIGKILLed at a random point (the seed's)",
            {"latency_ms": 150, "latency_jitter_ms": 300, "path_contains": ACTIONS},
            kill=True,
        ),
    )
}


@dataclass
class CellResult:
    case: str
    fault: str
    seed: int
    runs: int = 0
    faults: int = 0
    planned: int = 0
    #: Chunks the second run would not resend because their write was in doubt and cannot
    #: be checked (an e-mail export), each named in its report for an operator.
    refused: int = 0
    leads_checked: int = 0
    leads_wrong: int = 0
    first_run: str = ""
    seconds: float = 0.0
    wrong: list[str] = field(default_factory=list)


def cells(profile: str) -> list[tuple[str, str, int]]:
    """The matrix of a profile. `full`: every case under every fault, SIGKILL with 10 seeds.
    `quick` (in `make test`): every case under one fault, each fault under two cases or more,
    and SIGKILL of a manual pass and of a copy."""
    names = list(CASES_BY_NAME)
    if profile == "full":
        out = [(c, f, 0) for c in names for f in FAULTS if f != "sigkill"]
        return out + [(c, "sigkill", s) for c in names for s in range(10)]
    if profile != "quick":
        raise ValueError(f"LEADS_RELIABILITY must be quick or full, not {profile!r}")
    rotating = [f for f in FAULTS if f != "sigkill"]
    out = [(c, rotating[i % len(rotating)], 0) for i, c in enumerate(names)]
    return out + [("MANUAL_LEADS", "sigkill", 0), ("COPY", "sigkill", 1)]


def snapshot(store: Any) -> dict[int, dict[str, Any]]:
    """Every lead of every sub-account, as the store holds it."""
    rows: dict[int, dict[str, Any]] = {}
    for account in store.accounts():
        for row in store.search(account["accountId"], None, 0, 10_000_000):
            rows[row["leadId"]] = row
    return rows


def planned_ids(store: Any, case: Case) -> set[int]:
    campaign_id = _campaign_id(store)
    wire = SearchCriteria(campaign_id=campaign_id, **case.criteria).to_wire()
    account = next(a["accountId"] for a in store.accounts() if store.count(a["accountId"], wire))
    return {row["leadId"] for row in store.search(account, wire, 0, 10_000_000)}


def _campaign_id(store: Any) -> int:
    for account in store.accounts():
        for group in store.dial_groups_with_children(account["accountId"]):
            for c in group["campaigns"]:
                if c["campaignName"] == CAMPAIGN:
                    return int(c["campaignId"])
    raise AssertionError(CAMPAIGN)


def audit(
    case: Case,
    planned: set[int],
    before: dict[int, dict[str, Any]],
    after: dict[int, dict[str, Any]],
) -> tuple[int, list[str]]:
    """(leads checked, what is wrong): one line per wrong lead."""
    wrong = [
        f"lead {i}: planned, not as planned: {_changes(before[i], after.get(i))}"
        for i in sorted(planned)
        if not case.expect(before[i], after.get(i))
    ]
    wrong += [
        f"lead {i}: outside the plan, changed: {_changes(before[i], after.get(i))}"
        for i in sorted(set(before) - planned)
        if after.get(i) != before[i]
    ]
    made = [after[i] for i in sorted(set(after) - set(before))]
    if case.copies_into is None:
        wrong += [f"lead {row['leadId']}: made by an action that makes none" for row in made]
        return len(before), wrong
    copies = Counter(_copy_key(row) for row in made)
    for i in sorted(planned):
        n = copies.pop(_copy_key(before[i]), 0)
        if n != 1:
            wrong.append(f"lead {i}: copied {n} times")
    wrong += [f"a copy of no planned lead: {key} x {n}" for key, n in copies.items()]
    wrong += [
        f"lead {row['leadId']}: a copy outside {case.copies_into}"
        for row in made
        if (row["campaignId"], row["listId"]) != case.copies_into
    ]
    return len(before) + len(made), wrong


def _changes(before: dict[str, Any], after: dict[str, Any] | None) -> str:
    """What changed in a lead's row, field by field (its nested copy left out)."""
    if after is None:
        return "deleted"
    changed = [
        f"{k} {before.get(k)!r} -> {after.get(k)!r}"
        for k in sorted(set(before) | set(after))
        if k != "campaignLead" and before.get(k) != after.get(k)
    ]
    return ", ".join(changed) or "unchanged"


def audit_mail(
    report: RunReport, mails: list[dict[str, Any]], chunks: list[list[int]]
) -> tuple[int, list[str]]:
    """(chunks refused, what is wrong) of an e-mail export. RingCX's mailbox cannot be read
    back, so an export whose write was in doubt is never resent: each chunk is either proven
    accepted, its leads in exactly one e-mail of the sandbox's outbox, or refused with the
    reason in its outcome. No lead is e-mailed twice, whatever the chunk."""
    sent = Counter(
        int(row["leadId"]) for mail in mails for row in csv.DictReader(io.StringIO(mail["csv"]))
    )
    wrong = [f"lead {i}: e-mailed {n} times" for i, n in sorted(sent.items()) if n > 1]
    outcomes = {o.index: o for o in report.outcomes}
    refused = 0
    for index, ids in enumerate(chunks):
        outcome = outcomes.get(index)
        if outcome is None:
            wrong.append(f"chunk {index + 1}: no outcome")
        elif outcome.status == ChunkStatus.DONE:
            wrong += [
                f"chunk {index + 1}: {v.check} failed" for v in outcome.verifications if not v.ok
            ]
            wrong += [
                f"lead {i}: proven sent, e-mailed {sent[i]} times" for i in ids if sent[i] != 1
            ]
        elif "not resent" in (outcome.error or ""):
            refused += 1
        else:
            wrong.append(f"chunk {index + 1}: {outcome.status}: {outcome.error}")
    wrong += [f"{v.check} failed" for v in report.run_verifications if not v.ok]
    return refused, wrong


def _plan(run_key: str) -> Plan:
    return RunJournal(os.environ["LEADS_JOURNAL_DIR"], run_key).read_plan()


def _copy_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["leadPhone"], row["externId"], row["firstName"], row["lastName"])


def _selection(case: Case) -> LeadSelection:
    return LeadSelection(
        source=CampaignSelector(campaign=CAMPAIGN), criteria=SearchCriteria(**case.criteria)
    )


GUARDS = Guards(approval_threshold=None, approval_fraction=None)


def _options(run_key: str, planned: int) -> RunOptions:
    return RunOptions(run_key=run_key, chunk_size=max(2, -(-planned // CHUNKS)), max_concurrency=2)


def run_cell(
    env: SandboxAdmin, case_name: str, fault_name: str, seed: int, work: Path
) -> CellResult:
    """Run one cell against the (freshly reset) sandbox of `env`; see the module docstring."""
    case, fault = CASES_BY_NAME[case_name], FAULTS[fault_name]
    result = CellResult(case_name, fault_name, seed)
    started = time.monotonic()
    store = env.server.store
    before = snapshot(store)
    planned = planned_ids(store, case) if case.on_leads else set()
    assert len(planned) >= CHUNKS or not case.on_leads, f"too few leads for {case_name}"
    run_key = f"rel-{case_name}-{fault_name}-{seed}".lower().replace("_", "-")
    result.planned = len(planned)
    options = _options(run_key, len(planned) or CHUNKS)
    counted = _counters(env)
    mailed = len(store.email_outbox())
    with _faulted(env, fault, seed) as injected:
        if fault.kill:
            result.first_run = _killed_run(env, case, options, seed, work)
        else:
            result.first_run = _first_run(case, options)
    result.runs = 2
    result.faults = _faults_between(counted, _counters(env), fault) + sum(injected.values())
    try:
        report = lead_action(
            action=case.action, selection=_selection(case), guards=GUARDS, options=options
        )
    except RunFailed as exc:
        report = exc.report
    except Exception as exc:  # recorded, so the page shows it; the test fails on it
        report = None
        result.wrong.append(f"the second run raised {type(exc).__name__}: {exc}")
    result.leads_checked, wrong = audit(case, planned, before, snapshot(store))
    result.wrong += wrong
    if report is not None and report.total_leads != len(planned):
        result.wrong.append(f"the plan holds {report.total_leads} leads, the filter {len(planned)}")
    if report is not None and case.mailed:
        chunks = [c.lead_ids for c in _plan(run_key).chunks]
        result.refused, wrong = audit_mail(report, store.email_outbox()[mailed:], chunks)
        result.wrong += wrong
    elif report is not None and not report.ok:
        result.wrong.append(f"the second run is not green: {RunFailed(report)}")
    result.leads_wrong = len(result.wrong)  # every finding: a lead, a run not green
    result.seconds = round(time.monotonic() - started, 1)
    return result


def _counters(env: SandboxAdmin) -> dict[str, int]:
    stats = env.stats()
    found = {k: n for k, n in stats["faults_by_kind"].items() if k != "latency"}
    return found | {f"auth.{k}": n for k, n in stats["auth"].items()}


def _faults_between(before: dict[str, int], after: dict[str, int], fault: Fault) -> int:
    """The faults the sandbox injected in between: the requests it failed, and with short-
    lived tokens the sign-ins they forced (every exchange or refresh after the first)."""
    delta = {k: after[k] - before.get(k, 0) for k in after}
    found = sum(n for k, n in delta.items() if not k.startswith("auth."))
    if fault.settings is not None:
        found += max(0, delta["auth.exchanges"] + delta["auth.refreshes"] - 1)
    return found


def _first_run(case: Case, options: RunOptions) -> str:
    try:
        report = lead_action(
            action=case.action, selection=_selection(case), guards=GUARDS, options=options
        )
    except Exception as exc:  # a fault may well end the first run: the second must mend it
        return f"failed: {type(exc).__name__}"
    return "green" if report.ok else "finished, not green"


@contextmanager
def _faulted(env: SandboxAdmin, fault: Fault, seed: int) -> Iterator[dict[str, int]]:
    injected = {"revocations": 0, "kills": 1 if fault.kill else 0}
    if fault.faults is not None:
        env.faults(**fault.faults, seed=seed)
    if fault.settings is not None:
        env.call("PUT", "/sandbox/settings", json=fault.settings)
    stop = threading.Event()
    revoker = None
    if fault.revoke_every is not None:
        revoker = threading.Thread(
            target=_revoke, args=(env, fault.revoke_every, stop, injected), daemon=True
        )
        revoker.start()
    try:
        yield injected
    finally:
        stop.set()
        if revoker is not None:
            revoker.join()
        env.call("DELETE", "/sandbox/faults")
        if fault.settings is not None:
            env.call("PUT", "/sandbox/settings", json={"access_token_ttl_seconds": 300.0})


def _revoke(
    env: SandboxAdmin, every: float, stop: threading.Event, injected: dict[str, int]
) -> None:
    while not stop.wait(every):
        env.call("POST", "/sandbox/tokens/revoke")
        injected["revocations"] += 1


_SCRIPT = """
import json, sys
from engage_voice import models
from flows.lead_action import lead_action
from tasks.models import Guards, LeadSelection, RunOptions
spec = json.loads(sys.argv[1])
lead_action(
    action=getattr(models, spec["type"]).model_validate(spec["action"]),
    selection=LeadSelection.model_validate(spec["selection"]),
    guards=Guards.model_validate(spec["guards"]),
    options=RunOptions.model_validate(spec["options"]),
)
"""


def _killed_run(env: SandboxAdmin, case: Case, options: RunOptions, seed: int, work: Path) -> str:
    """The first run in a process of its own, SIGKILLed after a seeded number of chunk
    outcomes (0: while it selects, plans or sends its first write) and a seeded delay."""
    from prefect.settings import PREFECT_API_URL

    rng = random.Random(seed)
    outcomes = rng.randrange(CHUNKS)
    delay = rng.uniform(0.0, 0.6)
    journal = Path(os.environ["LEADS_JOURNAL_DIR"])
    spec = {
        "type": type(case.action).__name__,
        "action": case.action.model_dump(mode="json"),
        "selection": _selection(case).model_dump(mode="json"),
        "guards": GUARDS.model_dump(mode="json"),
        "options": options.model_dump(mode="json"),
    }
    process_env = {
        **os.environ,
        **sandbox_env(env.server),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PYTHONPATH": str(REPO),
    }
    log = work / f"killed-{options.run_key}.log"
    proc = spawn([sys.executable, "-c", _SCRIPT, json.dumps(spec)], log, process_env, work)
    run = RunJournal(journal, str(options.run_key))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if run.has_plan() and run.chunks_with_outcome() >= outcomes:
            break
        if proc.poll() is not None:
            return f"finished before its kill (exit {proc.returncode}): {log.read_text()[-2000:]}"
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is not None:
        return f"finished before its kill (exit {proc.returncode})"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    return f"killed after {run.chunks_with_outcome()} chunk outcomes"


def record(result: CellResult) -> None:
    """Append the cell's figures to LEADS_RELIABILITY_OUT (JSON lines), when set."""
    out = os.environ.get("LEADS_RELIABILITY_OUT")
    if out:
        line = json.dumps(asdict(result) | {"wrong": result.wrong[:20]}) + "\n"
        with open(out, "a", encoding="utf-8") as sink:
            sink.write(line)
