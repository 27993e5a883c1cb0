"""The `leads` command."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from engage_sandbox import SandboxConfig
from engage_sandbox.dialect import UnknownDialect, dialect_names, get_dialect
from engage_sandbox.server import serve_forever
from engage_voice import EngageClient, EngageError, EngageSettings

from . import render
from .embedded import embedded_sandbox, settings_env, settings_for

# Telemetry off for this process and the servers it starts: offline it only logs errors,
# and it looks up hosts off loopback (Prefect reads DO_NOT_TRACK at call time).
os.environ.setdefault("DO_NOT_TRACK", "1")

#: One embedded sandbox everywhere (discover, run, demo): the same seed and size.
SANDBOX_SEED, SANDBOX_LEADS = 1, 20_000

app = typer.Typer(
    help="Lead action pipelines for RingCentral RingCX (Engage Voice).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8090,
    db: Annotated[str, typer.Option(help="SQLite file, or :memory:.")] = ":memory:",
    seed: Annotated[int, typer.Option(help="Seed of the deterministic data generator.")] = 1,
    leads: Annotated[int, typer.Option(help="Leads to generate into an empty store.")] = 10_000,
    client_id: Annotated[str, typer.Option(help="OAuth client id accepted.")] = "sandbox-client-id",
    client_secret: Annotated[
        str, typer.Option(help="OAuth client secret accepted.")
    ] = "sandbox-client-secret",
    jwt: Annotated[str, typer.Option(help="JWT assertion accepted.")] = "sandbox-jwt",
    api_token: Annotated[
        str, typer.Option(help="Permanent X-Auth-Token accepted.")
    ] = "sandbox-api-token",
    token_ttl: Annotated[
        float, typer.Option(help="Access-token lifetime in seconds (RingCX: 300).")
    ] = 300.0,
    rate_limit_scale: Annotated[
        float, typer.Option(help="Divide every rate-limit window by this.")
    ] = 1.0,
    dialect: Annotated[
        str | None,
        typer.Option(
            help=f"Reading of what the RingCX docs leave open: {', '.join(dialect_names())} "
            "(default: SANDBOX_DIALECT, else spec). See engage_sandbox/README.md."
        ),
    ] = None,
) -> None:
    """Serve the RingCX sandbox until interrupted."""
    # Options win; SANDBOX_* variables set everything without an option (dialect, page
    # base, faults at start, ...), e.g. SANDBOX_DIALECT=alternate, SANDBOX_PAGE_BASE=1 or
    # SANDBOX_FAULTS__RATE_5XX=0.05.
    options: dict[str, Any] = {}
    if dialect is not None:
        try:
            options["dialect"] = get_dialect(dialect)
        except UnknownDialect as exc:
            raise typer.BadParameter(str(exc), param_hint="--dialect") from None
    config = SandboxConfig.from_env(
        host=host,
        port=port,
        db_path=db,
        seed=seed,
        leads=leads,
        client_id=client_id,
        client_secret=client_secret,
        jwt=jwt,
        api_token=api_token,
        access_token_ttl_seconds=token_ttl,
        rate_limit_scale=rate_limit_scale,
        **options,
    )

    def ready(url: str) -> None:
        console.print(f"[bold green]RingCX sandbox[/] serving at [bold]{url}[/]")
        console.print("Credentials it accepts (sandbox values, not secrets):")
        console.print(f"  ENGAGE_HOST={url}")
        console.print(f"  ENGAGE_PLATFORM_HOST={url}")
        console.print(f"  ENGAGE_CLIENT_ID={client_id}")
        console.print(f"  ENGAGE_CLIENT_SECRET={client_secret}")
        console.print(f"  ENGAGE_JWT={jwt}")
        console.print(f"  or ENGAGE_API_TOKEN={api_token}")
        shown = config.dialect
        console.print(
            f"Dialect: [bold]{shown.name}[/] (lead search page base {shown.page_base});"
            f" change it with PUT {url}/sandbox/settings."
        )
        console.print(f"Admin: {url}/sandbox/stats, API docs: {url}/sandbox/docs. Ctrl-C stops.")

    console.print(f"seeding {leads:,} leads (seed {seed}) into {db} ...")
    serve_forever(config, on_ready=ready)


async def _tree(settings: EngageSettings, with_counts: bool):
    async with EngageClient(settings) as client:
        return await client.account_tree(with_counts=with_counts)


def _print_tree(settings: EngageSettings, with_counts: bool) -> None:
    try:
        tree = asyncio.run(_tree(settings, with_counts))
    except EngageError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(render.account_tree(tree))
    if with_counts:
        console.print(render.list_counts(tree))


@app.command()
def discover(
    counts: Annotated[bool, typer.Option(help="Count live leads per list.")] = True,
    embedded: Annotated[
        bool, typer.Option("--sandbox", help="Run against a freshly seeded embedded sandbox.")
    ] = False,
) -> None:
    """Print the account tree (accounts, dial groups, campaigns, lists) with lead counts.

    Uses ENGAGE_* settings (environment or .env), or an embedded sandbox with --sandbox.
    """
    if embedded:
        with embedded_sandbox(seed=SANDBOX_SEED, leads=SANDBOX_LEADS) as server:
            _print_tree(settings_for(server), counts)
        return
    _print_tree(_settings_or_exit(), counts)


def _settings_or_exit() -> EngageSettings:
    """ENGAGE_* settings with credentials, or a one-line error and exit code 2: checked
    before anything is started."""
    try:
        settings = EngageSettings()
    except ValueError as exc:  # SettingsError: names the fields, never their values
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if settings.auth_mode == "none":
        console.print(
            "[bold red]no credentials:[/] set ENGAGE_API_TOKEN or ENGAGE_CLIENT_ID/"
            "ENGAGE_CLIENT_SECRET/ENGAGE_JWT (see README), or pass --sandbox"
        )
        raise typer.Exit(2)
    return settings


@app.command(context_settings={"help_option_names": []})
def run(
    ctx: typer.Context,
    flow_name: Annotated[
        str | None,
        typer.Argument(help="lead_action, move_leads (or move-leads), nightly_reset, ..."),
    ] = None,
    params: Annotated[
        str | None,
        typer.Option("--params", "-p", help="Flow parameters as JSON, or @file.json."),
    ] = None,
    embedded: Annotated[
        bool, typer.Option("--sandbox", help="Run against a freshly seeded embedded sandbox.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Also print Prefect's own log lines and tracebacks.")
    ] = False,
    show_help: Annotated[
        bool, typer.Option("--help", "-h", help="This help, or with FLOW that flow's parameters.")
    ] = False,
) -> None:
    """Run a flow in-process (with a progress bar), against ENGAGE_* settings or --sandbox.

    `leads run FLOW --help` lists the flow's parameters."""
    from .run import flow_help, load_flow, parse_params

    if show_help or flow_name is None:
        if flow_name is None:
            console.print(ctx.get_help())
            raise typer.Exit(0 if show_help else 2)
        try:
            typer.echo(flow_help(flow_name))  # plain text: no wrapping inside the example
        except ValueError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
        raise typer.Exit(0)
    try:
        load_flow(flow_name)
        values = parse_params(params)
    except (ValueError, OSError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    _run_flow(flow_name, values, embedded, debug)


@app.command()
def apply(
    run_key: Annotated[str, typer.Argument(help="The run key a dry run printed.")],
    max_age_minutes: Annotated[
        int, typer.Option(help="Refuse a plan older than this (minutes).", min=1)
    ] = 60,
    debug: Annotated[
        bool, typer.Option("--debug", help="Also print Prefect's own log lines and tracebacks.")
    ] = False,
) -> None:
    """Act on exactly the leads a dry run planned, if they still match its filter (the
    others are left alone and reported). Runs the apply_plan flow, against ENGAGE_*."""
    _run_flow(
        "apply_plan", {"run_key": run_key, "max_plan_age_minutes": max_age_minutes}, False, debug
    )


def _run_flow(flow_name: str, values: dict[str, Any], embedded: bool, debug: bool) -> None:
    from .prefect_api import prefect_api
    from .run import run_flow

    if not embedded and not (values.get("credentials") or os.environ.get("PREFECT_API_URL")):
        # Before a Prefect server is started for nothing. With a Prefect API configured,
        # the run may sign in with a credentials block there (it says so if it cannot).
        _settings_or_exit()
    with ExitStack() as stack:
        if embedded:
            server = stack.enter_context(embedded_sandbox(seed=SANDBOX_SEED, leads=SANDBOX_LEADS))
            _export_env(settings_for(server))
        api = stack.enter_context(prefect_api())
        try:
            result = run_flow(flow_name, values, console, debug=debug)
        except Exception as exc:
            if debug:
                console.print_exception()
            console.print(f"[bold red]{type(exc).__name__}:[/] {escape(str(exc))}")
            console.print(api.where_to_look())
            raise typer.Exit(1) from None
        render.print_result(console, result)
        console.print(api.where_to_look())


def _export_env(settings: EngageSettings) -> None:
    """Point the flows (which read ENGAGE_* inside the run) at these settings."""
    for name, value in settings_env(settings).items():
        os.environ[name] = value


@app.command()
def history(
    flow: Annotated[str | None, typer.Option(help="Only this flow (lead_action, ...).")] = None,
    state: Annotated[str | None, typer.Option(help="Only runs in this state (FAILED, ...).")] = None,
    since: Annotated[str | None, typer.Option(help="Started after: 2h, 3d, 45m or an ISO time.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only runs with this tag.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines for scripts.")] = False,
) -> None:
    """Recent runs: flow, deployment, state, start, duration, and from each run's journal
    the leads planned, acted on, verified and any discrepancies."""
    from . import history as runs
    from .prefect_api import prefect_api

    try:
        after = runs.since_of(since)
        with prefect_api():
            lines = runs.recent_runs(flow=flow, state=state, since=after, tag=tag, limit=limit)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(runs.as_json(lines))
    else:
        console.print(render.history_table(lines))


@app.command()
def show(run: Annotated[str, typer.Argument(help="A run key, or a flow run's id.")]) -> None:
    """One run from its journal: the plan, each chunk's outcome, and the verification."""
    from . import history as runs
    from .prefect_api import prefect_api

    try:
        if runs.as_flow_run_id(run) is not None:  # only then is the Prefect API needed
            with prefect_api():
                key, report, plan = runs.find_run(run)
        else:
            key, report, plan = runs.find_run(run)
    except (ValueError, LookupError, OSError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if report is None and plan is None:
        console.print(f"[bold red]error:[/] no journal of run key {escape(key)!r} here")
        raise typer.Exit(2)
    render.print_run(console, key, plan, report)


@app.command()
def demo(
    leads: Annotated[int, typer.Option(help="Leads to seed into the sandbox.")] = SANDBOX_LEADS,
) -> None:
    """The main job against a freshly seeded embedded sandbox: a verified move_leads and a
    nightly_reset, run through Prefect."""
    from .demo import run_demo

    try:
        run_demo(console, leads)
    except Exception as exc:
        console.print(f"[bold red]demo failed: {type(exc).__name__}:[/] {exc}")
        raise typer.Exit(1) from None


if __name__ == "__main__":
    app()
