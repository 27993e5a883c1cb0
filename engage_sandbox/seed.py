"""Deterministic, realistic sandbox data: 2 sub-accounts with dial groups, campaigns, lists, leads.

``seed(store, seed, leads)`` resets the store and fills it. Everything is drawn from one
``random.Random(seed)`` in a fixed order, and every id is assigned sequentially, so the same
``seed`` and ``leads`` give the same ids and the same data. Times are relative to an anchor:
the start of the current UTC day by the store's clock, so seeds taken on the same day (or with
the same injected clock) are identical to the millisecond.

Agents 9001-9040 (account 99990001) and 9101-9140 (account 99990002) are the ones leads are
reserved for and dispositioned by; each has a name (``pendingAgentName``), derived from its
id alone so naming them draws nothing from the random stream and changes no other data.

The names RingCX's documentation uses are present (dial group "My New Dial Group", campaigns
"My Predictive Campaign" and "My New Predictive Campaign Python"), and "Renewals" exists in two
dial groups of account 99990001 so name-based discovery has an ambiguity to report. Campaign
ids start at 12345 and list ids at 2222, like the docs' examples.

Lead rows are generated lazily and bulk-inserted; the store builds its indexes afterwards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .store import LEAD_COLUMNS, STATE_TIMEZONES, SandboxStore

MAIN_ACCOUNT_ID = "99990000"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SeedSummary:
    accounts: int
    dial_groups: int
    campaigns: int
    lists: int
    leads: int
    seconds: float


@dataclass(frozen=True)
class _CampaignSpec:
    name: str
    desc: str
    weight: float  # share of the seeded leads
    max_passes: int = 3
    active: bool = True
    product: str = "Auto"


@dataclass(frozen=True)
class _DialGroupSpec:
    name: str
    desc: str
    mode: str
    campaigns: tuple[_CampaignSpec, ...]
    active: bool = True


_ACCOUNTS: tuple[tuple[str, str, str, tuple[_DialGroupSpec, ...]], ...] = (
    (
        "99990001",
        "Northwind Outbound",
        "NWO",
        (
            _DialGroupSpec(
                "My New Dial Group",
                "Predictive dialing for the main sales floor",
                "PREDICTIVE",
                (
                    _CampaignSpec("My Predictive Campaign", "Inbound web leads", 30, 5),
                    _CampaignSpec(
                        "My New Predictive Campaign Python", "Leads loaded by the API", 8, 3
                    ),
                ),
            ),
            _DialGroupSpec(
                "Sales East",
                "East coast sales team",
                "PREDICTIVE",
                (
                    _CampaignSpec("Spring Promo 2026", "Seasonal promotion", 10, 4, product="Home"),
                    _CampaignSpec("Renewals", "Policy renewals, sales side", 12, 6),
                ),
            ),
            _DialGroupSpec(
                "Retention",
                "Keeping customers who are about to lapse",
                "POWER",
                (
                    _CampaignSpec("Renewals", "Policy renewals, retention side", 9, 6),
                    _CampaignSpec("Win-back Q2", "Customers lost in Q1", 6, 3, product="Life"),
                ),
            ),
            _DialGroupSpec(
                "Preview Team",
                "Agents preview each lead before dialing",
                "PREVIEW",
                (
                    _CampaignSpec("Warm Referrals", "Referred by existing customers", 3, 8),
                    _CampaignSpec(
                        "Trade Show Follow-up", "Booth scans", 2, 2, active=False, product="Home"
                    ),
                ),
            ),
        ),
    ),
    (
        "99990002",
        "Northwind Collections",
        "NWC",
        (
            _DialGroupSpec(
                "Collections Predictive",
                "Early and late stage collections",
                "PREDICTIVE",
                (
                    _CampaignSpec("Early Stage 30-60", "30 to 60 days past due", 8, 6),
                    _CampaignSpec("Late Stage 90+", "90+ days past due", 5, 10),
                ),
            ),
            _DialGroupSpec(
                "Customer Care",
                "Outbound care calls",
                "PREVIEW",
                (
                    _CampaignSpec("Satisfaction Survey", "Post-resolution survey", 3, 2),
                    _CampaignSpec("Renewals", "Payment plan renewals", 2, 4, product="Life"),
                ),
            ),
            _DialGroupSpec(
                "Legacy Dialing",
                "Retired dial group kept for reporting",
                "POWER",
                (_CampaignSpec("Archive 2025", "Last year's leftovers", 1, 3, active=False),),
                active=False,
            ),
        ),
    ),
)

_DISPOSITIONS = (
    "Sale",
    "Interested",
    "Not Interested",
    "Call Back Later",
    "Left Voicemail",
    "Wrong Number",
    "Do Not Call",
    "Already Customer",
)
_COLLECTION_DISPOSITIONS = (
    "Promise To Pay",
    "Paid In Full",
    "Payment Plan",
    "Refused To Pay",
    "Call Back Later",
    "Left Voicemail",
    "Wrong Number",
    "Do Not Call",
    "Dispute",
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# (city, US state, area codes, base zip, weight); the timezone follows from the state, and the
# rough population weights let the big metros dominate as they do in real lists.
_CITIES: tuple[tuple[str, str, tuple[str, ...], int, int], ...] = (
    ("New York", "NY", ("212", "646", "718", "917"), 10001, 9),
    ("Brooklyn", "NY", ("347", "718"), 11201, 5),
    ("Boston", "MA", ("617", "857"), 2108, 4),
    ("Philadelphia", "PA", ("215", "267"), 19102, 4),
    ("Pittsburgh", "PA", ("412",), 15212, 2),
    ("Baltimore", "MD", ("410", "443"), 21201, 2),
    ("Washington", "DC", ("202",), 20001, 2),
    ("Richmond", "VA", ("804",), 23219, 1),
    ("Charlotte", "NC", ("704", "980"), 28202, 3),
    ("Raleigh", "NC", ("919",), 27601, 2),
    ("Atlanta", "GA", ("404", "470", "678"), 30303, 4),
    ("Miami", "FL", ("305", "786"), 33101, 4),
    ("Orlando", "FL", ("407",), 32801, 2),
    ("Tampa", "FL", ("813",), 33602, 2),
    ("Columbus", "OH", ("614",), 43215, 2),
    ("Cleveland", "OH", ("216",), 44113, 2),
    ("Detroit", "MI", ("313",), 48201, 2),
    ("Newark", "NJ", ("973",), 7102, 2),
    ("Hartford", "CT", ("860",), 6103, 1),
    ("Louisville", "KY", ("502",), 40202, 1),
    ("Chicago", "IL", ("312", "773", "872"), 60601, 6),
    ("Houston", "TX", ("713", "832", "281"), 77002, 5),
    ("Dallas", "TX", ("214", "469", "972"), 75201, 5),
    ("Austin", "TX", ("512", "737"), 78701, 3),
    ("San Antonio", "TX", ("210",), 78205, 3),
    ("Minneapolis", "MN", ("612",), 55401, 2),
    ("Kansas City", "MO", ("816",), 64105, 2),
    ("St. Louis", "MO", ("314",), 63101, 2),
    ("Nashville", "TN", ("615",), 37201, 2),
    ("Memphis", "TN", ("901",), 38103, 1),
    ("New Orleans", "LA", ("504",), 70112, 1),
    ("Milwaukee", "WI", ("414",), 53202, 1),
    ("Oklahoma City", "OK", ("405",), 73102, 1),
    ("Omaha", "NE", ("402",), 68102, 1),
    ("Denver", "CO", ("303", "720"), 80202, 3),
    ("Phoenix", "AZ", ("602", "480", "623"), 85003, 4),
    ("Tucson", "AZ", ("520",), 85701, 1),
    ("Salt Lake City", "UT", ("801",), 84101, 2),
    ("Albuquerque", "NM", ("505",), 87102, 1),
    ("Boise", "ID", ("208",), 83702, 1),
    ("Los Angeles", "CA", ("213", "310", "323"), 90012, 8),
    ("San Diego", "CA", ("619", "858"), 92101, 4),
    ("San Francisco", "CA", ("415", "628"), 94105, 3),
    ("San Jose", "CA", ("408", "669"), 95113, 2),
    ("Sacramento", "CA", ("916",), 95814, 2),
    ("Seattle", "WA", ("206",), 98101, 3),
    ("Portland", "OR", ("503", "971"), 97204, 2),
    ("Las Vegas", "NV", ("702",), 89101, 2),
    ("Anchorage", "AK", ("907",), 99501, 1),
    ("Honolulu", "HI", ("808",), 96813, 1),
)

_FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
    "Jacob Kathleen Gary Angela Nicholas Shirley Eric Brenda Jonathan Emma Stephen Anna "
    "Larry Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel "
    "Debra Gregory Rachel Alexander Carolyn Patrick Janet Frank Maria Raymond Olivia Jack "
    "Heather Dennis Helen Jerry Catherine Tyler Diane Aaron Julie Jose Victoria Adam Joyce "
    "Nathan Lauren Henry Kelly Zachary Christina Douglas Ruth Peter Joan Kyle Virginia Noah "
    "Judith Ethan Evelyn Jeremy Hannah Walter Andrea Christian Megan Keith Cheryl Roger "
    "Jacqueline Terry Madison Austin Teresa Sean Abigail Gerald Sophia Carl Martha Harold "
    "Sara Dylan Gloria Arthur Janice Lawrence Kathryn Jordan Ann Jesse Isabella Bryan Judy "
    "Billy Charlotte Bruce Julia Gabriel Grace Joe Amber Logan Alice Alan Jean Juan Denise "
    "Albert Frances Willie Danielle Elijah Marilyn Wayne Natalie Randy Beverly Vincent Diana "
    "Mason Brittany Roy Theresa Ralph Kayla Bobby Alexis Russell Doris Bradley Lori Philip "
    "Tiffany Eugene Ada Grace Alan Ada Wei Mei Priya Raj Carlos Sofia Luis Camila Diego Ana"
)
_LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin "
    "Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens "
    "Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy "
    "Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter "
    "Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner "
    "Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels "
    "Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins "
    "Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Lovelace Hopper"
)
_STREETS = _words(
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Sunset Lincoln Jackson Church "
    "River Highland Forest Meadow Spring Franklin Madison Jefferson Ridge Valley Willow Mill "
    "Walnut Chestnut Center Union Market Broad Liberty Prospect Cherry Adams Harrison Grove"
)
_STREET_TYPES = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl")
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
_LIST_NAMES = (
    "Web leads {month}",
    "Purchased list {letter}",
    "Renewal batch {n}",
    "CRM export {month}",
    "Referral upload {month}",
    "Trade show {month}",
    "Re-engagement {letter}",
    "Partner feed {n}",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Lead state mix: mostly READY, then the usual outcomes of a campaign that has been dialing.
_STATE_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("READY", 52),
    ("COMPLETE", 15),
    ("MAX-DIAL-LIMIT", 8),
    ("CALLBACK", 4),
    ("AGENT-CALLBACK", 2),
    ("PENDING-CALLBACK", 1),
    ("PAUSED", 5),
    ("DO-NOT-CALL", 3),
    ("CANCELLED", 3),
    ("CALLBACK-CANCELLED", 1),
    ("DISCONNECTED", 2.5),
    ("INTERCEPT", 0.5),
    ("ACTIVE", 0.5),
    ("PENDING", 1),
    ("TRANSITIONED", 0.5),
    ("WHITELIST", 1),
)
# Last-pass outcomes of a lead that was dialed and is not finished with a conversation.
_NO_CONTACT = (
    ("NOANSWER", 40),
    ("MACHINE", 25),
    ("BUSY", 12),
    ("ANSWER", 8),
    ("ABANDON", 5),
    ("APP_REQUEUE", 5),
    ("CONGESTION", 3),
    ("MANUAL_PASS", 2),
)
_CALLBACK_STATES = frozenset({"CALLBACK", "AGENT-CALLBACK", "PENDING-CALLBACK"})


def _table(pairs: tuple[tuple[str, float], ...], size: int = 1000) -> tuple[str, ...]:
    """Expand weights into a lookup table so one random() picks a weighted value."""
    total = sum(w for _, w in pairs)
    out: list[str] = []
    for value, weight in pairs:
        out.extend([value] * round(size * weight / total))
    return tuple(out)


_STATE_TABLE = _table(_STATE_WEIGHTS)
_NO_CONTACT_TABLE = _table(_NO_CONTACT)
_CITY_TABLE = tuple(city[:4] for city in _CITIES for _ in range(city[4]))


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` proportionally to ``weights`` (largest remainder, exact sum)."""
    wsum = sum(weights)
    exact = [total * w / wsum for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass
class _ListPlan:
    campaign_id: int
    account_id: str
    prefix: str
    desc: str
    state: str
    priority: int
    upload: int
    weight: float
    max_passes: int
    dispositions: tuple[str, ...]
    product: str
    caller_id: str | None
    list_id: int = 0
    count: int = 0


def seed(
    store: SandboxStore, seed: int = 1, leads: int = 10_000, hot_campaign: str | None = None
) -> SeedSummary:
    """Reset ``store`` and fill it with deterministic data; returns what was created.

    ``hot_campaign`` puts every lead into the campaign(s) of that name (the benchmark's
    1M-lead campaign); the account tree stays the same.
    """
    started = time.perf_counter()
    rng = random.Random(seed)
    anchor = store.now_ms() // DAY_MS * DAY_MS
    store.reset()

    plans: list[_ListPlan] = []
    hot_ids: set[int] = set()
    n_dial_groups = n_campaigns = 0
    dial_group_id, campaign_id = 3001, 12345
    for account_id, account_name, prefix, groups in _ACCOUNTS:
        store.add_account(account_id, account_name, MAIN_ACCOUNT_ID)
        collections = account_id == "99990002"
        for group in groups:
            store.add_dial_group(
                account_id, group.name, group.desc, group.mode, group.active, dial_group_id
            )
            n_dial_groups += 1
            for spec in group.campaigns:
                dispositions = _COLLECTION_DISPOSITIONS if collections else _DISPOSITIONS
                caller_id = None if rng.random() < 0.3 else f"800555{rng.randrange(10_000):04d}"
                store.add_campaign(
                    dial_group_id,
                    spec.name,
                    spec.desc,
                    spec.active,
                    campaign_id,
                    dispositions,
                    spec.max_passes,
                    caller_id,
                )
                n_campaigns += 1
                if spec.name == hot_campaign:
                    hot_ids.add(campaign_id)
                n_lists = rng.randint(1, 4)
                shares = [rng.uniform(0.3, 1.0) for _ in range(n_lists)]
                for share in shares:
                    upload = anchor - int(rng.uniform(1, 120) * DAY_MS)
                    name = rng.choice(_LIST_NAMES).format(
                        month=_MONTHS[time.gmtime(upload // 1000).tm_mon - 1],
                        letter=chr(65 + rng.randrange(8)),
                        n=rng.randint(1, 30),
                    )
                    plans.append(
                        _ListPlan(
                            campaign_id,
                            account_id,
                            prefix,
                            name,
                            "ACTIVE",
                            rng.randint(1, 5),
                            upload,
                            spec.weight * share / sum(shares),
                            spec.max_passes,
                            dispositions,
                            spec.product,
                            caller_id,
                        )
                    )
                campaign_id += 1
            dial_group_id += 1

    # Lists get ids in upload order, so lead ids grow with loadedDts as in a real account.
    plans.sort(key=lambda p: (p.upload, p.campaign_id))
    for offset, plan in enumerate(plans):
        plan.list_id = 2222 + offset
    # One deleted list (its leads are the orphans orphanedLeadsOnly finds) and one paused list.
    plans[0].state = "DELETED"
    plans[len(plans) // 2].state = "PAUSED"
    if hot_campaign is not None and not hot_ids:
        raise ValueError(f"no campaign named {hot_campaign!r} in the seed")
    weights = [p.weight if not hot_ids or p.campaign_id in hot_ids else 0.0 for p in plans]
    for plan, count in zip(plans, _allocate(leads, weights), strict=True):
        plan.count = count
        store.add_list(
            plan.campaign_id,
            plan.desc,
            plan.state,
            plan.priority,
            count,
            count - count // 50,
            plan.upload,
            plan.list_id,
        )

    store.add_agents(agent_names())
    inserted = store.bulk_insert_leads(_lead_rows(rng, plans, anchor), LEAD_COLUMNS)
    return SeedSummary(
        accounts=len(_ACCOUNTS),
        dial_groups=n_dial_groups,
        campaigns=n_campaigns,
        lists=len(plans),
        leads=inserted,
        seconds=round(time.perf_counter() - started, 3),
    )


#: The first agent id of each account's 40 agents (see _lead_rows).
AGENT_BASES: tuple[int, ...] = (9001, 9101)


def agent_names() -> dict[int, str]:
    """A stable name for every seeded agent: ``{9001: "Mary Johnson", ...}``."""
    names = {}
    for base in AGENT_BASES:
        for i in range(40):
            agent = base + i
            first = _FIRST_NAMES[(agent * 7) % len(_FIRST_NAMES)]
            last = _LAST_NAMES[(agent * 13) % len(_LAST_NAMES)]
            names[agent] = f"{first} {last}"
    return names


def _lead_rows(
    rng: random.Random, plans: list[_ListPlan], anchor: int
) -> Iterator[tuple[Any, ...]]:
    """Yield lead tuples in LEAD_COLUMNS order. Hot loop: one random() per decision."""
    r = rng.random
    city_table, state_table = _CITY_TABLE, _STATE_TABLE
    no_contact = _NO_CONTACT_TABLE
    firsts, lasts, streets = _FIRST_NAMES, _LAST_NAMES, _STREETS
    n_city, n_state, n_nc = len(city_table), len(state_table), len(no_contact)
    n_first, n_last, n_street = len(firsts), len(lasts), len(streets)
    # Phones already used per account, sampled, to duplicate across campaigns.
    phone_pool: dict[str, list[tuple[int, str]]] = {}
    extern_seq: dict[str, int] = {}
    lead_id = 100_000
    for plan in plans:
        pool = phone_pool.setdefault(plan.account_id, [])
        seq = extern_seq.get(plan.account_id, 0)
        max_passes = plan.max_passes
        dispositions = plan.dispositions
        n_dispo = len(dispositions)
        agent_base = AGENT_BASES[0] if plan.account_id == "99990001" else AGENT_BASES[1]
        for _ in range(plan.count):
            lead_id += 1
            seq += 1
            city, us_state, area_codes, base_zip = city_table[int(r() * n_city)]
            if pool and r() < 0.015:
                other_campaign, phone = pool[int(r() * len(pool))]
                if other_campaign == plan.campaign_id:
                    phone = _phone(r, area_codes)
            else:
                phone = _phone(r, area_codes)
                if r() < 0.02:
                    pool.append((plan.campaign_id, phone))

            state = state_table[int(r() * n_state)]
            loaded = plan.upload + int(r() * 600_000)
            if state == "READY":
                passes = 0 if r() < 0.55 else 1 + int(r() * max(max_passes - 1, 1))
                passes = min(passes, max_passes - 1)
            elif state == "MAX-DIAL-LIMIT":
                passes = max_passes
            elif state in ("PENDING", "WHITELIST"):
                passes = 0
            elif state in ("PAUSED", "ACTIVE", "CANCELLED"):
                passes = int(r() * max_passes)
            else:
                passes = 1 + int(r() * max_passes)

            last_pass = system_dispo = agent_dispo = agent_id = None
            if passes:
                last_pass = loaded + int(r() * (anchor - loaded))
                if state == "COMPLETE":
                    x = r()
                    system_dispo = (
                        "ANSWER"
                        if x < 0.8
                        else "APP_REQUEUE_COMPLETE"
                        if x < 0.9
                        else "MANUAL_PASS"
                    )
                    agent_dispo = dispositions[int(r() * n_dispo)]
                elif state == "DO-NOT-CALL":
                    system_dispo = "APP_DNC" if r() < 0.6 else "ANSWER"
                    agent_dispo = "Do Not Call"
                elif state in _CALLBACK_STATES or state == "CALLBACK-CANCELLED":
                    system_dispo, agent_dispo = "ANSWER", "Call Back Later"
                elif state == "DISCONNECTED":
                    system_dispo = "DISCONNECT"
                elif state == "INTERCEPT":
                    system_dispo = "INTERCEPT"
                else:
                    system_dispo = no_contact[int(r() * n_nc)]
                    if system_dispo in ("ANSWER", "MANUAL_PASS"):
                        agent_dispo = dispositions[int(r() * n_dispo)]
                if agent_dispo is not None:
                    agent_id = agent_base + int(r() * 40)

            pending_agent = None
            if state == "READY":
                next_dial = max(loaded, anchor + int((r() * 3.5 - 3.0) * DAY_MS))
                if r() < 0.005:
                    pending_agent = agent_base + int(r() * 40)
            elif state in _CALLBACK_STATES:
                next_dial = anchor + HOUR_MS + int(r() * 7 * DAY_MS)
                if state == "AGENT-CALLBACK":
                    pending_agent = agent_id or agent_base + int(r() * 40)
            elif state in ("PAUSED", "PENDING", "ACTIVE"):
                next_dial = anchor - int(r() * 2 * DAY_MS)
            else:
                next_dial = None

            first = firsts[int(r() * n_first)]
            last = lasts[int(r() * n_last)]
            x = r()
            email = (
                f"{first.lower()}.{last.lower()}{int(x * 1000)}@{_EMAIL_DOMAINS[int(x * 4)]}"
                if x < 0.7
                else None
            )
            x = r()
            address2 = (
                None if x > 0.12 else f"{'Apt' if x < 0.08 else 'Suite'} {1 + int(r() * 400)}"
            )
            x, y = r(), r()
            yield (
                lead_id,
                plan.account_id,
                plan.campaign_id,
                plan.list_id,
                f"{plan.prefix}-{seq:07d}",
                phone,
                state,
                STATE_TIMEZONES[us_state],
                passes,
                max_passes,
                next_dial,
                last_pass,
                system_dispo,
                agent_dispo,
                1 if r() < 0.03 else 0,
                loaded,
                first,
                "ABCDEFGHJKLMNPRSTW"[int(r() * 18)] if x < 0.3 else None,
                last,
                f"{1 + int(r() * 9899)} {streets[int(r() * n_street)]} "
                f"{_STREET_TYPES[int(r() * 9)]}",
                address2,
                city,
                us_state,
                f"{base_zip + int(r() * 40):05d}",
                email,
                plan.product,
                ("Gold", "Silver", "Bronze", "Standard")[int(y * 4)],
                f"P{int(r() * 10_000_000):07d}" if y < 0.6 else None,
                ("web", "referral", "purchased", "event")[int(x * 10) % 4] if x > 0.6 else None,
                "VIP" if y > 0.97 else None,
                plan.caller_id if x > 0.95 else None,
                agent_id,
                pending_agent,
                None,
            )
        extern_seq[plan.account_id] = seq


def _phone(r: Any, area_codes: tuple[str, ...]) -> str:
    area = area_codes[int(r() * len(area_codes))]
    return f"{area}{200 + int(r() * 800):03d}{int(r() * 10_000):04d}"
