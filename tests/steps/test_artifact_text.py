"""Artifacts and forms read as text for people, never as Python reprs."""

from __future__ import annotations

from engage_voice.models import ManualLeads, SearchCriteria
from tasks.models import Condition
from tasks.reporting import condition_text, counted, filter_text, parameters_text


def test_filters_conditions_and_parameters_read_as_words():
    criteria = SearchCriteria(campaign_id=12345, lead_states=["READY", "PAUSED"])
    assert filter_text(criteria) == "campaignIds 12345; leadStates READY, PAUSED"
    assert condition_text(Condition(column="leadPasses", op=">=", value=3)) == "leadPasses >= 3"
    assert condition_text(Condition(column="email", op="not null")) == "email not null"
    assert (
        condition_text(Condition(column="lastPassDts", op="older than days", value=2))
        == "lastPassDts older than days 2"
    )
    assert parameters_text({}) == "none"
    text = parameters_text(ManualLeads(pass_disposition="Sale").param_map())
    assert "PASS_DISPOSITION=Sale" in text and "<" not in text and "{" not in text


def test_counts_agree_with_their_noun():
    assert (counted(1, "chunk"), counted(4, "chunk"), counted(1200, "lead")) == (
        "1 chunk",
        "4 chunks",
        "1,200 leads",
    )


def test_no_artifact_shows_an_empty_header_row(monkeypatch):
    """A table of no rows renders as a bare header row in the UI; markdown tables had an
    empty header row ("| | |") above their items."""
    from tasks import reporting
    from tasks.models import RunReport

    made: dict[str, tuple[str, object]] = {}  # by key: the three are created at once
    monkeypatch.setattr(reporting, "_in_flow", lambda: True)
    monkeypatch.setattr(
        reporting,
        "create_table_artifact",
        lambda rows, key, **kw: made.__setitem__(key.split("-")[0], ("table", rows)),
    )
    monkeypatch.setattr(
        reporting,
        "create_markdown_artifact",
        lambda text, key, **kw: made.__setitem__(key.split("-")[0], ("markdown", text)),
    )
    dry = RunReport(
        run_key="k",
        flow="lead_action",
        action="PAUSE_LEADS",
        dry_run=True,
        total_leads=12,
        campaign_total=40,
        chunks=1,
        message="dry run: would PAUSE_LEADS 12 leads in 1 chunk; nothing was written",
    )
    reporting.report_artifacts(dry)
    assert sorted(made) == ["outcomes", "summary", "verification"]
    assert {kind for kind, _ in made.values()} == {"markdown"}
    outcomes, verification, summary = (
        str(made[name][1]) for name in ("outcomes", "verification", "summary")
    )
    assert outcomes.startswith("_No chunk was acted on: dry run")
    assert verification == "_Nothing to verify: a dry run writes nothing._"
    assert "| | |" not in summary and "| item | value |" in summary
    assert "dry run: nothing was written" in summary and "verified" not in summary


def test_progress_is_updated_at_most_every_interval_and_always_at_the_end():
    from types import SimpleNamespace

    from tasks.reporting import PROGRESS_INTERVAL_SECONDS, Progress

    now = [0.0]
    progress = Progress(SimpleNamespace(run_key="r"), clock=lambda: now[0])
    assert progress.artifact_id is None  # outside a flow run: no artifact, no API call
    due = []
    for done in range(1, 11):
        now[0] += PROGRESS_INTERVAL_SECONDS / 4
        due.append(progress.due(done, 10))
    # The first chunk shows at once, then one update per interval, and the last always.
    assert due == [True, False, False, False, True, False, False, False, True, True]
