"""Graceful shutdown: SIGTERM and SIGINT let in-flight requests finish, then `gatehold up` exits 0."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.stackctl import Stack

SLOW_HANDLER = """
import time


def handler(event, context):
    time.sleep(float(event["queryStringParameters"]["s"]))
    return {"statusCode": 200, "body": "finished"}
"""

CONFIG = """
functions:
  slow:
    handler: slowfn.handler
    code_path: .
    timeout: 30
apis:
  slow:
    type: HTTP
    routes:
      GET /wait:
        integration: {type: lambda, function: slow}
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_in_flight_request_finishes(stack_factory: Callable[..., Stack], tmp_path: Path, sig: int) -> None:
    (tmp_path / "slowfn.py").write_text(SLOW_HANDLER)
    cfg = tmp_path / "gatehold.yaml"
    cfg.write_text(CONFIG)
    s = stack_factory(config=cfg, extra_args=["--no-spa"])
    result: dict[str, httpx.Response] = {}

    def call() -> None:
        result["resp"] = httpx.get(f"{s.gateway_url}/slow/wait", params={"s": "1.5"}, timeout=30)

    caller = threading.Thread(target=call)
    caller.start()
    # the request is in flight once the gateway has logged nothing yet but accepted it; give it a moment
    time.sleep(0.5)
    assert s.stop(sig) == 0, s.output()
    caller.join(30)
    assert result["resp"].status_code == 200
    assert result["resp"].text == "finished"
    assert '"msg":"stopped"' in s.output()


def test_port_in_use_is_a_clear_error(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    first = stack_factory(extra_args=["--no-spa"])
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "gatehold", "up", "--no-spa", "--data-dir", str(tmp_path / "second"),
         "--gateway-port", str(first.gateway_port), "--idp-port", "0", "--admin-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "address already in use" in (proc.stderr + proc.stdout).lower()
