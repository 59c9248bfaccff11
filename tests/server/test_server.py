"""``gatehold up --workers N``: gateway processes sharing one port (gatehold/server.py).

Real `gatehold up` subprocesses on free loopback ports; the Lambda handler answers with the pid of
the gateway process that served it, so the test can see which process took each connection.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.stackctl import Stack

PID_HANDLER = """
import os


def handler(event, context):
    return {"statusCode": 200, "body": str(os.getpid())}
"""

CONFIG = """
functions:
  pid:
    handler: pidfn.handler
    code_path: .
    isolation: thread
apis:
  open:
    type: HTTP
    base_path: /open
    routes:
      GET /pid:
        integration: {type: lambda, function: pid, payload_format_version: "2.0"}
"""


def _config(tmp_path: Path) -> Path:
    (tmp_path / "pidfn.py").write_text(PID_HANDLER)
    path = tmp_path / "gatehold.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return path


def _workers(parent: int) -> list[int]:
    """Live child processes of ``parent`` that are gateway workers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == parent and state != "Z" and b"gatehold.server\x00worker" in cmdline:
            found.append(int(entry))
    return found


def _serving_pids(stack: Stack, requests: int = 60) -> set[int]:
    pids = set()
    for _ in range(requests):  # a new connection each time: the kernel spreads connections
        with httpx.Client(timeout=10) as client:
            response = client.get(f"{stack.gateway_url}/open/pid")
            assert response.status_code == 200
            pids.add(int(response.text))
    return pids


@pytest.mark.slow
def test_two_workers_share_the_gateway_port(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    stack = stack_factory(_config(tmp_path), extra_args=["--workers", "2", "--no-spa"])
    assert stack.proc is not None
    workers = _workers(stack.proc.pid)
    assert len(workers) == 1
    assert _serving_pids(stack) == {stack.proc.pid, workers[0]}
    # the identity provider stays in the first process, on its own port
    assert httpx.get(f"{stack.idp_url}/.well-known/openid-configuration", timeout=10).status_code == 200


@pytest.mark.slow
def test_a_dead_worker_is_replaced_and_stop_leaves_none(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = stack_factory(_config(tmp_path), extra_args=["--workers", "2", "--no-spa"])
    assert stack.proc is not None
    (first,) = _workers(stack.proc.pid)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    replaced: list[int] = []
    while time.monotonic() < deadline:
        replaced = [p for p in _workers(stack.proc.pid) if p != first]
        if replaced:
            break
        time.sleep(0.2)
    assert len(replaced) == 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and replaced[0] not in _serving_pids(stack, 20):
        time.sleep(0.2)
    assert replaced[0] in _serving_pids(stack)
    assert stack.stop() == 0
    assert not Path(f"/proc/{replaced[0]}").exists() or _workers(stack.proc.pid) == []


def test_one_worker_is_one_process(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    stack = stack_factory(_config(tmp_path), extra_args=["--no-spa"])
    assert stack.proc is not None
    assert _workers(stack.proc.pid) == []
    assert _serving_pids(stack, 5) == {stack.proc.pid}
