"""MOVE_TO_CAMPAIGN: move, copy (COPY) or transition (TRANSITION) leads into another
campaign and list, with DUPLICATE_ACTION_SETTING MOVE or IGNORE.

A move is proven per chunk by a count of its leads in the destination, and per run by the
source, destination campaign and destination list counts against a baseline; with IGNORE,
every lead not moved must be a duplicate (its phone in the destination). A copy keeps its
originals, so it is proven by searching the destination for the chunk's phones before and
after (`copies.py`): the new leads are the copies, recorded for the undo. Concurrent copy
chunks sharing a phone would read each other's copies, so copies go one chunk at a time,
and a copy is resent only when that search shows no copy. Nothing here reads
leadUpdateCount, whose meaning RingCX leaves open.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engage_voice import SyncEngageClient
from engage_voice.models import (
    ComparisonOperator,
    CopySetting,
    DuplicateAction,
    LeadActionResult,
    MoveToCampaign,
    PassesComparison,
    SearchCriteria,
)

from ..models import Plan, ResolvedCampaign, Verification
from ..preflight import InvalidActionParameter
from ..verification import (
    Target,
    find_leads,
    leads_with_phones,
    phones_of,
    settled,
    settled_count,
)
from .base import ActionSpec, Chunk, Expectation, Unresolvable
from .copies import CopyTally, tally_copies
from .undoing import (
    COPY_CLOCK_MARGIN,
    CopyCleanupGroup,
    Planner,
    ids,
    records,
    restore_states,
)

if TYPE_CHECKING:
    import pandas as pd


class Move(ActionSpec):
    needs_destination = True

    @property
    def is_copy(self) -> bool:
        return bool(self.params.copy_setting != CopySetting.MOVE)

    @property
    def ignores_duplicates(self) -> bool:
        return bool(self.params.duplicate_action == DuplicateAction.IGNORE)

    @property
    def one_chunk_at_a_time(self) -> bool:
        return self.is_copy

    @property
    def creates_list(self) -> bool:
        return bool(self.params.list_id == 0)

    @property
    def counts_copies(self) -> bool:
        return self.is_copy

    @property
    def new_list_name(self) -> str | None:
        return self.params.list_name if self.creates_list else None

    @property
    def destination_campaign_id(self) -> int | None:
        return int(self.params.campaign_id)

    @property
    def destination_list_id(self) -> int | None:
        return self.params.list_id or None

    def into_list(self, list_id: int) -> Any:
        return self.params.model_copy(update={"list_id": list_id, "list_name": None})

    # -- the promise ---------------------------------------------------------------------

    def expectation(self, target: Target | None, *, resend: bool = False) -> Expectation | None:
        if self.is_copy:
            return None
        assert target is not None
        if self.ignores_duplicates and not resend:
            # A lead left behind as a duplicate is a legitimate end state, but not proof
            # that it was ever sent (the service skips duplicates when it is sent again).
            return lambda b, a: (
                a is not None and a["campaignId"] in (target.campaign_id, b["campaignId"])
            )
        return lambda b, a: (
            a is not None
            and a["campaignId"] == target.campaign_id
            and (target.list_id is None or a["listId"] == target.list_id)
        )

    def count_proof(
        self, scope: list[int], ids: list[int], target: Target | None
    ) -> tuple[str, SearchCriteria] | None:
        if self.is_copy or target is None:
            return None
        return f"in campaign {target.campaign_id}", SearchCriteria(
            campaign_ids=[target.campaign_id],
            lead_ids=ids,
            list_ids=[target.list_id] if target.list_id else None,
        )

    def verify(
        self,
        chunk: Chunk,
        result: LeadActionResult | None,
        baseline: dict[str, Any] | None = None,
    ) -> list[Verification]:
        if self.is_copy:
            assert baseline is not None
            return self._verify_copy(chunk, baseline)
        if self.ignores_duplicates:
            return self._verify_ignoring(chunk)
        return super().verify(chunk, result, baseline)

    def proven_updated(self, chunk: Chunk, checks: list[Verification]) -> int | None:
        if self.is_copy:
            return len(chunk.created_ids or ())
        return checks[0].observed if checks else None

    def _verify_ignoring(self, chunk: Chunk) -> list[Verification]:
        """Each lead moved (counted in the destination) or left behind as a duplicate (in
        the source, its phone in the destination): read again until every lead is one or
        the other, for leads RingCX shows late."""
        assert chunk.target is not None
        client, account, ids, target = chunk.client, chunk.account, chunk.ids, chunk.target
        moved_criteria = self.count_proof(chunk.scope, ids, target)
        assert moved_criteria is not None

        def read() -> tuple[int, int]:
            moved = client.count_leads(moved_criteria[1], account)
            if moved == len(ids):
                return moved, 0
            left = find_leads(client, account, [chunk.plan.source.campaign_id], ids)
            phones = phones_of(left.values())
            held = set(leads_with_phones(client, account, target.campaign_id, phones).values())
            return moved, sum(1 for snap in left.values() if snap.get("leadPhone") in held)

        moved, duplicates = settled(read, lambda r: r[0] + r[1] == len(ids))
        return [
            Verification(
                check=moved_criteria[0],
                expected=len(ids) - duplicates,
                observed=moved,
                note=f"{duplicates} duplicates left in the source (IGNORE)" if duplicates else None,
            ),
            Verification(
                check="every lead moved or left as a duplicate (IGNORE)",
                expected=len(ids),
                observed=moved + duplicates,
            ),
        ]

    def _copy_tally(self, chunk: Chunk, before: dict[int, str]) -> CopyTally:
        originals = [snap.get("leadPhone") for snap in chunk.before.values()]
        return settled(
            lambda: tally_copies(
                originals, before, self.phones_in_target(chunk), self.ignores_duplicates
            ),
            lambda t: not t.unaccounted,
        )

    def _verify_copy(self, chunk: Chunk, baseline: dict[str, Any]) -> list[Verification]:
        assert chunk.target is not None
        client, account, ids = chunk.client, chunk.account, chunk.ids
        source = chunk.plan.source.campaign_id
        tally = self._copy_tally(chunk, _leads(baseline))
        chunk.created_ids = list(tally.copies)
        kept = settled_count(
            client, SearchCriteria(campaign_ids=[source], lead_ids=ids), account, len(ids)
        )
        if self.params.copy_setting == CopySetting.TRANSITION:
            # RingCX reads two ways here: the copies or the originals become TRANSITIONED.
            marked = SearchCriteria(
                campaign_ids=[source], lead_ids=ids, lead_states=["TRANSITIONED"]
            )
            if client.count_leads(marked, account):
                chunk.marked_ids = sorted(
                    i
                    for i, snap in find_leads(client, account, [source], ids).items()
                    if snap["leadState"] == "TRANSITIONED"
                )
        with_phone = len(ids) - tally.no_phone
        notes = [f"{len(tally.copies)} copies made"]
        if tally.duplicates:
            notes.append(
                f"{tally.duplicates} duplicates ignored by DUPLICATE_ACTION_SETTING=IGNORE"
            )
        if tally.no_phone:
            notes.append(f"{tally.no_phone} originals have no phone: their copies cannot be found")
        return [
            Verification(check="originals kept in source", expected=len(ids), observed=kept),
            Verification(
                check=f"each original copied to campaign {chunk.target.campaign_id} or left "
                "as a duplicate",
                expected=with_phone,
                observed=tally.accounted,
                note="; ".join(notes),
            ),
        ]

    def still_to_send(self, chunk: Chunk) -> tuple[list[int], str]:
        if not self.is_copy:
            return super().still_to_send(chunk)
        first = chunk.journal.first_sent(chunk.index) or {}
        if not isinstance(first.get("target_before"), dict):
            raise Unresolvable("no record of the target's state before the copy")
        before = _leads(first["target_before"])
        # A copy made but not visible yet reads as none: look again before resending.
        found = settled(lambda: [i for i in self.phones_in_target(chunk) if i not in before], bool)
        if not found:
            return chunk.ids, "the earlier copy had not been applied: sent again"
        return [], f"the earlier copy was applied ({len(found)} copies found): not resent"

    # -- checks before planning ends ---------------------------------------------------------

    def check_account(
        self,
        client: SyncEngageClient,
        source: ResolvedCampaign,
        destination: ResolvedCampaign | None,
    ) -> None:
        if destination is None:
            raise InvalidActionParameter("campaign_id", "the destination was not resolved")
        if destination.campaign_id == source.campaign_id:
            raise InvalidActionParameter(
                "campaign_id",
                f"the destination is the source campaign {source.campaign_name!r}: "
                "MOVE_TO_CAMPAIGN moves leads between campaigns",
            )

    # -- run-level proof -----------------------------------------------------------------------

    def run_checks(
        self,
        client: SyncEngageClient,
        plan: Plan,
        moved: int,
        baseline: dict[str, int],
        new_list_id: int | None,
        acted_on: Callable[[], dict[int, str | None]],
    ) -> list[Verification]:
        """Source, destination campaign and list counts against the counts taken before the
        first write, and, with IGNORE, every lead acted on accounted for."""
        if plan.destination is None:
            return []
        account = plan.source.account_id
        dest = plan.destination.campaign_id
        copy = self.is_copy
        note = "counts other concurrent changes too"

        def counted(check: str, expected: int, **kw: Any) -> Verification:
            observed = settled_count(client, SearchCriteria(**kw), account, expected)
            return Verification(check=check, expected=expected, observed=observed, note=note)

        checks = [
            counted(
                f"source campaign {'unchanged (copy)' if copy else 'shrank by the moved leads'}",
                baseline["source_campaign"] - (0 if copy else moved),
                campaign_id=plan.source.campaign_id,
            ),
            counted(
                "destination campaign grew by the moved leads",
                baseline["destination_campaign"] + moved,
                campaign_id=dest,
            ),
        ]
        list_id = plan.destination.list_ids[0] if plan.destination.list_ids else new_list_id
        if list_id is not None:
            checks.append(
                counted(
                    f"destination list {list_id} grew by the moved leads",
                    baseline.get("destination_list", 0) + moved,
                    campaign_id=dest,
                    list_ids=[list_id],
                )
            )
        if self.ignores_duplicates:
            checks.append(_duplicates_accounted(client, account, dest, moved, acted_on(), copy))
        return checks

    # -- undo ------------------------------------------------------------------------------------

    def plan_undo(self, p: Planner, before: pd.DataFrame, chunk_of: dict[int, int]) -> None:
        action = self.params
        dest = p.plan.destination.campaign_id if p.plan.destination else action.campaign_id
        # The list the leads went into: the one named, or the one the run created.
        dest_list = action.list_id or p.journal.created_list_id()
        if self.is_copy:
            self._undo_copies(p, before, dest, dest_list, chunk_of)
            return
        rows = records(before, ["leadId", "campaignId", "listId"])
        unknown = [r for r in rows if r["campaignId"] is None or r["listId"] is None]
        p.lost(unknown, "the original campaign or list is not in the before-image")
        by_origin: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for record in rows:
            if record["campaignId"] is None or record["listId"] is None:
                continue
            origin = (int(record["campaignId"]), int(record["listId"]))
            if origin != (dest, dest_list):  # already there: the move left them alone
                by_origin[origin].append(record)
        if dest_list is not None:
            require = SearchCriteria(list_ids=[dest_list])
            label = f"in campaign {dest}, list {dest_list}"
        else:
            require, label = SearchCriteria(), f"in campaign {dest}"
        for (campaign, list_id), group in sorted(by_origin.items()):
            p.act(
                MoveToCampaign(campaign_id=campaign, list_id=list_id),
                group,
                f"MOVE_TO_CAMPAIGN back to campaign {campaign}, list {list_id}, of {len(group):,} "
                f"leads moved to campaign {dest}",
                require,
                label,
                campaign_id=dest,
            )
        if self.ignores_duplicates:
            p.notes.append(
                "the run used DUPLICATE_ACTION_SETTING=IGNORE: leads it left in the source as "
                "duplicates are not in the destination and show as changed since the run"
            )

    def _undo_copies(
        self,
        p: Planner,
        before: pd.DataFrame,
        dest: int,
        dest_list: int | None,
        chunk_of: dict[int, int],
    ) -> None:
        rows = records(before, ["leadId", "leadPhone", "leadState"])
        outcomes = [p.journal.latest_outcome(i) for i in sorted(set(chunk_of.values()))]
        recorded = [o for o in outcomes if o is not None and o.created_ids is not None]
        # Copies are READY with 0 passes, or TRANSITIONED: whichever side RingCX marks.
        require = SearchCriteria(
            lead_states=["READY", "TRANSITIONED"],
            lead_passes_criteria=PassesComparison(operator=ComparisonOperator.EQUALS, value=0),
        )
        label = "READY or TRANSITIONED with 0 passes (as copied)"
        where = f"campaign {dest}" + (f", list {dest_list}" if dest_list else "")
        name = self.params.copy_setting.name

        def cleanup(description: str, originals: list[dict[str, Any]], **found: Any) -> None:
            p.groups.append(
                CopyCleanupGroup(
                    description=description,
                    account_id=p.account,
                    campaign_id=dest,
                    list_id=dest_list,
                    lead_ids=ids(originals),
                    since=p.plan.created_at - COPY_CLOCK_MARGIN,
                    require=require,
                    require_label=label,
                    **found,
                )
            )

        if recorded and len(recorded) == len(outcomes):
            # The run recorded its copies (found by phone before and after each chunk).
            copies = sorted({i for o in recorded for i in o.created_ids or ()})
            if copies:
                cleanup(
                    f"DELETE_LEADS on the {len(copies):,} copies the run made in {where} ({name})",
                    rows,
                    copy_ids=copies,
                    phones={},
                )
            marked = {i for o in recorded for i in o.marked_ids}
            if marked:
                restore_states(
                    p, [r for r in rows if r["leadId"] in marked], "TRANSITIONED", f"the {name}"
                )
            return
        # A journal from before copies were recorded: find them by phone at undo time.
        no_phone = [r for r in rows if not r["leadPhone"]]
        p.lost(no_phone, "the original has no phone in the before-image: its copy cannot be found")
        with_phone = [r for r in rows if r["leadPhone"]]
        if with_phone:
            cleanup(
                f"DELETE_LEADS on the copies in {where} of {len(with_phone):,} leads ({name}); "
                "the originals were not changed",
                with_phone,
                phones={int(r["leadId"]): str(r["leadPhone"]) for r in with_phone},
            )


def _duplicates_accounted(
    client: SyncEngageClient,
    account: str,
    dest: int,
    moved: int,
    acted_on: dict[int, str | None],
    copy: bool,
) -> Verification:
    """With IGNORE, each lead acted on was moved (found in the destination by id) or left
    behind as a duplicate (its phone belongs to a lead of the destination campaign). For a
    copy, each lead's phone must be in the destination: as its copy, or as the duplicate
    that made the service skip it."""
    ids = sorted(acted_on)
    found = set() if copy else set(find_leads(client, account, [dest], ids))
    phones = sorted({p for i, p in acted_on.items() if i not in found and p})
    in_destination: set[str] = set()
    for start in range(0, len(phones), 1000):
        criteria = SearchCriteria(
            campaign_ids=[dest], lead_phone_numbers=phones[start : start + 1000]
        )
        for page in client.search_leads(criteria, account):
            in_destination.update(row.lead_phone for row in page if row.lead_phone)
    unaccounted = sorted(i for i in ids if i not in found and acted_on[i] not in in_destination)
    verb = "copied" if copy else "moved"
    return Verification(
        check=f"every lead {verb} or left as a duplicate "
        f"({moved} {verb}, {len(ids) - moved} duplicates ignored)",
        expected=len(ids),
        observed=len(ids) - len(unaccounted),
        mismatched_lead_ids=unaccounted,
        note="a duplicate is a lead whose phone already belongs to a lead of the destination",
    )


def _leads(baseline: dict[str, Any]) -> dict[int, str]:
    return {int(i): str(p) for i, p in baseline.get("leads", [])}
