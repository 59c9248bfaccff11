"""`gatehold up` as separately supervised processes (gatehold/supervisor.py, gatehold/server.py).

Real `gatehold up` subprocesses on free loopback ports; processes are told apart by their names in
/proc (`gatehold gw-1`, `gatehold idp`, `gatehold spa`). A process is killed with SIGKILL, as a
crash or the kernel's OOM killer would; the others must keep serving, the supervisor must log it and
start it again, and /readyz must say so meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.oauth_flow import client_credentials
from tests.server.processes import alive, ancestors, children, comm, descendants, eventually, service
from tests.stackctl import Stack

PID_HANDLER = """
import os


def handler(event, context):
    # the gateway process is this process (in-process isolation) or an ancestor (a worker process)
    return {"statusCode": 200, "body": str(os.getpid())}
"""

CONFIG = """
tenant:
  apis:
    - {identifier: https://svc-api}
  applications:
    robot:
      app_type: non_interactive
      client_secret: robot-secret-0123456789abcdef0123
      grant_types: [client_credentials]
  client_grants:
    - {client_id: robot, audience: https://svc-api, scope: []}
functions:
  pid:
    handler: pidfn.handler
    code_path: .
apis:
  svc:
    type: HTTP
    base_path: /svc
    authorizers:
      jwt:
        type: JWT
        jwt_configuration: {issuer: "${issuer}", audience: [https://svc-api]}
    routes:
      GET /open:
        integration: {type: mock, status_code: 200, body: open}
      GET /closed:
        authorizer: jwt
        integration: {type: mock, status_code: 200, body: closed}
      GET /pid:
        integration: {type: lambda, function: pid}
"""

ROBOT = ("robot", "robot-secret-0123456789abcdef0123")


def _config(tmp_path: Path) -> Path:
    (tmp_path / "pidfn.py").write_text(PID_HANDLER)
    path = tmp_path / "gatehold.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return path


def _get(stack: Stack, path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=15) as client:  # a new connection each time
        return client.get(f"{stack.gateway_url}{path}", headers=headers)


def _cli_token(stack: Stack) -> str:
    """A token from `gatehold token`, which follows the stack through its data directory."""
    argv = [sys.executable, "-m", "gatehold", "token", "--data-dir", str(stack.data_dir)]
    done = subprocess.run(
        [*argv, "--client", ROBOT[0], "--audience", "https://svc-api"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _readyz(stack: Stack) -> httpx.Response | None:
    try:
        return httpx.get(f"{stack.admin_url}/readyz", timeout=5)
    except httpx.HTTPError:
        return None


def _readyz_if(stack: Stack, status: int) -> httpx.Response | None:
    response = _readyz(stack)
    return response if response is not None and response.status_code == status else None


def _serving_gateways(stack: Stack, gateways: set[int], requests: int = 60) -> set[int]:
    """The gateway processes that answered ``requests`` new connections."""
    seen = set()
    for _ in range(requests):  # a new connection each time: the kernel spreads connections
        response = _get(stack, "/svc/pid")
        assert response.status_code == 200, response.text
        handler = int(response.text)
        seen |= {handler, *ancestors(handler)} & gateways
    return seen


@pytest.fixture
def suspended() -> Iterator[list[int]]:
    """Processes a test stops with SIGSTOP: continued whatever happens."""
    stopped: list[int] = []
    yield stopped
    for pid in stopped:
        if alive(pid):
            os.kill(pid, signal.SIGCONT)


def test_each_service_runs_in_a_process_of_its_own(stack_factory: Callable[..., Stack]) -> None:
    """The example stack: a gateway, an identity provider, an SPA and a DynamoDB endpoint process
    (its WishList table) under the supervisor, and /metrics merges their numbers."""
    stack = stack_factory()
    assert stack.proc is not None
    names = sorted(children(stack.proc.pid).values())
    assert names == ["gatehold dynamo", "gatehold gw-1", "gatehold idp", "gatehold spa"]
    assert _get(stack, "/movies/beta/movie").status_code == 401
    assert httpx.get(f"{stack.idp_url}/.well-known/jwks.json", timeout=10).status_code == 200
    assert httpx.get(stack.spa_url, timeout=10).status_code == 200

    text = httpx.get(f"{stack.admin_url}/metrics", timeout=10).text
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    memory = {s.labels["process"] for s in samples if s.name == "process_resident_memory_bytes"}
    assert memory == {"supervisor", "gateway-1", "idp", "spa", "dynamodb"}
    # the gateway process's own counters reach the supervisor's /metrics
    assert any(
        s.name == "gatehold_gateway_requests_total" and s.labels["api"] == "movies" and s.value >= 1
        for s in samples
    )


@pytest.mark.slow
def test_two_gateway_processes_share_the_gateway_port(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = stack_factory(_config(tmp_path), extra_args=["--workers", "2"])
    assert stack.proc is not None
    gateways = {service(stack.proc.pid, "gw-1"), service(stack.proc.pid, "gw-2")}
    assert None not in gateways
    assert _serving_gateways(stack, {pid for pid in gateways if pid}) == gateways
    token = client_credentials(stack.idp_url, *ROBOT, "https://svc-api")
    assert _get(stack, "/svc/closed", token).text == "closed"


def test_a_killed_gateway_process_is_started_again_and_the_identity_provider_is_unaffected(
    stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = stack_factory(_config(tmp_path))
    assert stack.proc is not None
    supervisor = stack.proc.pid
    gateway, idp = service(supervisor, "gw-1"), service(supervisor, "idp")
    assert gateway is not None
    assert idp is not None
    assert _get(stack, "/svc/open").text == "open"

    os.kill(gateway, signal.SIGKILL)
    eventually(lambda: not alive(gateway), "the gateway process gone")
    # the supervisor holds the listening socket: a connection made now waits for the new process
    assert _get(stack, "/svc/open").text == "open"
    restarted = service(supervisor, "gw-1")
    assert restarted not in (None, gateway)
    log = stack.output()
    assert f"gateway process 1 (pid {gateway}) was killed by SIGKILL; starting it again" in log
    # the identity provider is the same process, and serves throughout
    assert service(supervisor, "idp") == idp
    token = client_credentials(stack.idp_url, *ROBOT, "https://svc-api")
    assert _get(stack, "/svc/closed", token).text == "closed"
    ready = eventually(lambda: (r := _readyz(stack)) is not None and r.status_code == 200, "/readyz 200")
    assert ready


def test_a_killed_identity_provider_is_started_again_while_the_gateway_serves(
    stack_factory: Callable[..., Stack], tmp_path: Path, suspended: list[int]
) -> None:
    """The supervisor is held still (SIGSTOP) while the identity provider is dead, so that the
    gateway is seen serving without it; once let go, it notices, says not ready, restarts it."""
    stack = stack_factory(_config(tmp_path))
    assert stack.proc is not None
    supervisor = stack.proc.pid
    gateway, idp = service(supervisor, "gw-1"), service(supervisor, "idp")
    assert idp is not None
    token = client_credentials(stack.idp_url, *ROBOT, "https://svc-api")
    assert _get(stack, "/svc/closed", token).text == "closed"  # the gateway has the keys now

    os.kill(supervisor, signal.SIGSTOP)
    suspended.append(supervisor)
    os.kill(idp, signal.SIGKILL)
    eventually(lambda: not alive(idp), "the identity provider gone")
    # open routes and JWT routes (keys cached) answer without the identity provider
    assert _get(stack, "/svc/open").text == "open"
    assert _get(stack, "/svc/closed", token).text == "closed"
    assert _get(stack, "/svc/closed").status_code == 401
    # `gatehold token` needs no server (the store in the data directory): its token, never seen by
    # the gateway, verifies with the cached keys
    minted = _cli_token(stack)
    assert minted != token
    assert _get(stack, "/svc/closed", minted).text == "closed"

    os.kill(supervisor, signal.SIGCONT)
    unready = eventually(lambda: _readyz_if(stack, 503), "/readyz 503")
    assert unready.json() == {"status": "restarting", "waiting": ["idp"]}
    eventually(lambda: (r := _readyz(stack)) is not None and r.status_code == 200, "/readyz 200 again")
    restarted = service(supervisor, "idp")
    assert restarted not in (None, idp)
    assert f"identity provider (pid {idp}) was killed by SIGKILL; starting it again" in stack.output()
    # the same keys (the store in the data directory): old and new tokens pass the same gateway
    fresh = client_credentials(stack.idp_url, *ROBOT, "https://svc-api")
    assert _get(stack, "/svc/closed", fresh).text == "closed"
    assert _get(stack, "/svc/closed", token).text == "closed"
    assert service(supervisor, "gw-1") == gateway


def test_no_process_outlives_a_killed_supervisor(stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    """SIGKILL leaves the supervisor no chance to stop anything: its processes stop by themselves
    (PR_SET_PDEATHSIG), and so do the functions' worker processes below them."""
    config = _config(tmp_path)
    config.write_text(
        config.read_text().replace("    code_path: .\n", "    code_path: .\n    isolation: process\n")
    )
    stack = stack_factory(config, extra_args=["--workers", "2"])
    assert stack.proc is not None
    assert _get(stack, "/svc/pid").status_code == 200  # a function worker process exists now
    below = descendants(stack.proc.pid)
    assert len(below) >= 4  # two gateways, the identity provider, a function worker

    stack.proc.kill()
    stack.proc.wait(10)
    try:
        eventually(lambda: not any(alive(pid) for pid in below), "every process of the stack gone")
    except AssertionError:
        left = {pid: comm(pid) for pid in below if alive(pid)}
        raise AssertionError(f"still running: {left}\n{stack.output()[-4000:]}") from None


def test_a_gateway_process_that_stops_answering_makes_readyz_503_until_it_answers(
    stack_factory: Callable[..., Stack], tmp_path: Path, suspended: list[int]
) -> None:
    """A process that is alive but whose event loop does not turn (here: stopped with SIGSTOP; in
    life, a handler holding the GIL in in-process isolation) is not ready; nothing kills it."""
    stack = stack_factory(_config(tmp_path))
    assert stack.proc is not None
    gateway = service(stack.proc.pid, "gw-1")
    assert gateway is not None
    os.kill(gateway, signal.SIGSTOP)
    suspended.append(gateway)
    unready = eventually(lambda: _readyz_if(stack, 503), "/readyz 503")
    assert unready.json() == {"status": "unresponsive", "waiting": ["gateway-1"]}
    # /readyz reads the heartbeat's age at once; the log line comes with the heartbeat's next turn
    said = f"gateway process 1 (pid {gateway}) has not answered for 5 s"
    eventually(lambda: said in stack.output(), "the supervisor's log line")

    os.kill(gateway, signal.SIGCONT)
    eventually(lambda: _readyz_if(stack, 200), "/readyz 200 again")
    assert service(stack.proc.pid, "gw-1") == gateway
    assert _get(stack, "/svc/open").text == "open"
