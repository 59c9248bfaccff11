"""Redis for what the processes and replicas of a stack must agree on (``gatehold up --redis-url``).

Without ``--redis-url`` none of this is imported and every process keeps its state to itself, as
before. With it, each process holds one :class:`RedisState` (redis.asyncio, on the process's own
event loop) and shares through it:

* throttling and usage-plan quota counters (:mod:`gatehold.gateway.redis_stores`: one Lua script
  per take, so that a token bucket holds across every gateway process and replica);
* the Lambda authorizer result cache (:class:`gatehold.gateway.redis_stores.SharedAuthorizerCache`);
* key-rotation notifications: ``gatehold keys rotate`` (and any rotation an identity provider
  makes) publishes on the channel ``<prefix>keys``; every gateway process fetches the issuer's JWKS
  again and drops its verified tokens, every identity-provider process reloads its keys;
* the identity provider's login-attempt counters (:class:`gatehold.idp.attempts.RedisLoginAttempts`,
  through a synchronous client: that code runs in worker threads).

Keys all start with the stack's prefix (``--redis-prefix``, default ``gatehold:``), so that several
stacks can share one Redis (two stacks with the same prefix act as replicas of one service).

Degradation: Redis unreachable is never an error to a client. An operation that fails marks Redis
down (logged once per transition, ``gatehold_redis_up{process=...}`` 0, each fallback counted in
``gatehold_redis_fallbacks``) and the caller uses its in-process state; while down, the stores skip
Redis at once (no timeout on the hot path). A monitor pings every :data:`HEALTH_INTERVAL_S`; when
Redis answers again the process subscribes again and runs its ``on_recovered`` callbacks (the
gateway fetches its JWKS once, since a rotation may have been announced while it was away).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from prometheus_client import Counter, Gauge

from gatehold.metrics import REGISTRY

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("gatehold.redis")

DEFAULT_PREFIX = "gatehold:"
#: how often a process checks that Redis answers (and, while it is down, whether it is back)
HEALTH_INTERVAL_S = 1.0
#: a Redis call taking longer than this counts as Redis being down (the request goes on locally)
SOCKET_TIMEOUT_S = 0.5
#: the pub/sub channel (after the prefix) of key-rotation notifications
ROTATION_CHANNEL = "keys"

REDIS_UP = Gauge(
    "gatehold_redis_up",
    "1 while this process reaches Redis (gatehold up --redis-url), 0 while it falls back to local state.",
    ("process",),
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "gatehold_redis_fallbacks",
    "Operations served from in-process state because Redis was unavailable, by what they were.",
    ("what",),
    registry=REGISTRY,
)

RotationHandler = Callable[[dict[str, Any]], Awaitable[None]]


def redact(url: str) -> str:
    """``url`` without its password (``redis://:secret@host:6379/0`` → ``redis://host:6379/0``;
    a user name stays): what the banner prints and stack.json records."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username
    netloc = f"{user}@{host}" if user else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where Redis is and the stack's key prefix (``--redis-url``, ``--redis-prefix``)."""

    url: str
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"--redis-url: {redact(self.url)!r} is not a redis://, rediss:// or unix:// URL")

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def rotation_channel(self) -> str:
        return self.key(ROTATION_CHANNEL)

    @property
    def redacted_url(self) -> str:
        return redact(self.url)

    def as_spec(self) -> dict[str, str]:
        """What a process of the stack is sent (:mod:`gatehold.server`)."""
        return {"url": self.url, "prefix": self.prefix}

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | None) -> RedisSettings | None:
        if not spec:
            return None
        return cls(str(spec["url"]), str(spec.get("prefix", DEFAULT_PREFIX)))


def _client_options(*, asynchronous: bool) -> dict[str, Any]:
    from redis.backoff import NoBackoff

    if asynchronous:
        from redis.asyncio.retry import Retry as AsyncRetry

        retry: Any = AsyncRetry(NoBackoff(), 0)
    else:
        from redis.retry import Retry

        retry = Retry(NoBackoff(), 0)
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
        "retry": retry,  # a failure is reported at once: the caller falls back
        "health_check_interval": 0,
    }


def is_redis_failure(exc: BaseException) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError | OSError | asyncio.TimeoutError)


def rotation_message(issuer: str, kids: list[str], current: str) -> bytes:
    """The key-rotation notification: the issuer, the ``kid`` values it publishes now, the one that
    signs."""
    return orjson.dumps({"issuer": issuer, "kids": kids, "current": current})


class RedisState:
    """One process's use of Redis: the async client, whether Redis answers, and the subscriptions.

    ``process`` labels the health gauge (``gateway-1``, ``idp``, ``supervisor``). Call
    :meth:`start` on the process's event loop and :meth:`aclose` when it stops.
    """

    def __init__(self, settings: RedisSettings, *, process: str) -> None:
        import redis.asyncio

        self.settings = settings
        self.process = process
        self.client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            settings.url, **_client_options(asynchronous=True)
        )
        self.up = False
        self.reason: str | None = "not connected yet"
        self.rotation_handlers: list[RotationHandler] = []
        self.on_recovered: list[Callable[[], Awaitable[None]]] = []
        self._gauge = REDIS_UP.labels(process)
        self._fallbacks: dict[str, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._gauge.set(0)

    # -- health -----------------------------------------------------------------------------------

    def failed(self, what: str, exc: BaseException) -> None:
        """An operation on Redis failed: Redis is down (said once), and ``what`` falls back."""
        self._down(f"{type(exc).__name__}: {exc}")
        self.fell_back(what)

    def fell_back(self, what: str) -> None:
        counter = self._fallbacks.get(what)
        if counter is None:
            counter = self._fallbacks[what] = FALLBACKS.labels(what)
        counter.inc()

    def _down(self, reason: str) -> None:
        self.reason = reason
        if self.up or not self._started:
            log.warning(
                "Redis at %s is unavailable (%s): serving from this process's own state until it is back",
                self.settings.redacted_url,
                reason,
                extra={"event": "redis_down", "reason": reason},
            )
        self.up = False
        self._started = True
        self._gauge.set(0)

    async def _up(self) -> None:
        recovered = not self.up and self._started
        first = not self._started
        self.up, self.reason, self._started = True, None, True
        self._gauge.set(1)
        if first:
            log.info("Redis at %s: connected", self.settings.redacted_url, extra={"event": "redis_up"})
        if recovered:
            log.warning(
                "Redis at %s is back: shared state again",
                self.settings.redacted_url,
                extra={"event": "redis_up"},
            )
            for callback in self.on_recovered:
                try:
                    await callback()
                except Exception:
                    log.exception("re-synchronising after Redis came back failed")

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: ``{"status": "up"}`` or ``{"status": "down", "reason": ...}``."""
        if self.up:
            return {"status": "up", "url": self.settings.redacted_url}
        return {"status": "down", "url": self.settings.redacted_url, "reason": self.reason}

    # -- running ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (a Redis that is down now is no error: the monitor keeps trying) and run the
        monitor: health checks and the subscriptions."""
        await self.check()
        self._task = asyncio.create_task(self._monitor())

    async def check(self) -> bool:
        """Ping Redis now; whether it answered."""
        try:
            await self.client.ping()
        except Exception as exc:
            if not is_redis_failure(exc):
                raise
            self._down(f"{type(exc).__name__}: {exc}")
            return False
        await self._up()
        return True

    async def _monitor(self) -> None:
        while True:
            if not self.up:
                await asyncio.sleep(HEALTH_INTERVAL_S)
                await self.check()
                continue
            if self.rotation_handlers:
                await self._listen()  # returns when the connection is lost
            else:
                await asyncio.sleep(HEALTH_INTERVAL_S)
                await self.check()

    async def _listen(self) -> None:
        """Follow the rotation channel until Redis goes away (then the monitor tries again)."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.settings.rotation_channel)
            while self.up:
                message = await pubsub.get_message(timeout=HEALTH_INTERVAL_S)
                if message is None:
                    await self.client.ping()  # the command connection too (stores use it)
                    continue
                await self._dispatch(message.get("data"))
        except Exception as exc:
            if not is_redis_failure(exc):
                raise
            self._down(f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _dispatch(self, data: Any) -> None:
        try:
            document = orjson.loads(data)
        except (orjson.JSONDecodeError, TypeError):
            log.warning("ignored a malformed key-rotation notification")
            return
        if not isinstance(document, dict):
            return
        for handler in self.rotation_handlers:
            try:
                await handler(document)
            except Exception:
                log.exception("following a key-rotation notification failed")

    async def publish_rotation(self, issuer: str, kids: list[str], current: str) -> bool:
        """Announce a rotation; False when Redis is unavailable (said in the log)."""
        try:
            await self.client.publish(self.settings.rotation_channel, rotation_message(issuer, kids, current))
        except Exception as exc:
            if not is_redis_failure(exc):
                raise
            self.failed("rotation_notification", exc)
            return False
        return True

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        with contextlib.suppress(Exception):
            await self.client.aclose()


class SyncRedis:
    """A synchronous client for code that runs in worker threads (the identity provider, the CLI),
    with the same rule: a failure means local state, and Redis is not tried again for
    :data:`HEALTH_INTERVAL_S` (so that a Redis that is down costs nothing per request)."""

    def __init__(self, settings: RedisSettings, *, process: str) -> None:
        import redis

        self.settings = settings
        self.client: redis.Redis = redis.Redis.from_url(settings.url, **_client_options(asynchronous=False))
        self.process = process
        self._gauge = REDIS_UP.labels(process)
        self._retry_at = 0.0
        self._up: bool | None = None
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        """Whether to try Redis now (it answered last time, or the pause after a failure is over)."""
        return self._up is not False or time.monotonic() >= self._retry_at

    def succeeded(self) -> None:
        with self._lock:
            if self._up is False:
                log.warning("Redis at %s is back: shared state again", self.settings.redacted_url)
            self._up = True
        self._gauge.set(1)

    def failed(self, what: str, exc: BaseException) -> None:
        with self._lock:
            if self._up is not False:
                log.warning(
                    "Redis at %s is unavailable (%s: %s): using this process's own state until it is back",
                    self.settings.redacted_url,
                    type(exc).__name__,
                    exc,
                    extra={"event": "redis_down"},
                )
            self._up = False
            self._retry_at = time.monotonic() + HEALTH_INTERVAL_S
        self._gauge.set(0)
        FALLBACKS.labels(what).inc()

    def publish_rotation(self, issuer: str, kids: list[str], current: str) -> bool:
        """Announce a rotation; False when Redis is unavailable."""
        from redis.exceptions import RedisError

        try:
            self.client.publish(self.settings.rotation_channel, rotation_message(issuer, kids, current))
        except (RedisError, OSError) as exc:
            self.failed("rotation_notification", exc)
            return False
        self.succeeded()
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
