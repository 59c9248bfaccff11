"""Hot reload: from saving a file to the first response that shows the change (issue 11: ≤ 1 s).

Starts ``gatehold up -c`` on a project in a temporary directory (two functions, each in its own code
directory, an HTTP API with a route to each), then, N times each:

* **handler edit**: rewrite ``hello/app.py`` with a new version string and poll ``GET /shop/hello``
  until the response carries it;
* **config edit**: rewrite ``gatehold.yaml`` with one more route ``GET /shop/rN`` and poll it until
  it answers 200;

and prints the median, p90 and max of save → first reloaded response. "Saved" is when the write
returned (in place, or ``--rename``: a new file renamed over the old, as many editors save). The
poll interval (``--poll-ms``, default 5) bounds the measurement's resolution. Each edit waits
``--gap-ms`` after the previous one was seen, so that edits are not batched together.

    .venv/bin/python bench/reload_latency.py --edits 30
    .venv/bin/python bench/reload_latency.py --edits 30 --isolation process --rename
    .venv/bin/python bench/reload_latency.py --edits 10 --routes 2000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, wait_port

HANDLER = """\
import json

VERSION = {version!r}


def handler(event, context):
    return {{"statusCode": 200, "body": json.dumps({{"version": VERSION}})}}
"""

CONFIG = """\
gateway:
  isolation: {isolation}
functions:
  hello:
    handler: app.handler
    code_path: hello
  world:
    handler: app.handler
    code_path: world
apis:
  shop:
    type: HTTP
    routes:
      GET /hello:
        integration: {{type: lambda, function: hello}}
      GET /world:
        integration: {{type: lambda, function: world}}
{extra}"""

ROUTE = "      GET /r{n}:\n        integration: {{type: lambda, function: world}}\n"
PADDING = "      GET /padding/{n}/{{id}}:\n        integration: {{type: mock, status_code: 200}}\n"


def save(path: Path, text: str, rename: bool) -> float:
    """Write ``text``; the clock reading when the save returned."""
    if rename:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
    else:
        path.write_text(text)
    return time.perf_counter()


def until(seen: Callable[[], bool], poll_s: float, bound_s: float = 10.0) -> float:
    deadline = time.perf_counter() + bound_s
    while not seen():
        if time.perf_counter() > deadline:
            raise RuntimeError("the change was not seen within 10 s")
        time.sleep(poll_s)
    return time.perf_counter()


def summary(name: str, samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return (
        f"{name:<14} n={len(ordered):<3} median {statistics.median(ordered):6.0f} ms   "
        f"p90 {p90:6.0f} ms   max {ordered[-1]:6.0f} ms   min {ordered[0]:6.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=20, help="edits of each kind")
    parser.add_argument("--isolation", choices=["thread", "process"], default="thread")
    parser.add_argument("--rename", action="store_true", help="save by renaming a new file over the old")
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--gap-ms", type=float, default=300.0)
    parser.add_argument(
        "--routes", type=int, default=0, help="extra mock routes in the configuration (a larger load)"
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="gatehold-reload-"))
    for name in ("hello", "world"):
        (root / name).mkdir()
        (root / name / "app.py").write_text(HANDLER.format(version=f"{name} 0"))
    config = root / "gatehold.yaml"
    padding = "".join(PADDING.format(n=n) for n in range(args.routes))
    config.write_text(CONFIG.format(isolation=args.isolation, extra=padding))
    gateway, idp = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        "gatehold",
        "up",
        "-c",
        str(config),
        "--gateway-port",
        str(gateway),
        "--idp-port",
        str(idp),
        "--admin-port",
        "0",
        "--no-spa",
        "--data-dir",
        str(root / "data"),
        "--log-level",
        "warning",
    ]
    log = (root / "gatehold.log").open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    poll_s = args.poll_ms / 1000
    try:
        wait_port(gateway, 60, proc)  # type: ignore[arg-type]
        client = httpx.Client(base_url=f"http://127.0.0.1:{gateway}/shop", timeout=10)
        until(lambda: client.get("/hello").status_code == 200, poll_s)
        time.sleep(1.0)  # the watcher starts after the banner

        handler_ms: list[float] = []
        for i in range(1, args.edits + 1):
            version = f"hello {i}"
            saved = save(root / "hello" / "app.py", HANDLER.format(version=version), args.rename)
            seen = until(lambda v=version: client.get("/hello").json().get("version") == v, poll_s)  # type: ignore[misc]
            handler_ms.append((seen - saved) * 1000)
            time.sleep(args.gap_ms / 1000)

        config_ms: list[float] = []
        routes = padding
        for i in range(1, args.edits + 1):
            routes += ROUTE.format(n=i)
            saved = save(config, CONFIG.format(isolation=args.isolation, extra=routes), args.rename)
            seen = until(lambda n=i: client.get(f"/r{n}").status_code == 200, poll_s)  # type: ignore[misc]
            config_ms.append((seen - saved) * 1000)
            time.sleep(args.gap_ms / 1000)

        mode = f"{args.isolation} isolation, {'renamed over' if args.rename else 'saved in place'}"
        if args.routes:
            mode += f", {args.routes + 2} routes"
        print(f"save -> first reloaded response ({mode}; poll every {args.poll_ms:g} ms)")
        print(summary("handler edit", handler_ms))
        print(summary("config edit", config_ms))
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
