"""Brute-force protection for the login form (Auth0's: 10 failed attempts for one user from one
IP address block that pair; here for ``window`` seconds after the last failure).

In-process and bounded (:class:`LoginAttempts`). With ``gatehold up --redis-url`` the counters are
shared by every identity-provider process and replica (:class:`RedisLoginAttempts`: a counter per
key that expires ``window`` seconds after the last failure, as Redis measures time), and fall back
to the in-process ones while Redis is unavailable.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatehold.redis_state import SyncRedis

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


class RedisLoginAttempts:
    """:class:`LoginAttempts` shared through Redis (the same interface; synchronous: the login
    form's code runs in a worker thread)."""

    def __init__(self, redis: SyncRedis, *, limit: int = 10, window: int = 900) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window
        self.local = LoginAttempts(limit, window)

    key = staticmethod(LoginAttempts.key)

    def _redis_key(self, key: Key) -> str:
        digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()  # no user name in Redis
        return self.redis.settings.key("login-failures", digest)

    def blocked(self, key: Key, now: float) -> bool:
        if self.redis.available:
            try:
                count = self.redis.client.get(self._redis_key(key))
            except Exception as exc:
                self.redis.failed("login_attempts", exc)
            else:
                self.redis.succeeded()
                return count is not None and int(count) >= self.limit
        return self.local.blocked(key, now)

    def failed(self, key: Key, now: float) -> None:
        if self.redis.available:
            try:
                pipe = self.redis.client.pipeline(transaction=True)
                pipe.incr(self._redis_key(key))
                pipe.expire(self._redis_key(key), self.window)
                pipe.execute()
            except Exception as exc:
                self.redis.failed("login_attempts", exc)
            else:
                self.redis.succeeded()
                return
        self.local.failed(key, now)

    def succeeded(self, key: Key) -> None:
        self.local.succeeded(key)
        if self.redis.available:
            try:
                self.redis.client.delete(self._redis_key(key))
            except Exception as exc:
                self.redis.failed("login_attempts", exc)
            else:
                self.redis.succeeded()
