"""`export_leads` end to end: files checked against the sandbox's own rows, e-mails against
its outbox."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

from engage_voice.models import SearchCriteria
from flows.export_leads import export_leads
from tasks.conditions import ConditionError
from tasks.export import FrameSummary
from tasks.exports import EMAIL_SENDING, EmailExport, EmailMaybeSent, email_filter
from tasks.journal import RunJournal
from tasks.models import CampaignSelector, Condition, LeadSelection, TargetKey, TargetTable
from tasks.runtime import journal_root

# flows/__init__ re-exports the flow under the module's name: fetch the module itself.
export_module = importlib.import_module("tasks.exports")

ACCOUNT = "99990001"
PREDICTIVE = 12345


def _selection(**kw) -> LeadSelection:
    return LeadSelection(source=CampaignSelector(campaign="My Predictive Campaign"), **kw)


def test_parquet_export_applies_criteria_and_conditions(engage_env, tmp_path):
    store = engage_env.server.store
    ready = store.search(ACCOUNT, {"campaignId": PREDICTIVE, "leadStates": ["READY"]}, 0, 5000)
    wanted = sorted(r["leadId"] for r in ready if (r["leadPasses"] or 0) >= 1)
    assert 0 < len(wanted) < len(ready)
    writes = engage_env.writes()

    summary = export_leads(
        selection=_selection(
            criteria=SearchCriteria(lead_states=["READY"]),
            conditions=[Condition(column="lead_passes", op=">=", value=1)],
        ),
    )

    assert isinstance(summary, FrameSummary)
    assert (summary.rows_in, summary.rows_out) == (len(ready), len(wanted))
    written = Path(summary.path)
    assert written.parent == tmp_path / "journal" / "exports" and written.suffix == ".parquet"
    frame = pd.read_parquet(summary.path)
    assert sorted(frame["leadId"]) == wanted
    assert set(frame["leadState"]) == {"READY"}
    assert engage_env.writes() == writes  # an export writes nothing to RingCX


def test_csv_export_of_a_target_table(engage_env, tmp_path):
    store = engage_env.server.store
    rows = store.search(ACCOUNT, {"campaignId": PREDICTIVE}, 0, 40)
    table = tmp_path / "externs.csv"
    table.write_text("externId\n" + "\n".join(r["externId"] for r in rows) + "\nNOPE-1\n")
    out = tmp_path / "out" / "leads.csv"

    summary = export_leads(
        selection=_selection(targets=TargetTable(path=str(table), key=TargetKey.EXTERN_ID)),
        format="csv",
        path=str(out),
    )

    assert summary.path == str(out) and summary.rows_out == len(rows)
    frame = pd.read_csv(out)
    assert sorted(frame["leadId"]) == sorted(r["leadId"] for r in rows)


def test_email_of_a_server_side_filter_is_one_email(engage_env, tmp_path):
    store = engage_env.server.store
    expected = store.count(ACCOUNT, {"campaignId": PREDICTIVE, "leadStates": ["CALLBACK"]})
    export = export_leads(
        selection=_selection(criteria=SearchCriteria(lead_states=["CALLBACK"])),
        email_to=["ops@example.com", " lead@example.com"],
    )
    assert isinstance(export, EmailExport)
    assert (export.status, export.emails, export.leads, export.sent) == (
        "sent",
        1,
        expected,
        expected,
    )
    (mail,) = store.email_outbox()
    assert mail["to"] == ["ops@example.com", "lead@example.com"]
    assert mail["leadCount"] == expected

    # A retry that finds the run's record never sends again.
    criteria = SearchCriteria(campaign_id=PREDICTIVE, lead_states=["CALLBACK"])
    first = email_filter.fn(criteria, ACCOUNT, ["ops@example.com"], "export-retry-1")
    again = email_filter.fn(criteria, ACCOUNT, ["ops@example.com"], "export-retry-1")
    assert first == again and len(store.email_outbox()) == 2

    # An attempt that recorded its intent and died before the answer: never sent again.
    RunJournal(journal_root(), "export-crashed").record_once(EMAIL_SENDING, b"{}")
    with pytest.raises(EmailMaybeSent, match="not sent again"):
        email_filter.fn(criteria, ACCOUNT, ["ops@example.com"], "export-crashed")
    assert len(store.email_outbox()) == 2


def test_email_with_conditions_is_chunked(engage_env, monkeypatch):
    monkeypatch.setattr(export_module, "EMAIL_CHUNK", 40)
    store = engage_env.server.store
    paused = store.search(ACCOUNT, {"campaignId": PREDICTIVE, "leadStates": ["PAUSED"]}, 0, 5000)
    wanted = [r for r in paused if r["lastPassDisposition"] is not None]
    assert 40 < len(wanted) <= 80
    export = export_leads(
        selection=_selection(
            criteria=SearchCriteria(lead_states=["PAUSED"]),
            conditions=[Condition(column="lastPassDisposition", op="not null")],
        ),
        email_to=["ops@example.com"],
    )
    assert (export.emails, export.leads, export.sent) == (2, len(wanted), len(wanted))
    outbox = store.email_outbox()
    assert sorted(m["leadCount"] for m in outbox) == sorted([40, len(wanted) - 40])


def test_bad_input_fails_before_any_call(engage_env, tmp_path):
    writes = engage_env.writes()
    with pytest.raises(ConditionError, match="unknown lead column 'lead_pases'"):
        export_leads(
            selection=_selection(conditions=[Condition(column="lead_pases", op=">", value=1)])
        )
    with pytest.raises(Exception, match="not e-mail addresses"):
        export_leads(selection=_selection(), email_to=["ops@example"])
    with pytest.raises(ValueError, match="names a csv file"):
        export_leads(selection=_selection(), path=str(tmp_path / "x.csv"))
    with pytest.raises(ValueError, match="omit path"):
        export_leads(selection=_selection(), path="x.parquet", email_to=["ops@example.com"])
    with pytest.raises(Exception, match="format"):
        export_leads(selection=_selection(), format="xlsx")
    searches = engage_env.stats()["requests_by_class"]["lead_search"]
    with pytest.raises(ValueError, match="cannot write nosuch:// URLs"):
        export_leads(selection=_selection(), path="nosuch://bucket/x.parquet")
    assert engage_env.stats()["requests_by_class"]["lead_search"] == searches  # nothing read
    assert engage_env.writes() == writes
    assert not engage_env.server.store.email_outbox()
    assert not (tmp_path / "x.csv").exists()


def test_exports_go_to_a_url_every_worker_can_write(engage_env, monkeypatch):
    import fsspec

    monkeypatch.setenv("LEADS_EXPORTS_DIR", "memory://leads-shared/exports")
    summary = export_leads(selection=_selection(criteria=SearchCriteria(lead_states=["READY"])))
    assert summary.path.startswith("memory://leads-shared/exports/")
    assert summary.path.endswith(".parquet")
    fs = fsspec.filesystem("memory")
    with fs.open(summary.path.removeprefix("memory://")) as handle:
        frame = pd.read_parquet(handle)
    assert len(frame) == summary.rows_out > 0
    fs.rm("/leads-shared", recursive=True)
