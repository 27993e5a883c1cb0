"""Planning an undo from a hand-built journal: no client, no Prefect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engage_voice.models import (
    AgentReservation,
    CallbackLeads,
    CancelLeads,
    CopySetting,
    DeleteLeads,
    DialerRefresh,
    EmailLeads,
    LeadRow,
    ManualLeads,
    MoveToCampaign,
    PauseLeads,
    ReadyLeads,
    ResetLeads,
    SearchCriteria,
    SuppressedFilter,
    SuppressLeads,
    TimeZoneOption,
    UnsuppressLeads,
)
from tasks import undo, undo_reload
from tasks.journal import RunJournal
from tasks.models import (
    RUN_KEY,
    ChunkOutcome,
    ChunkSpec,
    ChunkStatus,
    Plan,
    ResolvedCampaign,
)
from tasks.undo import (
    ActionGroup,
    CopyCleanupGroup,
    NothingToUndoError,
    ReloadGroup,
    UndoOfUndoError,
    UndoPlan,
    UnknownRunError,
    default_undo_key,
    group_run_key,
    open_run_journal,
    plan_undo,
)
from tasks.undo_copies import match_copies
from tasks.undo_reload import reload_batches, upload_leads_from_frame

ACCOUNT = "99990001"
SOURCE = 12345
DEST = 12346
CREATED = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def lead(lead_id: int, **fields) -> LeadRow:
    data = {
        "leadId": lead_id,
        "externId": f"X-{lead_id}",
        "campaignId": SOURCE,
        "listId": 2226,
        "leadPhone": f"21255{lead_id:05d}",
        "leadState": "READY",
        "leadTimezone": "EST",
        "leadPasses": 1,
        "maxPasses": 5,
        "suppressed": False,
        "firstName": "Ann",
        "lastName": "Lee",
        "state": "NY",
    }
    data.update(fields)
    return LeadRow.model_validate(data)


def campaign(campaign_id: int) -> ResolvedCampaign:
    return ResolvedCampaign(
        account_id=ACCOUNT,
        dial_group_id=3001,
        dial_group_name="My New Dial Group",
        campaign_id=campaign_id,
        campaign_name=f"Campaign {campaign_id}",
    )


def journal_of(
    tmp_path,
    action,
    chunks: list[list[LeadRow]],
    statuses: list[ChunkStatus | str | None] | None = None,
    run_key: str = "run-1",
) -> RunJournal:
    """A journal as the pipeline leaves it: the plan, then per chunk a before-image and an
    outcome. A status of None: the chunk never ran; "crashed": before-image, no outcome."""
    journal = RunJournal(tmp_path / "journal", run_key)
    specs = [
        ChunkSpec(index=i, lead_ids=[r.lead_id for r in rows]) for i, rows in enumerate(chunks)
    ]
    plan = Plan(
        run_key=run_key,
        flow="lead_action",
        action=action,
        source=campaign(SOURCE),
        base_criteria=SearchCriteria(campaign_id=SOURCE),
        chunks=specs,
        total_leads=sum(len(c) for c in chunks),
        campaign_total=1000,
        created_at=CREATED,
        destination=campaign(DEST) if isinstance(action, MoveToCampaign) else None,
    )
    journal.write_plan(plan)
    for index, rows in enumerate(chunks):
        status = (statuses or [ChunkStatus.DONE] * len(chunks))[index]
        if status is None:
            continue
        journal.write_before_image(index, rows)
        if status == "crashed":
            journal.mark_sent(index, plan.chunk_key(index), [r.lead_id for r in rows])
            continue
        journal.write_outcome(
            ChunkOutcome(
                index=index,
                key=plan.chunk_key(index),
                status=status,
                planned=len(rows),
                present=len(rows),
                error=None if status == ChunkStatus.DONE else "boom",
            )
        )
    return journal


def by_action(plan: UndoPlan) -> dict[str, ActionGroup]:
    return {g.action.action: g for g in plan.groups if isinstance(g, ActionGroup)}


def reasons(plan: UndoPlan) -> dict[str, list[int]]:
    return {item.reason: item.lead_ids for item in plan.not_restorable}


def find(plan: UndoPlan, fragment: str):
    found = [item for item in plan.not_restorable if fragment in item.reason]
    assert len(found) == 1, (fragment, [i.reason for i in plan.not_restorable])
    return found[0]


# ---------------------------------------------------------------------------------------
# Flags and states
# ---------------------------------------------------------------------------------------


def test_suppress_flips_back_only_the_leads_it_changed(tmp_path):
    rows = [lead(1), lead(2, suppressed=True), lead(3), lead(4, suppressed=True)]
    plan = plan_undo(journal_of(tmp_path, SuppressLeads(), [rows[:2], rows[2:]]))
    assert [g.key for g in plan.groups] == ["g01"]
    group = plan.groups[0]
    assert isinstance(group, ActionGroup)
    assert group.action == UnsuppressLeads()
    assert group.lead_ids == [1, 3]
    assert (group.account_id, group.campaign_id) == (ACCOUNT, SOURCE)
    assert group.require.suppressed is SuppressedFilter.ONLY_SUPPRESSED
    assert plan.not_restorable == []
    assert (plan.chunks_done, plan.leads_acted_on) == (2, 4)


def test_unsuppress_suppresses_again(tmp_path):
    rows = [lead(1, suppressed=True), lead(2)]
    plan = plan_undo(journal_of(tmp_path, UnsuppressLeads(), [rows]))
    group = by_action(plan)["SUPPRESS_LEADS"]
    assert group.lead_ids == [1]
    assert group.require.suppressed is SuppressedFilter.ONLY_UNSUPPRESSED


def test_pause_restores_settable_states_and_reports_the_rest_per_state(tmp_path):
    rows = [
        lead(1, leadState="READY"),
        lead(2, leadState="READY"),
        lead(3, leadState="CANCELLED"),
        lead(4, leadState="PAUSED"),  # unchanged by the run
        lead(5, leadState="COMPLETE"),
        lead(6, leadState="COMPLETE"),
        lead(7, leadState="CALLBACK"),
        lead(8, leadState="DO-NOT-CALL"),
    ]
    plan = plan_undo(journal_of(tmp_path, PauseLeads(), [rows]))
    groups = by_action(plan)
    assert set(groups) == {"READY_LEADS", "CANCEL_LEADS"}
    assert groups["READY_LEADS"].lead_ids == [1, 2]
    assert groups["CANCEL_LEADS"].lead_ids == [3]
    for group in groups.values():
        assert group.require.lead_states == ["PAUSED"]
        assert group.require_label == "PAUSED"
    assert find(plan, "prior state COMPLETE").lead_ids == [5, 6]
    assert find(plan, "prior state COMPLETE").count == 2
    assert find(plan, "prior state CALLBACK").lead_ids == [7]
    assert find(plan, "prior state DO-NOT-CALL").lead_ids == [8]
    assert all(4 not in ids for ids in reasons(plan).values())


@pytest.mark.parametrize(
    ("action", "post"),
    [(CancelLeads(), "CANCELLED"), (ReadyLeads(), "READY")],
)
def test_cancel_and_ready_restore_to_the_prior_state(tmp_path, action, post):
    rows = [lead(1, leadState="PAUSED"), lead(2, leadState="READY"), lead(3, leadState="CANCELLED")]
    plan = plan_undo(journal_of(tmp_path, action, [rows]))
    restored = {a: g.lead_ids for a, g in by_action(plan).items()}
    expected = {
        "PAUSE_LEADS": [1],
        "READY_LEADS": [2],
        "CANCEL_LEADS": [3],
    }
    expected.pop({"CANCELLED": "CANCEL_LEADS", "READY": "READY_LEADS"}[post])
    assert restored == expected
    assert all(g.require.lead_states == [post] for g in by_action(plan).values())


def test_reset_reports_lost_passes_and_dial_times(tmp_path):
    rows = [
        lead(1, leadState="PAUSED", leadPasses=3),
        lead(2, leadState="READY", leadPasses=2),
        lead(3, leadState="MAX-DIAL-LIMIT", leadPasses=5),
    ]
    plan = plan_undo(journal_of(tmp_path, ResetLeads(), [rows]))
    assert {a: g.lead_ids for a, g in by_action(plan).items()} == {"PAUSE_LEADS": [1]}
    assert by_action(plan)["PAUSE_LEADS"].require.lead_states == ["READY"]
    assert find(plan, "prior state MAX-DIAL-LIMIT").lead_ids == [3]
    lost = find(plan, "passes to 0")
    assert lost.lead_ids == [1, 2, 3]
    assert "10 passes" in lost.reason and "next dial time" in lost.reason


def test_callback_agent_restores_state_and_reservation(tmp_path):
    rows = [
        lead(1, leadState="READY"),
        lead(2, leadState="PAUSED", pendingAgentId=7),
        lead(3, leadState="AGENT-CALLBACK", pendingAgentId=9),  # state unchanged, agent too
        lead(4, leadState="COMPLETE"),
    ]
    action = CallbackLeads(action_type="AGENT", reservation_agent_id=9)
    plan = plan_undo(journal_of(tmp_path, action, [rows]))
    states = [g for g in plan.groups if g.action.action in ("READY_LEADS", "PAUSE_LEADS")]
    assert {g.action.action: g.lead_ids for g in states} == {
        "READY_LEADS": [1],
        "PAUSE_LEADS": [2],
    }
    assert all(g.require.lead_states == ["AGENT-CALLBACK"] for g in states)
    reservations = {
        g.action.reservation_agent_id: g
        for g in plan.groups
        if isinstance(g.action, AgentReservation)
    }
    assert {agent: g.lead_ids for agent, g in reservations.items()} == {0: [1, 4], 7: [2]}
    assert all(g.require.pending_agent_id == 9 for g in reservations.values())
    # States are restored before reservations.
    assert plan.groups.index(states[-1]) < plan.groups.index(reservations[0])
    assert find(plan, "prior state COMPLETE").lead_ids == [4]
    assert find(plan, "callback date").lead_ids == [1, 2, 3, 4]


def test_callback_cancel_only_concerns_leads_in_a_callback_state(tmp_path):
    rows = [
        lead(1, leadState="READY"),
        lead(2, leadState="CALLBACK"),
        lead(3, leadState="AGENT-CALLBACK", pendingAgentId=7),
    ]
    plan = plan_undo(journal_of(tmp_path, CallbackLeads(action_type="CANCEL"), [rows]))
    assert plan.groups == []
    assert find(plan, "prior state CALLBACK:").lead_ids == [2]
    assert find(plan, "prior state AGENT-CALLBACK").lead_ids == [3]
    assert find(plan, "pending agent").lead_ids == [3]
    assert all(1 not in ids for ids in reasons(plan).values())


def test_agent_reservation_restores_prior_agents(tmp_path):
    rows = [lead(1), lead(2, pendingAgentId=7), lead(3, pendingAgentId=9)]
    plan = plan_undo(journal_of(tmp_path, AgentReservation(reservation_agent_id=9), [rows]))
    groups = {g.action.reservation_agent_id: g for g in plan.groups}
    assert {a: g.lead_ids for a, g in groups.items()} == {0: [1], 7: [2]}
    assert all(
        g.require.pending_agent_id == 9 and not g.require_unreserved for g in groups.values()
    )


def test_cleared_reservation_is_given_back_only_to_still_unreserved_leads(tmp_path):
    rows = [lead(1), lead(2, pendingAgentId=7)]
    plan = plan_undo(journal_of(tmp_path, AgentReservation(reservation_agent_id=0), [rows]))
    (group,) = plan.groups
    assert group.action == AgentReservation(reservation_agent_id=7)
    assert group.lead_ids == [2]
    assert group.require_unreserved  # RingCX cannot filter on "no pending agent"


@pytest.mark.parametrize(
    ("action", "fragment"),
    [
        (ManualLeads(pass_disposition="Sale"), "a pass cannot be removed"),
        (EmailLeads(email_to=["ops@example.com"]), "cannot be recalled"),
        (DialerRefresh(), "no undo"),
    ],
)
def test_irreversible_actions_are_reported(tmp_path, action, fragment):
    plan = plan_undo(journal_of(tmp_path, action, [[lead(1), lead(2)]]))
    assert plan.groups == []
    assert find(plan, fragment).lead_ids == [1, 2]


# ---------------------------------------------------------------------------------------
# Which chunks count
# ---------------------------------------------------------------------------------------


def test_only_done_chunks_are_undone_and_the_rest_reported(tmp_path):
    chunks = [[lead(1)], [lead(2)], [lead(3)], [lead(4)], [lead(5)]]
    statuses = [ChunkStatus.DONE, ChunkStatus.FAILED, ChunkStatus.AMBIGUOUS, "crashed", None]
    plan = plan_undo(journal_of(tmp_path, SuppressLeads(), chunks, statuses))
    assert [g.lead_ids for g in plan.groups] == [[1]]
    assert (plan.chunks_total, plan.chunks_done, plan.leads_acted_on) == (5, 1, 1)
    assert "ended failed (boom): the service refused" in find(plan, "chunk 2 ").reason
    assert "ended ambiguous (boom): whether" in find(plan, "chunk 3 ").reason
    assert "no recorded outcome" in find(plan, "chunk 4 ").reason
    assert find(plan, "chunk 4 ").lead_ids == [4]
    assert plan.notes == ["1 planned leads were never acted on (their chunks never ran)"]


def test_a_done_chunk_whose_leads_had_all_gone_restores_nothing(tmp_path):
    plan = plan_undo(journal_of(tmp_path, PauseLeads(), [[]]))
    assert plan.groups == [] and plan.not_restorable == []
    assert "nothing to restore" in plan.notes[-1]


# ---------------------------------------------------------------------------------------
# Moves and copies
# ---------------------------------------------------------------------------------------


def test_move_goes_back_to_each_original_campaign_and_list(tmp_path):
    rows = [lead(1, listId=2226), lead(2, listId=2242), lead(3, listId=2226), lead(4, listId=None)]
    action = MoveToCampaign(campaign_id=DEST, list_id=2235)
    plan = plan_undo(journal_of(tmp_path, action, [rows]))
    moves = {(g.action.campaign_id, g.action.list_id): g for g in plan.groups}
    assert {k: g.lead_ids for k, g in moves.items()} == {
        (SOURCE, 2226): [1, 3],
        (SOURCE, 2242): [2],
    }
    for group in moves.values():
        assert group.campaign_id == DEST  # selected where they are now
        assert group.require.list_ids == [2235]
        assert group.action.copy_setting is CopySetting.MOVE
    assert find(plan, "original campaign or list").lead_ids == [4]


def test_move_into_a_new_list_reads_the_list_the_run_created(tmp_path):
    action = MoveToCampaign(campaign_id=DEST, list_name="Parked", duplicate_action="IGNORE")
    journal = journal_of(tmp_path, action, [[lead(1)]])
    journal.record_created_list(4321)
    plan = plan_undo(journal)
    assert plan.groups[0].require.list_ids == [4321]
    assert "IGNORE" in plan.notes[0]


@pytest.mark.parametrize("setting", [CopySetting.COPY, CopySetting.TRANSITION])
def test_copies_are_found_and_deleted_not_the_originals(tmp_path, setting):
    # A journal whose chunks recorded no copies (written before they were): found by phone.
    states = ["READY", "TRANSITIONED"]  # as copied, whichever side RingCX marks
    rows = [lead(1), lead(2, leadPhone=None)]
    action = MoveToCampaign(campaign_id=DEST, list_id=2235, copy_setting=setting)
    plan = plan_undo(journal_of(tmp_path, action, [rows]))
    (group,) = plan.groups
    assert isinstance(group, CopyCleanupGroup)
    assert (group.campaign_id, group.list_id, group.lead_ids) == (DEST, 2235, [1])
    assert group.phones == {1: "2125500001"}
    assert group.require.lead_states == states
    assert group.since < CREATED
    assert find(plan, "no phone").lead_ids == [2]


def copy_row(lead_id, original, list_id=2235, loaded=CREATED + timedelta(minutes=1)):
    return lead(lead_id, campaignId=DEST, listId=list_id, originalLeadId=original, loadedDts=loaded)


def test_match_copies_picks_the_runs_copies_only(tmp_path):
    group = CopyCleanupGroup(
        description="",
        account_id=ACCOUNT,
        campaign_id=DEST,
        list_id=2235,
        lead_ids=[1, 2, 3, 4, 5],
        phones={i: f"21255{i:05d}" for i in range(1, 6)},
        since=CREATED - timedelta(minutes=15),
    )
    rows = [
        copy_row(101, 1),
        copy_row(102, 2),
        copy_row(103, 2),  # two candidates: left to a human
        copy_row(104, 3, loaded=CREATED - timedelta(days=2)),  # an older run's copy
        copy_row(105, 4, list_id=9999),  # another list
        lead(106, campaignId=DEST, listId=2235),  # same phone, not a copy
    ]
    match = match_copies(group, rows)
    assert match.copy_ids == [101]
    assert match.several == [2]
    assert match.not_found == [3, 4, 5]
    assert not match.unidentifiable


def test_match_copies_without_original_lead_ids_identifies_nothing():
    group = CopyCleanupGroup(
        description="",
        account_id=ACCOUNT,
        campaign_id=DEST,
        lead_ids=[1],
        phones={1: "2125500001"},
        since=CREATED,
    )
    match = match_copies(group, [lead(50, campaignId=DEST)])
    assert match.unidentifiable and match.copy_ids == [] and match.not_found == [1]


# ---------------------------------------------------------------------------------------
# Deletes
# ---------------------------------------------------------------------------------------


def test_delete_reloads_from_the_before_images(tmp_path, monkeypatch):
    rows = [
        lead(1, pendingAgentId=7),
        lead(2, leadState="PAUSED", suppressed=True),
        lead(3, leadPhone=None),
        lead(4, leadState="COMPLETE"),
    ]
    journal = journal_of(tmp_path, DeleteLeads(), [rows[:2], rows[2:]], run_key="del-7")
    plan = plan_undo(journal)
    (group,) = plan.groups
    assert isinstance(group, ReloadGroup)
    assert (group.campaign_id, group.lead_ids, group.chunks) == (SOURCE, [1, 2, 4], [0, 1])
    assert group.list_name == "Restored from del-7"
    assert find(plan, "direct load needs both").lead_ids == [3]
    new_ids = find(plan, "NEW lead ids")
    assert new_ids.lead_ids == [1, 2, 4]
    assert "READY" in new_ids.reason and "passes" in new_ids.reason
    assert "history" in new_ids.reason
    assert find(plan, "prior states not restored").lead_ids == [2, 4]
    assert "COMPLETE 1, PAUSED 1" in find(plan, "prior states not restored").reason
    assert find(plan, "unsuppressed").lead_ids == [2]

    frame = journal.read_before_image(0)
    uploads = upload_leads_from_frame(frame)
    assert [u.extern_id for u in uploads] == ["X-1", "X-2"]
    assert uploads[0].lead_phone == "2125500001"
    assert (uploads[0].first_name, uploads[0].state, uploads[0].lead_timezone) == (
        "Ann",
        "NY",
        "EST",
    )
    assert uploads[0].max_passes == 5
    assert uploads[0].reserve_agent == "7" and uploads[1].reserve_agent is None

    monkeypatch.setattr(undo_reload, "RELOAD_BATCH", 1)
    requests = reload_batches("Restored from del-7", uploads)
    assert [r.description for r in requests] == [
        "Restored from del-7 (1 of 2)",
        "Restored from del-7 (2 of 2)",
    ]
    assert all(r.time_zone_option is TimeZoneOption.EXPLICIT for r in requests)
    assert all(r.duplicate_handling.value == "RETAIN_ALL" for r in requests)
    assert reload_batches("x", uploads[:1])[0].description == "x"


# ---------------------------------------------------------------------------------------
# Journals that cannot be undone, keys
# ---------------------------------------------------------------------------------------


def test_unknown_run_key_names_close_matches(tmp_path):
    journal_of(tmp_path, PauseLeads(), [[lead(1)]], run_key="pause-monday")
    with pytest.raises(UnknownRunError, match="did you mean pause-monday"):
        open_run_journal(tmp_path / "journal", "pause-mondya")
    with pytest.raises(UnknownRunError, match="not a run key"):
        open_run_journal(tmp_path / "journal", "../etc")


def test_a_run_that_never_wrote_cannot_be_undone(tmp_path):
    (tmp_path / "journal" / "dry").mkdir(parents=True)  # what a dry run leaves behind
    with pytest.raises(NothingToUndoError, match="never wrote anything"):
        open_run_journal(tmp_path / "journal", "dry")


def test_an_undo_is_not_undone_as_a_run(tmp_path):
    plan = plan_undo(journal_of(tmp_path, PauseLeads(), [[lead(1)]]))
    RunJournal(tmp_path / "journal", "undo-run-1").record_once(
        undo.UNDO_PLAN_FILE, plan.model_dump_json().encode()
    )
    with pytest.raises(UndoOfUndoError, match=r"undo-run-1\.g01-ready"):
        open_run_journal(tmp_path / "journal", "undo-run-1")


def test_plan_round_trips_through_json(tmp_path):
    rows = [lead(1, leadState="CANCELLED"), lead(2, listId=2242, pendingAgentId=7)]
    actions = (
        PauseLeads(),
        MoveToCampaign(campaign_id=DEST, list_id=2235),
        MoveToCampaign(campaign_id=DEST, list_id=2235, copy_setting=CopySetting.COPY),
        DeleteLeads(),
        AgentReservation(reservation_agent_id=0),
    )
    for number, action in enumerate(actions):
        plan = plan_undo(journal_of(tmp_path / str(number), action, [rows]))
        assert plan.groups
        assert UndoPlan.model_validate_json(plan.model_dump_json()) == plan


def test_undo_and_group_keys_are_valid_run_keys():
    long_key = "r" * 100
    undo_key = default_undo_key(long_key)
    assert default_undo_key("abc") == "undo-abc"
    assert len(undo_key) <= undo.MAX_UNDO_KEY and undo_key != default_undo_key("r" * 99)
    group = CopyCleanupGroup(
        key="g12",
        description="",
        account_id=ACCOUNT,
        campaign_id=DEST,
        lead_ids=[1],
        phones={1: "2125550100"},
        since=CREATED,
    )
    action = ActionGroup(
        key="g01",
        action=AgentReservation(reservation_agent_id=0),
        description="",
        account_id=ACCOUNT,
        campaign_id=SOURCE,
        lead_ids=[1],
    )
    assert group_run_key("undo-abc", action) == "undo-abc.g01-reserve"
    for key in (group_run_key(undo_key, group), group_run_key(undo_key, action)):
        assert RUN_KEY.match(f"{key}.r99"), key  # with a retry suffix (see flows/undo_run)


def test_a_run_key_is_held_by_one_live_process(tmp_path):
    # Two live runs of one key would both see a chunk unsent and both send it.
    from tasks.journal import RunInProgressError, RunJournal

    first = RunJournal(tmp_path, "k1")
    with first.exclusive():
        with pytest.raises(RunInProgressError), RunJournal(tmp_path, "k1").exclusive():
            pass
        with RunJournal(tmp_path, "k2").exclusive():  # other keys are free
            pass
    with RunJournal(tmp_path, "k1").exclusive():  # released with the run
        pass


@pytest.mark.parametrize("marked", [[], [1]])
def test_the_copies_a_run_recorded_are_deleted_and_marked_originals_restored(tmp_path, marked):
    """The copies are the leads each chunk's proof found new in the destination; under the
    reading where TRANSITION marks the originals, those get their state back too."""
    rows = [lead(1), lead(2, leadState="PAUSED")]
    action = MoveToCampaign(campaign_id=DEST, list_id=2235, copy_setting=CopySetting.TRANSITION)
    journal = journal_of(tmp_path, action, [rows])
    plan = journal.read_plan()
    journal.write_outcome(
        ChunkOutcome(
            index=0,
            key=plan.chunk_key(0),
            status=ChunkStatus.DONE,
            planned=2,
            present=2,
            created_ids=[9001, 9002],
            marked_ids=marked,
        )
    )
    undo_plan = plan_undo(journal)
    (copies,) = [g for g in undo_plan.groups if isinstance(g, CopyCleanupGroup)]
    assert copies.copy_ids == [9001, 9002] and copies.phones == {}
    restores = [g for g in undo_plan.groups if isinstance(g, ActionGroup)]
    if marked:
        (restore,) = restores
        assert (restore.action.action, restore.lead_ids) == ("READY_LEADS", [1])
        assert restore.require.lead_states == ["TRANSITIONED"]
    else:
        assert restores == []  # the copies were marked: the originals never changed


def test_a_reservation_known_only_by_agent_name_is_not_claimed_restored(tmp_path):
    # The spec's rows: pendingAgentName, no pendingAgentId.
    rows = [lead(1, pendingAgentName=None), lead(2, pendingAgentName="Ann Agent")]
    plan = plan_undo(journal_of(tmp_path, AgentReservation(reservation_agent_id=9), [rows]))
    (group,) = plan.groups
    assert group.action == AgentReservation(reservation_agent_id=0)
    assert group.lead_ids == [1]  # known: not reserved before the run
    assert find(plan, "'Ann Agent'").lead_ids == [2]


def test_rows_that_report_no_reservation_restore_nothing(tmp_path):
    # Regression: a missing pendingAgentId read as 0, so the undo cleared reservations that
    # existed before the run and reported them restored.
    rows = [lead(1), lead(2)]
    plan = plan_undo(journal_of(tmp_path, AgentReservation(reservation_agent_id=9), [rows]))
    assert plan.groups == []
    assert find(plan, "report no reservation").lead_ids == [1, 2]
