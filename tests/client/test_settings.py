from __future__ import annotations

import pytest
from pydantic import ValidationError

from engage_voice import EngageSettings


def test_env_prefix_and_secret_hidden(monkeypatch):
    monkeypatch.setenv("ENGAGE_HOST", "https://example.test/")
    monkeypatch.setenv("ENGAGE_CLIENT_ID", "cid")
    monkeypatch.setenv("ENGAGE_CLIENT_SECRET", "very-secret-value")
    monkeypatch.setenv("ENGAGE_JWT", "eyJ-secret-jwt")
    s = EngageSettings(_env_file=None)
    assert s.host == "https://example.test"
    assert s.auth_mode == "jwt"
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "very-secret-value" not in text
        assert "eyJ-secret-jwt" not in text


def test_api_token_mode():
    s = EngageSettings(_env_file=None, api_token="perm-token-xyz")
    assert s.auth_mode == "api_token"
    assert "perm-token-xyz" not in repr(s)


def test_jwt_without_client_rejected():
    with pytest.raises(ValidationError, match="client_id and client_secret"):
        EngageSettings(_env_file=None, jwt="x")


def test_bad_host_rejected():
    with pytest.raises(ValidationError, match="http"):
        EngageSettings(_env_file=None, host="ringcx.example")


def test_rate_limits_merge_and_scale():
    s = EngageSettings(_env_file=None, rate_limits={"lead_actions": [(10, 5.0)]}, rate_limit_scale=10)
    assert s.limits_for("lead_actions") == [(10, 0.5)]
    assert s.limits_for("lead_search") == [(15, 1.0), (60, 3.0)]
    with pytest.raises(ValidationError, match="unknown operation classes"):
        EngageSettings(_env_file=None, rate_limits={"bogus": [(1, 1.0)]})
