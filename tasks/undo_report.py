"""What an undo reports: each restore group's result, what could not be restored, and the
artifacts a supervisor reads."""

from __future__ import annotations

from typing import Any, Literal

from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from pydantic import BaseModel, Field

from .errors import RunNotCompleted
from .models import RunReport
from .reporting import rename_flow_run
from .undo import ActionGroup, CopyCleanupGroup, NotRestorable, ReloadGroup, UndoPlan


class GroupResult(BaseModel):
    key: str
    kind: str
    description: str
    action: str
    campaign_id: int
    require: str = Field("", description="What the leads had to still be.")
    planned: int = Field(description="Leads in the group (for copies: the originals).")
    restored: int = 0
    left_alone: int = Field(0, description="Leads changed since the run: not touched.")
    eligible_now: int | None = Field(None, description="Dry run: leads that would be restored.")
    status: Literal["planned", "done", "failed"] = "planned"
    error: str | None = None
    run_key: str | None = Field(None, description="The group's own run (its journal).")
    lists: list[dict[str, Any]] = Field(
        default_factory=list, description="Reloads: the lists created, {name, list_id, leads}."
    )
    report: RunReport | None = None


class UndoReport(BaseModel):
    undo_key: str
    run_key: str
    action: str
    campaign: str
    dry_run: bool
    leads_acted_on: int
    groups: list[GroupResult] = Field(default_factory=list)
    not_restorable: list[NotRestorable] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    message: str = ""
    journal_dir: str | None = None

    @property
    def ok(self) -> bool:
        return all(g.status != "failed" for g in self.groups)

    @property
    def restored(self) -> int:
        return sum(g.restored for g in self.groups)


class UndoIncomplete(RunNotCompleted, RuntimeError):
    """Some restore groups failed; the report says which and what the others did."""

    def __init__(self, report: UndoReport) -> None:
        failed = [f"{g.key} ({g.action}): {g.error}" for g in report.groups if g.status == "failed"]
        super().__init__(f"undo {report.undo_key} incomplete: " + "; ".join(failed))
        self.report = report


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def result_of(group: ActionGroup | CopyCleanupGroup | ReloadGroup) -> GroupResult:
    action: str
    if isinstance(group, ActionGroup):
        action = group.action.action
    elif isinstance(group, CopyCleanupGroup):
        action = "DELETE_LEADS (copies)"
    else:
        action = "direct load"
    return GroupResult(
        key=group.key,
        kind=group.kind,
        description=group.description,
        action=action,
        campaign_id=group.campaign_id,
        require=group.require_label,
        planned=len(group.lead_ids),
    )


def _ids_text(ids: list[int], limit: int = 30) -> str:
    more = f" (+{len(ids) - limit:,} more)" if len(ids) > limit else ""
    return ", ".join(map(str, ids[:limit])) + more


def undo_markdown(report: UndoReport) -> str:
    verdict = "dry run" if report.dry_run else ("done" if report.ok else "INCOMPLETE")
    lines = [
        f"# Undo of {report.run_key} · {report.action} · {report.campaign}",
        "",
        f"**{verdict}**. {report.message}",
        "",
        "| group | action | campaign | must still be | planned | restored | left alone | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in report.groups:
        restored: Any = g.restored
        if report.dry_run:
            restored = "-" if g.eligible_now is None else f"{g.eligible_now:,} eligible now"
        lines.append(
            f"| {g.key} | {g.action} | {g.campaign_id} | {g.require or '-'} | {g.planned:,} | "
            f"{restored} | {g.left_alone:,} | {g.status}{': ' + g.error if g.error else ''} |"
        )
    reloads = [
        f"- reloaded {item['leads']:,} leads into list {item['list_id']} ({item['name']!r}) "
        f"of campaign {g.campaign_id}"
        for g in report.groups
        for item in g.lists
    ]
    if reloads:
        lines += ["", *reloads]
    lines += ["", "## Could not be restored", ""]
    if not report.not_restorable:
        lines.append("Nothing: every change the run made was restored (or had nothing to undo).")
    for item in report.not_restorable:
        line = f"- **{item.count:,} leads**: {item.reason}."
        if item.lead_ids:
            line += f" Lead ids: {_ids_text(item.lead_ids)}."
        if item.phones:
            more = f" (+{len(item.phones) - 30:,} more)" if len(item.phones) > 30 else ""
            line += f" Phones: {', '.join(item.phones[:30])}{more}."
        lines.append(line)
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    return "\n".join(lines)


def rename_run(name: str) -> None:
    """Each group's pipeline renames the flow run after its own plan: name it the undo again."""
    rename_flow_run(name)


def artifact(report: UndoReport) -> None:
    if FlowRunContext.get() is None:
        return
    safe = "".join(c if c.isalnum() else "-" for c in report.undo_key.lower()).strip("-")
    create_markdown_artifact(
        undo_markdown(report), key=f"undo-{safe}"[:100], description="What the undo restored"
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def message(report: UndoReport, plan: UndoPlan) -> str:
    planned = sum(g.planned for g in report.groups)
    left = sum(g.left_alone for g in report.groups)
    groups = _plural(len(report.groups), "group")
    # Entries overlap (one lead can lose its state and its passes): count distinct leads.
    ids = {i for item in report.not_restorable for i in item.lead_ids}
    lost = len(ids) + sum(item.count for item in report.not_restorable if not item.lead_ids)
    if report.dry_run:
        head = f"dry run: would restore {_plural(planned, 'lead')} in {groups}"
    else:
        head = f"restored {report.restored:,} of {_plural(planned, 'lead')} in {groups}"
        if left:
            head += f"; {_plural(left, 'lead')} changed since the run were left alone"
    entries = len(report.not_restorable)
    tail = (
        f"{entries:,} not-restorable {'entry' if entries == 1 else 'entries'} concerning "
        f"{_plural(lost, 'lead')}"
        if entries
        else "nothing that could not be restored"
    )
    acted = _plural(plan.leads_acted_on, "lead")
    return f"{head} ({acted} acted on by {plan.action.action}); {tail}"
