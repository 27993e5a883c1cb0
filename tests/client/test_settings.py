from __future__ import annotations

import pytest

from engage_voice import EngageSettings, SettingsError


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
    with pytest.raises(SettingsError, match="client_id and client_secret"):
        EngageSettings(_env_file=None, jwt="x")


def test_bad_host_rejected():
    with pytest.raises(SettingsError, match="http"):
        EngageSettings(_env_file=None, host="ringcx.example")


def test_rate_limits_merge_and_scale():
    s = EngageSettings(_env_file=None, rate_limits={"lead_actions": [(10, 5.0)]}, rate_limit_scale=10)
    assert s.limits_for("lead_actions") == [(10, 0.5)]
    assert s.limits_for("lead_search") == [(15, 1.0), (60, 3.0)]
    with pytest.raises(SettingsError, match="unknown operation classes"):
        EngageSettings(_env_file=None, rate_limits={"bogus": [(1, 1.0)]})


# -- errors never echo a secret (issue: pydantic's error text repeats the input) ---------

SECRETS = {
    "client_secret": "cs-0123456789-SECRET-TAIL",
    "jwt": "eyJhbGciOi.JWT-BODY.JWT-SIGNATURE-TAIL",
    "password": "pw-SECRET-TAIL",
    "api_token": "tok-SECRET-TAIL",
}

INVALID = [
    {"jwt": SECRETS["jwt"]},  # no client id or secret
    {"jwt": SECRETS["jwt"], "client_id": "cid"},  # no client secret
    {"client_secret": SECRETS["client_secret"], "client_id": "cid"},  # no jwt or password
    {"username": "u", "client_id": "cid", "client_secret": SECRETS["client_secret"]},
    {"password": SECRETS["password"], "client_id": "cid", "client_secret": SECRETS["client_secret"]},
    {"api_token": SECRETS["api_token"], "jwt": SECRETS["jwt"], "client_id": "c", "client_secret": SECRETS["client_secret"]},
    {"api_token": SECRETS["api_token"], "username": "u", "password": SECRETS["password"]},
    {"jwt": SECRETS["jwt"], "username": "u", "password": SECRETS["password"], "client_id": "c", "client_secret": SECRETS["client_secret"]},
    {"api_token": SECRETS["api_token"], "host": "ringcx.example"},
    {"api_token": SECRETS["api_token"], "host": f"https://user:{SECRETS['password']}@x"[8:]},
    {"jwt": SECRETS["jwt"], "client_id": "c", "client_secret": SECRETS["client_secret"], "page_size": "lots"},
    {"api_token": SECRETS["api_token"], "rate_limits": {"bogus": [(1, 1.0)]}},
]


def _fragments(secret: str) -> list[str]:
    # Any 8 consecutive characters of a secret count as a leak (pydantic cuts long inputs
    # in the middle, which would hide a whole-string match).
    return [secret[i : i + 8] for i in range(0, len(secret) - 7)]


@pytest.mark.parametrize("values", INVALID, ids=lambda v: "+".join(sorted(v)))
def test_invalid_settings_name_fields_and_never_echo_secrets(values):
    import pickle
    import traceback

    with pytest.raises(SettingsError) as info:
        EngageSettings(_env_file=None, **values)
    exc = info.value
    texts = [
        str(exc),
        repr(exc),
        "".join(traceback.format_exception(exc)),
        repr(pickle.loads(pickle.dumps(exc))),
    ]
    assert exc.__cause__ is None and exc.__suppress_context__
    for secret in SECRETS.values():
        for fragment in _fragments(secret):
            for text in texts:
                assert fragment not in text, (fragment, text)
    assert "ENGAGE_" in str(exc)  # names the field(s)


def test_invalid_settings_from_the_environment_never_echo_secrets(monkeypatch):
    monkeypatch.setenv("ENGAGE_JWT", SECRETS["jwt"])
    monkeypatch.setenv("ENGAGE_CLIENT_ID", "cid")
    with pytest.raises(SettingsError, match="ENGAGE_CLIENT_SECRET missing") as info:
        EngageSettings(_env_file=None)
    for fragment in _fragments(SECRETS["jwt"]):
        assert fragment not in str(info.value)


def test_conflicting_credentials_are_named():
    with pytest.raises(SettingsError, match="ENGAGE_API_TOKEN and ENGAGE_JWT"):
        EngageSettings(
            _env_file=None, api_token="t", jwt="j", client_id="c", client_secret="s"
        )
