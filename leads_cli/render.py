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
