"""Per-function environment variables for handlers that share one process (thread isolation).

In Lambda each function has its own process, so ``os.environ`` is that function's environment.
In thread isolation several functions share this process; :func:`install` replaces ``os.environ``
with :class:`EnvironOverlay`, a mapping that reads and writes the *current function's* variables
while a handler runs (a :class:`contextvars.ContextVar` set around the call), and the real process
environment everywhere else. ``os.getenv`` reads ``os.environ``, so it follows too.

Each function's environment is a full copy taken when its sandbox is created (process environment
+ Lambda's reserved variables + the function's ``environment``), so one function's
``os.environ["X"] = "1"`` is invisible to the others and persists between its invocations, as in a
warm Lambda sandbox. Limits: the variable is set on the thread that runs the handler, so threads
the handler starts itself see the process environment; C code reading ``getenv(3)`` and child
processes started without ``env=`` see the process environment too. Use process isolation where
that matters.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any

_current: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "gatehold_function_environ", default=None
)
_install_lock = threading.Lock()


class EnvironOverlay(MutableMapping[str, str]):
    """``os.environ`` that answers from the running function's variables when there is one."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self._base = base

    @property
    def base(self) -> MutableMapping[str, str]:
        return self._base

    def _target(self) -> MutableMapping[str, str]:
        env = _current.get()
        return self._base if env is None else env

    def __getitem__(self, key: str) -> str:
        return self._target()[key]

    def __setitem__(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"str expected, not {type(key if not isinstance(key, str) else value).__name__}")
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def get(self, key: str, default: Any = None) -> Any:
        return self._target().get(key, default)

    def copy(self) -> dict[str, str]:
        return dict(self._target())

    def __repr__(self) -> str:
        return f"environ({dict(self._target())!r})"


def install() -> EnvironOverlay:
    """Put the overlay in place of ``os.environ`` (idempotent; harmless outside handlers)."""
    with _install_lock:
        if isinstance(os.environ, EnvironOverlay):
            return os.environ
        overlay = EnvironOverlay(os.environ)
        os.environ = overlay  # type: ignore[assignment]  # noqa: B003 (replaced, not cleared)
        return overlay


def process_environ() -> dict[str, str]:
    """A copy of the real process environment, whatever ``os.environ`` currently is."""
    env = os.environ
    if isinstance(env, EnvironOverlay):
        return dict(env.base)
    return dict(env)


def activate(env: dict[str, str]) -> contextvars.Token[dict[str, str] | None]:
    """Make ``env`` the environment of the current thread's context until :func:`deactivate`."""
    return _current.set(env)


def use(env: dict[str, str]) -> None:
    """Make ``env`` the environment of the current thread's context from now on (a Lambda pool
    thread runs only handlers, so it switches only when the function changes)."""
    if _current.get() is not env:
        _current.set(env)


def deactivate(token: contextvars.Token[dict[str, str] | None]) -> None:
    _current.reset(token)
