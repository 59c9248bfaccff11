"""Handler code on the stack's clock: with ``gatehold up --test-clock``, a Python execution
environment's ``time.time``, ``time.time_ns`` and ``datetime.datetime.now`` / ``utcnow`` / ``today``
read the stack's shared clock (:mod:`gatehold.clock`), so that a handler that checks a token's
``exp`` itself (PyJWT reads ``datetime.now(tz=timezone.utc)``) sees the time the test set.

Done once per environment, before the handler's module is imported (Lambda's init), and only when
:data:`~gatehold.clock.CLOCK_ENV` names a clock: without ``--test-clock`` nothing is touched.

Like freezegun, ``datetime.datetime`` becomes a subclass whose ``now()`` follows the clock; a module
that bound the class before (``from datetime import datetime`` in something imported earlier) keeps
the real one. ``time.monotonic`` and ``time.perf_counter`` are left alone: they measure real
durations (the event loop's, timeouts'). A function in ``thread`` or ``in-process`` isolation runs
in the gateway's process, whose time functions are not patched: its events and context follow the
clock, its own ``time.time()`` does not.
"""

from __future__ import annotations

import datetime as _datetime
import time
from collections.abc import Mapping

from gatehold import clock as shared_clock

__all__ = ["follow_stack_clock"]

_REAL_DATETIME = _datetime.datetime


def _datetime_on(clock: shared_clock.Clock) -> type[_datetime.datetime]:
    class datetime(_REAL_DATETIME):
        """``datetime.datetime`` whose ``now``, ``utcnow`` and ``today`` read the stack's clock."""

        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> datetime:
            return cls.fromtimestamp(clock.time(), tz)

        @classmethod
        def utcnow(cls) -> datetime:
            return cls.fromtimestamp(clock.time(), _datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> datetime:
            return cls.fromtimestamp(clock.time())

    datetime.__module__ = "datetime"
    return datetime


def follow_stack_clock(environ: Mapping[str, str]) -> bool:
    """Patch this process's wall-clock functions to read the clock that ``environ`` names; False
    (and nothing changed) when it names none."""
    clock = shared_clock.from_environment(environ)
    if clock is shared_clock.SYSTEM_CLOCK:
        return False
    shared_clock.install(clock)
    now = clock.time

    def time_ns() -> int:
        return int(now() * 1e9)

    time.time = now
    time.time_ns = time_ns
    _datetime.datetime = _datetime_on(clock)  # type: ignore[misc]
    return True
