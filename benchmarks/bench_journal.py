"""What a chunk costs to look up in its run's journal, as the run grows.

Fills a journal with N chunks (an intent marker and an outcome each, as a run leaves
them) and times what every chunk task asks first (its latest outcome and how many times
it was sent), per chunk, at a small and a large N, in the directory store and in a SQLite
store. Side by side: the journal's lookup (probing the chunk's numbered names) and the
folder listing it replaced (every record name of `chunks/`, then the chunk's). Flat means
the large run's per-chunk cost is about the small run's (ratio near 1.0).

    .venv/bin/python benchmarks/bench_journal.py
    .venv/bin/python benchmarks/bench_journal.py --small 65 --large 2000

Not a test: the machines here are shared and noisy; read the ratios.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tasks.journal import RunJournal
from tasks.models import ChunkOutcome, ChunkStatus


def _fill(journal: RunJournal, chunks: int) -> None:
    for index in range(chunks):
        journal.mark_sent(index, f"k{index}", [index])
        journal.write_outcome(
            ChunkOutcome(index=index, key=f"k{index}", status=ChunkStatus.DONE, planned=1)
        )


def _listing(journal: RunJournal, index: int) -> tuple[int, int]:
    # The lookup before: the chunk folder listed, then the chunk's records picked from it.
    prefix = f"chunks/{index + 1:05d}."
    names = [n for n in journal.store.names(journal.run_key, "chunks/") if n.startswith(prefix)]
    return sum(".outcome-" in n for n in names), sum(".sent-" in n for n in names)


def _probing(journal: RunJournal, index: int) -> tuple[int, int]:
    outcome = journal.latest_outcome(index)
    return (1 if outcome else 0), journal.sent_count(index)


def _per_chunk_ms(journal: RunJournal, chunks: int, lookup) -> float:
    sample = range(0, chunks, max(1, chunks // 50))  # the same 50 chunks' share of the run
    started = time.perf_counter()
    for index in sample:
        assert lookup(journal, index) == (1, 1)
    return (time.perf_counter() - started) * 1000 / len(sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=65)
    parser.add_argument("--large", type=int, default=2000)
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="leads-bench-journal-") as scratch:
        for store in ("directory", "sqlite"):
            root = Path(scratch) / store
            base = str(root) if store == "directory" else f"sqlite:///{root}.db"
            row: dict[str, float] = {}
            for size in (args.small, args.large):
                journal = RunJournal(base, f"bench-{size}")
                _fill(journal, size)
                for name, lookup in (("probing", _probing), ("listing", _listing)):
                    row[f"{name}_{size}_ms"] = round(_per_chunk_ms(journal, size, lookup), 3)
            for name in ("probing", "listing"):
                row[f"{name}_growth"] = round(
                    row[f"{name}_{args.large}_ms"] / row[f"{name}_{args.small}_ms"], 2
                )
            figures[store] = row
            print(
                f"{store:9}  per chunk at {args.small} / {args.large} chunks: "
                f"journal {row[f'probing_{args.small}_ms']:.3f} / "
                f"{row[f'probing_{args.large}_ms']:.3f} ms (growth {row['probing_growth']:.2f}x); "
                f"folder listing {row[f'listing_{args.small}_ms']:.3f} / "
                f"{row[f'listing_{args.large}_ms']:.3f} ms (growth {row['listing_growth']:.2f}x)"
            )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "journal.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
