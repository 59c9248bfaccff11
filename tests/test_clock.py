"""gatehold.clock: the system clock by default, and the shared clock every process of a stack maps
(freeze, advance, resume; no torn reads; one clock for two processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatehold import clock
from gatehold.clock import SYSTEM_CLOCK, SharedClock, from_environment, stack_clock


def test_the_system_clock_is_the_builtins_themselves() -> None:
    assert SYSTEM_CLOCK.time is time.time
    assert SYSTEM_CLOCK.monotonic is time.monotonic
    assert clock.current() is SYSTEM_CLOCK
    assert clock.wall is time.time
    assert clock.mono is time.monotonic


@pytest.fixture
def shared(tmp_path: Path) -> SharedClock:
    return SharedClock.create(tmp_path / "clock")


def test_a_fresh_shared_clock_runs_with_the_system_clock(shared: SharedClock) -> None:
    before = time.time()
    now = shared.time()
    assert before <= now <= time.time()
    assert not shared.frozen
    assert shared.state().as_dict()["offset"] == 0.0


def test_frozen_time_and_monotonic_stand_still_and_advance_moves_both(shared: SharedClock) -> None:
    shared.freeze(at=1_800_000_000.0)
    wall, mono = shared.time(), shared.monotonic()
    assert wall == 1_800_000_000.0
    time.sleep(0.01)
    assert (shared.time(), shared.monotonic()) == (wall, mono)
    shared.advance(3600)
    assert shared.time() == wall + 3600
    assert shared.monotonic() == mono + 3600
    state = shared.state()
    assert state.frozen
    assert state.now == wall + 3600


def test_freeze_without_an_instant_stops_at_the_current_time(shared: SharedClock) -> None:
    shared.advance(100)
    before = time.time() + 100
    shared.freeze()
    assert before <= shared.time() <= time.time() + 100


def test_resume_runs_on_from_the_frozen_instant(shared: SharedClock) -> None:
    shared.freeze(at=1_000.0)
    shared.advance(10)
    frozen_mono = shared.monotonic()
    shared.resume()
    assert not shared.frozen
    assert 1_010.0 <= shared.time() < 1_020.0
    assert shared.monotonic() >= frozen_mono


def test_advance_while_running_adds_an_offset(shared: SharedClock) -> None:
    shared.advance(7200)
    assert shared.time() - time.time() == pytest.approx(7200, abs=1)
    assert shared.monotonic() - time.monotonic() == pytest.approx(7200, abs=1)
    assert shared.state().offset == 7200


@pytest.mark.parametrize("seconds", [0, -1, float("nan")], ids=["zero", "negative", "nan"])
def test_the_clock_only_moves_forward(shared: SharedClock, seconds: float) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        shared.advance(seconds)


def test_a_file_that_is_not_a_clock_is_refused(tmp_path: Path) -> None:
    (tmp_path / "clock").write_bytes(b"not a clock")
    with pytest.raises(ValueError, match="not a Gatehold clock file"):
        SharedClock.open(tmp_path / "clock")
    assert stack_clock(tmp_path) is SYSTEM_CLOCK


def test_stack_clock_is_the_shared_clock_while_its_file_exists(tmp_path: Path) -> None:
    assert stack_clock(tmp_path) is SYSTEM_CLOCK
    SharedClock.create(tmp_path / "clock").freeze(at=42.0)
    found = stack_clock(tmp_path)
    assert isinstance(found, SharedClock)
    assert found.time() == 42.0


def test_from_environment(tmp_path: Path) -> None:
    assert from_environment({}) is SYSTEM_CLOCK
    SharedClock.create(tmp_path / "clock").freeze(at=7.0)
    assert from_environment({clock.CLOCK_ENV: str(tmp_path / "clock")}).time() == 7.0


_CHILD = """
import sys
from gatehold.clock import SharedClock
c = SharedClock.open(sys.argv[1])
print(c.time(), c.monotonic(), flush=True)
sys.stdin.readline()          # the parent advances the clock
print(c.time(), c.monotonic(), flush=True)
"""


def test_two_processes_see_one_clock(shared: SharedClock) -> None:
    shared.freeze(at=1_700_000_000.0)
    mono = shared.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(shared.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline().split() == [str(1_700_000_000.0), str(mono)]
        shared.advance(90)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().split() == [str(1_700_000_090.0), str(mono + 90)]
    finally:
        child.kill()
        child.wait()


_WRITER = """
import sys
from gatehold.clock import SharedClock
c = SharedClock.open(sys.argv[1])
for _ in range(60000):
    c.advance(1.25)
"""


def test_a_reader_never_sees_half_a_write(shared: SharedClock) -> None:
    """Frozen, every advance moves the wall and the monotonic instant together: a torn read would
    show them apart."""
    shared.freeze(at=1_000_000.0)
    gap = shared.time() - shared.monotonic()
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(shared.path)])
    seen = set()
    try:
        while writer.poll() is None:
            frozen, wall_at, mono_at, _, _ = shared._read()
            assert frozen == 1
            assert abs(wall_at - mono_at - gap) < 0.01  # a torn read is 1.25 s off
            seen.add(wall_at)
    finally:
        writer.kill()
        writer.wait()
    assert shared.time() == 1_000_000.0 + 60000 * 1.25
    assert len(seen) > 1  # the reader did read while the writer wrote


_HANDLER_PROCESS = """
import os, sys, time
from gatehold.runtime.stack_time import follow_stack_clock
assert follow_stack_clock(os.environ)
import datetime
import jwt  # imported after the patch, as a handler's module is
token = jwt.encode({"exp": 1_000_000_100}, "k" * 32, algorithm="HS256")
jwt.decode(token, "k" * 32, algorithms=["HS256"])   # not expired at the frozen instant
print(time.time(), time.time_ns(), datetime.datetime.now(datetime.timezone.utc).timestamp(), flush=True)
sys.stdin.readline()  # the parent advances the clock past exp
try:
    jwt.decode(token, "k" * 32, algorithms=["HS256"])
    print("accepted")
except jwt.ExpiredSignatureError:
    print("expired")
"""


def test_a_python_environment_reads_the_stack_clock_pyjwt_included(shared: SharedClock) -> None:
    shared.freeze(at=1_000_000_000.0)
    env = {**os.environ, clock.CLOCK_ENV: str(shared.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _HANDLER_PROCESS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline().split() == ["1000000000.0", "1000000000000000000", "1000000000.0"]
        shared.advance(100)
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "expired"
    finally:
        child.kill()
        child.wait()


def test_without_a_clock_nothing_is_patched() -> None:
    from gatehold.runtime.stack_time import follow_stack_clock

    assert follow_stack_clock({}) is False
    assert time.time is SYSTEM_CLOCK.time


def test_a_patched_environment_reads_a_running_clock(shared: SharedClock) -> None:
    """Running (not frozen), the shared clock reads the real time plus its offset: through the real
    ``time.time``, not the patched one (which is the shared clock itself, and would recurse)."""
    shared.advance(3600)
    script = (
        "import os, time\n"
        "real = time.time()\n"
        "from gatehold.runtime.stack_time import follow_stack_clock\n"
        "assert follow_stack_clock(os.environ)\n"
        "print(time.time() - real)\n"
    )
    env = {**os.environ, clock.CLOCK_ENV: str(shared.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 3599 < float(done.stdout) < 3660


def test_a_clock_left_by_a_killed_stack_is_not_the_stacks_clock(tmp_path: Path) -> None:
    """``gatehold up`` killed with SIGKILL leaves its clock file; ``stack.json`` names its process,
    gone: tokens are minted on the system clock, not on a stale frozen instant."""
    SharedClock.create(tmp_path / clock.CLOCK_FILE).freeze(at=1_000_000_000.0)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "stack.json").write_text(f'{{"pid": {gone.pid}, "idp_url": "http://localhost:9000"}}')
    assert stack_clock(tmp_path) is SYSTEM_CLOCK
    (tmp_path / "stack.json").write_text(f'{{"pid": {os.getpid()}, "idp_url": "http://localhost:9000"}}')
    assert stack_clock(tmp_path).time() == 1_000_000_000.0
