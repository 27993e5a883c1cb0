"""A blocking facade for scripts: the async client on a private event-loop thread.

Every method of `EngageClient` is available with the same arguments and returns its
result directly. `search_leads` returns a generator of pages. Safe to call from any
thread (including Prefect's worker threads): calls are submitted to the private loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Iterator
from typing import Any

from .client import EngageClient
from .models import LeadRow, SearchCriteria
from .settings import EngageSettings


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

    def _run(self, coro: Any) -> Any:
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
        search = self._client.search_leads(criteria, account_id, **kw)
        pages = search.__aiter__()
        while True:
            try:
                yield self._run(pages.__anext__())
            except StopAsyncIteration:
                return

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if inspect.iscoroutinefunction(attr):

            @functools.wraps(attr)
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._run(attr(*args, **kwargs))

            return call
        return attr
