"""How each benchmark target is started and pointed at the same route.

Each function is a context manager yielding the URL(s) to load and the server's process (whose CPU
time per request the harness reads from /proc); the server is pinned to
``SERVER_CPU`` (or ``cpus``) and stopped on exit. Peers are set up by bench/setup.sh.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, PEERS, ROOT, SERVER_CPU, Proc, free_port, python_exe, running
from bench.keys import Issuer

BENCH_CONFIG = BENCH / "config" / "bench.yaml"
GRANIAN = ROOT / ".venv" / "bin" / "granian"
GATEHOLD = ROOT / ".venv" / "bin" / "gatehold"


# --------------------------------------------------------------------------------------------------
# S1: hello-world under each server, nginx
# --------------------------------------------------------------------------------------------------


def server_argv(server: str, app: str, port: int, *, workers: int = 1) -> list[str]:
    """``app`` (``module:attr``) under uvicorn (uvloop + httptools) or granian (ASGI), N workers."""
    if server in ("uvicorn", "uvicorn-asyncio"):
        loop = "asyncio" if server == "uvicorn-asyncio" else "uvloop"
        return [
            python_exe(),
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            loop,
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
            "--workers",
            str(workers),
        ]
    if server == "granian":
        return [
            str(GRANIAN),
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-ws",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--loop",
            "uvloop",
            app,
        ]
    raise ValueError(server)


@contextlib.contextmanager
def asgi_app(
    server: str,
    app: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    cpus: str | None = SERVER_CPU,
) -> Iterator[tuple[str, Proc]]:
    port = free_port()
    argv = server_argv(server, app, port, workers=workers)
    with running(f"{server}:{app}", argv, port, cpus=cpus, env=env, cwd=ROOT) as proc:
        yield f"http://127.0.0.1:{port}", proc


@contextlib.contextmanager
def nginx(cpus: str = SERVER_CPU) -> Iterator[tuple[str, Proc]]:
    """nginx, one worker, ``return 200`` of the same body: the machine's loopback ceiling."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gatehold-bench-nginx-"))
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp};
  proxy_temp_path {tmp};
  fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"message":"Hello, world!"}}'; }}
  }}
}}
"""
    )
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    try:
        with running("nginx", [exe, "-c", str(conf), "-p", str(tmp)], port, cpus=cpus) as proc:
            yield f"http://127.0.0.1:{port}/", proc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Gatehold
# --------------------------------------------------------------------------------------------------


@dataclass
class GateholdUrls:
    gateway: str
    idp: str
    proc: Proc
    how: str
    metrics: str  # the admin /metrics (429s are counted from it)
    data: Path  # the data directory (keys: ``gatehold token`` reads them)
    config: Path


@contextlib.contextmanager
def gatehold(
    issuer: Issuer | None,
    *,
    workers: int = 1,
    cpus: str | None = SERVER_CPU,
    config: Path = BENCH_CONFIG,
    log_level: str | None = "warning",
    spa: bool = False,
    timeout: float = 90,
) -> Iterator[GateholdUrls]:
    """``gatehold up -c config`` (bench/config/bench.yaml, trusting ``issuer``) on free ports with a
    fresh data directory; ``log_level`` None: the default (``info``: a log line per request), ``spa``:
    serve the SPA when the configuration has one, as ``gatehold up`` does."""
    gw, idp, admin, spa_port, dynamodb = (free_port() for _ in range(5))
    data = Path(tempfile.mkdtemp(prefix="gatehold-bench-data-"))
    argv = [
        str(GATEHOLD),
        "up",
        "-c",
        str(config),
        "--gateway-port",
        str(gw),
        "--idp-port",
        str(idp),
        "--data-dir",
        str(data),
        "--admin-port",
        str(admin),
        "--dynamodb-port",  # used when the configuration has tables (the example stack's wish list)
        str(dynamodb),
        "--public-url",
        f"http://127.0.0.1:{idp}",
    ]
    argv += ["--spa-port", str(spa_port)] if spa else ["--no-spa"]
    if log_level is not None:
        argv += ["--log-level", log_level]
    if workers != 1:
        argv += ["--workers", str(workers)]
    env = {"BENCH_ISSUER": issuer.issuer} if issuer is not None else {}
    try:
        with running("gatehold", argv, gw, cpus=cpus, env=env, cwd=ROOT, timeout=timeout) as proc:
            # the identity provider and the admin endpoints listen on their own ports; wait for them
            from bench.common import wait_port

            wait_port(idp, timeout, proc.popen)
            wait_port(admin, timeout, proc.popen)
            yield GateholdUrls(
                f"http://127.0.0.1:{gw}",
                f"http://127.0.0.1:{idp}",
                proc,
                " ".join(argv[1:]),
                f"http://127.0.0.1:{admin}/metrics",
                data,
                config,
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Peers
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def ministack(issuer: Issuer, cpus: str = SERVER_CPU) -> Iterator[tuple[str, Proc]]:
    """MiniStack with seed 002's route created through its AWS APIs (bench/ministack_provision.py)."""
    venv_py = PEERS / "ministack-venv" / "bin" / "python"
    if not venv_py.exists():
        raise RuntimeError("MiniStack is not set up: run bench/setup.sh")
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gatehold-bench-ministack-"))
    env = {
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "TMPDIR": str(tmp),
        "S3_DATA_DIR": str(tmp / "s3"),
    }
    try:
        with running(
            "ministack", [str(venv_py), "-m", "ministack"], port, cpus=cpus, env=env, cwd=tmp
        ) as proc:
            out = subprocess.run(
                [
                    str(venv_py),
                    str(BENCH / "ministack_provision.py"),
                    f"http://127.0.0.1:{port}",
                    issuer.issuer,
                    str(BENCH / "handlers" / "unicorns.py"),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            if out.returncode != 0:
                raise RuntimeError(f"MiniStack provisioning failed: {out.stderr[-1500:]}")
            url = json.loads(out.stdout.strip().splitlines()[-1])["url"]
            yield url.replace("$default", "%24default"), proc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


SLS_YAML = """\
# Written by bench/targets.py: seed 002's Unicorns route with its JWT authorizer.
service: unicorns-bench
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.11
  region: us-east-1
  httpApi:
    authorizers:
      auth0:
        identitySource: $request.header.Authorization
        issuerUrl: {issuer}
        audience:
          - https://unicorns-api
functions:
  get-unicorn:
    handler: unicorns.lambda_handler
    events:
      - httpApi:
          method: GET
          path: /unicorn
          authorizer:
            name: auth0
            scopes:
              - read:unicorn
plugins:
  - serverless-offline
custom:
  serverless-offline:
    host: 127.0.0.1
    httpPort: {port}
    lambdaPort: {lambda_port}
    # serverless-offline only enables JWT authorizers with this flag; it never checks signatures
    ignoreJWTSignature: true
    noPrependStageInUrl: true
"""


@contextlib.contextmanager
def serverless_offline(issuer: Issuer, cpus: str = SERVER_CPU) -> Iterator[tuple[str, Proc]]:
    sls = PEERS / "sls"
    cli = sls / "node_modules" / "serverless" / "bin" / "serverless.js"
    if not cli.exists():
        raise RuntimeError("serverless-offline is not set up: run bench/setup.sh")
    port, lambda_port = free_port(), free_port()
    shutil.copy(BENCH / "handlers" / "unicorns.py", sls / "unicorns.py")
    (sls / "serverless.yml").write_text(
        SLS_YAML.format(issuer=issuer.issuer, port=port, lambda_port=lambda_port)
    )
    env = {"SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*"}
    argv = ["node", str(cli), "offline", "start"]
    with running("serverless-offline", argv, port, cpus=cpus, env=env, cwd=sls) as proc:
        yield f"http://127.0.0.1:{port}/unicorn?name=x", proc


@contextlib.contextmanager
def oauth2_mock_server(cpus: str = SERVER_CPU) -> Iterator[tuple[str, Proc]]:
    cli = PEERS / "oauth2-mock" / "node_modules" / "oauth2-mock-server" / "dist" / "oauth2-mock-server.mjs"
    if not cli.exists():
        raise RuntimeError("oauth2-mock-server is not set up: run bench/setup.sh")
    port = free_port()
    argv = ["node", str(cli), "-a", "127.0.0.1", "-p", str(port)]
    with running("oauth2-mock-server", argv, port, cpus=cpus) as proc:
        yield f"http://127.0.0.1:{port}/token", proc


@contextlib.contextmanager
def raw_hello(cpus: str = SERVER_CPU) -> Iterator[tuple[str, Proc]]:
    """Hello-world as a bare httptools protocol on uvloop (bench/apps/raw_hello.py): the floor."""
    port = free_port()
    argv = [python_exe(), "-m", "bench.apps.raw_hello", str(port)]
    with running("raw-hello", argv, port, cpus=cpus, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}) as proc:
        yield f"http://127.0.0.1:{port}/", proc


@contextlib.contextmanager
def gatehold_hello(cpus: str = SERVER_CPU, kind: str = "uvicorn") -> Iterator[tuple[str, Proc]]:
    """S1 on the server Gatehold itself runs (gatehold.server.serve): ``uvicorn`` as for the SPA and
    admin apps, or ``http1``, the gateway's own server running the ASGI app (as for the IdP)."""
    port = free_port()
    argv = [python_exe(), "-m", "bench.apps.serve_hello", str(port), kind]
    with running(
        "gatehold-server-hello", argv, port, cpus=cpus, cwd=ROOT, env={"PYTHONPATH": str(ROOT)}
    ) as proc:
        yield f"http://127.0.0.1:{port}/", proc
