"""`gatehold run -- COMMAND`: a stack for the length of a command, its URLs in the command's
environment, the command's exit status kept (src/gatehold/cli/run.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "pytest-project" / "template.yaml"
ALIAS = "https://example-shop.eu.auth0.com/"

# what the wrapped command does: note its environment and what the stack answers, then exit 3
PROBE = """
import json, os, sys, httpx
env = {k: v for k, v in os.environ.items() if k.startswith("GATEHOLD_")}
gateway, idp = env["GATEHOLD_GATEWAY_URL"], env["GATEHOLD_IDP_URL"]
seen = {
    "env": env,
    "health": httpx.get(gateway + "/health").status_code,
    "orders": httpx.get(gateway + "/orders").status_code,
    "discovery_issuer": httpx.get(idp + "/.well-known/openid-configuration").json()["issuer"],
    "jwks_keys": len(httpx.get(env["GATEHOLD_JWKS_URL"]).json()["keys"]),
    "ready": httpx.get(env["GATEHOLD_ADMIN_URL"] + "/readyz").status_code,
}
open(sys.argv[1], "w").write(json.dumps(seen))
sys.exit(3)
"""


def gatehold(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=180, **kwargs
    )


def listening(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_command_gets_the_urls_and_its_exit_status_is_kept(tmp_path: Path) -> None:
    out, data_dir = tmp_path / "seen.json", tmp_path / "data"
    result = gatehold(
        "run", "-c", str(TEMPLATE), "--issuer-alias", ALIAS, "--data-dir", str(data_dir),
        "--", sys.executable, "-c", PROBE, str(out),
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    seen = json.loads(out.read_text())
    env = seen["env"]
    assert set(env) == {
        "GATEHOLD_GATEWAY_URL",
        "GATEHOLD_ISSUER",
        "GATEHOLD_IDP_URL",
        "GATEHOLD_JWKS_URL",
        "GATEHOLD_TOKEN_URL",
        "GATEHOLD_ADMIN_URL",
        "GATEHOLD_DATA_DIR",
    }  # no SPA, no tables in this template: no GATEHOLD_SPA_URL, GATEHOLD_DYNAMODB_URL
    assert (seen["health"], seen["orders"], seen["ready"]) == (200, 401, 200)
    assert seen["discovery_issuer"] == env["GATEHOLD_ISSUER"] == env["GATEHOLD_IDP_URL"] + "/"
    assert seen["jwks_keys"] >= 1
    assert env["GATEHOLD_DATA_DIR"] == str(data_dir.resolve())
    # the stack stopped when the command ended
    pid = json.loads((data_dir / "stack.json").read_text())["pid"]
    assert not alive(pid)
    for name in ("GATEHOLD_GATEWAY_URL", "GATEHOLD_IDP_URL", "GATEHOLD_ADMIN_URL"):
        assert not listening(env[name]), name


def test_the_example_stack_gives_its_spa_and_dynamodb_urls(tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    script = f"import json, os; json.dump(dict(os.environ), open({str(out)!r}, 'w'))"
    result = gatehold("test-env", "--", sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    env = json.loads(out.read_text())
    assert env["GATEHOLD_SPA_URL"].startswith("http://localhost:")
    assert env["GATEHOLD_DYNAMODB_URL"].startswith("http://127.0.0.1:")
    assert env["PATH"] == os.environ["PATH"]  # the caller's environment, with the stack's added
    # the temporary data directory is removed with the stack
    assert not Path(env["GATEHOLD_DATA_DIR"]).exists()


def test_a_stack_that_cannot_start_is_125_and_the_command_does_not_run(tmp_path: Path) -> None:
    config = tmp_path / "gatehold.yaml"
    config.write_text("apis: 5\n")
    ran = tmp_path / "ran"
    result = gatehold("run", "-c", str(config), "--", sys.executable, "-c", f"open({str(ran)!r}, 'w')")
    assert result.returncode == 125
    assert "the stack did not start" in result.stderr
    assert "apis" in result.stderr  # gatehold up's own message, in the output shown
    assert not ran.exists()


def test_a_command_that_does_not_exist_is_127() -> None:
    result = gatehold("run", "--", "gatehold-no-such-command")
    assert result.returncode == 127
    assert "gatehold-no-such-command: command not found" in result.stderr


def test_sigterm_reaches_the_command_and_the_stack_stops(tmp_path: Path) -> None:
    ready, out = tmp_path / "ready", tmp_path / "env.json"
    script = (
        "import json, os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        f"json.dump(dict(os.environ), open({str(out)!r}, 'w'))\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatehold", "run", "--", sys.executable, "-c", script],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.05)
        env = json.loads(out.read_text())
        assert listening(env["GATEHOLD_GATEWAY_URL"])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 7  # the command's own exit status, from its SIGTERM handler
        assert not listening(env["GATEHOLD_GATEWAY_URL"])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-signal.SIGTERM, 143), (-2, 130)])
def test_exit_status_is_what_a_shell_reports(returncode: int, status: int) -> None:
    from gatehold.cli.run import exit_status

    assert exit_status(returncode) == status
