"""Checks of action parameters against the account and the clock, made before planning
ends and so before any write. Each action's spec (`tasks.actions`) says which apply.

Invariant: an irreversible write (a manual pass cannot be removed; a callback or a move
into a list changes what the dialer does next) is only sent with parameters the account
has confirmed: the disposition exists in the campaign, the list belongs to the destination
campaign, a date lies in the plausible future. A refusal names the field and what the
account offers instead, and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engage_voice import SyncEngageClient

from .models import ResolvedCampaign
from .planning import GuardRefusal

# A callback further out than this is a typo (a year off, or a date pasted wrongly).
MAX_FUTURE = timedelta(days=366)


class InvalidActionParameter(GuardRefusal):
    """An action parameter the account or the clock contradicts; nothing was written."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def check_callback_date(when: datetime, now: datetime | None = None) -> None:
    """A callback date lies after `now` and within MAX_FUTURE of it."""
    now = now or datetime.now(UTC)
    if when <= now:
        raise InvalidActionParameter(
            "callback_date",
            f"{when.isoformat()} is in the past (now {now.isoformat(timespec='seconds')}); "
            "a callback must be set for a future time",
        )
    if when - now > MAX_FUTURE:
        raise InvalidActionParameter(
            "callback_date",
            f"{when.isoformat()} is more than {MAX_FUTURE.days} days ahead; check the year",
        )


def check_pass_disposition(
    client: SyncEngageClient, disposition: str, source: ResolvedCampaign
) -> None:
    """The pass disposition must be one of the campaign's: a manual pass cannot be removed,
    and one recorded with a disposition the campaign does not have is reported nowhere."""
    known = client.campaign_dispositions(
        source.dial_group_id, source.campaign_id, source.account_id
    )
    if disposition in known:
        return
    close = [d for d in known if d.casefold() == disposition.casefold()]
    hint = f" (did you mean {close[0]!r}? dispositions are matched exactly)" if close else ""
    listing = ", ".join(repr(d) for d in known) or "none"
    raise InvalidActionParameter(
        "pass_disposition",
        f"{disposition!r} is not a disposition of campaign "
        f"{source.campaign_name!r}{hint}; its dispositions: {listing}",
    )


def check_destination_list(
    client: SyncEngageClient, list_id: int, destination: ResolvedCampaign
) -> None:
    """An existing target list must belong to the destination campaign. (A DELETED list is
    allowed here: an undo puts leads back into the list they came from, whatever its
    state; `move_leads` refuses one by name.)"""
    lists = client.lists(destination.dial_group_id, destination.campaign_id, destination.account_id)
    found = next((item for item in lists if item.list_id == list_id), None)
    if found is None:
        shown = ", ".join(f"{item.list_id} ({item.list_desc})" for item in lists) or "none"
        raise InvalidActionParameter(
            "list_id",
            f"list {list_id} is not a list of the destination campaign "
            f"{destination.campaign_name!r} ({destination.campaign_id}); its lists: {shown}",
        )
