"""`EngageClient`: one thin async method per RingCX endpoint, plus name resolution.

Usage::

    async with EngageClient(EngageSettings()) as client:
        ref = await client.find_campaign("Renewals", dial_group="Renewals Team")
        criteria = SearchCriteria(campaign_id=ref.campaign_id, lead_states=["PAUSED"])
        async for page in client.search_leads(criteria, account_id=ref.account_id):
            ...
"""

from __future__ import annotations

import asyncio
import difflib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import partial
from operator import attrgetter, itemgetter
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .auth import OAuthTokenHolder, auth_for
from .errors import (
    ActionFailedError,
    AmbiguousNameError,
    AmbiguousWriteError,
    ConfigurationError,
    EngageError,
    LeadLoadFailedError,
    UnknownNameError,
    UnsafeCriteriaError,
)
from .models import (
    Account,
    AccountNode,
    AccountTree,
    ActionParams,
    Campaign,
    CampaignNode,
    DialGroup,
    DialGroupNode,
    DirectLoadRequest,
    LeadActionRequest,
    LeadActionResult,
    LeadList,
    LeadLoadResult,
    LeadRow,
    ListNode,
    SearchCriteria,
)
from .paging import PROBE, PageTally, decide_page_base
from .records import LeadRecord, lead_records_json
from .settings import EngageSettings
from .transport import Transport

API = "/voice/api/v1/admin"
#: Rows asked per page of a discovery listing: more than any account holds, so one page
#: (and one confirming page) is the usual cost, whatever the service's default page size.
LISTING_ROWS = 1000

# The page base found per host: probed once per process, shared by every client to it.
_page_bases: dict[str, int] = {}


def forget_page_bases() -> None:
    """Forget every probed page base (tests that switch a sandbox's base)."""
    _page_bases.clear()


class CampaignRef(BaseModel):
    """A campaign resolved from names, with everything needed to address it."""

    account_id: str
    account_name: str | None = None
    dial_group_id: int
    dial_group_name: str
    campaign_id: int
    campaign_name: str

    def label(self) -> str:
        return (
            f"{self.campaign_name} (campaign {self.campaign_id}) in dial group "
            f"{self.dial_group_name} ({self.dial_group_id}), account {self.account_id}"
        )


T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def resolve_name(kind: str, name: str, items: Sequence[T], key: Callable[[T], str]) -> T:
    """Exactly one item whose name is `name` (case- and space-insensitive), or a typed error."""
    matches = [item for item in items if _norm(key(item)) == _norm(name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AmbiguousNameError(
            f"{kind} name {name!r} matches {len(matches)} {kind}s; say which one",
            kind=kind,
            name=name,
            candidates=matches,
        )
    names = sorted({key(item) for item in items})
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    lowered = {_norm(n): n for n in names}
    close += [lowered[n] for n in lowered if _norm(name) in n and lowered[n] not in close][:5]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownNameError(
        f"no {kind} named {name!r}{hint}", kind=kind, name=name, candidates=close
    )


def _parse_count(body: Any) -> int:
    if isinstance(body, bool):
        raise EngageError(f"unexpected count response {body!r}")
    if isinstance(body, int):
        return body
    if isinstance(body, str) and body.strip().isdigit():
        return int(body)
    if isinstance(body, dict):
        for key in ("count", "totalCount", "total"):
            if isinstance(body.get(key), int):
                return int(body[key])
    raise EngageError(f"unexpected count response {str(body)[:100]!r}")


async def _keys(rows: Awaitable[Sequence[T]], key: Callable[[T], int]) -> list[int]:
    return [key(item) for item in await rows]


def _written_body(model: type[M], response: httpx.Response, request_uri: str) -> M:
    """The result of a write that the service accepted. An unreadable body does not undo
    the write: it is ambiguous, never a plain parsing error a caller might retry on."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise AmbiguousWriteError(
            f"the service answered {response.status_code} to a write but its body could not "
            "be read; the write was probably applied. Check the state before sending again.",
            cause=exc,
            status=response.status_code,
            request_uri=request_uri,
        ) from exc


class EngageClient:
    def __init__(
        self,
        settings: EngageSettings | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings or EngageSettings()
        self.auth = auth_for(self.settings)
        self.transport = transport or Transport(self.settings, self.auth, http)
        self._probe_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"EngageClient(host={self.settings.host!r}, auth={self.settings.auth_mode})"

    async def __aenter__(self) -> EngageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    def _account(self, account_id: str | None) -> str:
        account = account_id or self.settings.account_id
        if not account:
            raise ConfigurationError("no account id: pass account_id or set ENGAGE_ACCOUNT_ID")
        return str(account)

    async def _get(
        self, path: str, account: str = "-", params: dict[str, Any] | None = None
    ) -> Any:
        response = await self.transport.request("GET", path, account_key=account, params=params)
        return response.json()

    # -- discovery ---------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        body = await self._get(f"{API}/accounts")
        return [Account.model_validate(item) for item in body]

    async def _listing(
        self, path: str, account: str, model: type[M], key: Callable[[M], int]
    ) -> list[M]:
        """Every row of a paged discovery listing (`page`, `maxRows` in the spec; the
        service's default page size is undocumented, so it is never relied on)."""

        async def fetch(page: int, rows: int) -> list[M]:
            body = await self._get(path, account, {"page": page, "maxRows": rows})
            return [model.model_validate(item) for item in body]

        base = await self._page_base(lambda page, rows: _keys(fetch(page, rows), key))
        if base is None:  # nothing to page, or an endpoint that does not page: one plain read
            body = await self._get(path, account)
            return [model.model_validate(item) for item in body]
        tally = PageTally(page_base=base, page_size=LISTING_ROWS, what=path.rsplit("/", 1)[-1])
        found: list[M] = []
        seen: set[int] = set()
        # A first page, however short, never proves the end (a cap below LISTING_ROWS looks
        # the same), so the second is always read after it: both are asked for at once.
        second = asyncio.ensure_future(fetch(base + 1, LISTING_ROWS))
        try:
            while True:
                number = tally.page
                page = await (second if number == base + 1 else fetch(number, LISTING_ROWS))
                if tally.pages == 0 and not page and await self._get(path, account):
                    # A first page empty while the unpaged listing is not: the base is wrong
                    # (a base set by hand), and an empty listing would hide every name in it.
                    raise tally.mismatch(f"page {number} is empty, the unpaged listing is not")
                more = tally.tell([key(item) for item in page])
                for item in page:
                    if key(item) not in seen:  # a page the service repeated whole adds nothing
                        seen.add(key(item))
                        found.append(item)
                if not more:
                    return found
        finally:
            if not second.done():
                second.cancel()
            await asyncio.gather(second, return_exceptions=True)

    async def _page_base(
        self, fetch_keys: Callable[[int, int], Awaitable[list[int]]]
    ) -> int | None:
        """The page base: the setting, else the one probed for this host, else a probe now
        (two tiny pages; see `paging.decide_page_base`). None when the probe saw no row."""
        if self.settings.page_base is not None:
            return self.settings.page_base
        host = self.settings.host
        async with self._probe_lock:  # concurrent first reads wait for one probe
            if host not in _page_bases:
                base = await self._probe_page_base(fetch_keys)
                if base is None:
                    return None
                _page_bases[host] = base
        return _page_bases[host]

    async def _probe_page_base(
        self, fetch_keys: Callable[[int, int], Awaitable[list[int]]]
    ) -> int | None:
        answers: list[list[int] | None] = []
        for page, rows in PROBE:
            try:
                answers.append(await fetch_keys(page, rows))
            except EngageError as exc:
                if exc.status not in (400, 404, 422):
                    raise
                answers.append(None)  # a page below the base, refused
        return decide_page_base(answers[0], answers[1])

    async def dial_groups(self, account_id: str | None = None) -> list[DialGroup]:
        account = self._account(account_id)
        return await self._listing(
            f"{API}/accounts/{account}/dialGroups", account, DialGroup, lambda g: g.dial_group_id
        )

    async def dial_groups_with_children(self, account_id: str | None = None) -> list[DialGroup]:
        account = self._account(account_id)
        return await self._listing(
            f"{API}/accounts/{account}/dialGroups/withChildren",
            account,
            DialGroup,
            lambda g: g.dial_group_id,
        )

    async def campaigns(self, dial_group_id: int, account_id: str | None = None) -> list[Campaign]:
        account = self._account(account_id)
        return await self._listing(
            f"{API}/accounts/{account}/dialGroups/{dial_group_id}/campaigns",
            account,
            Campaign,
            lambda c: c.campaign_id,
        )

    async def lists(
        self, dial_group_id: int, campaign_id: int, account_id: str | None = None
    ) -> list[LeadList]:
        account = self._account(account_id)
        body = await self._get(
            f"{API}/accounts/{account}/dialGroups/{dial_group_id}/campaigns/{campaign_id}/lists",
            account,
        )
        return [LeadList.model_validate(item) for item in body]

    async def campaign_dispositions(
        self, dial_group_id: int, campaign_id: int, account_id: str | None = None
    ) -> list[str]:
        account = self._account(account_id)
        body = await self._get(
            f"{API}/accounts/{account}/dialGroups/{dial_group_id}/campaigns/{campaign_id}"
            "/campaignDispositions",
            account,
        )
        return [
            item if isinstance(item, str) else str(item.get("disposition", item)) for item in body
        ]

    async def lead_states(self, account_id: str | None = None) -> list[str]:
        account = self._account(account_id)
        return list(await self._get(f"{API}/accounts/{account}/campaignLeads/leadStates", account))

    async def system_dispositions(self, account_id: str | None = None) -> list[str]:
        account = self._account(account_id)
        return list(
            await self._get(f"{API}/accounts/{account}/campaignLeads/systemDispositions", account)
        )

    async def find_campaign(
        self,
        name: str,
        account: str | None = None,
        dial_group: str | int | None = None,
    ) -> CampaignRef:
        """Resolve a campaign by name; `account` and `dial_group` (name or id) narrow it.

        Raises `AmbiguousNameError` naming every match, or `UnknownNameError` with the
        closest names. Nothing is ever picked silently.
        """
        accounts = await self.accounts()
        if account is not None:
            by_id = [a for a in accounts if a.account_id == str(account)]
            accounts = by_id or [
                resolve_name("account", str(account), accounts, lambda a: a.account_name or "")
            ]
        candidates: list[CampaignRef] = []
        # One request per account, all at once: each account's round trip used to add up.
        trees = await _all(self.dial_groups_with_children(acc.account_id) for acc in accounts)
        for acc, groups in zip(accounts, trees, strict=True):
            if dial_group is not None:
                groups_by_id = [g for g in groups if str(g.dial_group_id) == str(dial_group)]
                if groups_by_id:
                    groups = groups_by_id
                else:
                    groups = [
                        g for g in groups if _norm(g.dial_group_name) == _norm(str(dial_group))
                    ]
            for group in groups:
                for campaign in group.campaigns or []:
                    candidates.append(
                        CampaignRef(
                            account_id=acc.account_id,
                            account_name=acc.account_name,
                            dial_group_id=group.dial_group_id,
                            dial_group_name=group.dial_group_name,
                            campaign_id=campaign.campaign_id,
                            campaign_name=campaign.campaign_name,
                        )
                    )
        if dial_group is not None and not candidates:
            raise UnknownNameError(
                f"no dial group {dial_group!r} holding campaigns in the selected account(s)",
                kind="dial group",
                name=str(dial_group),
                candidates=[],
            )
        named = [c for c in candidates if name.strip().isdigit() and c.campaign_id == int(name)]
        if named:
            return named[0]
        try:
            return resolve_name("campaign", name, candidates, lambda c: c.campaign_name)
        except AmbiguousNameError as exc:
            listing = "; ".join(c.label() for c in exc.candidates)
            raise AmbiguousNameError(
                f"campaign name {name!r} matches {len(exc.candidates)} campaigns: {listing}. "
                "Pass dial_group (or account) to choose one.",
                kind="campaign",
                name=name,
                candidates=exc.candidates,
            ) from None

    async def find_list(self, campaign: CampaignRef, name: str) -> LeadList:
        """A list of `campaign` by name (listDesc) or id."""
        lists = await self.lists(campaign.dial_group_id, campaign.campaign_id, campaign.account_id)
        by_id = [item for item in lists if name.strip().isdigit() and item.list_id == int(name)]
        if by_id:
            return by_id[0]
        return resolve_name("list", name, lists, lambda item: item.list_desc or "")

    async def account_tree(self, with_counts: bool = True) -> AccountTree:
        """Accounts -> dial groups -> campaigns -> lists, with live lead counts per list."""
        nodes: list[AccountNode] = []
        for account in await self.accounts():
            group_nodes: list[DialGroupNode] = []
            for group in await self.dial_groups_with_children(account.account_id):
                campaign_nodes: list[CampaignNode] = []
                for summary in group.campaigns or []:
                    lists = await self.lists(
                        group.dial_group_id, summary.campaign_id, account.account_id
                    )
                    counts: list[int | None] = [None] * len(lists)
                    if with_counts and lists:
                        counts = list(
                            await _all(
                                self.count_leads(
                                    SearchCriteria(
                                        campaign_id=summary.campaign_id,
                                        list_ids=[item.list_id],
                                    ),
                                    account.account_id,
                                )
                                for item in lists
                            )
                        )
                    campaign = Campaign(
                        campaign_id=summary.campaign_id,
                        campaign_name=summary.campaign_name,
                        is_active=summary.is_active,
                    )
                    campaign_nodes.append(
                        CampaignNode(
                            campaign=campaign,
                            lists=[
                                ListNode(list=item, lead_count=count)
                                for item, count in zip(lists, counts, strict=True)
                            ],
                        )
                    )
                group_nodes.append(DialGroupNode(dial_group=group, campaigns=campaign_nodes))
            nodes.append(AccountNode(account=account, dial_groups=group_nodes))
        return AccountTree(accounts=nodes)

    # -- lead search -------------------------------------------------------------------

    async def count_leads(self, criteria: SearchCriteria, account_id: str | None = None) -> int:
        account = self._account(account_id)
        response = await self.transport.request(
            "POST",
            f"{API}/accounts/{account}/campaignLeads/leadSearch",
            account_key=account,
            params={"count": "true"},
            json=criteria.to_wire(),
        )
        return _parse_count(response.json())

    async def search_page(
        self,
        criteria: SearchCriteria,
        page: int,
        max_rows: int | None = None,
        account_id: str | None = None,
        *,
        extras: bool = True,
    ) -> list[LeadRow]:
        """One raw page. Prefer `search_leads`, which reconciles pages against the count.
        Without `extras`, fields beyond LeadRow's are not kept (`model_extra` is None)."""
        body = await self._search_body(criteria, page, max_rows, account_id)
        return _page_rows(body, partial(LeadRow.validate_many_json, extras=extras))

    async def _search_body(
        self,
        criteria: SearchCriteria,
        page: int,
        max_rows: int | None,
        account_id: str | None,
    ) -> bytes:
        """One page's response body, not yet validated."""
        account = self._account(account_id)
        response = await self.transport.request(
            "POST",
            f"{API}/accounts/{account}/campaignLeads/leadSearch",
            account_key=account,
            params={"page": page, "maxRows": max_rows or self.settings.page_size},
            json=criteria.to_wire(),
        )
        return response.content

    def search_leads(
        self,
        criteria: SearchCriteria,
        account_id: str | None = None,
        *,
        page_size: int | None = None,
        verify_count: bool = True,
        extras: bool = True,
        on_last_page: Callable[[], object] | None = None,
    ) -> LeadSearch[LeadRow]:
        """Async iterator over pages of leads, reconciled against `count=true`; rows keep
        the fields beyond LeadRow's unless `extras` is False (cheaper, for bulk reads).
        `on_last_page()` is called once the last page has arrived, before it is yielded."""
        rows = partial(LeadRow.validate_many_json, extras=extras)
        return self._search(
            criteria, account_id, rows, _ROW_ID, page_size, verify_count, on_last_page
        )

    def search_lead_records(
        self,
        criteria: SearchCriteria,
        account_id: str | None = None,
        *,
        page_size: int | None = None,
        verify_count: bool = True,
        on_last_page: Callable[[], object] | None = None,
    ) -> LeadSearch[LeadRecord]:
        """As `search_leads`, the rows as `LeadRecord` dicts: the same fields and checks at
        about half the cost per row, for reads that only turn rows into columns."""
        return self._search(
            criteria,
            account_id,
            lead_records_json,
            _RECORD_ID,
            page_size,
            verify_count,
            on_last_page,
        )

    def _search(
        self,
        criteria: SearchCriteria,
        account_id: str | None,
        validate: Callable[[bytes], list[R]],
        key: Callable[[R], int],
        page_size: int | None,
        verify_count: bool,
        on_last_page: Callable[[], object] | None,
    ) -> LeadSearch[R]:
        return LeadSearch(
            self,
            criteria,
            self._account(account_id),
            validate,
            key,
            page_size=page_size or self.settings.page_size,
            verify_count=verify_count,
            on_last_page=on_last_page,
        )

    # -- writes ------------------------------------------------------------------------

    async def lead_action(
        self,
        params: ActionParams,
        criteria: SearchCriteria,
        account_id: str | None = None,
    ) -> LeadActionResult:
        """Apply one lead action to every lead matching `criteria`.

        Refuses criteria without a campaign: with no campaign an empty filter reaches every
        lead of the sub-account. May raise `AmbiguousWriteError`: then check the state.
        """
        if not criteria.campaign_scope():
            raise UnsafeCriteriaError(
                "lead action criteria must name at least one campaign (campaignId/campaignIds)"
            )
        account = self._account(account_id)
        body = LeadActionRequest.for_action(criteria, params).to_wire()
        path = f"{API}/accounts/{account}/campaignLeads/actions"
        response = await self.transport.request(
            "PUT",
            path,
            account_key=account,
            params={"leadAction": params.lead_action.value},
            json=body,
            write=True,
        )
        result = _written_body(LeadActionResult, response, f"{path} - PUT")
        if not result.success:
            raise ActionFailedError(
                f"{result.lead_action_type or params.action} failed (success=false): "
                f"{result.error_message or 'no errorMessage'}",
                status=response.status_code,
                request_uri=f"{path} - PUT",
                result=result,
            )
        return result

    async def load_leads(
        self,
        campaign_id: int,
        request: DirectLoadRequest,
        account_id: str | None = None,
    ) -> LeadLoadResult:
        """Direct lead load. HTTP 200 can still be a failed load: the body decides."""
        account = self._account(account_id)
        path = f"{API}/accounts/{account}/campaigns/{campaign_id}/leadLoader/direct"
        response = await self.transport.request(
            "POST", path, account_key=account, json=request.to_wire(), write=True
        )
        result = _written_body(LeadLoadResult, response, f"{path} - POST")
        if result.failed:
            raise LeadLoadFailedError(
                f"lead load into campaign {campaign_id} failed: {result.failure_reason}",
                status=response.status_code,
                request_uri=f"{path} - POST",
                result=result,
            )
        return result

    # -- introspection -----------------------------------------------------------------

    @property
    def token_counts(self) -> dict[str, int]:
        if isinstance(self.auth, OAuthTokenHolder):
            return dict(self.auth.counts)
        return {}


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Every result, in order; the first failure is raised as itself (not as a group) once
    the others are cancelled, so none runs on unobserved."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _page_rows(body: bytes, validate: Callable[[bytes], list[R]]) -> list[R]:
    # Validating the raw JSON skips building a thousand dicts per page first.
    try:
        return validate(body)
    except ValidationError:
        try:
            parsed = json.loads(body)
        except ValueError:
            raise EngageError("lead search returned a body that is not JSON") from None
        if not isinstance(parsed, list):
            raise EngageError(
                f"lead search returned {type(parsed).__name__}, not a list of rows"
            ) from None
        raise


_ROW_ID: Callable[[LeadRow], int] = attrgetter("lead_id")
_RECORD_ID: Callable[[LeadRecord], int] = itemgetter("lead_id")


class _Ahead(Generic[R]):
    """Pages of one search requested ahead, up to `page_prefetch` in flight and never past
    `last` (the count's pages): the caller still takes them one by one, in order, and a
    page past `last` (rows added meanwhile) is read when asked for. The transport paces
    each request as it would a sequential one. A page read ahead is held as its response
    body and validated when taken: a body is about a quarter of its rows' size, so a
    caller slower than the reads holds `prefetch` bodies, not `prefetch` pages of rows."""

    def __init__(
        self,
        read: Callable[[int, int], Awaitable[bytes]],
        parse: Callable[[bytes], list[R]],
        rows: int,
        last: int,
        prefetch: int,
    ) -> None:
        self.read, self.parse, self.rows, self.last = read, parse, rows, last
        self.prefetch = prefetch
        self.tasks: dict[int, asyncio.Future[bytes]] = {}

    async def page(self, number: int) -> list[R]:
        for ahead in range(number, min(number + self.prefetch, self.last + 1)):
            if ahead not in self.tasks:
                task = asyncio.ensure_future(self.read(ahead, self.rows))
                # Read ahead and never asked for (the search ended early): not an error.
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
                self.tasks[ahead] = task
        if number in self.tasks:
            body = await self.tasks.pop(number)
        else:
            body = await self.read(number, self.rows)
        return self.parse(body)

    def cancel(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()


class LeadSearch(Generic[R]):
    """An async iterator of the pages (lists of rows: `LeadRow`s or `LeadRecord`s, as the
    `validate` it is given makes them; `key` reads a row's lead id) of one search: the count
    first, then pages from the page base until the tally holds that many distinct leads.
    Iterated once; its figures stay for inspection."""

    def __init__(
        self,
        client: EngageClient,
        criteria: SearchCriteria,
        account_id: str,
        validate: Callable[[bytes], list[R]],
        key: Callable[[R], int],
        *,
        page_size: int,
        verify_count: bool = True,
        on_last_page: Callable[[], object] | None = None,
    ) -> None:
        self.client = client
        self.validate, self.key = validate, key
        self.on_last_page = on_last_page
        self.criteria = criteria
        self.account_id = account_id
        self.page_size = page_size
        self.verify_count = verify_count
        self.tally: PageTally | None = None
        self.expected: int | None = None
        self._started = False

    @property
    def pages(self) -> int:
        return self.tally.pages if self.tally else 0

    @property
    def received(self) -> int:
        return self.tally.received if self.tally else 0

    def __aiter__(self) -> AsyncIterator[list[R]]:
        if self._started:
            raise RuntimeError("a LeadSearch can be iterated once; call search_leads again")
        self._started = True
        return self._pages()

    async def _page(self, page: int, rows: int) -> list[R]:
        return self._rows(await self._body(page, rows))

    async def _body(self, page: int, rows: int) -> bytes:
        return await self.client._search_body(self.criteria, page, rows, self.account_id)

    def _rows(self, body: bytes) -> list[R]:
        return _page_rows(body, self.validate)

    async def _pages(self) -> AsyncIterator[list[R]]:
        if self.verify_count:
            self.expected = await self.client.count_leads(self.criteria, self.account_id)
            if self.expected == 0:
                return
        base = await self.client._page_base(
            lambda page, rows: _keys(self._page(page, rows), self.key)
        )
        tally = self.tally = PageTally(
            page_base=base or 0, page_size=self.page_size, expected=self.expected
        )
        ahead = _Ahead(
            self._body,
            self._rows,
            self.page_size,
            self._counted_pages(tally),
            self.client.settings.page_prefetch,
        )
        try:
            while base is not None and tally.wanted():
                rows = await ahead.page(tally.page)
                before = tally.received
                more = tally.tell(list(map(self.key, rows)))
                if not more and self.on_last_page is not None:
                    # Before the caller works on it: what waits for the end starts now.
                    self.on_last_page()
                if tally.received > before:
                    yield rows
                del rows  # not kept alive while the caller builds the next page's frame
                if not more:
                    break
        finally:
            ahead.cancel()
        tally.check_complete()

    def _counted_pages(self, tally: PageTally) -> int:
        """The last page number worth reading ahead: the count's pages (none without it)."""
        if tally.expected is None:
            return tally.page_base - 1
        pages = -(-tally.expected // self.page_size)
        return tally.page_base + pages - 1

    async def collect(self) -> list[R]:
        rows: list[R] = []
        async for page in self:
            rows.extend(page)
        return rows
