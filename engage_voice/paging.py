"""Lead search paging that refuses to return a partial or duplicated result.

The real service documents neither its page base nor its row cap (contract section 4), so
the paginator never assumes: it asks `count=true` first, pages from the configured base
until it holds that many distinct leads (or gets an empty page), and fails loudly when the
pages and the count disagree.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from .errors import PagingMismatchError
from .models import LeadRow, SearchCriteria

if TYPE_CHECKING:
    from .client import EngageClient


class LeadSearch:
    """An async iterator of pages (lists of `LeadRow`). Carries its state for inspection."""

    def __init__(
        self,
        client: EngageClient,
        criteria: SearchCriteria,
        account_id: str,
        *,
        page_base: int,
        page_size: int,
        verify_count: bool = True,
    ) -> None:
        self.client = client
        self.criteria = criteria
        self.account_id = account_id
        self.page_base = page_base
        self.page_size = page_size
        self.verify_count = verify_count
        self.expected: int | None = None
        self.received = 0
        self.pages = 0
        self._seen: set[int] = set()
        self._started = False

    def _mismatch(self, what: str) -> PagingMismatchError:
        expected = self.expected if self.expected is not None else -1
        return PagingMismatchError(
            f"lead search paging does not add up: {what} (count=true said {expected}, "
            f"pages gave {self.received} distinct leads over {self.pages} pages of up to "
            f"{self.page_size}, page base {self.page_base}). Likely causes: ENGAGE_PAGE_BASE "
            "does not match the service (0 or 1), ENGAGE_PAGE_SIZE exceeds the service's row "
            "cap, or leads changed while they were being read.",
            expected=expected,
            received=self.received,
        )

    def __aiter__(self) -> AsyncIterator[list[LeadRow]]:
        if self._started:
            raise RuntimeError("a LeadSearch can be iterated once; call search_leads again")
        self._started = True
        return self._pages()

    async def _pages(self) -> AsyncIterator[list[LeadRow]]:
        if self.verify_count:
            self.expected = await self.client.count_leads(self.criteria, self.account_id)
        page = self.page_base
        while self.expected is None or self.received < self.expected:
            rows = await self.client.search_page(
                self.criteria, page, self.page_size, self.account_id
            )
            self.pages += 1
            if not rows:
                break
            ids = [row.lead_id for row in rows]
            fresh = set(ids) - self._seen
            if len(fresh) < len(ids):
                raise self._mismatch(
                    f"page {page} repeated {len(ids) - len(fresh)} leads (of earlier pages or "
                    "of itself)"
                )
            self._seen.update(fresh)
            self.received = len(self._seen)
            yield rows
            page += 1
        if self.expected is not None and self.received != self.expected:
            raise self._mismatch(
                f"got {self.received} leads where {self.expected} were counted"
            )

    async def collect(self) -> list[LeadRow]:
        rows: list[LeadRow] = []
        async for page in self:
            rows.extend(page)
        return rows
