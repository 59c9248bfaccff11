"""The local DynamoDB engine: dynalite (DynamoDB's API over LevelDB, from npm), pinned in
``engine/package-lock.json`` and installed once into ``engine/node_modules`` (``scripts/bootstrap``
does it; ``gatehold up`` does it too when a configuration has tables and it is missing).

Why dynalite (docs/dynamodb.md, "Engine"): its items are on disk (LevelDB in the data directory,
each write in LevelDB's log before it is answered, so an acknowledged write survives ``kill -9``),
its validation and error answers are DynamoDB's own, and it starts in 0.2 s; moto's server keeps its
state in memory only. Amazon's DynamoDB Local is not open source.

The install is a function's install (:func:`gatehold.runtime.npm.install`: ``npm ci``, again only
when the lock changes); LevelDB's binding (classic-level) ships prebuilt for Linux, macOS and
Windows.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

from gatehold.runtime import npm

ENGINE_DIR = Path(__file__).resolve().parent / "engine"
SERVE_SCRIPT = ENGINE_DIR / "serve.cjs"
ENGINE_PACKAGE = ENGINE_DIR / "node_modules" / "dynalite" / "package.json"

HOW_TO_INSTALL = (
    f"Install Node.js 20 or newer and npm (Debian: apt-get install nodejs npm), then run scripts/bootstrap"
    f" or `npm ci` in {ENGINE_DIR}."
)


class EngineMissing(RuntimeError):
    """The engine cannot run here: the message says why and what to do."""


def node_path() -> str:
    node = shutil.which("node")
    if node is None:
        raise EngineMissing(f"Node.js is not installed, so the local DynamoDB cannot run. {HOW_TO_INSTALL}")
    return node


def ensure_engine() -> str:
    """The path of ``node``, once the engine is installed as its lock file says (installed now if
    not); :class:`EngineMissing` when it cannot be. Safe from several processes at once (a lock)."""
    node = node_path()
    if not npm.needs_install(ENGINE_DIR):
        return node
    try:
        with _install_lock():
            npm.install(ENGINE_DIR, ["the local DynamoDB engine"])
    except npm.InstallError as exc:
        raise EngineMissing(f"{exc}. {HOW_TO_INSTALL}") from None
    if not ENGINE_PACKAGE.is_file():
        raise EngineMissing(f"npm ci left no dynalite in {ENGINE_DIR / 'node_modules'}. {HOW_TO_INSTALL}")
    return node


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    with (ENGINE_DIR / ".npm-install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def engine_argv(node: str, fd: int, path: Path) -> list[str]:
    """The engine's command line: dynalite on the inherited listening socket ``fd``, its LevelDB in
    ``path``."""
    return [node, str(SERVE_SCRIPT), "--fd", str(fd), "--path", str(path)]
