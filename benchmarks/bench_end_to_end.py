"""A whole run against its lower bound, beside scripts doing the same work, in one run.

The work: RESET_LEADS on the leads of a --leads campaign chosen by a row condition
(leadPasses >= --passes, evaluated on the rows, so every page of the campaign is read),
each request held --latency-ms by the sandbox. Each run gets a
freshly seeded sandbox in a process of its own (so the sandbox never shares a core's GIL
with what it measures), enforcing RingCX's windows divided by --scale:

    lead_action     the product: guards, journal, one proof per chunk, --concurrency in flight
                    (default: as many as the action budget starts at once), in
                    chunks of --chunk-size (default: the size it chooses from the budget)
    sdk batch       a sequential script with the official SDK: one PUT per
                    --script-chunk-size leads, no proof, sleeping through every 429
    sdk per lead    the same with one PUT per lead, on --per-lead-sample leads, its time
                    extrapolated to the whole selection
    paced script    a plain asyncio + httpx script sending the product's requests (the
                    minimal set), each through the client's sliding-window pacer: what
                    pacing that proves 0 x 429 costs, with no product around it
    lower bound     the budgets' time for the minimal request set: the selection's pages
                    (before the first write, since the guards need its total), then one
                    action and one count per chunk of the run, each budget used to its
                    window (and, for reference, the same in the scripts' chunks)

and with every limit off, the product beside a plain asyncio + httpx script sending the
same requests (its request rate is the sandbox's capacity, printed beside). After each
run the sandbox's rows are audited: a planned lead not READY with 0 passes, or a lead
outside the plan changed, is a lead in a wrong state.

    .venv/bin/python benchmarks/bench_end_to_end.py                       # x10 windows
    .venv/bin/python benchmarks/bench_end_to_end.py --scale 1 --leads 20000 --skip-off

Results go to benchmarks/results/end_to_end[-x<scale>].json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOT = "My Predictive Campaign"
RESULTS = Path(__file__).parent / "results"
PAGE = 1000


# -- the sandbox, in a process of its own --------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    from engage_sandbox import FaultConfig, SandboxConfig, SandboxServer, SandboxStore
    from engage_sandbox.seed import seed

    store = SandboxStore()
    seed(store, seed=1, leads=args.leads, hot_campaign=HOT)
    config = SandboxConfig(
        seed=None,
        rate_limit_scale=args.scale,
        rate_limits_enabled=not args.limits_off,
        faults=FaultConfig(latency_ms=args.latency_ms),
    )
    with SandboxServer(config, store=store) as server:
        print(
            json.dumps({"url": server.base_url, "page_base": config.dialect.page_base}), flush=True
        )
        sys.stdin.read()  # until the benchmark closes the pipe


class Sandbox:
    def __init__(self, args: argparse.Namespace, limits_off: bool = False) -> None:
        command = [
            sys.executable, __file__, "serve", "--leads", str(args.leads),
            "--scale", str(args.scale), "--latency-ms", str(args.latency_ms),
        ] + (["--limits-off"] if limits_off else [])  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.url, self.page_base = info["url"], info["page_base"]
        self.scale, self.limits_off = args.scale, limits_off
        import httpx

        self.http = httpx.Client(base_url=self.url, timeout=120)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)

    def settings(self, **overrides: Any) -> Any:
        from engage_sandbox import SandboxConfig
        from engage_voice import EngageSettings

        defaults = SandboxConfig()  # the credentials the served sandbox accepts
        values = {
            "host": self.url,
            "platform_host": self.url,
            "client_id": defaults.client_id,
            "client_secret": defaults.client_secret.get_secret_value(),
            "jwt": defaults.jwt.get_secret_value(),
            "page_size": PAGE,
            "rate_limit_scale": self.scale,
        }
        return EngageSettings(_env_file=None, **{**values, **overrides})

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get("/sandbox/stats").json())

    def limits(self, enabled: bool) -> None:
        self.http.put("/sandbox/settings", json={"rate_limits_enabled": enabled}).raise_for_status()

    def rows(self) -> tuple[str, int, dict[int, tuple[str, int]]]:
        """(account, campaign id, lead id -> (state, passes)), read with the limits off and
        their windows emptied after, so a run starts with empty windows and counters."""
        from engage_voice import SyncEngageClient
        from engage_voice.models import SearchCriteria

        self.limits(False)
        try:
            with SyncEngageClient(self.settings(pacing=False)) as client:
                ref = client.find_campaign(HOT)
                rows = {
                    row.lead_id: (
                        str(getattr(row.lead_state, "value", row.lead_state)),
                        row.lead_passes or 0,
                    )
                    for page in client.search_leads(
                        SearchCriteria(campaign_id=ref.campaign_id), ref.account_id
                    )
                    for row in page
                }
        finally:
            self.limits(not self.limits_off)
            self.http.post("/sandbox/limits/reset").raise_for_status()
        return ref.account_id, ref.campaign_id, rows


def planned(rows: dict[int, tuple[str, int]], passes: int) -> list[int]:
    return sorted(i for i, (_, p) in rows.items() if p >= passes)


def wrong(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], plan: set[int]
) -> int:
    return sum(
        1
        for lead_id, prior in before.items()
        if after.get(lead_id) != (("READY", 0) if lead_id in plan else prior)
    )


# -- the runs ------------------------------------------------------------------------------


def run_product(sandbox: Sandbox, args: argparse.Namespace, key: str) -> dict[str, Any]:
    from engage_voice.models import ResetLeads, SearchCriteria
    from flows.lead_action import lead_action
    from leads_cli.embedded import settings_env
    from tasks.models import CampaignSelector, Condition, Guards, LeadSelection, RunOptions
    from tasks.runtime import close_clients

    os.environ.update(settings_env(sandbox.settings(pacing=not sandbox.limits_off)))
    close_clients()
    # A run that selects nothing first: what a process pays once (imports, Prefect's first
    # flow and task runs) is not charged to the run measured; its requests are forgotten.
    lead_action(
        action=ResetLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=HOT),
            criteria=SearchCriteria(extern_ids=["no-such-lead"]),
        ),
        options=RunOptions(run_key=f"{key}-warm"),
        dry_run=True,
    )
    close_clients()
    sandbox.http.post("/sandbox/limits/reset").raise_for_status()
    started = time.perf_counter()
    report = lead_action(
        action=ResetLeads(),
        selection=LeadSelection(
            source=CampaignSelector(campaign=HOT),
            conditions=[Condition(column="leadPasses", op=">=", value=args.passes)],
        ),
        guards=Guards(max_leads=None, approval_threshold=None),
        options=RunOptions(
            chunk_size=args.chunk_size or 0, max_concurrency=args.concurrency, run_key=key
        ),
    )
    seconds = time.perf_counter() - started
    close_clients()
    return {
        "seconds": seconds,
        "ok": report.ok,
        "leads": report.total_leads,
        "chunks": report.chunks,
    }


def _sdk(sandbox: Sandbox) -> Any:
    from ringcentral_engage_voice import RingCentralEngageVoice

    ev = RingCentralEngageVoice(
        "sandbox-client-id", "sandbox-client-secret", server=sandbox.url, rcServer=sandbox.url
    )
    ev.authorize(jwt="sandbox-jwt")
    return ev


def _patient(call: Any, scale: float, counter: list[int]) -> Any:
    """The SDK raises on any error status: a script sleeps through a 429 and tries again."""
    while True:
        try:
            return call()
        except Exception as exc:
            if "429" not in str(exc):
                raise
            counter[0] += 1
            time.sleep(1.0 / scale)


def run_sdk(
    sandbox: Sandbox, args: argparse.Namespace, account: str, campaign: int, per_lead: int = 0
) -> dict[str, Any]:
    """Search every page, filter in Python, one PUT per chunk (or per lead, on the first
    `per_lead` selected leads)."""
    started = time.perf_counter()
    ev = _sdk(sandbox)
    rate_limited = [0]
    base = f"/api/v1/admin/accounts/{account}/campaignLeads"
    scope = {"campaignId": campaign, "campaignIds": [campaign]}
    ids: list[int] = []
    page = sandbox.page_base
    while True:
        rows = _patient(
            lambda page=page: ev.post(
                f"{base}/leadSearch", scope, params={"page": page, "maxRows": PAGE}
            ).json(),
            sandbox.scale,
            rate_limited,
        )
        ids += [r["leadId"] for r in rows if (r.get("leadPasses") or 0) >= args.passes]
        if len(rows) < PAGE:
            break
        page += 1
    selecting = time.perf_counter() - started
    size = 1 if per_lead else args.script_chunk_size
    work = ids[:per_lead] if per_lead else ids
    for start in range(0, len(work), size):
        body = {"campaignLeadSearchCriteria": {**scope, "leadIds": work[start : start + size]}}
        _patient(
            lambda body=body: ev.put(f"{base}/actions", body, params={"leadAction": "RESET_LEADS"}),
            sandbox.scale,
            rate_limited,
        )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "select_seconds": selecting,
        "leads": len(work),
        "selected": len(ids),
        "script_429s": rate_limited[0],
        "acted": work,
    }


async def _plain(
    sandbox: Sandbox, args: argparse.Namespace, account: str, campaign: int, paced: bool = False
) -> dict[str, Any]:
    """The product's requests with nothing around them: pages (concurrently, as many as
    the count says), then per chunk its action and its count. Paced, each request first
    takes a slot of its class's sliding windows as the client's pacer gives them (a
    request counts from its send until its answer, each window plus the margin): what
    the minimal request set costs any client that proves it stays under the limits."""
    import httpx

    from engage_voice.ratelimit import UNLIMITED, SlidingWindowLimiter, classify

    base = f"/voice/api/v1/admin/accounts/{account}/campaignLeads"
    scope = {"campaignId": campaign, "campaignIds": [campaign]}
    started = time.perf_counter()
    from tasks.planning import concurrency_for

    # As many in flight as the product puts there (its choice, when --concurrency is 0).
    settings = sandbox.settings()
    limit = asyncio.Semaphore(
        concurrency_for(args.concurrency, settings.limits_for("lead_actions"))
    )
    pacers: dict[str, Any] = {}

    def pacer(method: str, path: str, params: dict[str, Any]) -> Any:
        if not paced:
            return UNLIMITED
        kind = classify(method, path, params)  # the client's own operation classes
        if kind not in pacers:
            pacers[kind] = SlidingWindowLimiter(settings.limits_for(kind), settings.pacing_margin)
        return pacers[kind]

    requests = 0
    async with httpx.AsyncClient(
        base_url=sandbox.url, headers={"X-Auth-Token": "sandbox-api-token"}, timeout=120
    ) as http:

        async def post(path: str, body: Any, **params: Any) -> Any:
            nonlocal requests
            method, url = "PUT" if path == "actions" else "POST", f"{base}/{path}"
            async with limit, pacer(method, url, params).slot():
                requests += 1
                response = await http.request(method, url, json=body, params=params)
                response.raise_for_status()
                return response.json()

        total = await post("leadSearch", scope, count="true")
        pages = range(sandbox.page_base, sandbox.page_base + -(-total // PAGE))
        found = await asyncio.gather(
            *(post("leadSearch", scope, page=p, maxRows=PAGE) for p in pages)
        )
        ids = [
            r["leadId"] for rows in found for r in rows if (r.get("leadPasses") or 0) >= args.passes
        ]

        async def chunk(lead_ids: list[int]) -> None:
            criteria = {**scope, "leadIds": lead_ids}
            await post(
                "actions", {"campaignLeadSearchCriteria": criteria}, leadAction="RESET_LEADS"
            )
            await post("leadSearch", {**criteria, "leadStates": ["READY"]}, count="true")

        size = product_chunk_size(args, len(ids))
        await asyncio.gather(*(chunk(ids[s : s + size]) for s in range(0, len(ids), size)))
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "leads": len(ids),
        "requests": requests,
        "requests_per_second": requests / seconds,
    }


def product_chunk_size(args: argparse.Namespace, selected: int) -> int:
    """The chunk size lead_action uses: --chunk-size, or the one it chooses."""
    from engage_sandbox.config import DEFAULT_RATE_LIMITS
    from tasks.planning import chunk_size_for

    windows = [(n, w / args.scale) for n, w in DEFAULT_RATE_LIMITS["lead_actions"]]
    return int(args.chunk_size or chunk_size_for(selected, windows))


def lower_bound(campaign_leads: int, chunks: int, args: argparse.Namespace) -> float:
    from bench_pipeline import min_seconds

    from engage_sandbox.config import DEFAULT_RATE_LIMITS

    def budget(cls: str, n: int) -> float:
        return min_seconds(n, [(k, w / args.scale) for k, w in DEFAULT_RATE_LIMITS[cls]])

    latency = args.latency_ms / 1000
    select = budget("lead_search", -(-campaign_leads // PAGE)) + latency
    act = max(budget("lead_actions", chunks), budget("lead_search_count", chunks)) + 2 * latency
    return select + act


# -- the benchmark -----------------------------------------------------------------------


def measured(args: argparse.Namespace, name: str, limits_off: bool, run: Any) -> dict[str, Any]:
    with Sandbox(args, limits_off=limits_off) as sandbox:
        account, campaign, before = sandbox.rows()
        figures = dict(run(sandbox, account, campaign))
        stats = sandbox.stats()
        _, _, after = sandbox.rows()
    acted = figures.pop("acted", None)
    plan = set(planned(before, args.passes) if acted is None else acted)
    figures["requests_by_class"] = {k: v for k, v in stats["requests_by_class"].items() if v}
    figures["rate_limited_429s"] = stats["rate_limited_429s"]
    figures["campaign_leads"] = len(before)
    figures["wrong"] = wrong(before, after, plan)
    print(f"  {name}: {figures['seconds']:.1f} s", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve"])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument(
        "--passes", type=int, default=3, help="the row condition: leadPasses >= this"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="lead_action's (default: its choice)"
    )
    parser.add_argument("--script-chunk-size", type=int, default=500)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument(
        "--concurrency", type=int, default=0, help="chunks in flight (0: the product's choice)"
    )
    parser.add_argument("--per-lead-sample", type=int, default=300)
    parser.add_argument("--limits-off", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-off", action="store_true", help="leave out the limits-off pairs")
    parser.add_argument(
        "--off-pairs", type=int, default=3, help="limits-off pairs to take the median of"
    )
    args = parser.parse_args()
    if args.off_pairs < 1:
        parser.error("--off-pairs must be at least 1")
    if args.mode == "serve":
        return serve(args)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the figures, not run logs

    from flows.engine import heartbeat_joined
    from leads_cli.prefect_api import prefect_api

    os.environ["LEADS_JOURNAL_DIR"] = tempfile.mkdtemp(prefix="bench-journal-")
    print(
        f"windows x{args.scale:g}, {args.leads:,} leads, leadPasses >= {args.passes}, "
        f"chunks of {args.chunk_size or 'its own choosing'} (scripts: "
        f"{args.script_chunk_size}), {args.latency_ms:g} ms per request",
        flush=True,
    )
    runs: dict[str, dict[str, Any]] = {}
    with prefect_api():
        runs["lead_action"] = measured(
            args, "lead_action", False, lambda s, a, c: run_product(s, args, "e2e")
        )
        with heartbeat_joined():
            runs["lead_action_heartbeat_joined"] = measured(
                args,
                "lead_action, Prefect's heartbeat join",
                False,
                lambda s, a, c: run_product(s, args, "e2e-joined"),
            )
        runs["plain_paced"] = measured(
            args,
            "asyncio + httpx, paced",
            False,
            lambda s, a, c: asyncio.run(_plain(s, args, a, c, paced=True)),
        )
        runs["sdk_batch"] = measured(
            args, "sdk batch", False, lambda s, a, c: run_sdk(s, args, a, c)
        )
        runs["sdk_per_lead"] = measured(
            args,
            "sdk per lead",
            False,
            lambda s, a, c: run_sdk(s, args, a, c, per_lead=args.per_lead_sample),
        )
        if not args.skip_off:
            # Pairs, interleaved, and the median pair reported: on a shared machine one
            # pair's ratio swings by a third from run to run.
            pairs = []
            for index in range(args.off_pairs):
                ours = measured(
                    args,
                    "lead_action, limits off",
                    True,
                    lambda s, a, c, i=index: run_product(s, args, f"e2e-off{i}"),
                )
                plain = measured(
                    args,
                    "asyncio + httpx, limits off",
                    True,
                    lambda s, a, c: asyncio.run(_plain(s, args, a, c)),
                )
                pairs.append((ours["seconds"] / plain["seconds"], ours, plain))
            pairs.sort(key=lambda pair: pair[0])
            _, runs["lead_action_limits_off"], runs["plain_limits_off"] = pairs[len(pairs) // 2]
            runs["limits_off_pairs"] = {
                "ratios": [round(ratio, 3) for ratio, _, _ in pairs],
                "seconds": [(ours["seconds"], plain["seconds"]) for _, ours, plain in pairs],
            }
    product = runs["lead_action"]
    selected = product["leads"]
    bound = lower_bound(product["campaign_leads"], product["chunks"], args)
    script_chunks = -(-selected // args.script_chunk_size)
    script_bound = lower_bound(product["campaign_leads"], script_chunks, args)
    per_lead = runs["sdk_per_lead"]
    # Its selection as measured; its writes, measured on a sample, scaled to every lead.
    write = (per_lead["seconds"] - per_lead["select_seconds"]) / max(1, per_lead["leads"])
    per_lead_total = per_lead["select_seconds"] + write * selected
    rows = [
        ("lead_action (journal, guards, proof per chunk)", product["seconds"], product),
        (
            "lead_action, ending with Prefect's heartbeat join",
            runs["lead_action_heartbeat_joined"]["seconds"],
            runs["lead_action_heartbeat_joined"],
        ),
        (
            "asyncio + httpx, the same requests, paced as the client paces",
            runs["plain_paced"]["seconds"],
            runs["plain_paced"],
        ),
        (
            "sequential SDK script, one PUT per chunk, no proof",
            runs["sdk_batch"]["seconds"],
            runs["sdk_batch"],
        ),
        (
            f"the same, one PUT per lead (extrapolated from {per_lead['leads']})",
            per_lead_total,
            per_lead,
        ),
        (
            f"lower bound: the minimal request set, the run's {product['chunks']} chunks",
            bound,
            None,
        ),
        (f"the same in the scripts' {script_chunks} chunks", script_bound, None),
    ]
    print(
        f"\n{selected:,} of {product['campaign_leads']:,} leads in {product['chunks']} chunks; "
        f"verified: {product['ok']}\n"
    )
    print(f"{'run':66s} {'wall s':>8s} {'ratio':>6s} {'429s':>5s} {'wrong':>6s}")
    for name, seconds, figures in rows:
        extra = (
            f"{figures['rate_limited_429s']:5d} {figures['wrong']:6d}"
            if figures
            else f"{'':5s} {'':6s}"
        )
        print(f"{name:66s} {seconds:8.1f} {seconds / product['seconds']:6.2f} {extra}")
    print(
        f"\nlead_action / lower bound: {product['seconds'] / bound:.2f} (target <= 1.10); "
        f"lead_action / SDK batch: {product['seconds'] / runs['sdk_batch']['seconds']:.2f} (target <= 1.0)"
    )
    paced = runs["plain_paced"]["seconds"]
    print(
        f"paced script / lower bound: {paced / bound:.2f} (what pacing that proves 0 x 429 "
        f"costs any client); lead_action / paced script: {product['seconds'] / paced:.2f}"
    )
    summary: dict[str, Any] = {
        "args": vars(args),
        "runs": runs,
        "lower_bound_seconds": bound,
        "lower_bound_script_chunks_seconds": script_bound,
        "per_lead_extrapolated_seconds": per_lead_total,
        "ratios": {
            "lead_action_to_lower_bound": product["seconds"] / bound,
            "lead_action_to_sdk_batch": product["seconds"] / runs["sdk_batch"]["seconds"],
            "sdk_per_lead_to_lead_action": per_lead_total / product["seconds"],
            "plain_paced_to_lower_bound": paced / bound,
            "lead_action_to_plain_paced": product["seconds"] / paced,
        },
    }
    if not args.skip_off:
        off, plain = runs["lead_action_limits_off"], runs["plain_limits_off"]
        summary["ratios"]["limits_off_lead_action_to_plain"] = off["seconds"] / plain["seconds"]
        spread = ", ".join(f"{r:.2f}" for r in runs["limits_off_pairs"]["ratios"])
        print(
            f"limits off: lead_action {off['seconds']:.1f} s, asyncio + httpx {plain['seconds']:.1f} s: "
            f"{off['seconds'] / plain['seconds']:.2f}, the median of {args.off_pairs} pairs "
            f"({spread}; target <= 1.5); the sandbox served "
            f"{plain['requests_per_second']:.0f} requests/s to the plain script"
        )
    RESULTS.mkdir(exist_ok=True)
    name = "end_to_end.json" if args.scale == 10 else f"end_to_end-x{args.scale:g}.json"
    (RESULTS / name).write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {RESULTS / name}")


if __name__ == "__main__":
    main()
