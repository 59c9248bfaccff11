"""The running stack, as ``gatehold up`` leaves it in the data directory (``stack.json``).

``gatehold up`` writes it at start-up; the commands that act on a stack without being told its
configuration or ports read it: ``gatehold token`` / ``users`` / ``roles`` / ``keys`` (mint for that
stack's issuer), ``gatehold explain`` (its gateway and admin URLs), and :func:`gatehold.clock.stack_clock`
(whether a clock file is a live stack's). Light on purpose (no configuration or CLI imports): every
process of the stack may read it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatehold.importers import ImportOptions

STACK_STATE = "stack.json"


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
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
