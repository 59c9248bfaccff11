"""The test clock of a running stack, from a test: ``gatehold up --test-clock``'s admin endpoints.

Every process of such a stack reads one shared clock (:mod:`gatehold.clock`); this client moves it
over HTTP, so a test needs nothing but the admin port's URL::

    clock = StackClock(stack.admin_url)
    clock.freeze()
    token = mint_token()                 # iat = the frozen instant
    clock.advance(86_401)                # a day and a second later: the token has expired
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    clock.resume()

Each call answers the clock's state after it (:class:`ClockReading`). A stack started without
``--test-clock`` answers 404: :class:`TestClockOff` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

__all__ = ["ClockReading", "StackClock", "TestClockOff"]


class TestClockOff(RuntimeError):
    """The stack runs on the system clock (``gatehold up`` without ``--test-clock``)."""

    __test__ = False  # not a test class, whatever pytest's name pattern says


@dataclass(frozen=True)
class ClockReading:
    """``GET /clock``: the stack's time (epoch seconds), whether it is frozen, its offset (s) from
    the real time."""

    now: float
    frozen: bool
    offset: float


class StackClock:
    """Freeze, advance and resume the clock of the stack whose admin port is ``admin_url``."""

    def __init__(self, admin_url: str, *, timeout: float = 5.0) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> ClockReading:
        response = self._http.request(method, f"{self.admin_url}/clock{path}", json=body)
        if response.status_code == 404 and "--test-clock" in response.text:
            raise TestClockOff(response.json().get("message", response.text))
        if response.status_code != 200:
            raise ValueError(f"{method} /clock{path} answered {response.status_code}: {response.text}")
        document = response.json()
        return ClockReading(float(document["now"]), bool(document["frozen"]), float(document["offset"]))

    def reading(self) -> ClockReading:
        return self._call("GET", "")

    def now(self) -> float:
        """The stack's time, in seconds since the epoch."""
        return self.reading().now

    def freeze(self, at: float | None = None) -> ClockReading:
        """Stop the clock, at its current time or at the epoch instant ``at``."""
        return self._call("POST", "/freeze", {} if at is None else {"at": at})

    def advance(self, seconds: float) -> ClockReading:
        """Move the clock ``seconds`` (> 0) forward, frozen or running."""
        return self._call("POST", "/advance", {"seconds": seconds})

    def resume(self) -> ClockReading:
        """Let a frozen clock run again from where it stands."""
        return self._call("POST", "/resume")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StackClock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
