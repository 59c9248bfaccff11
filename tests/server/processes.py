"""The processes of a running `gatehold up`, read from /proc (Linux), and bounded polling.

A process of the stack is named by ``/proc/PID/comm`` (``gatehold gw-1``, ``gatehold idp``,
``gatehold spa``: gatehold.server.process_title); the supervisor is the `gatehold up` process itself.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid``, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
    return state, int(ppid)


def alive(pid: int) -> bool:
    """A process that has not exited (a zombie has: it only waits to be reaped)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def comm(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


def children(parent: int) -> dict[int, str]:
    """Live child processes of ``parent``: pid → name (comm)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == parent and stat[0] != "Z":
                found[int(entry)] = comm(int(entry))
    return found


def descendants(root: int) -> set[int]:
    """Every live process below ``root``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[0] != "Z":
                parents[int(entry)] = stat[1]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def ancestors(pid: int) -> list[int]:
    """``pid``'s parent, its parent, and so on."""
    found = []
    while (stat := _stat(pid)) is not None and stat[1] > 1:
        pid = stat[1]
        found.append(pid)
    return found


def service(supervisor: int, name: str) -> int | None:
    """The pid of the stack's process ``name`` (``gw-1``, ``idp``, ``spa``), if it runs."""
    for pid, title in children(supervisor).items():
        if title == f"gatehold {name}":
            return pid
    return None


def eventually(probe: Callable[[], T | None], what: str, bound_s: float = 30.0) -> T:
    """Poll ``probe`` until it returns something truthy (a bound for a broken stack, not a timing
    assertion)."""
    deadline = time.monotonic() + bound_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {bound_s} s: {what}")
        time.sleep(0.02)
