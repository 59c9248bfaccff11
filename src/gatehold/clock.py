"""One clock for the whole stack: what every process reads the time from.

Token lifetimes, the authorizer result cache, the JWKS cache, refresh-token lifetimes, throttling
windows and quotas are all about time; a test of them should not sleep for an hour. Gatehold's
processes (the supervisor, the gateway processes, the identity provider, the functions' workers)
therefore read time through a :class:`Clock`:

* :data:`SYSTEM_CLOCK`, the default: ``time.time`` and ``time.monotonic`` themselves (its attributes
  *are* those builtins, so reading it costs what reading the system clock costs);
* :class:`SharedClock`, with ``gatehold up --test-clock``: a small file in the data directory
  (``<data-dir>/clock``, :data:`CLOCK_FILE`) that every process maps (``mmap``, shared), and that
  tests freeze and advance through the supervisor's admin port (``/clock``) or directly.

The file holds, after a sequence number, whether the clock is frozen, the frozen instant (wall and
monotonic) and the offsets added to the system clock when it runs::

    seq u64 | frozen u64 | wall_at f64 | mono_at f64 | wall_offset f64 | mono_offset f64

A writer (under ``flock``) makes ``seq`` odd, writes, makes it even again; a reader retries while
``seq`` is odd or changed under it, so it never sees half a write (a seqlock). Frozen, ``time()``
returns the frozen instant and ``monotonic()`` stands still; ``advance(s)`` moves both by ``s``;
``resume()`` lets both run again from where they stood.

A process picks its clock once, at start-up (:func:`install`), before it builds what reads it; code
that reads the time on the request path calls :func:`wall` / :func:`mono` (rebound by
:func:`install`) or keeps the clock's bound methods. What measures real durations (timeouts that
kill a hanging handler, heartbeats, latencies, the identity provider's key-table re-read) stays on
the system clock on purpose.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from gatehold.stack_state import read_stack_state

#: the real clocks, bound before anything can patch ``time`` (runtime/stack_time.py does, in a
#: Python execution environment under ``--test-clock``): a SharedClock reading ``time.time`` there
#: would call itself
_real_time: Final = time.time
_real_monotonic: Final = time.monotonic

__all__ = [
    "CLOCK_ENV",
    "CLOCK_FILE",
    "SYSTEM_CLOCK",
    "Clock",
    "ClockState",
    "SharedClock",
    "current",
    "from_environment",
    "install",
    "mono",
    "stack_clock",
    "wall",
]

#: the environment variable that names the shared clock's file (set by ``gatehold up --test-clock``
#: for every process of the stack and every function environment)
CLOCK_ENV: Final = "GATEHOLD_CLOCK_FILE"
#: the shared clock's file name in the data directory
CLOCK_FILE: Final = "clock"

_LAYOUT: Final = struct.Struct("<QQdddd")
_SEQ: Final = struct.Struct("<Q")
_VALUES: Final = struct.Struct("<Qdddd")
#: frozen, wall_at, mono_at, wall_offset, mono_offset
_Values = tuple[int, float, float, float, float]


@runtime_checkable
class Clock(Protocol):
    """Wall seconds since the epoch (``time()``) and seconds that only go forward (``monotonic()``)."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class _SystemClock:
    """The system's clock: the attributes are the builtins themselves (no wrapper call)."""

    monotonic: Callable[[], float] = staticmethod(time.monotonic)
    time: Callable[[], float] = staticmethod(time.time)  # (after: the name shadows the module here)

    def __repr__(self) -> str:
        return "SYSTEM_CLOCK"


SYSTEM_CLOCK: Final[Clock] = _SystemClock()


class ClockState:
    """What ``GET /clock`` answers: the clock's time now, whether it is frozen, its offset from the
    system clock (seconds; while frozen, how far the frozen instant is from the real one)."""

    __slots__ = ("frozen", "now", "offset")

    def __init__(self, now: float, frozen: bool, offset: float) -> None:
        self.now = now
        self.frozen = frozen
        self.offset = offset

    def as_dict(self) -> dict[str, float | bool]:
        return {"now": self.now, "frozen": self.frozen, "offset": self.offset}


class SharedClock:
    """A clock that every process mapping the same file shares (see the module docstring)."""

    def __init__(self, path: Path, buffer: mmap.mmap, fd: int) -> None:
        self.path = path
        self._buffer = buffer
        self._fd = fd

    # -- opening ----------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str]) -> SharedClock:
        """A fresh clock at ``path`` (running, no offset), replacing any file there."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_bytes(_LAYOUT.pack(0, 0, 0.0, 0.0, 0.0, 0.0))
        os.replace(temporary, path)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SharedClock:
        """The clock another process created at ``path``; ``FileNotFoundError`` when there is none,
        ``ValueError`` when the file is not a clock."""
        path = Path(path)
        fd = os.open(path, os.O_RDWR)
        try:
            if os.fstat(fd).st_size != _LAYOUT.size:
                raise ValueError(f"{path} is not a Gatehold clock file ({_LAYOUT.size} bytes expected)")
            buffer = mmap.mmap(fd, _LAYOUT.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, buffer, fd)

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self._buffer.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def __repr__(self) -> str:
        return f"SharedClock({str(self.path)!r})"

    # -- reading ----------------------------------------------------------------------------------

    def _read(self) -> _Values:
        buffer = self._buffer
        while True:
            seq, frozen, wall_at, mono_at, wall_offset, mono_offset = _LAYOUT.unpack_from(buffer, 0)
            if not seq & 1 and _SEQ.unpack_from(buffer, 0)[0] == seq:
                return frozen, wall_at, mono_at, wall_offset, mono_offset

    def time(self) -> float:
        frozen, wall_at, _mono_at, wall_offset, _mono_offset = self._read()
        return wall_at if frozen else _real_time() + wall_offset

    def monotonic(self) -> float:
        frozen, _wall_at, mono_at, _wall_offset, mono_offset = self._read()
        return mono_at if frozen else _real_monotonic() + mono_offset

    def state(self) -> ClockState:
        frozen, wall_at, _mono_at, wall_offset, _mono_offset = self._read()
        real = _real_time()
        if frozen:
            return ClockState(wall_at, True, wall_at - real)
        return ClockState(real + wall_offset, False, wall_offset)

    @property
    def frozen(self) -> bool:
        return bool(self._read()[0])

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, change: Callable[[int, float, float, float, float], _Values]) -> None:
        buffer = self._buffer
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # one writer at a time, across processes
        try:
            seq = _SEQ.unpack_from(buffer, 0)[0]
            values = change(*_LAYOUT.unpack_from(buffer, 0)[1:])
            # slice assignments (one memcpy each), never pack_into: it zeroes its span first, and a
            # reader would see seq 0, even, around zeroed values
            buffer[0:8] = _SEQ.pack(seq + 1)  # odd: a write is under way
            buffer[8:] = _VALUES.pack(*values)
            buffer[0:8] = _SEQ.pack(seq + 2)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock: at its current time, or at the wall instant ``at`` (epoch seconds; the
        monotonic clock stops where it is either way)."""

        def change(
            frozen: int, wall_at: float, mono_at: float, wall_offset: float, mono_offset: float
        ) -> _Values:
            if not frozen:
                wall_at, mono_at = _real_time() + wall_offset, _real_monotonic() + mono_offset
            return 1, (wall_at if at is None else float(at)), mono_at, wall_offset, mono_offset

        self._write(change)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` (> 0) forward, frozen or not; both its wall and monotonic time."""
        if not seconds > 0:
            raise ValueError("a clock only moves forward: seconds must be greater than 0")

        def change(
            frozen: int, wall_at: float, mono_at: float, wall_offset: float, mono_offset: float
        ) -> _Values:
            if frozen:
                return 1, wall_at + seconds, mono_at + seconds, wall_offset, mono_offset
            return 0, wall_at, mono_at, wall_offset + seconds, mono_offset + seconds

        self._write(change)

    def resume(self) -> None:
        """Let a frozen clock run again from the instant it stood at."""

        def change(
            frozen: int, wall_at: float, mono_at: float, wall_offset: float, mono_offset: float
        ) -> _Values:
            if not frozen:
                return 0, wall_at, mono_at, wall_offset, mono_offset
            return 0, wall_at, mono_at, wall_at - _real_time(), mono_at - _real_monotonic()

        self._write(change)


# --------------------------------------------------------------------------------------------------
# this process's clock
# --------------------------------------------------------------------------------------------------

_current: Clock = SYSTEM_CLOCK
#: this process's wall clock (``time.time`` itself unless a shared clock is installed)
wall: Callable[[], float] = SYSTEM_CLOCK.time
#: this process's monotonic clock (``time.monotonic`` itself unless a shared clock is installed)
mono: Callable[[], float] = SYSTEM_CLOCK.monotonic


def current() -> Clock:
    """The clock this process reads (:data:`SYSTEM_CLOCK` unless :func:`install` was called)."""
    return _current


def install(clock: Clock) -> None:
    """Make ``clock`` this process's clock; call it before building what reads the time."""
    global _current, wall, mono
    _current, wall, mono = clock, clock.time, clock.monotonic


def from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """The shared clock named by :data:`CLOCK_ENV`, else :data:`SYSTEM_CLOCK`."""
    path = (os.environ if environ is None else environ).get(CLOCK_ENV)
    if not path:
        return SYSTEM_CLOCK
    return SharedClock.open(path)


def stack_clock(data_dir: str | os.PathLike[str]) -> Clock:
    """The clock of the stack whose data directory is ``data_dir``: its shared clock when it runs
    with ``--test-clock`` (the file exists while it runs), else :data:`SYSTEM_CLOCK`. Tokens minted
    for that stack take their ``iat``/``exp`` from it.

    A file left behind by a stack killed with SIGKILL (its ``stack.json`` names a process that is
    gone) is no clock: the next ``gatehold up`` removes it."""
    state = read_stack_state(Path(data_dir))
    if state is not None and not state.running:
        return SYSTEM_CLOCK
    try:
        return SharedClock.open(Path(data_dir) / CLOCK_FILE)
    except (FileNotFoundError, ValueError):
        return SYSTEM_CLOCK
