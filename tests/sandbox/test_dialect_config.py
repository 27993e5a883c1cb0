"""Dialects as configuration: the registry, SandboxConfig, SANDBOX_* variables, the admin
endpoints and ``leads sandbox --dialect``."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from engage_sandbox import DIALECTS, Dialect, SandboxConfig, get_dialect
from engage_sandbox.dialect import GROUND_TRUTH, UnknownDialect, resolve_dialect

OPEN_QUESTIONS = {
    "page_base",
    "below_base_page",
    "max_rows_cap",
    "discovery_page_size",
    "transition_marks",
    "ignore_scope",
    "update_count",
    "visibility_delay_seconds",
}


def test_the_named_dialects():
    assert list(DIALECTS) == ["spec", "strict", "alternate", "legacy"]
    spec = DIALECTS["spec"]
    assert spec == Dialect() and spec.page_base == 0 and spec.campaign_id_criterion == "ignored"
    assert not spec.legacy_row_fields and not spec.lenient_inputs
    strict = DIALECTS["strict"]
    assert strict.model_dump(exclude={"name", "campaign_id_criterion", "discovery_page_size"}) == (
        spec.model_dump(exclude={"name", "campaign_id_criterion", "discovery_page_size"})
    )
    assert (strict.campaign_id_criterion, strict.discovery_page_size) == ("rejected", 25)
    # alternate takes the other reading of every open question
    alternate = DIALECTS["alternate"]
    for field in OPEN_QUESTIONS:
        assert getattr(alternate, field) != getattr(spec, field), field
    legacy = DIALECTS["legacy"]
    assert (legacy.page_base, legacy.below_base_page, legacy.ignore_scope) == (
        1,
        "first",
        "campaign",
    )
    assert legacy.campaign_id_criterion == "scope" and legacy.legacy_row_fields
    assert legacy.lenient_inputs
    assert GROUND_TRUTH.name not in DIALECTS


def test_dialects_are_immutable_and_strict_about_fields():
    with pytest.raises(ValidationError):
        DIALECTS["spec"].page_base = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Dialect(page_bass=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Dialect(page_base=2)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Dialect(max_rows_cap=0)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownDialect, match="spec, strict, alternate, legacy"):
        get_dialect("lenient")
    assert get_dialect(" Alternate ") is DIALECTS["alternate"]


def test_resolve_names_objects_and_partial_objects():
    assert resolve_dialect("legacy") is DIALECTS["legacy"]
    assert resolve_dialect({"page_base": 1}) == Dialect(page_base=1)
    assert resolve_dialect({"name": "strict", "page_base": 1}) == Dialect(
        **{**DIALECTS["strict"].model_dump(), "page_base": 1}
    )
    # a partial object without a registered name changes the base it is given
    base = DIALECTS["alternate"]
    assert resolve_dialect({"max_rows_cap": 7}, base).model_dump() == {
        **base.model_dump(),
        "max_rows_cap": 7,
    }
    assert resolve_dialect('{"name": "legacy"}') is not None
    with pytest.raises(ValueError):
        resolve_dialect(42)


def test_sandbox_config_takes_a_name_an_object_or_shortcuts():
    assert SandboxConfig().dialect == DIALECTS["spec"]
    assert SandboxConfig(dialect="alternate").dialect is DIALECTS["alternate"]
    assert SandboxConfig(dialect={"name": "legacy"}).dialect == DIALECTS["legacy"]
    assert SandboxConfig(dialect=DIALECTS["strict"]).dialect.name == "strict"
    old_style = SandboxConfig(page_base=1, max_rows_cap=60, max_rows_default=20)
    assert (old_style.dialect.name, old_style.page_base, old_style.max_rows_cap) == ("spec", 1, 60)
    assert old_style.max_rows_default == 20
    mixed = SandboxConfig(dialect="legacy", page_base=0)
    assert (mixed.dialect.name, mixed.page_base, mixed.dialect.lenient_inputs) == (
        "legacy",
        0,
        True,
    )
    cfg = SandboxConfig()
    cfg.dialect = "strict"  # type: ignore[assignment]
    assert cfg.dialect is DIALECTS["strict"]
    with pytest.raises(ValidationError, match="known dialects"):
        SandboxConfig(dialect="nope")


def test_dialect_from_the_environment(monkeypatch):
    monkeypatch.setenv("SANDBOX_DIALECT", "alternate")
    assert SandboxConfig.from_env().dialect == DIALECTS["alternate"]
    monkeypatch.setenv("SANDBOX_PAGE_BASE", "0")  # the old variable still works
    cfg = SandboxConfig.from_env()
    assert (cfg.dialect.name, cfg.page_base) == ("alternate", 0)
    monkeypatch.delenv("SANDBOX_DIALECT")
    monkeypatch.delenv("SANDBOX_PAGE_BASE")
    monkeypatch.setenv("SANDBOX_DIALECT__MAX_ROWS_CAP", "77")
    assert SandboxConfig.from_env().dialect == Dialect(max_rows_cap=77)
    monkeypatch.setenv("SANDBOX_DIALECT", '{"name": "legacy", "max_rows_cap": 5}')
    cfg = SandboxConfig.from_env(leads=3)
    assert (cfg.dialect.name, cfg.max_rows_cap, cfg.leads) == ("legacy", 5, 3)


def test_settings_switch_and_modify_the_dialect(sandbox):
    assert sandbox.admin("GET", "config")["dialect"] == DIALECTS["spec"].model_dump()
    shown = sandbox.settings(dialect="alternate")
    assert shown["dialect"] == DIALECTS["alternate"].model_dump() and shown["page_base"] == 1
    # a partial object changes the current dialect
    shown = sandbox.settings(dialect={"max_rows_cap": 123})
    assert shown["dialect"]["name"] == "alternate" and shown["dialect"]["max_rows_cap"] == 123
    assert shown["dialect"]["page_base"] == 1
    # the old shortcuts change the current dialect too
    shown = sandbox.settings(page_base=0, max_rows_cap=100)
    assert shown["dialect"]["page_base"] == 0 and shown["max_rows_cap"] == 100
    assert shown["dialect"]["transition_marks"] == "originals"
    # a registered name in an object starts from that dialect
    shown = sandbox.settings(dialect={"name": "legacy", "page_base": 0})
    assert shown["dialect"] == {**DIALECTS["legacy"].model_dump(), "page_base": 0}
    assert sandbox.config.dialect == Dialect(**shown["dialect"])
    assert sandbox.admin("GET", "settings")["dialect"] == shown["dialect"]
    assert sandbox.admin("GET", "dialects")["strict"] == DIALECTS["strict"].model_dump()


@pytest.mark.parametrize(
    "body",
    [
        {"dialect": "nope"},
        {"dialect": {"page_base": 3}},
        {"dialect": {"no_such_field": 1}},
        {"page_base": 2},
        {"dialect": 5},
        {"dialect": "legacy", "max_rows_cap": 0},
    ],
)
def test_bad_dialect_settings_are_400_and_change_nothing(sandbox, body):
    before = sandbox.admin("GET", "settings")
    response = sandbox.http.put("/sandbox/settings", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] in ("invalid.param", "invalid.request")
    assert sandbox.admin("GET", "settings") == before
    if body == {"dialect": "nope"}:
        assert "spec, strict, alternate, legacy" in response.json()["generalMessage"]


def test_cli_sandbox_takes_a_dialect(monkeypatch):
    import leads_cli.main as cli

    started = []
    monkeypatch.setattr(cli, "serve_forever", lambda config, on_ready=None: started.append(config))
    monkeypatch.delenv("SANDBOX_DIALECT", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli.app, ["sandbox", "--port", "0", "--dialect", "alternate"])
    assert result.exit_code == 0, result.output
    assert started[-1].dialect == DIALECTS["alternate"]
    result = runner.invoke(cli.app, ["sandbox", "--port", "0"])
    assert result.exit_code == 0 and started[-1].dialect == DIALECTS["spec"]
    monkeypatch.setenv("SANDBOX_DIALECT", "legacy")
    result = runner.invoke(cli.app, ["sandbox", "--port", "0"])
    assert result.exit_code == 0 and started[-1].dialect == DIALECTS["legacy"]
    monkeypatch.setenv("COLUMNS", "300")  # the error box must not wrap the names
    result = runner.invoke(cli.app, ["sandbox", "--port", "0", "--dialect", "nope"])
    assert result.exit_code == 2
    assert "spec, strict, alternate, legacy" in result.output
