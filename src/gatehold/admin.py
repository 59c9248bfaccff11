"""The admin port: Prometheus ``/metrics``, liveness ``/healthz`` and readiness ``/readyz``.

* ``GET /healthz`` → 200 ``{"status":"ok"}`` while the process serves requests;
* ``GET /readyz`` → 200 ``{"status":"ready"}`` once ``ready()`` is true, else 503 with ``unready()``
  (default ``{"status":"starting"}``): load balancers stop sending traffic during start-up, while a
  process is started again, and during shutdown; ``details()`` adds to the ready body (with
  ``gatehold up --redis-url``: ``"redis": {"status": "up" | "down", ...}``, still 200 when Redis is
  down: the stack is degraded, not unready);
* ``GET /metrics`` → the text exposition of ``metrics()``, by default of
  :data:`gatehold.metrics.REGISTRY`;
* ``GET /explain/<requestId>`` (``explain`` given) → a recent request's decision trace, explained
  (:mod:`gatehold.gateway.explain`, ``gatehold explain``); 404 when no gateway process keeps it;
* with ``gatehold up --test-clock`` (``clock`` given), the stack's shared clock
  (:mod:`gatehold.clock`): ``GET /clock`` → ``{"now": epoch, "frozen": bool, "offset": s}``,
  ``POST /clock/freeze`` (optional ``{"at": epoch}``), ``POST /clock/advance`` ``{"seconds": N}``
  (N > 0), ``POST /clock/resume``, each answering the clock's state; without it those paths answer
  404 with a message naming the flag.

``/explain`` and ``/clock`` answer loopback clients only (403 for any other): the first shows recent
requests' headers, bearer tokens included, the second moves the stack's time, while ``/metrics`` and
``/readyz`` are made to be reached across a network (Prometheus, a load balancer).

``gatehold up`` serves it from the supervisor (:mod:`gatehold.supervisor`), which asks every process
for its numbers on each scrape and merges them (:func:`merged_metrics`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

from gatehold.clock import SharedClock
from gatehold.metrics import REGISTRY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = b"application/json"

#: families that describe one process (memory, CPU, descriptors, the interpreter): kept apart per
#: process with a ``process`` label; every other family is summed over the processes
PER_PROCESS_PREFIXES = ("process_", "python_")


async def _respond(send: Send, status: int, content_type: bytes, body: bytes, head: bool) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


_LOOPBACK_ONLY = orjson.dumps(
    {"message": "Forbidden: /explain and /clock answer clients on this machine (loopback) only"}
)


def _from_loopback(scope: Scope) -> bool:
    """Whether the client connected from a loopback address (127.0.0.0/8, ::1; a Unix socket)."""
    client = scope.get("client")
    if not client:
        return True  # a Unix socket: this machine's
    try:
        return ipaddress.ip_address(str(client[0]).removeprefix("::ffff:")).is_loopback
    except ValueError:
        return False


async def _own_metrics() -> bytes:
    return generate_latest(REGISTRY)


def create_admin_app(
    *,
    ready: Callable[[], bool],
    unready: Callable[[], Mapping[str, Any]] | None = None,
    metrics: Callable[[], Awaitable[bytes]] = _own_metrics,
    clock: SharedClock | None = None,
    explain: Callable[[str], Awaitable[Mapping[str, Any] | None]] | None = None,
    details: Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
) -> ASGIApp:
    """An ASGI app for the admin port; ``ready`` (and ``unready`` for the 503's body) is polled on
    each ``/readyz``, ``metrics`` awaited on each ``/metrics``; ``clock``: the stack's test clock,
    served on ``/clock`` (None: those paths answer 404)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method = scope["method"]
        head = method == "HEAD"
        local_tool = scope["path"] in ("/clock", "/explain") or scope["path"].startswith(
            ("/clock/", "/explain/")
        )
        if local_tool and not _from_loopback(scope):
            # recent requests' headers and tokens, and the stack's time: for the machine's own user,
            # never for whoever reaches /metrics across a network
            await _respond(send, 403, _JSON, _LOOPBACK_ONLY, head)
            return
        if scope["path"] == "/clock" or scope["path"].startswith("/clock/"):
            status, answer = await _clock_endpoint(clock, method, scope["path"], receive)
            await _respond(send, status, _JSON, orjson.dumps(answer), head)
            return
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, _JSON, b'{"message":"Method Not Allowed"}', head)
            return
        path = scope["path"]
        if path == "/metrics":
            await _respond(send, 200, CONTENT_TYPE_LATEST.encode(), await metrics(), head)
        elif path.startswith("/explain/") and explain is not None:
            request_id = unquote(path.removeprefix("/explain/"))
            found = await explain(request_id) if request_id else None
            if found is None:
                unknown = f"No recent request {request_id!r}: unknown, or no longer kept (gatehold explain)"
                await _respond(send, 404, _JSON, orjson.dumps({"message": unknown}), head)
            else:
                try:
                    body = orjson.dumps(found)
                except TypeError:  # a token's claim orjson cannot write (an integer past 64 bits)
                    body = json.dumps(found, default=repr).encode()
                await _respond(send, 200, _JSON, body, head)
        elif path == "/healthz":
            await _respond(send, 200, _JSON, b'{"status":"ok"}', head)
        elif path == "/readyz":
            if ready():
                if details is None:
                    await _respond(send, 200, _JSON, b'{"status":"ready"}', head)
                else:  # e.g. {"redis": {"status": "down", ...}}: degraded, still ready
                    body = orjson.dumps({"status": "ready", **(await details())})
                    await _respond(send, 200, _JSON, body, head)
            else:
                body = orjson.dumps(unready()) if unready is not None else b'{"status":"starting"}'
                await _respond(send, 503, _JSON, body, head)
        else:
            await _respond(send, 404, _JSON, b'{"message":"Not Found"}', head)

    return app


# --------------------------------------------------------------------------------------------------
# the test clock
# --------------------------------------------------------------------------------------------------

_CLOCK_ACTIONS = ("freeze", "advance", "resume")


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def _number(document: dict[str, Any], name: str) -> float | None:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:  # NaN
        return None
    return float(value)


async def _clock_endpoint(
    clock: SharedClock | None, method: str, path: str, receive: Receive
) -> tuple[int, dict[str, Any]]:
    """``/clock`` and ``/clock/{freeze,advance,resume}``: (status, JSON body)."""
    if clock is None:
        return 404, {"message": "The test clock is off: start the stack with `gatehold up --test-clock`."}
    action = path.removeprefix("/clock").removeprefix("/")
    if action and action not in _CLOCK_ACTIONS:
        return 404, {"message": "Not Found"}
    if not action:
        if method not in ("GET", "HEAD"):
            return 405, {"message": "Method Not Allowed: GET /clock"}
        return 200, clock.state().as_dict()
    if method != "POST":
        return 405, {"message": f"Method Not Allowed: POST /clock/{action}"}
    raw = await _read_body(receive)
    try:
        document = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        return 400, {"message": "The body must be a JSON object."}
    if not isinstance(document, dict):
        return 400, {"message": "The body must be a JSON object."}
    if action == "freeze":
        at = _number(document, "at")
        if "at" in document and (at is None or at < 0):
            return 400, {"message": "'at' must be a number of seconds since the epoch (>= 0)."}
        clock.freeze(at)
    elif action == "advance":
        seconds = _number(document, "seconds")
        if seconds is None or not 0 < seconds < float("inf"):
            return 400, {
                "message": "'seconds' must be a number greater than 0 (the clock only moves forward)."
            }
        clock.advance(seconds)
    else:
        clock.resume()
    return 200, clock.state().as_dict()


# --------------------------------------------------------------------------------------------------
# several processes' numbers as one exposition
# --------------------------------------------------------------------------------------------------


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def merged_metrics(texts: Mapping[str, str], *, own: str = "supervisor") -> bytes:
    """One Prometheus exposition for the processes whose expositions ``texts`` holds (by process
    name) and this one (``own``): counters, histograms and gauges of Gatehold's families summed over
    the processes (the gateway processes' requests are the stack's requests); the ``process_*`` and
    ``python_*`` families kept per process, labelled ``process="gateway-1"`` …. ``_created``
    timestamps are dropped (a sum of them means nothing)."""
    merged: dict[str, Metric] = {}
    sums: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for process, text in {own: generate_latest(REGISTRY).decode(), **texts}.items():
        for family in text_string_to_metric_families(text):
            if family.name.endswith("_created"):
                continue
            per_process = family.name.startswith(PER_PROCESS_PREFIXES)
            if family.name not in merged:
                merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                sums[family.name] = {}
            values = sums[family.name]
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                labels = {**sample.labels, "process": process} if per_process else sample.labels
                key = (sample.name, tuple(sorted(labels.items())))
                values[key] = values.get(key, 0.0) + sample.value
    for name, family in merged.items():
        for (sample_name, label_items), value in sums[name].items():
            family.add_sample(sample_name, dict(label_items), value)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(merged.values()))
    return generate_latest(registry)
