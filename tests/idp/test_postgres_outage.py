"""PostgreSQL stopped and started again under a running `gatehold up --database-url` (issue 15, item 4).

The database is a throwaway cluster of this module's own (``initdb`` + ``pg_ctl`` on a free port and a
socket directory of its own), so the shared server at 127.0.0.1:5432 is never stopped; the module is
skipped, saying why, where ``initdb`` is absent. While the cluster is down the identity provider answers
503 ``temporarily_unavailable`` with ``Retry-After`` (never a 500), ``/authorize`` tells the client,
client credentials go on (they need no database), ``/readyz`` (still 200: degraded) and ``/metrics``
say so; when it is back everything recovers by itself, and every refresh token a 200 handed out is there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.idp.conftest import M2M_SECRET, PASSWORD
from tests.oauth_flow import login
from tests.stackctl import Stack, free_port

pytestmark = pytest.mark.postgres

UNICORNS = "https://unicorns-api"


def _bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: the newest /usr/lib/postgresql/*/bin, else PATH."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


@dataclass
class Cluster:
    """A PostgreSQL cluster of the test's own on a free port, stopped and started at will."""

    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        # initdb and postgres refuse to run as root: as the postgres account, then
        command = list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.root / "postgres.log"
            raise RuntimeError(
                f"{' '.join(args)} failed: {done.stdout}{done.stderr}\n"
                + (log.read_text(errors="replace") if log.exists() else "")
            )

    def pg_ctl(self, action: str, *more: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), action, "-D", str(self.root / "data"), "-w", "-t", "60", *more)

    def init(self) -> Cluster:
        self._run(str(self.bindir / "initdb"), "-D", str(self.root / "data"), "-U", "postgres", "-A", "trust")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self.pg_ctl("start", "-l", str(self.root / "postgres.log"), "-o", options)

    def stop(self) -> None:
        """As a crash would (``immediate``: no shutdown checkpoint, recovery on the next start), so
        only what was committed comes back."""
        self.pg_ctl("stop", "-m", "immediate")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("initdb and pg_ctl are not installed (apt-get install postgresql): no cluster to stop")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root, and runuser is missing to run PostgreSQL as another account")
    root = Path(tempfile.mkdtemp(prefix="gatehold-pg-"))
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres")
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"running as root without a postgres account to own the cluster: {exc}")
    made = Cluster(bindir, root)
    try:
        made.init().start()
        yield made
    finally:
        if (root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                made.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.1)


def database_status(stack: Stack) -> dict[str, str]:
    """``/readyz``'s ``database``; the stack stays ready (200) whatever it says."""
    response = httpx.get(stack.admin_url + "/readyz", timeout=5)
    assert response.status_code == 200, response.text
    status: dict[str, str] = response.json()["database"]
    return status


def database_up(stack: Stack) -> str:
    metrics = httpx.get(stack.admin_url + "/metrics", timeout=5).text
    return next(line for line in metrics.splitlines() if line.startswith("gatehold_idp_database_up "))


class Refresher(threading.Thread):
    """Rotates one refresh token over and over (RFC 6749 §6): on 200 the new one is used next, on
    anything else the same one again. Records every status; 503s must carry Retry-After and the
    OAuth body."""

    def __init__(self, stack: Stack, refresh_token: str) -> None:
        super().__init__(daemon=True)
        self.url = stack.idp_url + "/oauth/token"
        self.token = refresh_token
        self.statuses: list[int] = []
        self.problems: list[str] = []
        self.stopping = threading.Event()

    def count(self, status: int) -> int:
        return self.statuses.count(status)

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stopping.is_set():
                data = {"grant_type": "refresh_token", "client_id": "demo-spa", "refresh_token": self.token}
                try:
                    response = client.post(self.url, data=data)
                except httpx.HTTPError as exc:
                    self.problems.append(f"no answer: {exc!r}")
                    return
                self.statuses.append(response.status_code)
                if response.status_code == 200:
                    self.token = response.json()["refresh_token"]  # acknowledged: it must be stored
                elif response.status_code == 503:
                    error = response.json().get("error")
                    if error != "temporarily_unavailable" or "retry-after" not in response.headers:
                        self.problems.append(f"503 without the OAuth body or Retry-After: {response.text}")
                else:
                    self.problems.append(f"{response.status_code}: {response.text}")
                    return
                time.sleep(0.02)


def test_postgres_stopped_and_started_under_load(
    cluster: Cluster, stack_factory: Callable[..., Stack], tmp_path: Path
) -> None:
    stack = stack_factory(extra_args=["--database-url", cluster.url, "--no-reload"])
    callback = stack.spa_url + "/callback"
    tokens = login(
        stack.idp_url,
        client_id="demo-spa",
        redirect_uri=callback,
        username="rider@example.com",
        password=PASSWORD,
        audience=UNICORNS,
        scope="openid profile offline_access read:unicorn",
    )
    userinfo_token = login(
        stack.idp_url,
        client_id="demo-spa",
        redirect_uri=callback,
        username="trainer@example.com",
        password=PASSWORD,
        scope="openid profile",
    )["access_token"]
    assert database_status(stack) == {
        "status": "up",
        "url": f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres",
    }
    assert database_up(stack) == "gatehold_idp_database_up 1.0"

    refresher = Refresher(stack, tokens["refresh_token"])
    refresher.start()
    try:
        wait_for(lambda: refresher.count(200) >= 5, "five refresh rotations before the stop")
        cluster.stop()

        wait_for(lambda: refresher.count(503) >= 3, "the token endpoint answering 503")
        wait_for(lambda: database_status(stack)["status"] == "down", "/readyz saying the database is down")
        assert "connection" in database_status(stack)["reason"].lower()
        wait_for(lambda: database_up(stack) == "gatehold_idp_database_up 0.0", "the gauge at 0")

        # /authorize tells the client (RFC 6749 §4.1.2.1): a redirect with the error and the state
        authorize = httpx.get(
            stack.idp_url + "/authorize",
            params={
                "response_type": "code",
                "client_id": "demo-spa",
                "redirect_uri": callback,
                "scope": "openid",
                "state": "s-123",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
            timeout=10,
        )
        assert authorize.status_code == 302, authorize.text
        answer = parse_qs(urlsplit(authorize.headers["location"]).query)
        assert answer["error"] == ["temporarily_unavailable"]
        assert answer["state"] == ["s-123"]
        assert authorize.headers["location"].startswith(callback + "?")

        userinfo = httpx.get(
            stack.idp_url + "/userinfo", headers={"Authorization": f"Bearer {userinfo_token}"}, timeout=10
        )
        assert userinfo.status_code == 503, userinfo.text
        assert userinfo.json()["error"] == "temporarily_unavailable"
        assert int(userinfo.headers["retry-after"]) > 0

        page = httpx.get(  # the login page reads its transaction from the store
            stack.idp_url + "/u/login",
            params={"state": "tx"},
            headers={"Cookie": "gatehold_tx=tx"},
            timeout=10,
        )
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert int(page.headers["retry-after"]) > 0

        # client credentials need no database: machine clients keep their tokens coming
        m2m = httpx.post(
            stack.idp_url + "/oauth/token",
            data={"grant_type": "client_credentials", "audience": UNICORNS},
            auth=("demo-m2m", M2M_SECRET),
            timeout=10,
        )
        assert m2m.status_code == 200, m2m.text

        before_restart = refresher.count(200)
        cluster.start()
        wait_for(lambda: database_status(stack)["status"] == "up", "/readyz: the database is up", timeout=60)
        wait_for(lambda: refresher.count(200) >= before_restart + 5, "refresh rotations again", timeout=60)
    finally:
        refresher.stopping.set()
        refresher.join(30)

    assert refresher.problems == []
    assert set(refresher.statuses) == {200, 503}
    assert database_up(stack) == "gatehold_idp_database_up 1.0"
    # the last refresh token a 200 acknowledged was committed: it rotates once more
    last = httpx.post(
        stack.idp_url + "/oauth/token",
        data={"grant_type": "refresh_token", "client_id": "demo-spa", "refresh_token": refresher.token},
        timeout=30,
    )
    assert last.status_code == 200, last.text
    output = stack.output()
    assert "is unavailable" in output
    assert "answers again" in output
    assert "Traceback" not in output
