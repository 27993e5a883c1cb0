"""A blocking facade for scripts: the async client on a private event-loop thread.

Every endpoint method of `EngageClient` has a typed twin here with the same arguments,
returning its result directly (no attribute forwarding: a call the client does not offer is
an AttributeError the type checker sees). `search_leads` returns a generator of pages. Safe to call from any
thread (including Prefect's worker threads): calls are submitted to the private loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterable, AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

from .client import CampaignRef, EngageClient
from .models import (
    Account,
    AccountTree,
    ActionParams,
    Campaign,
    DialGroup,
    DirectLoadRequest,
    LeadActionResult,
    LeadList,
    LeadLoadResult,
    LeadRow,
    SearchCriteria,
)
from .records import LeadRecord
from .settings import EngageSettings

T = TypeVar("T")
R = TypeVar("R")


async def _next(pages: AsyncIterator[list[R]]) -> list[R]:
    return await pages.__anext__()


async def _close(pages: AsyncIterator[list[R]]) -> None:
    aclose = getattr(pages, "aclose", None)
    if aclose is not None:
        await aclose()


class SyncEngageClient:
    def __init__(self, settings: EngageSettings | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="engage-voice-sync", daemon=True
        )
        self._thread.start()
        # The httpx client must be created on the loop that will use it.
        self._client: EngageClient = self._run(self._make(settings))

    @staticmethod
    async def _make(settings: EngageSettings | None) -> EngageClient:
        return EngageClient(settings)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            raise RuntimeError("this SyncEngageClient is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"

    def __enter__(self) -> SyncEngageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    @property
    def client(self) -> EngageClient:
        return self._client

    @property
    def settings(self) -> EngageSettings:
        return self._client.settings

    def search_leads(
        self, criteria: SearchCriteria, account_id: str | None = None, **kw: Any
    ) -> Iterator[list[LeadRow]]:
        return self._pages(self._client.search_leads(criteria, account_id, **kw))

    def search_lead_records(
        self, criteria: SearchCriteria, account_id: str | None = None, **kw: Any
    ) -> Iterator[list[LeadRecord]]:
        return self._pages(self._client.search_lead_records(criteria, account_id, **kw))

    def _pages(self, search: AsyncIterable[list[R]]) -> Iterator[list[R]]:
        pages = search.__aiter__()
        try:
            while True:
                try:
                    yield self._run(_next(pages))
                except StopAsyncIteration:
                    return
        finally:
            # Left early (closed, or an error in the caller): the pages read ahead go too.
            if not self._loop.is_closed():
                self._run(_close(pages))

    # One typed method per endpoint of `EngageClient`: every call from the tasks is checked.

    def accounts(self) -> list[Account]:
        return self._run(self._client.accounts())

    def dial_groups(self, account_id: str | None = None) -> list[DialGroup]:
        return self._run(self._client.dial_groups(account_id))

    def dial_groups_with_children(self, account_id: str | None = None) -> list[DialGroup]:
        return self._run(self._client.dial_groups_with_children(account_id))

    def campaigns(self, dial_group_id: int, account_id: str | None = None) -> list[Campaign]:
        return self._run(self._client.campaigns(dial_group_id, account_id))

    def lists(
        self, dial_group_id: int, campaign_id: int, account_id: str | None = None
    ) -> list[LeadList]:
        return self._run(self._client.lists(dial_group_id, campaign_id, account_id))

    def campaign_dispositions(
        self, dial_group_id: int, campaign_id: int, account_id: str | None = None
    ) -> list[str]:
        return self._run(
            self._client.campaign_dispositions(dial_group_id, campaign_id, account_id)
        )

    def lead_states(self, account_id: str | None = None) -> list[str]:
        return self._run(self._client.lead_states(account_id))

    def system_dispositions(self, account_id: str | None = None) -> list[str]:
        return self._run(self._client.system_dispositions(account_id))

    def find_campaign(
        self, name: str, account: str | None = None, dial_group: str | int | None = None
    ) -> CampaignRef:
        return self._run(self._client.find_campaign(name, account, dial_group))

    def find_list(self, campaign: CampaignRef, name: str) -> LeadList:
        return self._run(self._client.find_list(campaign, name))

    def account_tree(self, with_counts: bool = True) -> AccountTree:
        return self._run(self._client.account_tree(with_counts))

    def count_leads(self, criteria: SearchCriteria, account_id: str | None = None) -> int:
        return self._run(self._client.count_leads(criteria, account_id))

    def search_page(
        self,
        criteria: SearchCriteria,
        page: int,
        max_rows: int | None = None,
        account_id: str | None = None,
    ) -> list[LeadRow]:
        return self._run(
            self._client.search_page(criteria, page, max_rows, account_id)
        )

    def lead_action(
        self, params: ActionParams, criteria: SearchCriteria, account_id: str | None = None
    ) -> LeadActionResult:
        return self._run(self._client.lead_action(params, criteria, account_id))

    def load_leads(
        self, campaign_id: int, request: DirectLoadRequest, account_id: str | None = None
    ) -> LeadLoadResult:
        return self._run(self._client.load_leads(campaign_id, request, account_id))

    @property
    def token_counts(self) -> dict[str, int]:
        return self._client.token_counts
