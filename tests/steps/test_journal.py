"""The run journal's own guarantees, without the engine."""

from __future__ import annotations

import pytest

from tasks.journal import RunJournal


def test_a_baseline_from_an_attempt_that_never_planned_is_replaced(tmp_path):
    # Regression: the baseline was written create-once, so an attempt that crashed (or was
    # denied) between the baseline and the plan left counts a later attempt kept, and the
    # run-level proof of a move compared against them.
    journal = RunJournal(tmp_path, "run-1")
    journal.write_baseline({"source_campaign": 100})
    journal.write_baseline({"source_campaign": 90})
    assert journal.read_baseline() == {"source_campaign": 90}


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/../b", "", ".hidden", "a//b"])
def test_record_names_cannot_leave_the_run_directory(tmp_path, name):
    with pytest.raises(ValueError, match="not a journal record name"):
        RunJournal(tmp_path, "run-1").record_once(name, b"x")


def test_records_are_created_once(tmp_path):
    journal = RunJournal(tmp_path, "run-1")
    assert journal.record_once("reload/g01-001.sent.json", b"first")
    assert not journal.record_once("reload/g01-001.sent.json", b"second")
    assert journal.read_record("reload/g01-001.sent.json") == b"first"


def test_intents_and_reported_fields_are_recorded(tmp_path):
    from engage_voice.models import LeadRow

    journal = RunJournal(tmp_path, "run-1")
    assert not journal.any_sent() and journal.reported_fields() is None
    journal.mark_sent(3, "k", [1, 2])
    assert journal.any_sent() and journal.sent_count(3) == 1
    # The fields the service sent, per chunk: a null is told from a field never sent.
    journal.write_before_image(0, [LeadRow.model_validate({"leadId": 1, "pendingAgentName": None})])
    journal.write_before_image(1, [LeadRow.model_validate({"leadId": 2, "leadState": "READY"})])
    assert journal.reported_fields() == {"lead_id", "pending_agent_name", "lead_state"}


@pytest.mark.parametrize("store", ["directory", "sqlite"])
def test_a_chunk_finds_its_own_numbered_records_among_many(tmp_path, store):
    from tasks.models import ChunkOutcome, ChunkStatus

    root = str(tmp_path / "j") if store == "directory" else f"sqlite:///{tmp_path}/j.db"
    journal = RunJournal(root, "many")
    for index in range(40):
        for attempt in range(1 + index % 3):  # 1, 2 or 3 attempts per chunk
            journal.mark_sent(index, f"k{index}", [index])
            status = ChunkStatus.DONE if attempt == index % 3 else ChunkStatus.FAILED
            journal.write_outcome(
                ChunkOutcome(
                    index=index, key=f"k{index}", status=status, planned=1, attempts=attempt
                )
            )
    for index in range(40):
        latest = journal.latest_outcome(index)
        assert latest is not None and latest.attempts == index % 3, index
        assert latest.status == ChunkStatus.DONE
        assert journal.sent_count(index) == 1 + index % 3
    assert journal.latest_outcome(40) is None and journal.sent_count(40) == 0
    assert journal.chunks_with_outcome() == 40


def _selected(journal, pages, chunk_size):
    from engage_voice.models import PauseLeads, SearchCriteria
    from tasks.models import ResolvedCampaign
    from tasks.planning import build_plan

    journal.write_selection(pages)
    return build_plan(
        run_key=journal.run_key,
        flow="lead_action",
        action=PauseLeads(),
        source=ResolvedCampaign(
            account_id="1", dial_group_id=1, dial_group_name="g", campaign_id=9, campaign_name="c"
        ),
        criteria=SearchCriteria(campaign_id=9),
        lead_ids=journal.selected_ids(),
        chunk_size=chunk_size,
        campaign_total=100,
    )


@pytest.mark.parametrize("store", ["directory", "sqlite"])  # a file read in parts; bytes
def test_a_chunk_slices_its_rows_from_the_selection_with_the_fields_they_carried(tmp_path, store):
    from engage_voice.models import LeadRow

    root = str(tmp_path) if store == "directory" else f"sqlite:///{tmp_path}/j.db"
    journal = RunJournal(root, "run-1")
    assert hasattr(journal.store, "file") == (store == "directory")
    pages = [
        [LeadRow.model_validate({"leadId": i, "leadState": "READY"}) for i in range(1, 6)],
        [LeadRow.model_validate({"leadId": i, "suppressed": False}) for i in range(6, 9)],
    ]
    plan = _selected(journal, pages, chunk_size=3)
    assert [journal.selected_rows(plan, i).num_rows for i in range(3)] == [3, 3, 2]
    assert [journal.selected_rows(plan, i, ["leadId"]).num_columns for i in range(3)] == [1] * 3
    rows = journal.selected_rows(plan, 1)
    assert rows.column("leadId").to_pylist() == [4, 5, 6]
    assert rows.column("leadState").to_pylist() == ["READY", "READY", None]
    # The before-image names the selection's rows at the chunk's place: no file of its own.
    assert not journal.has_before_image(1) and journal.reported_fields() is None
    journal.write_plan(plan)
    assert journal.write_before_ref(plan, 1)
    assert not journal.write_before_ref(plan, 1)  # an image is written once
    assert journal.has_before_image(1) and not journal.has_before_image(0)
    frame = journal.read_before_image(1)
    assert frame["leadId"].tolist() == [4, 5, 6] and str(frame["leadId"].dtype) == "Int64"
    assert journal.read_before_table(1).equals(rows)
    assert journal.reported_fields() == {"lead_id", "lead_state", "suppressed"}
    assert [i for i, _ in journal.before_images()] == [1]


def test_a_selection_holding_a_lead_twice_or_without_its_fields_is_not_sliced(tmp_path):
    from engage_voice.models import LeadRow

    twice = RunJournal(tmp_path, "twice")
    rows = [LeadRow.model_validate({"leadId": i}) for i in (1, 2, 2, 3)]
    plan = _selected(twice, [rows], chunk_size=2)
    assert plan.chunks[0].lead_ids == [1, 2]
    # Lead 2 twice: which row is its state? And every later chunk's place is off by one.
    assert twice.selected_rows(plan, 0) is None and twice.selected_rows(plan, 1) is None
    assert twice.selected_rows(plan, 0, ["leadId"]) is None
    older = RunJournal(tmp_path, "older")
    plan = _selected(older, [rows[:2]], chunk_size=2)
    (tmp_path / "older" / "targets.fields.json").unlink()  # a journal from before
    assert older.selected_rows(plan, 0) is None and older.selected_rows(plan, 0, ["leadId"]) is None


@pytest.mark.parametrize("store", ["directory", "sqlite"])
def test_chunk_tasks_share_the_flow_s_plan_and_see_a_new_record(tmp_path, store):
    """One Plan per record and process: the one written is the one read (a 1,000,000-lead
    plan parsed by each chunk thread cost 230 MB), and a record made again under the same
    key (a journal removed and planned anew) is read again, never taken from before."""
    import shutil

    from engage_voice.models import LeadRow
    from tasks.models import Plan

    root = str(tmp_path / "j") if store == "directory" else f"sqlite:///{tmp_path}/j.db"
    journal = RunJournal(root, "shared")
    plan = _selected(journal, [[LeadRow.model_validate({"leadId": i}) for i in range(1, 6)]], 2)
    assert Plan.model_validate_json(plan.model_dump_json()) == plan  # the record reads as it
    journal.write_plan(plan)
    again = RunJournal(root, "shared")
    assert again.read_plan_cached() is plan
    if store != "directory":
        return
    shutil.rmtree(tmp_path / "j" / "shared")
    fresh = RunJournal(root, "shared")
    other = _selected(fresh, [[LeadRow.model_validate({"leadId": i}) for i in range(7, 9)]], 2)
    (tmp_path / "j" / "shared" / "plan.json").write_bytes(other.model_dump_json().encode())
    found = fresh.read_plan_cached()
    assert found is not plan and found.chunks[0].lead_ids == [7, 8]


def test_a_before_image_read_on_demand_reads_its_rows_once_and_only_for_values():
    from tasks.verification import LazySnapshots

    loads: list[int] = []

    def load():
        loads.append(1)
        return {i: {"leadId": i, "leadState": "READY"} for i in (3, 1, 2)}

    before = LazySnapshots([1, 2, 3], load)
    assert sorted(before) == [1, 2, 3] and len(before) == 3 and 2 in before and 9 not in before
    assert loads == []  # ids, length and membership need no rows
    assert before[2]["leadState"] == "READY" and before.get(9) is None
    assert [s["leadId"] for s in before.values()] == [1, 2, 3]
    assert loads == [1]  # read once
    wrong = LazySnapshots([1, 2], lambda: {1: {"leadId": 1}})
    with pytest.raises(ValueError, match="not the leads it was made for"):
        wrong[1]
