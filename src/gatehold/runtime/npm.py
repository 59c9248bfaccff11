"""A Node.js function's dependencies: ``node_modules`` installed once, by npm, at ``gatehold up``.

A code directory with a ``package.json`` is installed with ``npm ci`` when it has a lock file
(``package-lock.json`` or ``npm-shrinkwrap.json``: exactly what it pins), else ``npm install``;
npm's own output (its progress included) goes to stderr. When the install succeeds, a stamp
(``node_modules/.gatehold-installed``: the SHA-256 of ``package.json`` and the lock file as the
install left them) says so; the next start compares it and installs nothing when they did not
change. Deleting ``node_modules`` (or editing either file) installs again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

STAMP = ".gatehold-installed"
LOCK_FILES = ("package-lock.json", "npm-shrinkwrap.json")


@dataclass(frozen=True)
class InstallError(Exception):
    """An install that could not be done (npm missing, npm failed), naming the functions."""

    message: str

    def __str__(self) -> str:
        return self.message


def digest(code_dir: Path) -> str:
    """SHA-256 of ``package.json`` and the lock file (what an install depends on)."""
    sha = hashlib.sha256()
    for name in ("package.json", *LOCK_FILES):
        path = code_dir / name
        if path.is_file():
            sha.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def needs_install(code_dir: Path) -> bool:
    """A ``package.json`` whose dependencies are not installed as it and its lock file say now."""
    if not (code_dir / "package.json").is_file():
        return False
    try:
        stamp = (code_dir / "node_modules" / STAMP).read_text().strip()
    except OSError:
        return True
    return stamp != digest(code_dir)


def command(code_dir: Path) -> list[str]:
    locked = any((code_dir / name).is_file() for name in LOCK_FILES)
    return ["npm", "ci" if locked else "install", "--no-audit", "--no-fund"]


def install(code_dir: Path, functions: Iterable[str], out: TextIO | None = None) -> bool:
    """Install ``code_dir``'s dependencies if they are not already (returns whether it ran);
    raises :class:`InstallError` naming ``functions`` when it cannot."""
    if not needs_install(code_dir):
        return False
    out = out or sys.stderr
    names = ", ".join(sorted(functions))
    argv = command(code_dir)
    npm = os.environ.get("GATEHOLD_NPM") or shutil.which("npm")
    if npm is None:
        raise InstallError(
            f"function {names}: {code_dir / 'package.json'} declares dependencies, and there is no npm on"
            " PATH to install them (install Node.js with npm, or run npm ci there yourself)"
        )
    print(f"installing the dependencies of {names}: {' '.join(argv)} in {code_dir}", file=out, flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [npm, *argv[1:]], cwd=code_dir, stdout=out, stderr=out, stdin=subprocess.DEVNULL, check=False
        )
    except OSError as exc:
        raise InstallError(f"function {names}: {' '.join(argv)} in {code_dir} could not run: {exc}") from exc
    if done.returncode != 0:
        raise InstallError(
            f"function {names}: {' '.join(argv)} in {code_dir} failed (exit status {done.returncode});"
            " npm's output is above"
        )
    modules = code_dir / "node_modules"
    modules.mkdir(exist_ok=True)
    (modules / STAMP).write_text(digest(code_dir) + "\n")
    print(
        f"installed the dependencies of {names} in {time.monotonic() - started:.1f} s", file=out, flush=True
    )
    return True
