"""The running stack, as ``gatehold up`` leaves it in the data directory (``stack.json``).

``gatehold up`` writes it at start-up; the commands that act on a stack without being told its
configuration or ports read it: ``gatehold token`` / ``users`` / ``roles`` / ``keys`` (mint for that
stack's issuer), ``gatehold explain`` (its gateway and admin URLs), and :func:`gatehold.clock.stack_clock`
(whether a clock file is a live stack's). Light on purpose (no configuration or CLI imports): every
process of the stack may read it.

A data directory belongs to one running ``gatehold up`` (:func:`claim_data_dir`): its ``stack.json``,
its local DynamoDB tables and its test clock are that stack's, so a second stack started on it (a
replica given the same ``--data-dir``) is refused instead of overwriting them.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatehold.importers import ImportOptions

STACK_STATE = "stack.json"
#: held (a POSIX record lock) by the ``gatehold up`` that runs on the data directory
DATA_DIR_LOCK = "gatehold-up.lock"


class DataDirInUse(RuntimeError):
    """Another running ``gatehold up`` holds the data directory; the message names it."""


def claim_data_dir(data_dir: Path) -> int:
    """Hold ``data_dir`` for this process's lifetime: the descriptor holding the lock (keep it open).

    A POSIX record lock (``lockf``), not ``flock``: it belongs to this process alone, so the service
    processes forked from ``gatehold up`` do not hold it, and it goes when ``gatehold up`` exits,
    however it exits. Raises :class:`DataDirInUse` naming the holder's pid."""
    path = data_dir / DATA_DIR_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DataDirInUse(
            f"the data directory {data_dir.resolve()} is in use by another gatehold up (pid {holder}); "
            "give each replica its own --data-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


@dataclass(frozen=True)
class StackState:
    """What ``gatehold up`` was started with, so that ``gatehold token`` (and the other commands
    that work on the store) mint for that stack: its configuration, import options and issuer."""

    config_path: str | None
    import_options: dict[str, Any]
    idp_url: str
    database_url: str | None
    #: the supervisor's (``gatehold up``'s) process id
    pid: int
    #: where ``gatehold explain`` sends requests and asks for their traces (None: an older stack.json,
    #: or ``--admin-port 0``)
    gateway_url: str | None = None
    admin_url: str | None = None
    #: ``--redis-url`` without its password (``gatehold keys rotate`` announces the rotation there)
    redis_url: str | None = None
    redis_prefix: str = "gatehold:"

    def options(self) -> ImportOptions:
        from gatehold.importers import ImportOptions

        return ImportOptions.from_dict(self.import_options)

    @property
    def running(self) -> bool:
        """Whether the ``gatehold up`` that wrote this still runs (a stack killed with SIGKILL
        leaves its ``stack.json`` behind)."""
        return process_alive(self.pid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_stack_state(data_dir: Path, state: StackState) -> None:
    """Written atomically at start-up (``data_dir/stack.json``)."""
    target = data_dir / STACK_STATE
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    os.replace(tmp, target)


def read_stack_state(data_dir: Path) -> StackState | None:
    """The stack state in ``data_dir``; None when there is none or it cannot be read."""
    try:
        raw = json.loads((data_dir / STACK_STATE).read_text(encoding="utf-8"))
        return StackState(
            config_path=raw.get("config_path"),
            import_options=dict(raw.get("import_options") or {}),
            idp_url=str(raw["idp_url"]),
            database_url=raw.get("database_url"),
            pid=int(raw.get("pid", 0)),
            gateway_url=raw.get("gateway_url"),
            admin_url=raw.get("admin_url"),
            redis_url=raw.get("redis_url"),
            redis_prefix=str(raw.get("redis_prefix") or "gatehold:"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
