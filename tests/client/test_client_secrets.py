"""Secrets never reach logs, reprs or error messages."""

from __future__ import annotations

import logging

import pytest

from engage_voice import EngageClient, EngageError, SyncEngageClient
from engage_voice.models import SearchCriteria


async def test_no_secret_in_logs_reprs_or_errors(sandbox_server, make_settings, admin, caplog):
    caplog.set_level(logging.DEBUG)
    cfg = sandbox_server.config
    secrets = {
        cfg.client_secret.get_secret_value(),
        cfg.jwt.get_secret_value(),
        cfg.api_token.get_secret_value(),
        cfg.password.get_secret_value(),
    }
    texts: list[str] = []
    settings = make_settings()
    async with EngageClient(settings) as client:
        await client.accounts()
        admin.expire_tokens()  # force a 401 -> refresh -> replay, all logged
        ref = await client.find_campaign("My Predictive Campaign")
        await client.count_leads(SearchCriteria(campaign_id=ref.campaign_id), ref.account_id)
        access = client.auth._access.get_secret_value()
        refresh = client.auth._refresh.get_secret_value()
        rc = client.auth._rc_access.get_secret_value()
        secrets |= {access, refresh, rc}
        texts += [repr(client), repr(client.auth), repr(settings), str(settings)]
        try:
            await client.campaigns(999999, ref.account_id)
        except EngageError as exc:
            texts += [str(exc), repr(exc)]
    bad = make_settings(client_secret="wrong-secret-123")
    secrets.add("wrong-secret-123")
    async with EngageClient(bad) as client:
        with pytest.raises(EngageError) as info:
            await client.accounts()
        texts += [str(info.value), repr(info.value)]
    with SyncEngageClient(make_settings()) as sync_client:
        texts.append(repr(sync_client))
    texts.append(caplog.text)
    joined = "\n".join(texts)
    # The logs did cover the auth path: the rejected token and the refresh-and-replay.
    assert "401" in caplog.text and "replaying once" in caplog.text
    for secret in secrets:
        assert secret and secret not in joined
