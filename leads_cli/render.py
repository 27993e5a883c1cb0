"""Terminal rendering shared by the CLI commands."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from engage_voice.models import AccountTree
from tasks.models import RunReport
from tasks.reporting import counted


def account_tree(tree: AccountTree) -> Tree:
    root = Tree("[bold]RingCX accounts[/bold]")
    for acc in tree.accounts:
        a = acc.account
        acc_total = sum(
            ln.lead_count or 0 for g in acc.dial_groups for c in g.campaigns for ln in c.lists
        )
        acc_node = root.add(f"[bold cyan]{a.account_name}[/] ({a.account_id}) - {acc_total:,} leads")
        for g in acc.dial_groups:
            dg = g.dial_group
            g_node = acc_node.add(
                f"[magenta]{dg.dial_group_name}[/] (dial group {dg.dial_group_id}"
                f"{', ' + dg.dial_mode if dg.dial_mode else ''})"
            )
            for c in g.campaigns:
                camp = c.campaign
                total = sum(ln.lead_count or 0 for ln in c.lists)
                c_node = g_node.add(
                    f"[green]{camp.campaign_name}[/] (campaign {camp.campaign_id}) - {total:,} leads"
                )
                for ln in c.lists:
                    count = "?" if ln.lead_count is None else f"{ln.lead_count:,}"
                    c_node.add(f"{ln.list.list_desc} (list {ln.list.list_id}): {count} leads")
    return root


def list_counts(tree: AccountTree) -> Table:
    table = Table(title="Live lead counts per list")
    for col in ("account", "dial group", "campaign", "list id", "list", "leads"):
        table.add_column(col, justify="right" if col in ("list id", "leads") else "left")
    for acc in tree.accounts:
        for g in acc.dial_groups:
            for c in g.campaigns:
                for ln in c.lists:
                    table.add_row(
                        acc.account.account_id,
                        g.dial_group.dial_group_name,
                        c.campaign.campaign_name,
                        str(ln.list.list_id),
                        ln.list.list_desc or "",
                        "?" if ln.lead_count is None else f"{ln.lead_count:,}",
                    )
    return table


def verification_table(report: RunReport) -> Table:
    from tasks.reporting import verification_rows

    table = Table(title=f"Verification · {report.action} · {report.run_key}")
    for col in ("chunk", "check", "expected", "observed", "ok", "note"):
        table.add_column(col, justify="right" if col in ("expected", "observed") else "left")
    for row in verification_rows(report):
        ok = "[green]yes[/]" if row["ok"] else "[bold red]NO[/]"
        note = row["note"] or row["mismatched leads"]
        table.add_row(
            str(row["chunk"]), row["check"], str(row["expected"]), str(row["observed"]), ok, note
        )
    return table


def report_summary(report: RunReport) -> str:
    if report.dry_run:
        verdict = "[yellow]dry run: nothing written[/]"
    elif not report.outcomes:
        verdict = "nothing to do"
    else:
        verdict = "[green]verified[/]" if report.ok else "[bold red]NOT verified[/]"
    text = (
        f"[bold]{report.flow}[/] {report.action} · {report.total_leads:,} leads selected of "
        f"{report.campaign_total:,} · {counted(report.chunks, 'chunk')} · "
        f"{report.updated:,} updated · {report.deleted:,} deleted · {verdict}\n"
        f"  {report.message}"
    )
    if report.journal_dir and not report.dry_run:
        text += f"\n  journal: {report.journal_dir}"
    if report.target_report:
        # Escaped: a malformed cell is the user's text, not rich markup.
        text += f"\n  target table: {escape(str(report.target_report.get('summary', '')))}"
    return text


def print_result(console: Console, result: Any) -> None:
    reports = result if isinstance(result, list) else [result]
    for item in reports:
        if isinstance(item, RunReport):
            console.print(report_summary(item))
            if item.outcomes or item.run_verifications:
                console.print(verification_table(item))
        elif isinstance(item, BaseModel):
            console.print_json(item.model_dump_json())
        elif item is not None:
            console.print(item)


def history_table(lines: list[Any]) -> Table:
    """`leads history`: one row per flow run, newest first."""
    table = Table(title="Recent runs")
    for col in ("started", "flow", "deployment", "state", "took", "run key", "planned",
                "acted", "verified", "discrepancies"):
        table.add_column(col, justify="right" if col in ("took", "planned", "acted") else "left")
    for line in lines:
        state = line.state
        if state in ("Failed", "Crashed"):
            state = f"[bold red]{state}[/]"
        elif state == "Completed":
            state = f"[green]{state}[/]"
        verified = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "-"}[line.verified]
        table.add_row(
            f"{line.started:%Y-%m-%d %H:%M}" if line.started else "-",
            line.flow,
            line.deployment or "-",
            state,
            f"{line.seconds:.0f} s" if line.seconds is not None else "-",
            escape(line.run_key),
            "-" if line.planned is None else f"{line.planned:,}",
            "-" if line.acted is None else f"{line.acted:,}",
            verified,
            "-" if line.discrepancies is None else str(line.discrepancies),
        )
    return table


def print_run(console: Console, key: str, plan: Any, report: RunReport | None) -> None:
    """`leads show`: the plan, the chunks' outcomes, and the verification."""
    if plan is not None:
        console.print(
            f"[bold]plan[/] {escape(key)}: {plan.action.action} on {plan.total_leads:,} of "
            f"{plan.campaign_total:,} leads of {escape(plan.source.campaign_name)}, "
            f"{counted(len(plan.chunks), 'chunk')}, made {plan.created_at:%Y-%m-%d %H:%M} UTC"
        )
    if report is None:
        console.print("no report yet: the run has not finished (or is running now)")
        return
    console.print(report_summary(report))
    outcomes = Table(title="Chunks")
    for col in ("chunk", "status", "planned", "present", "updated", "deleted", "attempts", "notes"):
        outcomes.add_column(col)
    for o in report.outcomes:
        outcomes.add_row(
            str(o.index + 1), str(o.status), str(o.planned), str(o.present), str(o.updated),
            str(o.deleted), str(o.attempts), escape(o.ambiguity or o.error or ""),
        )
    if report.outcomes:
        console.print(outcomes)
    if report.outcomes or report.run_verifications:
        console.print(verification_table(report))
