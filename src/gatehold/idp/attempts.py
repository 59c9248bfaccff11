"""Brute-force protection for the login form (Auth0's: 10 failed attempts for one user from one
IP address block that pair; here for ``window`` seconds after the last failure).

In-process and bounded. With several workers or replicas each keeps its own counters (the design's
scale plan moves them to Redis).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

Key = tuple[str, str, str]  # (connection, username lower-cased, client address)


class LoginAttempts:
    def __init__(self, limit: int = 10, window: int = 900, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._failures: OrderedDict[Key, tuple[int, float]] = OrderedDict()  # key -> (count, last failure)

    @staticmethod
    def key(connection: str, username: str, address: str) -> Key:
        return (connection, username.strip().lower(), address)

    def blocked(self, key: Key, now: float) -> bool:
        with self._lock:
            entry = self._failures.get(key)
            if entry is None:
                return False
            count, last = entry
            if now - last >= self.window:
                del self._failures[key]
                return False
            return count >= self.limit

    def failed(self, key: Key, now: float) -> None:
        with self._lock:
            count, last = self._failures.pop(key, (0, now))
            if now - last >= self.window:
                count = 0
            self._failures[key] = (count + 1, now)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: Key) -> None:
        with self._lock:
            self._failures.pop(key, None)
