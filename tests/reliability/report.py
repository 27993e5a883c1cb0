"""Write docs/RELIABILITY.md from the fault matrix's figures (JSON lines, one per cell).

    python tests/reliability/report.py test-output/reliability.jsonl docs/RELIABILITY.md

Exit status 1 when a cell left a lead wrong, or when a planned cell has no figures (it
crashed before recording them); the page is written either way.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS = (
    "cells",
    "runs",
    "faults injected",
    "planned leads",
    "leads checked",
    "leads wrong",
    "chunks refused",
    "first run green",
)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def _totals(rows: list[dict[str, Any]]) -> list[int]:
    return [
        len(rows),
        sum(r["runs"] for r in rows),
        sum(r["faults"] for r in rows),
        sum(r["planned"] for r in rows),
        sum(r["leads_checked"] for r in rows),
        sum(r["leads_wrong"] for r in rows),
        sum(r["refused"] for r in rows),
        sum(r["first_run"] == "green" for r in rows),
    ]


def _table(title: str, groups: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, rows in groups.items():
        lines.append(f"| {name} | " + " | ".join(f"{n:,}" for n in _totals(rows)) + " |")
    return lines


def render(
    rows: list[dict[str, Any]],
    faults: dict[str, str],
    cases: list[str],
    missing: list[str],
    ran_at: datetime,
) -> str:
    by_fault: dict[str, list[dict[str, Any]]] = {name: [] for name in faults}
    by_case: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for row in rows:
        by_fault[row["fault"]].append(row)
        by_case[row["case"]].append(row)
    total = _totals(rows)
    kills = [r for r in rows if r["fault"] == "sigkill"]
    killed = sum(r["first_run"].startswith("killed") for r in kills)
    out = [
        "# Reliability: the fault matrix",
        "",
        "Written by `make reliability` (`tests/reliability/`; its quick profile runs in "
        "`make test`). Every lead action meets each fault the sandbox injects, then runs again "
        "with the same run key and no fault. The sandbox's own rows are the judge: every "
        "planned lead as its action promises (a manual pass adds exactly one pass, a copy "
        "exists exactly once), every other lead of the store unchanged field for field, no "
        "lead made that should not be, and the second run's report green (an e-mail "
        'export in doubt excepted: see "chunks refused").',
        "",
        f"Run on {ran_at:%Y-%m-%d %H:%M} UTC, {_machine()}.",
        "",
        f"**{total[0]:,} cells, {total[1]:,} runs, {total[2]:,} faults injected, "
        f"{total[4]:,} leads checked ({total[3]:,} of them planned), {total[5]:,} leads wrong.**",
        "",
    ]
    if missing:
        out += [f"**{len(missing)} planned cells recorded no figures:** " + ", ".join(missing), ""]
    out += _table("fault", by_fault) + [""] + _table("action", by_case) + [""]
    out += [
        '"chunks refused": e-mail export chunks whose write was in doubt (a 5xx, a '
        "dropped connection, a kill while it was sent). An e-mail cannot be read back, so the "
        "run does not resend it: the chunk is reported, with the reason, for an operator to "
        "check the mailbox. A lead e-mailed twice would count as wrong.",
        "",
        "A run's first attempt may fail (a fault can outlast its retries); what must hold is "
        'the state after the second. "first run green" counts the first attempts that '
        f"finished green anyway. Of the {len(kills)} SIGKILL cells, {killed} were killed "
        "mid-run; the others finished before their kill point.",
        "",
        "## The faults",
        "",
    ]
    out += [f"- **{name}**: {text}." for name, text in faults.items()]
    out += [
        "",
        "Faults injected: the requests the sandbox failed (503, 429, stalled, dropped), the "
        "sign-ins that short-lived tokens forced, the revocations and the kills. Leads "
        "wrong counts every finding of the judge: each lead not as it should be, and a "
        "second run not green or planned on other leads than the filter's.",
    ]
    wrong = [r for r in rows if r["leads_wrong"]]
    if wrong:
        out += ["", "## Wrong", ""]
        for row in wrong:
            out.append(f"- {row['case']} x {row['fault']} (seed {row['seed']}):")
            out += [f"  - {line}" for line in row["wrong"][:5]]
    return "\n".join(out) + "\n"


def main(source: str, target: str) -> int:
    here = Path(__file__).resolve()
    sys.path[:0] = [str(here.parents[2]), str(here.parents[1])]
    from reliability.matrix import CASES_BY_NAME, FAULTS, cells  # noqa: PLC0415 - needs tests/ on the path

    found, ran_at = [], datetime.now(UTC)
    if Path(source).exists():
        found = Path(source).read_text().splitlines()
        ran_at = datetime.fromtimestamp(Path(source).stat().st_mtime, UTC)
    rows = [json.loads(line) for line in found if line.strip()]
    rows.sort(key=lambda r: (r["fault"], r["case"], r["seed"]))
    seen = {(r["case"], r["fault"], r["seed"]) for r in rows}
    missing = [f"{c} x {f} ({s})" for c, f, s in cells("full") if (c, f, s) not in seen]
    faults = {name: fault.describe for name, fault in FAULTS.items()}
    Path(target).write_text(render(rows, faults, list(CASES_BY_NAME), missing, ran_at))
    print(f"{target}: {len(rows)} cells, {sum(r['leads_wrong'] for r in rows)} leads wrong")
    return 1 if missing or any(r["leads_wrong"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
