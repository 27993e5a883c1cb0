"""Property tests of the guards against the sandbox: for generated selections (criteria,
conditions, target tables, lists),

- the leads the sandbox changed are always a subset of the plan;
- a selection that is the whole campaign (or every lead of the lists it names) is refused
  without `whole_campaign`, whatever its wording, and the refusal's numbers are the
  sandbox's own counts;
- a refused run writes nothing.

`make test` runs a few examples; `make reliability` runs the `long` profile
(LEADS_HYPOTHESIS_PROFILE=long).
"""

from __future__ import annotations

import os
import re
import uuid

import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engage_voice.models import PauseLeads, ReadyLeads, SearchCriteria, SuppressLeads
from flows.lead_action import lead_action
from tasks.journal import RunJournal
from tasks.models import (
    CampaignSelector,
    Condition,
    Guards,
    LeadSelection,
    RunOptions,
    TargetKey,
    TargetTable,
)
from tasks.planning import WholeCampaignRefused

ACCOUNT = "99990001"
PREDICTIVE = 12345
LISTS = [2226, 2242, 2251, 2252]
STATES = ["READY", "COMPLETE", "MAX-DIAL-LIMIT", "PAUSED", "CALLBACK", "CANCELLED"]

_common = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("quick", max_examples=6, **_common)
settings.register_profile("long", max_examples=60, **_common)
PROFILE = os.environ.get("LEADS_HYPOTHESIS_PROFILE", "quick")

ALL_STATES = [
    "READY", "COMPLETE", "MAX-DIAL-LIMIT", "PAUSED", "CALLBACK", "CANCELLED", "DISCONNECTED",
    "AGENT-CALLBACK", "DO-NOT-CALL", "PENDING", "WHITELIST", "PENDING-CALLBACK", "ACTIVE",
    "CALLBACK-CANCELLED", "TRANSITIONED", "INTERCEPT",
]  # fmt: skip


def _snapshot(store) -> dict[int, tuple]:
    rows = store.search(ACCOUNT, {"campaignIds": [PREDICTIVE]}, 0, 100_000)
    return {
        r["leadId"]: (r["leadState"], r["suppressed"], r["listId"], r["leadPasses"]) for r in rows
    }


def _criteria(draw) -> dict:
    out: dict = {}
    states = draw(
        st.one_of(
            st.none(),
            st.just(ALL_STATES),  # every state: keeps every lead
            st.lists(st.sampled_from(STATES), min_size=1, max_size=3, unique=True),
        )
    )
    if states:
        out["lead_states"] = states
    start = draw(st.sampled_from([None, "2000-01-01T00:00:00Z", "2026-10-01T00:00:00Z"]))
    if start:
        out["loaded_dts_start"] = start
    return out


def _conditions(draw) -> list[Condition]:
    return draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda k: Condition(column="leadPasses", op=">=", value=k),
                    st.integers(0, 3),
                ),
                st.just(Condition(column="leadPasses", op="not null")),
            ),
            max_size=2,
        )
    )


@settings(settings.get_profile(PROFILE))
@given(data=st.data())
def test_changes_stay_inside_the_plan_and_whole_selections_are_refused(engage_env, tmp_path, data):
    store = engage_env.server.store
    before = _snapshot(store)
    lists = data.draw(
        st.one_of(st.just([]), st.just(LISTS), st.lists(st.sampled_from(LISTS), min_size=1, max_size=3, unique=True)),
        label="lists",
    )
    targets = None
    kind = data.draw(st.sampled_from(["none", "all", "some"]), label="targets")
    if kind != "none":
        rows = store.search(ACCOUNT, {"campaignIds": [PREDICTIVE]}, 0, 100_000)
        extern = [r["externId"] for r in rows]
        if kind == "some":
            extern = data.draw(st.lists(st.sampled_from(extern), min_size=1, max_size=40))
        path = tmp_path / f"targets-{uuid.uuid4().hex}.csv"
        pd.DataFrame({"externId": extern}).to_csv(path, index=False)
        targets = TargetTable(path=str(path), key=TargetKey.EXTERN_ID)
    selection = LeadSelection(
        source=CampaignSelector(campaign="My Predictive Campaign", lists=[str(i) for i in lists]),
        criteria=SearchCriteria(**_criteria(data.draw)),
        conditions=_conditions(data.draw),
        targets=targets,
    )
    action = data.draw(st.sampled_from([PauseLeads(), ReadyLeads(), SuppressLeads()]), label="action")
    key = f"prop-{uuid.uuid4().hex[:12]}"
    writes = engage_env.writes()
    in_list = {lst: {i for i, v in before.items() if v[2] == lst} for lst in lists}
    try:
        report = lead_action(
            action=action,
            selection=selection,
            guards=Guards(max_leads=None, approval_threshold=None, approval_fraction=None),
            options=RunOptions(run_key=key, chunk_size=400),
        )
    except WholeCampaignRefused as exc:
        event("refused: whole campaign or list")
        assert engage_env.writes() == writes
        assert _snapshot(store) == before
        found = re.search(r"\(([\d,]+) of ([\d,]+)\)", str(exc))
        assert found, str(exc)
        selected, total = (int(g.replace(",", "")) for g in found.groups())
        # The refusal's numbers are RingCX's (the sandbox's) counts of the scope.
        assert total in {len(before), *(len(ids) for ids in in_list.values())}
        assert selected >= total
        return
    after = _snapshot(store)
    changed = {i for i in before if after.get(i) != before[i]}
    event("ran" if report.total_leads else "nothing to do")
    if report.total_leads == 0:
        assert not changed
        return
    plan = RunJournal(os.environ["LEADS_JOURNAL_DIR"], key).read_plan()
    planned = {i for chunk in plan.chunks for i in chunk.lead_ids}
    assert changed <= planned
    assert planned < set(before), "a whole-campaign selection ran without whole_campaign"
    for lst, ids in in_list.items():
        assert not ids or not ids <= planned, f"all of list {lst} ran without whole_campaign"
