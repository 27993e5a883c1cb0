"""One RingCX token across processes (tasks/tokens.py, engage_voice.auth.use_token_share),
against a real sandbox and a real PostgreSQL. A "process" in-process is a client built
after `forget_tokens()`: nothing of the first one's token is left in memory."""

from __future__ import annotations

import json
import multiprocessing

import httpx
import psycopg
import pytest

from engage_sandbox import SandboxConfig, SandboxServer
from engage_voice import SyncEngageClient
from engage_voice.auth import OAuthTokenHolder, auth_for, forget_tokens, use_token_share
from engage_voice.errors import AuthenticationError
from leads_cli.embedded import settings_for
from tasks.tokens import SharedTokens, share_tokens


@pytest.fixture
def sandbox():
    with SandboxServer(SandboxConfig(seed=3, leads=50)) as server:
        yield server


@pytest.fixture
def shared(pg_url):
    share_tokens(pg_url)
    forget_tokens()
    yield pg_url
    use_token_share(None)
    forget_tokens()


def _auth(sandbox: SandboxServer) -> dict[str, int]:
    return httpx.get(f"{sandbox.base_url}/sandbox/stats", timeout=30).json()["auth"]


def _new_process_calls(sandbox: SandboxServer, **overrides) -> None:
    forget_tokens()
    with SyncEngageClient(settings_for(sandbox, **overrides)) as client:
        assert client.accounts()


def test_processes_sharing_the_database_exchange_once(sandbox, shared):
    for _ in range(4):
        _new_process_calls(sandbox)
    auth = _auth(sandbox)
    assert auth["exchanges"] == 1 and auth["rc_logins"] == 1, auth


def test_without_the_share_each_process_exchanges(sandbox):
    forget_tokens()
    for _ in range(3):
        _new_process_calls(sandbox)
    assert _auth(sandbox)["exchanges"] == 3


def test_a_rejected_token_is_renewed_not_adopted_again(sandbox, shared):
    _new_process_calls(sandbox)
    httpx.post(f"{sandbox.base_url}/sandbox/tokens/expire", timeout=30).raise_for_status()
    # The next process finds the stored token, is refused with it, and must not take the
    # same token again: it refreshes with the stored refresh token (no new exchange).
    _new_process_calls(sandbox)
    auth = _auth(sandbox)
    assert auth["unauthorized_401s"] == 1 and auth["refreshes"] == 1, auth
    assert auth["exchanges"] == 1, auth
    _new_process_calls(sandbox)  # and leaves the refreshed token for the one after
    assert _auth(sandbox)["refreshes"] == 1


def test_the_stored_token_is_sealed_and_other_credentials_cannot_open_it(sandbox, shared):
    _new_process_calls(sandbox)
    plain = shared.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        rows = conn.execute("SELECT name, sealed FROM leads_shared_tokens").fetchall()
    assert len(rows) == 1
    name, sealed = rows[0]
    holder = auth_for(settings_for(sandbox))
    assert isinstance(holder, OAuthTokenHolder)
    token = holder._shared().access_token.get_secret_value()
    assert token and token.encode() not in bytes(sealed)
    assert SharedTokens(shared).load(name, b"another key") is None
    # Another set of credentials (here another client secret) keeps a token of its own.
    config = sandbox.config
    with pytest.raises(AuthenticationError):  # the sandbox knows one client secret: sign-in refused
        _new_process_calls(sandbox, client_secret=config.client_secret.get_secret_value() + "x")
    with psycopg.connect(plain) as conn:
        assert conn.execute("SELECT count(*) FROM leads_shared_tokens").fetchone() == (1,)


def test_a_renewal_cancelled_while_waiting_for_the_lock_frees_it(shared):
    import asyncio
    import threading

    from engage_voice.auth import _acquire

    share = SharedTokens(shared)
    release_first = share.acquire("n")

    async def cancelled_waiter() -> None:
        waiter = asyncio.ensure_future(_acquire(share, "n"))
        await asyncio.sleep(0.3)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        release_first()  # the thread now takes the lock ... and must give it back
        await asyncio.sleep(1.0)

    asyncio.run(cancelled_waiter())
    got = threading.Event()

    def take() -> None:
        share.acquire("n")()
        got.set()

    threading.Thread(target=take, daemon=True).start()
    assert got.wait(10), "the cancelled waiter kept the lock"


def _sign_in(settings_json: str, url: str, start) -> None:
    from engage_voice import EngageSettings
    from tasks.tokens import share_tokens

    share_tokens(url)
    settings = EngageSettings(_env_file=None, **json.loads(settings_json))
    start.wait()
    with SyncEngageClient(settings) as client:
        assert client.accounts()


def test_real_processes_starting_at_once_exchange_once(sandbox, pg_url):
    settings = settings_for(sandbox)
    raw = settings.model_dump(mode="json", exclude_none=True)
    for name in ("client_secret", "jwt"):
        raw[name] = getattr(settings, name).get_secret_value()
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    children = [
        context.Process(target=_sign_in, args=(json.dumps(raw), pg_url, start)) for _ in range(3)
    ]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(120)
    assert [c.exitcode for c in children] == [0, 0, 0]
    assert _auth(sandbox)["exchanges"] == 1


def test_a_share_whose_database_went_away_does_not_stop_a_sign_in(sandbox, pg_url, caplog):
    from sqlalchemy import create_engine

    share = SharedTokens(pg_url)
    # The database goes away after start-up: every share call now fails to connect.
    share.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/gone")
    use_token_share(share)
    forget_tokens()
    try:
        _new_process_calls(sandbox)
    finally:
        use_token_share(None)
        forget_tokens()
    assert _auth(sandbox)["exchanges"] == 1
    assert "token share unavailable (OperationalError); renewing alone" in caplog.text
