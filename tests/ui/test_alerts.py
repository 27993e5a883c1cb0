"""A failed run of a scheduled deployment notifies through a webhook (a Prefect automation,
deployments/alerts.py); a failed run started by hand does not. Against the served product's
real Prefect server (its services evaluate automations) and a receiver on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from .served import REPO


def _receiver() -> tuple[HTTPServer, list[dict]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def _failed_run(product, deployment: str, parameters: dict) -> str:
    run_id = product.api(
        "POST",
        f"/deployments/{product.deployment(deployment)['id']}/create_flow_run",
        json={"parameters": parameters},
    )["id"]
    run = product.wait_for_state(run_id, {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
    assert run["state"]["type"] == "FAILED", run["state"]
    return run_id


def test_a_failed_scheduled_run_notifies_the_webhook(product):
    server, received = _receiver()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        for _ in range(2):  # re-runnable: the second replaces the first, never doubles it
            made = subprocess.run(
                [sys.executable, "-m", "deployments.alerts", url],
                env=product.env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert made.returncode == 0, made.stdout + made.stderr
        by_hand = {
            "action": {"action": "PAUSE_LEADS"},
            "selection": {"source": {"campaign": "No Such Campaign"}},
            "dry_run": True,
        }
        _failed_run(product, "lead_action/lead-action", by_hand)
        _failed_run(
            product,
            "nightly_reset/nightly-reset",
            {"campaigns": [{"campaign": "No Such Campaign"}]},
        )
        deadline = time.monotonic() + 120
        while not received and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a second notification, if any, would be here by now
        assert received, "no notification reached the webhook"
        texts = [n.get("text", "") for n in received]
        assert len(received) == 1, texts
        assert "nightly_reset" in texts[0] and "Failed" in texts[0], texts
    finally:
        server.shutdown()
