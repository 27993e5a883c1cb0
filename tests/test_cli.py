"""The `leads` command: sandbox, discover, and refusing bad input before doing anything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from leads_cli.main import app

LEADS = Path(sys.executable).with_name("leads")


def test_sandbox_command_serves_and_prints_url_and_credentials():
    proc = subprocess.Popen(
        [str(LEADS), "sandbox", "--port", "0", "--leads", "500", "--api-token", "tok-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        url = None
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            seen.append(line)
            match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
        assert url, "".join(seen)
        for _ in range(8):
            seen.append(proc.stdout.readline())
        text = "".join(seen)
        assert "ENGAGE_CLIENT_ID=sandbox-client-id" in text
        assert "ENGAGE_API_TOKEN=tok-123" in text
        assert httpx.get(f"{url}/sandbox/health").json() == {"status": "ok"}
        accounts = httpx.get(
            f"{url}/voice/api/v1/admin/accounts", headers={"X-Auth-Token": "tok-123"}
        )
        assert accounts.status_code == 200 and accounts.json()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


def test_discover_against_an_embedded_sandbox():
    result = CliRunner().invoke(app, ["discover", "--sandbox"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "My Predictive Campaign" in result.output
    assert "Live lead counts per list" in result.output


def test_discover_without_credentials_says_what_to_set(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("ENGAGE_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["discover"])
    assert result.exit_code == 2
    assert "ENGAGE_API_TOKEN" in result.output


def test_run_refuses_bad_input_before_starting_anything():
    runner = CliRunner()
    bad_json = runner.invoke(app, ["run", "lead_action", "--params", "{not json"])
    assert bad_json.exit_code == 2 and "not valid JSON" in bad_json.output
    unknown = runner.invoke(app, ["run", "no_such_flow"])
    assert unknown.exit_code == 2 and "unknown flow" in unknown.output


def test_benchmark_script_runs_small():
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_sandbox.py",
            "--leads",
            "3000",
            "--pages",
            "2",
            "--chunks",
            "1",
            "--chunk-size",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr
    assert "p95/target" in out.stdout and "1000-row page, first" in out.stdout


def test_sandbox_command_takes_other_settings_from_the_environment():
    proc = subprocess.Popen(
        [str(LEADS), "sandbox", "--port", "0", "--leads", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", "SANDBOX_PAGE_BASE": "0"},
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and url is None:
            match = re.search(r"serving at (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            url = match.group(1) if match else None
        assert url
        assert httpx.get(f"{url}/sandbox/settings").json()["page_base"] == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


def test_run_help_shows_the_flows_parameters_and_an_example():
    runner = CliRunner()
    shown = runner.invoke(app, ["run", "move-leads", "--help"])  # the deployments' spelling
    assert shown.exit_code == 0, shown.output
    assert "destination: Destination (required)" in shown.output
    assert 'duplicate_action: DuplicateAction (default "MOVE")' in shown.output
    assert "leads run move_leads --sandbox -p '{" in shown.output
    assert "predicate" not in runner.invoke(app, ["run", "lead_action", "--help"]).output
    unknown = runner.invoke(app, ["run", "nope", "--help"])
    assert unknown.exit_code == 2 and "unknown flow" in unknown.output
    assert "FLOW" in runner.invoke(app, ["run", "--help"]).output.upper()


def test_every_help_example_is_a_valid_parameter_document():
    from leads_cli.run import EXAMPLES, FLOW_NAMES, load_flow

    assert set(EXAMPLES) == set(FLOW_NAMES)
    for name, example in EXAMPLES.items():
        load_flow(name).validate_parameters(dict(example))  # raises on a bad document


def test_run_without_credentials_fails_at_once(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith(("ENGAGE_", "PREFECT_API_URL"))]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "inventory"])
    assert result.exit_code == 2
    assert "no credentials" in result.output and "Prefect" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


def test_run_starts_one_quiet_server_and_reports_a_dry_run_once(tmp_path):
    """Regression: Prefect started a second, temporary server beside ours (the flow's thread
    did not see our API URL), with a `database is locked` traceback and telemetry errors;
    a dry run showed 0/1 and the word "verified"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGAGE_", "PREFECT_"))}
    env.update(COLUMNS="200", PREFECT_HOME=str(tmp_path / "prefect"))
    params = (
        '{"action": {"action": "PAUSE_LEADS"}, "selection": {"source": {"campaign": '
        '"My Predictive Campaign"}, "criteria": {"lead_states": ["READY"]}}, '
        '"dry_run": true, "options": {"run_key": "cli-dry"}}'
    )
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("leads")),
            "run",
            "lead_action",
            "--sandbox",
            "-p",
            params,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    for noise in ("temporary server", "Traceback", "telemetry", "locked", "| INFO"):
        assert noise not in text, (noise, text)
    assert "dry run: nothing written" in text and "verified" not in text
    planned = re.search(r"(\d+) chunks", text)
    assert planned and int(planned.group(1)) > 1
    assert f"0/{planned.group(1)}" in text  # the bar knew the plan's total
    assert not (tmp_path / "journal" / "cli-dry" / "chunks").exists()


def test_a_server_on_another_port_serves_a_ui_that_calls_its_own_port(tmp_path):
    """The UI asks 4200 for its data unless told otherwise: a server the CLI starts on
    another port (4200 taken here) must tell its UI that port."""
    script = (
        "import socket, httpx\n"
        "from leads_cli.prefect_api import prefect_api, ui_url\n"
        "busy = socket.socket()\n"
        "try:\n"
        "    busy.bind(('127.0.0.1', 4200)); busy.listen()\n"
        "except OSError:\n"
        "    pass  # taken already: just as good\n"
        f"with prefect_api(log_path=__import__('pathlib').Path({str(tmp_path / 'server.log')!r})) as api:\n"
        "    assert api.started_here and ':4200/' not in api.url, api\n"
        "    seen = httpx.get(ui_url(api.url) + '/ui-settings', timeout=10).json()['api_url']\n"
        "    assert seen == api.url, (seen, api.url)\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr


def test_run_keys_nobody_chose_are_unique_even_within_a_second():
    """Two `leads run` started in the same second got the same default key: the second was
    refused (RunInProgressError) or, with another filter, taken for a key conflict."""
    from leads_cli.run import with_run_key

    keys = {with_run_key("lead_action", {}) for _ in range(50)}
    assert len(keys) == 50
    assert all(k.startswith("lead-action-") for k in keys)
    chosen = {"options": {"run_key": "my-run"}}
    assert with_run_key("lead_action", chosen) == "my-run"  # a chosen key keeps its meaning
