"""SandboxStore: discovery, wire shapes, paging, direct load, counters, files and threads."""

from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from engage_sandbox import get_dialect
from engage_sandbox.errors import SandboxError
from engage_sandbox.store import SandboxStore

A, B = "99990001", "99990002"
T0 = 1_780_000_000_000
WIRE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
ROW_KEYS = {
    "leadId",
    "externId",
    "campaignId",
    "campaignName",
    "dialGroupId",
    "listId",
    "listDesc",
    "leadPhone",
    "leadState",
    "leadTimezone",
    "leadPasses",
    "maxPasses",
    "nextDialTime",
    "lastPassDts",
    "lastPassDisposition",
    "agentDispostion",
    "suppressed",
    "loadedDts",
    "firstName",
    "midName",
    "lastName",
    "address1",
    "address2",
    "city",
    "state",
    "zip",
    "email",
    "auxData1",
    "auxData2",
    "auxData3",
    "auxData4",
    "auxData5",
    "callerId",
    "pendingAgentName",
    "campaignLead",
    "pendingAgentId",
    "originalLeadId",
}


@pytest.fixture
def store():
    s = SandboxStore(clock=lambda: T0 / 1000)
    yield s
    s.close()


@pytest.fixture
def world(store):
    store.add_account(A, "Acct A", "99990000")
    store.add_account(B, "Acct B", "99990000")
    dg1 = store.add_dial_group(A, "Sales", "desc", "PREDICTIVE", dial_group_id=3001)
    dg2 = store.add_dial_group(A, "Retention", None, "POWER", is_active=False)
    dgb = store.add_dial_group(B, "Collections")
    c1 = store.add_campaign(
        dg1, "Renewals", "sales side", campaign_id=12345, dispositions=["Sale", "No Sale"]
    )
    c2 = store.add_campaign(dg2, "Renewals", is_active=False)
    cb = store.add_campaign(dgb, "Late Stage")
    l1 = store.add_list(
        c1, "Web leads", list_priority=3, leads_supplied=10, leads_accepted=9, upload_date=T0 - 1000
    )
    store.add_list(c2, "Other")
    store.insert_leads(
        dict(campaign_id=c1, list_id=l1, extern_id=f"x{i:03d}", lead_phone=f"41555{i:05d}")
        for i in range(250)
    )
    return dict(dg1=dg1, dg2=dg2, dgb=dgb, c1=c1, c2=c2, cb=cb, l1=l1)


# --------------------------------------------------------------------------- discovery


def test_accounts_and_dial_groups(store, world):
    assert store.accounts() == [
        {"accountId": A, "accountName": "Acct A", "mainAccountId": "99990000"},
        {"accountId": B, "accountName": "Acct B", "mainAccountId": "99990000"},
    ]
    assert store.dial_groups(A) == [
        {
            "dialGroupId": 3001,
            "dialGroupName": "Sales",
            "dialGroupDesc": "desc",
            "dialMode": "PREDICTIVE",
            "isActive": True,
        },
        {
            "dialGroupId": world["dg2"],
            "dialGroupName": "Retention",
            "dialGroupDesc": None,
            "dialMode": "POWER",
            "isActive": False,
        },
    ]
    children = store.dial_groups_with_children(A)
    assert [g["campaigns"] for g in children] == [
        [{"campaignId": 12345, "campaignName": "Renewals", "isActive": 1}],
        [{"campaignId": world["c2"], "campaignName": "Renewals", "isActive": 0}],
    ]
    store.require_account(A)
    for call in (lambda: store.require_account("404"), lambda: store.dial_groups("404")):
        with pytest.raises(SandboxError) as err:
            call()
        assert err.value.status == 404


def test_campaigns_lists_dispositions(store, world):
    assert store.campaigns(A, 3001) == [
        {
            "campaignId": 12345,
            "campaignName": "Renewals",
            "campaignDesc": "sales side",
            "isActive": 1,
            "dialGroup": {"dialGroupId": 3001, "dialGroupName": "Sales"},
        }
    ]
    assert store.lists(A, 3001, 12345) == [
        {
            "listId": world["l1"],
            "listDesc": "Web leads",
            "listState": "ACTIVE",
            "listPriority": 3,
            "leadsSupplied": 10,
            "leadsAccepted": 9,
            "uploadDate": "2026-05-28T20:26:39.000+0000",
        }
    ]
    assert store.campaign_dispositions(A, 3001, 12345) == ["Sale", "No Sale"]
    assert "Not Interested" in store.campaign_dispositions(A, world["dg2"], world["c2"])


@pytest.mark.parametrize(
    "call",
    [
        lambda s, w: s.campaigns(A, w["dgb"]),  # a dial group of another account
        lambda s, w: s.campaigns(A, 999),
        lambda s, w: s.lists(A, w["dg2"], w["c1"]),  # campaign not in that dial group
        lambda s, w: s.lists(A, w["dgb"], w["cb"]),
        lambda s, w: s.lists(B, w["dgb"], 999),
        lambda s, w: s.campaign_dispositions(A, w["dg1"], w["c2"]),
    ],
)
def test_discovery_404s(store, world, call):
    with pytest.raises(SandboxError) as err:
        call(store, world)
    assert err.value.status == 404


def test_metadata_enums(store):
    states = store.lead_states()
    assert {"READY", "DO-NOT-CALL", "PENDING-CALLBACK", "MAX-DIAL-LIMIT", "TRANSITIONED"} <= set(
        states
    )
    assert "SUPPRESSED" not in states and all("_" not in s for s in states)
    assert {"ANSWER", "NOANSWER", "MANUAL_PASS", "APP_DNC"} <= set(store.system_dispositions())


# --------------------------------------------------------------------------- search


def test_wire_shape_of_a_row(store, world):
    (row,) = store.search(A, {"campaignId": 12345}, 0, 1)
    assert set(row) == ROW_KEYS
    assert row["campaignName"] == "Renewals" and row["dialGroupId"] == 3001
    assert row["listDesc"] == "Web leads" and row["suppressed"] is False
    assert WIRE_DATE.match(row["loadedDts"]) and WIRE_DATE.match(row["nextDialTime"])
    assert row["lastPassDts"] is None
    assert store.get_lead(row["leadId"]) == row
    assert store.get_lead(987654) is None


def test_paging_is_ordered_by_lead_id_and_complete(store, world):
    crit = {"campaignId": 12345}
    pages, offset = [], 0
    while page := store.search(A, crit, offset, 64):
        pages.append(page)
        offset += len(page)
    ids = [r["leadId"] for page in pages for r in page]
    assert ids == sorted(ids) and len(set(ids)) == 250 == store.count(A, crit)
    assert [len(p) for p in pages] == [64, 64, 64, 58]
    assert store.search(A, crit, 250, 64) == []
    assert store.search(A, crit, 0, 0) == []
    assert store.search(A, crit, -5, 2) == store.search(A, crit, 0, 2)


def test_sequential_pages_stay_exact_across_writes(store, world):
    crit = {"campaignId": 12345}
    first = store.search(A, crit, 0, 100)
    # A write between pages: the next page must be what OFFSET gives now.
    store.apply_action(A, "DELETE_LEADS", {"leadIds": [r["leadId"] for r in first[:10]]}, None)
    second = store.search(A, crit, 100, 100)
    assert [r["leadId"] for r in second] == [
        r["leadId"] for r in store.search(A, crit, 0, 250)[100:200]
    ]
    third = store.search(A, crit, 200, 100)
    assert len(third) == 40
    assert second[-1]["leadId"] < third[0]["leadId"]


def test_multi_campaign_pages_merge_in_lead_id_order(store, world):
    c1, c2 = 12345, world["c2"]
    store.insert_leads(
        dict(
            campaign_id=(c1, c2)[i % 2],
            extern_id=f"m{i}",
            lead_phone=f"31255{i:05d}",
            lead_state=("READY", "PAUSED", "COMPLETE")[i % 3],
        )
        for i in range(120)
    )
    for crit in (
        {"campaignIds": [c1, c2]},
        {"campaignId": c2, "campaignIds": [c1, world["cb"]], "leadStates": ["READY", "PAUSED"]},
        {"campaignIds": [c1, c2], "leadPhoneNumbers": ["3125500007", "3125500010", "4155500003"]},
    ):
        everything = store.search(A, crit, 0, 10_000)
        assert [r["leadId"] for r in everything] == sorted(r["leadId"] for r in everything)
        assert len(everything) == store.count(A, crit)
        paged, offset = [], 0
        while page := store.search(A, crit, offset, 7):  # sequential: seeks past marks
            paged += page
            offset += len(page)
        assert paged == everything
        assert store.search(A, crit, 5, 9) == everything[5:14]  # a jump: plain OFFSET


def test_leads_of_other_accounts_are_invisible(store, world):
    assert store.count(B, {}) == 0
    assert store.count(B, {"campaignId": 12345}) == 0
    assert store.count(A, {}) == 250


# --------------------------------------------------------------------------- direct load


def test_load_leads_success(store, world):
    body = {
        "description": "Renewal leads",
        "dialPriority": "IMMEDIATE",
        "duplicateHandling": "RETAIN_ALL",
        "listState": "ACTIVE",
        "timeZoneOption": "NOT_APPLICABLE",
        "uploadLeads": [
            {
                "externId": "lead-1001",
                "leadPhone": "(415) 555-0100",
                "firstName": "Ada",
                "state": "ca",
                "maxPasses": 3,
                "auxData1": "renewal",
                "reserveAgent": "980",
            },
            {"externId": 1002, "leadPhoneE164": "+12125550101", "email": "g@example.com"},
            {"externId": "", "leadPhone": "4155550102"},
            {"externId": "lead-1004", "leadPhone": "555-0103"},
            {"externId": "lead-1005", "leadPhone": "3125550104", "reserveAgent": "bob"},
            "not an object",
        ],
    }
    result = store.load_leads(A, 12345, body)
    assert result["processingStatus"] == "DEFAULT_NOT_A_FAILURE"
    assert result["processingResult"] == "OK"
    assert result["message"] == "Your uploaded lead list has successfully completed processing"
    assert (result["leadsSupplied"], result["leadsAccepted"], result["leadsInserted"]) == (6, 3, 3)
    assert result["failedAgentAssignment"] == 1 and result["listState"] == "ACTIVE"
    assert [r["message"] for r in result["rejectedRows"]] == [
        "Missing required field externId",
        "Invalid leadPhone '555-0103': at least 10 digits required",
        "Lead is not a JSON object",
    ]
    assert result["rejectedRows"][0]["rowData"] == ["", "4155550102"]
    lists = store.lists(A, 3001, 12345)
    new = lists[-1]
    assert new["listDesc"] == "Renewal leads" and new["listPriority"] == 10
    assert (new["leadsSupplied"], new["leadsAccepted"]) == (6, 3)
    rows = {r["externId"]: r for r in store.search(A, {"listIds": [new["listId"]]}, 0, 10)}
    assert set(rows) == {"lead-1001", "1002", "lead-1005"}
    ada = rows["lead-1001"]
    assert ada["leadPhone"] == "4155550100" and ada["state"] == "CA"
    assert ada["leadTimezone"] == "PST" and ada["pendingAgentId"] == 980
    assert ada["leadState"] == "READY" and ada["leadPasses"] == 0
    assert rows["1002"]["leadPhone"] == "2125550101"


def test_load_where_nothing_passes_is_a_failure_body_not_an_error(store, world):
    lists_before = store.lists(A, 3001, 12345)
    writes = store.stats()["writes"]
    result = store.load_leads(
        A,
        12345,
        {
            "description": "bad",
            "uploadLeads": [{"externId": "a", "leadPhone": "12"}, {"leadPhone": "4155550100"}],
        },
    )
    assert result["processingStatus"] == "NO_LEADS_PASSED_VALIDATION"
    assert result["processingResult"] == "Failed"
    assert result["message"] == "Your uploaded lead list file processing has failed"
    assert result["leadsAccepted"] == 0 and result["leadsInserted"] == 0
    assert len(result["rejectedRows"]) == 2
    assert store.lists(A, 3001, 12345) == lists_before
    empty = store.load_leads(A, 12345, {"description": "empty", "uploadLeads": []})
    assert empty["processingStatus"] == "NO_LEADS_PASSED_VALIDATION"
    assert store.stats()["writes"] == writes + 2


def test_load_duplicate_handling(store, world):
    def load(mode, *phones):
        ups = [{"externId": f"n{i}", "leadPhone": p} for i, p in enumerate(phones)]
        return store.load_leads(A, 12345, {"duplicateHandling": mode, "uploadLeads": ups})

    existing = "4155500007"  # x007 of the fixture
    kept = load("REMOVE_FROM_LIST", existing, "9995550001", "9995550001")
    assert (kept["leadsAccepted"], kept["leadsInserted"]) == (3, 1)
    assert store.count(A, {"leadPhoneNum": "9995550001"}) == 1
    retained = load("RETAIN_ALL", existing)
    assert retained["leadsInserted"] == 1
    assert store.count(A, {"leadPhoneNum": existing}) == 2
    replaced = load("REMOVE_ALL_EXISTING", existing)
    assert (replaced["deletedCount"], replaced["hasDeletedLeads"]) == (2, True)
    assert [r["externId"] for r in store.search(A, {"leadPhoneNum": existing}, 0, 9)] == ["n0"]


@pytest.mark.parametrize(
    ("account", "campaign", "body", "status"),
    [
        (A, 424242, {"uploadLeads": []}, 404),
        (A, "cb", {"uploadLeads": []}, 404),  # a campaign of another account
        ("404", 12345, {"uploadLeads": []}, 404),
        (A, 12345, {"duplicateHandling": "KEEP_SOME", "uploadLeads": []}, 400),
        (A, 12345, {"uploadLeads": {"externId": "a"}}, 400),
        (A, 12345, ["not", "an", "object"], 400),
    ],
)
def test_load_errors(store, world, account, campaign, body, status):
    campaign = world.get(campaign, campaign) if isinstance(campaign, str) else campaign
    writes = store.stats()["writes"]
    with pytest.raises(SandboxError) as err:
        store.load_leads(account, campaign, body)
    assert err.value.status == status
    assert store.stats()["writes"] == writes


@pytest.mark.parametrize("description", [None, "", "   "])
@pytest.mark.parametrize("name", ["spec", "strict", "alternate", "legacy"])
def test_a_load_without_a_description_cannot_make_its_list(store, world, name, description):
    dialect = get_dialect(name)
    lists_before = store.lists(A, 3001, 12345)
    body = {"uploadLeads": [{"externId": "z", "leadPhone": "4155559999"}]}
    if description is not None:
        body["description"] = description
    result = store.load_leads(A, 12345, body, dialect)
    if dialect.lenient_inputs:
        assert result["processingResult"] == "OK" and result["leadsInserted"] == 1
        return
    assert (result["processingResult"], result["processingStatus"]) == ("Failed", "GENERAL_FAILURE")
    assert result["message"] == "Your uploaded lead list file processing has failed"
    assert (result["leadsSupplied"], result["leadsInserted"]) == (1, 0)
    assert store.lists(A, 3001, 12345) == lists_before
    assert store.count(A, {"leadPhoneNum": "4155559999"}) == 0


# --------------------------------------------------------------------------- single update


def test_update_lead(store, world):
    (row,) = store.search(A, {"campaignId": 12345}, 0, 1)
    updated = store.update_lead(
        A,
        row["leadId"],
        {
            "firstName": "Grace",
            "leadState": "paused",
            "leadPhone": "+1 212 555 0199",
            "lastName": None,
            "leadId": 1,
        },
        12345,
    )
    assert updated["firstName"] == "Grace" and updated["leadState"] == "PAUSED"
    assert updated["leadPhone"] == "2125550199" and updated["leadId"] == row["leadId"]
    for args, status in [
        ((A, 987654, {"firstName": "x"}, None), 404),
        ((A, row["leadId"], {"firstName": "x"}, world["c2"]), 404),
        ((B, row["leadId"], {"firstName": "x"}, None), 404),
        ((A, row["leadId"], {"leadState": "SUPPRESSED"}, None), 400),
        ((A, row["leadId"], {"leadPhone": "123"}, None), 400),
    ]:
        with pytest.raises(SandboxError) as err:
            store.update_lead(*args)
        assert err.value.status == status


# --------------------------------------------------------------------------- counters, reset


def test_stats_and_reset(store, world):
    stats = store.stats()
    assert stats["leadCount"] == 250 and stats["writes"] == 0
    store.apply_action(A, "DIALER_REFRESH", {"campaignId": 12345}, None)
    store.load_leads(A, 12345, {"uploadLeads": [{"externId": "z", "leadPhone": "4155559999"}]})
    stats = store.stats()
    assert stats["writes"] == 2 and stats["loads"] == 1 and stats["leadsLoaded"] == 1
    assert stats["dialerRefreshes"] == {"12345": 1} and stats["leadCount"] == 251
    store.reset()
    assert store.accounts() == [] and store.stats()["leadCount"] == 0
    assert store.stats()["writes"] == 0 and store.email_outbox() == []


def test_file_database_uses_wal_and_persists(tmp_path):
    path = str(tmp_path / "sandbox.db")
    first = SandboxStore(path)
    first.add_account(A, "A", "99990000")
    cid = first.add_campaign(first.add_dial_group(A, "DG"), "C")
    first.insert_leads([{"campaign_id": cid, "extern_id": "kept", "lead_phone": "4155550100"}])
    first.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    second = SandboxStore(path)
    assert [r["externId"] for r in second.search(A, {}, 0, 10)] == ["kept"]
    second.close()


def test_a_database_file_from_before_dialects_still_opens(tmp_path):
    path = str(tmp_path / "old.db")
    first = SandboxStore(path, clock=lambda: T0 / 1000)
    first.add_account(A, "A", "99990000")
    cid = first.add_campaign(first.add_dial_group(A, "DG"), "C")
    first.insert_leads([{"campaign_id": cid, "extern_id": "old", "lead_phone": "4155550100"}])
    first.close()
    with sqlite3.connect(path) as raw:  # what an older sandbox left behind
        raw.execute("DROP INDEX idx_leads_visible_at")
        raw.execute("ALTER TABLE leads DROP COLUMN visible_at")
    second = SandboxStore(path, clock=lambda: T0 / 1000)
    spec = get_dialect("alternate")
    assert [r["externId"] for r in second.search(A, {"campaignIds": [cid]}, 0, 9, spec)] == ["old"]
    second.load_leads(
        A,
        cid,
        {"description": "new", "uploadLeads": [{"externId": "new", "leadPhone": "4155550101"}]},
        spec,
    )
    assert second.count(A, {"campaignIds": [cid]}, spec) == 1  # the new one is still hidden
    second.close()
    third = SandboxStore(path, clock=lambda: T0 / 1000)  # the delay survives a restart
    assert third.count(A, {"campaignIds": [cid]}, spec) == 1
    assert third.count(A, {"campaignIds": [cid]}) == 2
    third.close()


def test_concurrent_readers_and_writers(store, world):
    errors: list[BaseException] = []
    counts: list[int] = []

    def reader():
        try:
            for i in range(40):
                page = store.search(A, {"campaignId": 12345}, (i * 7) % 200, 50)
                assert all(a["leadId"] < b["leadId"] for a, b in zip(page, page[1:], strict=False))
                store.count(A, {"campaignId": 12345, "suppressed": "ONLY_SUPPRESSED"})
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    def writer():
        try:
            for _ in range(20):
                for action in ("SUPPRESS_LEADS", "UNSUPPRESS_LEADS"):
                    result = store.apply_action(A, action, {"campaignId": 12345}, None)
                    # Each action is atomic: it flips the whole campaign or nothing.
                    assert result["leadUpdateCount"] in (0, 250)
                    counts.append(result["leadUpdateCount"])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=writer) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats()["actionsByType"] == {"SUPPRESS_LEADS": 40, "UNSUPPRESS_LEADS": 40}
    assert store.stats()["leadsWritten"] == sum(counts)
