"""Browser fixtures: Debian's Chromium driven by Playwright for Python (sync API), and the SPA served
on its own by uvicorn for the tests that need no identity provider.

Playwright cannot download its own browsers on this machine, so it launches `/usr/bin/chromium`
(installed by `scripts/install-browser`); without it the browser tests are skipped with that reason.
Screenshots go to `$GATEHOLD_SCREENSHOTS` when set (e.g. `docs/screenshots`), else to a temp dir.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.stackctl import free_port

CHROMIUM = Path("/usr/bin/chromium")
# Flags this machine needs: no sandbox as root, and no background traffic to Google's hosts (the
# network is closed, and those connections would be refused many at a time).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def spa_assets() -> None:
    """Skip, saying why, when @auth0/auth0-spa-js cannot be installed (no Node.js, no registry)."""
    from gatehold.spa import ensure_assets

    problem = ensure_assets()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty cookies and localStorage) and one page, with the console kept
    in `page.console_lines` for failure messages."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    lines: list[str] = []
    p.on("console", lambda m: lines.append(f"{m.type}: {m.text}"))
    p.on("pageerror", lambda e: lines.append(f"pageerror: {e}"))
    p.console_lines = lines
    try:
        yield p
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("GATEHOLD_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[[Any, str], Path]:
    def take(p: Any, name: str) -> Path:
        target = screenshot_dir / f"{name}.png"
        p.screenshot(path=str(target), full_page=True)
        return target

    return take


class ServedApp:
    """An ASGI app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://localhost:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)


@pytest.fixture
def serve_spa() -> Iterator[Callable[..., ServedApp]]:
    """Serve `create_spa_app` alone: `serve_spa(idp_url=..., gateway_url=...)` → ServedApp (spa_url
    follows the port it got)."""
    from gatehold.spa import create_spa_app

    running: list[ServedApp] = []

    def start(*, idp_url: str = "http://localhost:1", gateway_url: str = "http://localhost:1") -> ServedApp:
        port = free_port()
        app = create_spa_app(idp_url=idp_url, gateway_url=gateway_url, spa_url=f"http://localhost:{port}")
        served = ServedApp(app, port).__enter__()
        running.append(served)
        return served

    yield start
    for served in running:
        served.__exit__()
