"""gatehold.testing.stack: `gatehold up` as a subprocess of a test run, and never left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gatehold.testing.stack import StackStartError, new_stack

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "pytest-project" / "template.yaml"

STARTER = """
import json, sys, time
from pathlib import Path
from gatehold.testing.stack import new_stack
stack = new_stack(Path(sys.argv[1]), Path(sys.argv[2])).start()
print(json.dumps({"pid": stack.proc.pid, "gateway": stack.gateway_url}), flush=True)
time.sleep(300)
"""


def gone(pid: int, deadline: float) -> bool:
    """Whether ``pid`` has exited (checked until ``deadline``, at least once)."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_stack_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "data"), str(TEMPLATE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    up_pid = None
    try:
        assert starter.stdout is not None
        started = json.loads(starter.stdout.readline())
        up_pid = started["pid"]
        assert httpx.get(started["gateway"] + "/health").status_code == 200
        starter.send_signal(signal.SIGKILL)  # no teardown runs: a CI's timeout, a kill -9
        starter.wait()
        assert gone(up_pid, time.monotonic() + 60), "gatehold up outlived the process that started it"
        with pytest.raises(httpx.ConnectError):
            httpx.get(started["gateway"] + "/health")
    finally:
        starter.kill()
        starter.wait()
        if up_pid is not None and not gone(up_pid, time.monotonic()):
            os.kill(up_pid, signal.SIGKILL)


def test_a_stack_as_a_context_manager_is_stopped_after(tmp_path: Path) -> None:
    with new_stack(tmp_path, TEMPLATE) as stack:
        assert httpx.get(stack.gateway_url + "/health").json() == {"status": "ok"}
        assert stack.running
    assert not stack.running
    assert stack.proc is not None
    assert stack.proc.returncode == 0  # a graceful stop
    assert "Gatehold is up" in stack.output()


def test_a_stack_that_cannot_start_raises_with_its_output(tmp_path: Path) -> None:
    config = tmp_path / "gatehold.yaml"
    config.write_text("apis: 5\n")
    stack = new_stack(tmp_path / "data", config)
    with pytest.raises(StackStartError, match=r"(?s)gatehold up exited with 2.*apis"):
        stack.start()
    assert not stack.running
