"""The deterministic seed: same inputs, same data; the names and shapes tests rely on."""

from __future__ import annotations

import collections
import re

import pytest

from engage_sandbox.criteria import parse_wire_date
from engage_sandbox.seed import SeedSummary, agent_names, seed
from engage_sandbox.store import STATE_TIMEZONES, SandboxStore

T0 = 1_780_000_000_000
DAY = 86_400_000


def fresh(clock_ms: int = T0) -> SandboxStore:
    return SandboxStore(clock=lambda: clock_ms / 1000)


def everything(store: SandboxStore) -> dict:
    """All discovery and every lead, through the public API."""
    out: dict = {"accounts": store.accounts()}
    for account in out["accounts"]:
        acc = account["accountId"]
        groups = store.dial_groups_with_children(acc)
        out[acc] = {
            "groups": groups,
            "lists": {
                c["campaignId"]: store.lists(acc, g["dialGroupId"], c["campaignId"])
                for g in groups
                for c in g["campaigns"]
            },
            "leads": store.search(acc, {}, 0, 1_000_000),
        }
    return out


@pytest.fixture(scope="module")
def seeded():
    """One ~20k-lead seed shared by the read-only tests of this module."""
    store = fresh()
    summary = seed(store, seed=3, leads=20_000)
    yield store, summary
    store.close()


def test_same_inputs_give_identical_data():
    first, second = fresh(), fresh(T0 + 3_600_000)  # same UTC day, later hour
    seed(first, seed=11, leads=1500)
    seed(second, seed=11, leads=1500)
    assert everything(first) == everything(second)
    other = fresh()
    seed(other, seed=12, leads=1500)
    a, b = everything(first), everything(other)
    assert [r["leadId"] for r in a["99990001"]["leads"]] != [] and a != b


def test_reseeding_resets_first():
    store = fresh()
    seed(store, seed=5, leads=800)
    store.apply_action("99990001", "DELETE_LEADS", {}, None)
    seed(store, seed=5, leads=800)
    reference = fresh()
    seed(reference, seed=5, leads=800)
    assert everything(store) == everything(reference)
    assert store.stats()["writes"] == 0


def test_summary(seeded):
    store, summary = seeded
    assert isinstance(summary, SeedSummary)
    assert summary.accounts == 2 and summary.leads == 20_000
    assert summary.dial_groups == sum(
        len(store.dial_groups(a["accountId"])) for a in store.accounts()
    )
    assert summary.campaigns >= 10 and summary.lists >= summary.campaigns
    assert summary.seconds > 0
    assert store.stats()["leadCount"] == 20_000


def test_accounts_and_required_names(seeded):
    store, _ = seeded
    accounts = store.accounts()
    assert [a["accountId"] for a in accounts] == ["99990001", "99990002"]
    assert {a["mainAccountId"] for a in accounts} == {"99990000"}
    groups = store.dial_groups_with_children("99990001")
    names = {g["dialGroupName"] for g in groups}
    campaigns = [(g["dialGroupId"], c["campaignName"]) for g in groups for c in g["campaigns"]]
    assert "My New Dial Group" in names
    assert {"My Predictive Campaign", "My New Predictive Campaign Python"} <= {
        n for _, n in campaigns
    }
    renewals = {dg for dg, n in campaigns if n == "Renewals"}
    assert len(renewals) == 2  # same name, two dial groups, one account
    for account in accounts:
        for group in store.dial_groups_with_children(account["accountId"]):
            for campaign in group["campaigns"]:
                lists = store.lists(
                    account["accountId"], group["dialGroupId"], campaign["campaignId"]
                )
                assert 1 <= len(lists) <= 4
                assert store.campaign_dispositions(
                    account["accountId"], group["dialGroupId"], campaign["campaignId"]
                )


def test_lead_distributions_are_realistic(seeded):
    store, _ = seeded
    rows = [r for a in ("99990001", "99990002") for r in store.search(a, {}, 0, 1_000_000)]
    assert len(rows) == 20_000
    states = collections.Counter(r["leadState"] for r in rows)
    ordered = [s for s, _ in states.most_common()]
    assert ordered[0] == "READY" and ordered[1] == "COMPLETE"
    assert {"CALLBACK", "PAUSED", "MAX-DIAL-LIMIT", "DO-NOT-CALL", "CANCELLED"} <= set(states)
    assert set(states) <= set(store.lead_states())
    suppressed = sum(r["suppressed"] for r in rows) / len(rows)
    assert 0.02 < suppressed < 0.04
    dispositions = set(store.system_dispositions())
    oldest = T0 - 121 * DAY
    for r in rows:
        assert re.fullmatch(r"\d{10}", r["leadPhone"])
        assert r["leadTimezone"] == STATE_TIMEZONES[r["state"]]
        assert 0 <= r["leadPasses"] <= r["maxPasses"]
        assert (r["lastPassDts"] is None) == (r["leadPasses"] == 0)
        assert r["lastPassDisposition"] is None or r["lastPassDisposition"] in dispositions
        assert oldest < parse_wire_date(r["loadedDts"]) < T0
        assert r["externId"]
    assert len({r["leadTimezone"] for r in rows}) >= 4
    assert any(r["agentDispostion"] for r in rows)
    maxed = [r for r in rows if r["leadState"] == "MAX-DIAL-LIMIT"]
    assert all(r["leadPasses"] == r["maxPasses"] for r in maxed)


def test_some_phones_repeat_across_campaigns(seeded):
    store, _ = seeded
    campaigns_by_phone = collections.defaultdict(set)
    for r in store.search("99990001", {}, 0, 1_000_000):
        campaigns_by_phone[r["leadPhone"]].add(r["campaignId"])
    shared = [p for p, cs in campaigns_by_phone.items() if len(cs) > 1]
    assert 20 < len(shared) < 0.05 * len(campaigns_by_phone)


def test_orphans_exist_and_paging_is_ordered(seeded):
    store, _ = seeded
    orphans = store.count("99990001", {"orphanedLeadsOnly": True}) + store.count(
        "99990002", {"orphanedLeadsOnly": True}
    )
    assert orphans > 0
    groups = store.dial_groups_with_children("99990001")
    (big,) = [
        c for g in groups for c in g["campaigns"] if c["campaignName"] == "My Predictive Campaign"
    ]
    crit = {"campaignId": big["campaignId"]}
    ids = []
    offset = 0
    while page := store.search("99990001", crit, offset, 1000):
        ids += [r["leadId"] for r in page]
        offset += 1000
    assert ids == sorted(ids) and len(ids) == store.count("99990001", crit) > 1000


def test_every_agent_a_lead_is_reserved_for_has_a_name(seeded):
    store, _ = seeded
    names = agent_names()
    assert len(names) == len(set(names.values())) == 80
    reserved = [
        r
        for account in store.accounts()
        for r in store.search(account["accountId"], {}, 0, 1_000_000)
        if r["pendingAgentId"] is not None
    ]
    assert reserved, "the seed reserves some leads"
    for row in reserved:
        assert row["pendingAgentName"] == names[row["pendingAgentId"]]
    assert agent_names() == names  # derived from the ids alone
