"""The app's one npm dependency, @auth0/auth0-spa-js, installed from the pinned package-lock.json.

The UMD bundle is served exactly as npm delivers it (``dist/auth0-spa-js.production.js``). Install
scripts are not run (``--ignore-scripts``): the bundle is prebuilt and nothing else is needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

SPA_DIR = Path(__file__).resolve().parent
SDK_PACKAGE = "@auth0/auth0-spa-js"
SDK_BUNDLE = SPA_DIR / "node_modules" / "@auth0" / "auth0-spa-js" / "dist" / "auth0-spa-js.production.js"
INSTALL_TIMEOUT_SECONDS = 300

_HOW_TO_FIX = (
    f"Install Node.js and npm (Debian: apt-get install nodejs npm), then run scripts/install-browser "
    f"or `npm ci` in {SPA_DIR}. The gateway and the identity provider run without it."
)


def assets_problem() -> str | None:
    """None when the SDK bundle is in place, else a message for people saying why not and what to do."""
    if SDK_BUNDLE.is_file():
        return None
    if shutil.which("node") is None or shutil.which("npm") is None:
        return f"Node.js is not installed, so the single-page app cannot load {SDK_PACKAGE}. {_HOW_TO_FIX}"
    return f"{SDK_PACKAGE} is not installed yet. {_HOW_TO_FIX}"


def ensure_assets() -> str | None:
    """Install the SDK with npm when it is missing; None when ready, else a message for people.

    Idempotent and safe to call from several processes at once (a file lock serialises installs).
    """
    if SDK_BUNDLE.is_file():
        return None
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        return assets_problem()
    try:
        with _install_lock():
            if SDK_BUNDLE.is_file():  # another process installed it while we waited
                return None
            return _npm_install(npm)
    except OSError as exc:
        return f"Could not install {SDK_PACKAGE} in {SPA_DIR}: {exc}. {_HOW_TO_FIX}"


def _npm_install(npm: str) -> str | None:
    command = "ci" if (SPA_DIR / "package-lock.json").is_file() else "install"
    argv = [npm, command, "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    try:
        done = subprocess.run(
            argv, cwd=SPA_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return f"`npm {command}` in {SPA_DIR} took longer than {INSTALL_TIMEOUT_SECONDS} s. {_HOW_TO_FIX}"
    if done.returncode != 0 or not SDK_BUNDLE.is_file():
        tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return f"`npm {command}` in {SPA_DIR} failed (exit {done.returncode}): {tail} {_HOW_TO_FIX}"
    return None


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    with (SPA_DIR / ".npm-install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
