"""The :class:`~gatehold.runtime.contract.Invoker` the gateway calls: one sandbox per function.

``build_invoker(loaded)`` resolves every ``functions:`` entry into a :class:`FunctionSpec` and a
sandbox, by its isolation (``gateway.isolation``, or the function's own):

* ``process``, the default: a :class:`~gatehold.runtime.pool.FunctionPool` of execution environments,
  each a worker process (AWS's semantics: a crash, a timeout, a memory blow-up is that function's);
* ``in-process``: a :class:`~gatehold.runtime.threads.ThreadSandbox`, the handler run on a thread of
  the gateway's own process (trusted handlers; ``thread`` is its former, deprecated name).

``invoke`` then

1. runs the handler, bounded by the function's ``timeout`` (→ Lambda's ``Task timed out`` error)
   and by the caller's ``deadline_s`` (→ ``integration_timeout``, the gateway's 504/503), or refuses it
   past the function's concurrency (``TooManyRequestsException``, ``status_code`` 429);
2. logs a function error with its traceback on logger ``gatehold.lambda`` (``extra``:
   ``function_name``, ``request_id``), as Lambda writes it to CloudWatch;
3. returns the payload parsed from the JSON the handler's return value was marshalled to, or
   Lambda's error payload — never a traceback meant for a client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

from gatehold import metrics
from gatehold.config import LoadedConfig
from gatehold.runtime import environ, errors, modules, nodejs
from gatehold.runtime.context import FunctionSpec
from gatehold.runtime.contract import InvocationResult
from gatehold.runtime.environment import THROTTLED
from gatehold.runtime.errors import LambdaError
from gatehold.runtime.forkserver import ForkServer
from gatehold.runtime.forkserver import available as forkserver_available
from gatehold.runtime.handler import unmarshal
from gatehold.runtime.locate import function_code_path
from gatehold.runtime.nodejs import is_node
from gatehold.runtime.pool import ACCOUNT_CONCURRENCY, FunctionPool
from gatehold.runtime.python_env import launch
from gatehold.runtime.threads import ThreadPool, ThreadSandbox

log = logging.getLogger("gatehold.lambda")

PROCESS: Final = "process"
IN_PROCESS: Final = "in-process"
#: the former name of ``in-process``, still read (with a warning)
DEPRECATED_THREAD: Final = "thread"


def isolation_of(value: str) -> str:
    """``thread`` is read as ``in-process``."""
    return IN_PROCESS if value == DEPRECATED_THREAD else value


def function_specs(loaded: LoadedConfig) -> dict[str, FunctionSpec]:
    """Each function's settings, with ``code_path`` resolved against the config file's directory (or
    that directory itself when the handler's module is there: :func:`function_code_path`)."""
    settings = loaded.config.gateway
    specs: dict[str, FunctionSpec] = {}
    for name, fn in loaded.config.functions.items():
        specs[name] = FunctionSpec(
            name=name,
            handler=fn.handler,
            code_path=nodejs.task_root(fn.code_path, loaded.base_dir)
            if is_node(fn.runtime)
            else function_code_path(fn.handler, fn.code_path, loaded.base_dir),
            timeout=fn.timeout,
            memory_size=fn.memory_size,
            environment=dict(fn.environment),
            # Node.js functions always run in execution environments of their own
            isolation=PROCESS if is_node(fn.runtime) else isolation_of(fn.isolation or settings.isolation),
            concurrency=fn.reserved_concurrency,
            region=settings.region,
            account_id=settings.account_id,
            runtime=fn.runtime,
        )
    return specs


def deprecated_isolation(loaded: LoadedConfig) -> list[str]:
    """Where the configuration still says ``isolation: thread`` (file:line: key)."""
    found = []
    if loaded.config.gateway.isolation == DEPRECATED_THREAD:
        found.append(str(loaded.where("gateway", "isolation")))
    for name, fn in loaded.config.functions.items():
        if fn.isolation == DEPRECATED_THREAD:
            found.append(str(loaded.where("functions", name, "isolation")))
    return found


def log_function_error(function_name: str, request_id: str, error: LambdaError) -> None:
    """Lambda's log line for a failed invocation: ``[ERROR] Type: message`` then the traceback."""
    metrics.handler_error(function_name, str(error.get("errorType", "")))
    lines = [f"[ERROR] {error.get('errorType', '')}: {error.get('errorMessage', '')}"]
    stack = error.get("stackTrace")
    if stack:
        lines.append("Traceback (most recent call last):")
        lines.extend(line.rstrip("\n") for line in stack)
    log.error(
        "\n".join(lines),
        extra={
            "function_name": function_name,
            "request_id": request_id,
            "error_type": error.get("errorType"),
        },
    )


Sandbox = ThreadSandbox | FunctionPool


class LambdaInvoker:
    """Runs the configured functions; implements :class:`gatehold.runtime.contract.Invoker`.

    Hot reload (:mod:`gatehold.reload`): :meth:`code_changed` makes functions import their code
    afresh on their next invocation; :meth:`successor` is the invoker of a reloaded configuration,
    sharing this one's threads and the sandboxes of the functions whose settings did not change.
    """

    def __init__(
        self,
        specs: dict[str, FunctionSpec],
        *,
        threads: ThreadPool | None = None,
        forkserver: ForkServer | None = None,
        warm: dict[str, Sandbox] | None = None,
    ) -> None:
        self.specs = specs
        self._threads = threads or ThreadPool()
        if forkserver is None and forkserver_available():
            forkserver = ForkServer()
        self._forkserver = forkserver
        self._sandboxes: dict[str, Sandbox] = {}
        self._throttled: dict[str, list[float]] = {}  # name -> [count since logged, when logged]
        sys_path = [p for p in modules.base_sys_path() if p]
        if any(s.isolation == IN_PROCESS for s in specs.values()):
            environ.install()
        launcher = launch(sys_path, forkserver)
        node = nodejs.find_node() if any(is_node(s.runtime) for s in specs.values()) else None
        for name, spec in specs.items():
            kept = (warm or {}).get(name)
            if kept is not None:
                self._sandboxes[name] = kept
            elif is_node(spec.runtime):
                if node is None:
                    raise RuntimeError(f"function {name} ({spec.runtime}) needs Node.js: no node on PATH")
                self._sandboxes[name] = FunctionPool(spec, nodejs.launch(node))
            elif spec.isolation == IN_PROCESS:
                self._sandboxes[name] = ThreadSandbox(spec, self._threads)
            else:
                self._sandboxes[name] = FunctionPool(spec, launcher)

    def sandbox(self, function_name: str) -> Sandbox:
        return self._sandboxes[function_name]

    def prewarm(self) -> None:
        """Start one execution environment per process-isolated function now, in the background, so
        that no first request pays a cold start (needs a running event loop; else they start with
        their first invocation)."""
        for sandbox in self._sandboxes.values():
            if isinstance(sandbox, FunctionPool):
                sandbox.prewarm()

    def code_changed(self, function_names: list[str]) -> None:
        """Their code changed: each imports it afresh on its next invocation (process isolation:
        fresh execution environments, one started at once; in-process: the modules of its code
        directory, shared with the functions of that directory). Other functions stay warm."""
        for name in function_names:
            sandbox = self._sandboxes.get(name)
            if isinstance(sandbox, FunctionPool):
                sandbox.retire()
            elif sandbox is not None and sandbox.namespace is not None:
                sandbox.namespace.invalidate()
            elif sandbox is not None:
                sandbox.reset()

    def successor(self, specs: dict[str, FunctionSpec]) -> LambdaInvoker:
        """The invoker for a reloaded configuration's ``specs``: it shares this one's threads, and a
        function whose settings did not change keeps its sandbox, warm. Nothing changes until
        :meth:`hand_over` (the configuration may still be refused)."""
        warm = {name: self._sandboxes[name] for name, spec in specs.items() if self.specs.get(name) == spec}
        return LambdaInvoker(specs, threads=self._threads, forkserver=self._forkserver, warm=warm)

    def hand_over(self, successor: LambdaInvoker) -> list[Sandbox]:
        """``successor`` takes over (hot reload): returns the sandboxes it does not use (close them
        with :func:`close_sandboxes` once the requests in flight are answered).

        A function whose settings changed has a new sandbox (started at once in process isolation),
        and in in-process isolation its code directory's modules are imported afresh (module-level
        code may read the environment), with those of the functions sharing that directory."""
        kept = {id(s) for s in successor._sandboxes.values()}
        dropped = [s for s in self._sandboxes.values() if id(s) not in kept]
        successor.code_changed(
            [name for name in successor.specs if name in self.specs and id(self._sandboxes[name]) not in kept]
        )
        in_use = {s.namespace for s in successor._sandboxes.values() if isinstance(s, ThreadSandbox)}
        for namespace in {s.namespace for s in dropped if isinstance(s, ThreadSandbox)} - in_use:
            if namespace is not None:
                namespace.forget()  # no function uses that code directory any more
        successor.prewarm()
        return dropped

    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> InvocationResult:
        started = time.perf_counter()
        sandbox = self._sandboxes.get(function_name)
        if sandbox is None:
            not_found: LambdaError = {
                "errorType": "ResourceNotFoundException",
                "errorMessage": f"Function not found: function:{function_name}",
            }
            log_function_error(function_name, request_id, not_found)
            return InvocationResult(error=not_found, status_code=404)
        outcome = await sandbox.invoke(event, request_id, deadline_s)
        duration_ms = (time.perf_counter() - started) * 1000
        if outcome is None:
            log.warning(
                "integration timeout after %.0f ms; the invocation continues in the background",
                duration_ms,
                extra={"function_name": function_name, "request_id": request_id},
            )
            return InvocationResult(integration_timeout=True, duration_ms=duration_ms)
        if outcome is THROTTLED:
            self._log_throttled(function_name)
            throttled = errors.throttled_error(reserved=self.specs[function_name].concurrency is not None)
            return InvocationResult(error=throttled, duration_ms=duration_ms, status_code=429)
        payload_text, error = outcome
        if error is not None:
            log_function_error(function_name, request_id, error)
            return InvocationResult(error=error, duration_ms=duration_ms)
        return InvocationResult(payload=unmarshal(payload_text or "null"), duration_ms=duration_ms)

    def _log_throttled(self, function_name: str) -> None:
        """One warning a second at most per function, with the count (a flood must not cost a log
        line per refused request)."""
        metrics.handler_error(function_name, errors.TOO_MANY_REQUESTS)
        entry = self._throttled.setdefault(function_name, [0.0, 0.0])
        entry[0] += 1
        now = time.monotonic()
        if now - entry[1] >= 1.0:
            log.warning(
                "Lambda invocation failed with status: 429 (TooManyRequestsException: Rate Exceeded.):"
                " %d invocation(s) of %s past its concurrency of %d",
                entry[0],
                function_name,
                self.specs[function_name].concurrency or ACCOUNT_CONCURRENCY,
                extra={"function_name": function_name, "error_type": errors.TOO_MANY_REQUESTS},
            )
            entry[0], entry[1] = 0.0, now

    async def aclose(self) -> None:
        """Stop idle threads and every execution environment, then the fork server (no process is
        left behind)."""
        self._threads.close()
        await close_sandboxes(list(self._sandboxes.values()))
        if self._forkserver is not None:
            self._forkserver.close_now()


async def close_sandboxes(sandboxes: list[Sandbox]) -> None:
    """Stop the execution environments of sandboxes no longer used (a thread sandbox holds none)."""
    pools = [s for s in sandboxes if isinstance(s, FunctionPool)]
    await asyncio.gather(*(p.aclose() for p in pools), return_exceptions=True)


def build_invoker(loaded: LoadedConfig, *, prewarm: bool = True) -> LambdaInvoker:
    """An invoker for every function in ``loaded.config.functions``; with a running event loop (and
    ``prewarm``), one execution environment per process-isolated function starts at once, in the
    background (a one-shot command that invokes one function passes ``prewarm=False``)."""
    for where in deprecated_isolation(loaded):
        log.warning(
            "%s: isolation 'thread' is now called 'in-process' (a crash there ends the gateway);"
            " the default, 'process', gives each function execution environments of its own",
            where,
            extra={"event": "deprecated"},
        )
    invoker = LambdaInvoker(function_specs(loaded))
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return invoker
    if prewarm:
        invoker.prewarm()
    return invoker
