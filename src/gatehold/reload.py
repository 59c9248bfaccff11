"""Hot reload for ``gatehold up``: handler code and configuration, swapped while the stack serves.

What is watched (:func:`plan_for`, :class:`WatchPlan`), with ``watchfiles``:

* every function's **code directory** (its ``code_path``, or the directory of its handler module
  found on ``sys.path``; never the Gatehold package, the standard library or site-packages),
  recursively: a changed, added or deleted ``.py`` file reloads the functions whose code directory
  holds it;
* every **configuration file** the configuration was read from (``LoadedConfig.files``:
  ``gatehold.yaml``, imported templates, ``DefinitionUri`` documents, serverless ``${file()}``
  files), through their directories (an editor that saves by writing a new file and renaming it
  over the old one replaces the file a direct watch would follow);
* never: ``__pycache__``, ``.pyc``, editor swap and backup files (``.app.py.swp``, ``app.py~``,
  ``.#app.py``, ``#app.py#``, ``4913``), ``.git``, ``node_modules``, virtual environments,
  ``.aws-sam`` and ``.serverless`` build output, the data directory.

Who does what: the supervisor (``gatehold up``, :class:`Reloader`) watches, loads and checks a
changed configuration once, and prints what changed or what is wrong; it then tells each gateway
process (:class:`GatewayReloader`) what to reload over its control channel (the functions whose code
changed; the new configuration, as the objects it checked), and the identity provider its new
``tenant:`` section (:mod:`gatehold.supervisor`, :mod:`gatehold.server`).

What a change does:

* **handler code**: the functions whose code directory holds the file import it afresh on their
  *next* invocation (thread isolation: the modules of that directory leave ``sys.modules``, see
  :mod:`gatehold.runtime.modules`; process isolation: the workers are retired and fresh ones start on
  demand). Other functions stay warm. A syntax error gives that function Lambda's init error
  (``Runtime.UserCodeSyntaxError``) until the file is fixed, like a deploy of broken code.
* **configuration**: loaded and validated in full off the event loop (the schema, the cross
  references, the route table, the authorizers, the integrations: what ``gatehold check`` runs). If
  it is valid, each gateway process builds a new gateway app from it and swaps it in at once:
  requests being answered finish on the previous app, new ones get the new one; functions whose
  settings did not change keep their warm sandboxes; the identity provider's ``tenant:`` section is
  applied again when it changed. If it is not, every problem is printed (``file:line: key:
  message``) and the previous configuration keeps serving, in every process (a process started
  again after a crash gets the last valid configuration too).

The watcher yields once no change came for :data:`STEP_MS`, and at most :data:`DEBOUNCE_MS` after
the first one (watchfiles' default debounce is 1.6 s): an editor's save, several file events, is one
reload. Save to first reloaded response: docs/runtime.md, "Hot reload" (``bench/reload_latency.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import importlib.util
import logging
import os
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatehold.config import ConfigError, LoadedConfig
from gatehold.runtime import modules

if TYPE_CHECKING:
    import httpx

    from gatehold.gateway.app import GatewayApp
    from gatehold.gateway.http1 import GatewayHttpServer
    from gatehold.importers import ImportOptions
    from gatehold.runtime.context import FunctionSpec
    from gatehold.runtime.invoker import LambdaInvoker

log = logging.getLogger("gatehold.reload")

#: watchfiles: the changes are yielded once none came for STEP_MS ...
STEP_MS = 30
#: ... and at most DEBOUNCE_MS after the first one (a stream of writes does not delay a reload)
DEBOUNCE_MS = 300

#: a gateway process collects a replaced app's garbage once no request was in flight for IDLE_S ...
IDLE_S = 1.0
#: ... or COLLECT_WITHIN_S after the swap at the latest
COLLECT_WITHIN_S = 30.0

#: directories below a watched root whose files never reload anything
IGNORED_DIRS = frozenset(
    {
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "site-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".aws-sam",
        ".serverless",
    }
)


#: the source files of Python and Node.js handlers
SOURCE_SUFFIXES = frozenset({".py", ".js", ".mjs", ".cjs"})


def is_source_file(path: Path) -> bool:
    """A Python or JavaScript source file, not an editor's lock, swap or backup file (``.#app.py`` is
    Emacs's lock; ``.app.py.swp``, ``app.py~``, ``#app.py#`` and ``4913`` do not end in ``.py``)."""
    return path.suffix in SOURCE_SUFFIXES and not path.name.startswith(".#")


# --------------------------------------------------------------------------------------------------
# what is watched, and what a changed path means (pure)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What a batch of file events means: configuration files, and code files with their functions."""

    config: tuple[Path, ...] = ()
    code: Mapping[Path, tuple[str, ...]] = field(default_factory=dict)

    @property
    def functions(self) -> list[str]:
        """Every function whose code changed, sorted."""
        return sorted({name for names in self.code.values() for name in names})

    def __bool__(self) -> bool:
        return bool(self.config or self.code)


@dataclass(frozen=True)
class WatchPlan:
    """The code directories (with their functions) and configuration files hot reload watches."""

    code_dirs: Mapping[Path, tuple[str, ...]]
    config_files: frozenset[Path]
    #: never reload for anything below these (the data directory)
    ignored: tuple[Path, ...] = ()

    def recursive_roots(self) -> tuple[Path, ...]:
        """The code directories, each once (one inside another is watched with it)."""
        dirs = sorted(self.code_dirs)
        return tuple(d for d in dirs if not any(d != o and d.is_relative_to(o) for o in dirs))

    def file_roots(self) -> tuple[Path, ...]:
        """The directories of the configuration files that no code directory already covers."""
        parents = {f.parent for f in self.config_files}
        roots = self.recursive_roots()
        return tuple(sorted(p for p in parents if not any(p.is_relative_to(r) for r in roots)))

    def classify_path(self, path: Path) -> tuple[str, tuple[str, ...]] | None:
        """``("config", ())``, ``("code", functions)``, or ``None`` (ignored)."""
        if any(path.is_relative_to(d) for d in self.ignored):
            return None
        if path in self.config_files:
            return ("config", ())
        if not is_source_file(path):
            return None
        functions: set[str] = set()
        for directory, names in self.code_dirs.items():
            if path.is_relative_to(directory):
                below = path.relative_to(directory).parts[:-1]
                if not IGNORED_DIRS.intersection(below):
                    functions.update(names)
        return ("code", tuple(sorted(functions))) if functions else None

    def relevant(self, path: str) -> bool:
        """The watcher's filter: does this path matter at all?"""
        return self.classify_path(Path(path)) is not None

    def snapshot(self) -> Snapshot:
        """Each watched file's stamp now (what a watcher started later compares against, so an edit
        made while no watcher was set is not lost)."""
        files = set(self.config_files)
        for root in self.recursive_roots():
            for directory, subdirs, names in os.walk(root):
                subdirs[:] = [d for d in subdirs if d not in IGNORED_DIRS]
                files.update(Path(directory, name) for name in names if is_source_file(Path(name)))
        return {path: _stamp(path) for path in files if self.classify_path(path) is not None}

    def classify(self, paths: Iterable[str | Path]) -> Changes:
        config: list[Path] = []
        code: dict[Path, tuple[str, ...]] = {}
        for raw in paths:
            path = Path(raw)
            kind = self.classify_path(path)
            if kind is None:
                continue
            if kind[0] == "config":
                config.append(path)
            else:
                code[path] = kind[1]
        return Changes(tuple(sorted(set(config))), code)


#: a file's (mtime_ns, size, inode), or None when it does not exist
Stamp = tuple[int, int, int] | None
Snapshot = dict[Path, Stamp]


def _stamp(path: Path) -> Stamp:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def changed_since(before: Snapshot, after: Snapshot) -> set[str]:
    """The paths added, removed or changed between two snapshots."""
    return {str(path) for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def plan_for(loaded: LoadedConfig, specs: Mapping[str, FunctionSpec], data_dir: Path | None) -> WatchPlan:
    """What to watch for this configuration: every function's code directory (none in Gatehold, the
    standard library or site-packages) and every file the configuration was read from."""
    code_dirs: dict[Path, list[str]] = {}
    for name, spec in specs.items():
        directory = modules.code_directory(spec)
        if directory is not None:
            code_dirs.setdefault(directory, []).append(name)
    files = set(loaded.files) or ({loaded.path} if loaded.path else set())
    config_files = frozenset(Path(f).resolve() for f in files if not modules.is_library(f))
    ignored = (data_dir.resolve(),) if data_dir is not None else ()
    return WatchPlan({d: tuple(sorted(n)) for d, n in code_dirs.items()}, config_files, ignored)


def watched_snapshot(loaded: LoadedConfig, data_dir: Path | None) -> Snapshot:
    """The stamps of what hot reload will watch for ``loaded`` (taken when it was read)."""
    from gatehold.runtime.invoker import function_specs

    return plan_for(loaded, function_specs(loaded), data_dir).snapshot()


def forget_bytecode(path: Path) -> None:
    """Remove the cached bytecode of a changed source file: Python trusts a ``.pyc`` whose recorded
    mtime (whole seconds) and size match the source, so an edit within the same second that keeps the
    size would otherwise run the old code."""
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        os.remove(importlib.util.cache_from_source(str(path)))


# --------------------------------------------------------------------------------------------------
# the supervisor's side: watch, validate once, say what changed
# --------------------------------------------------------------------------------------------------


def _routes(loaded: LoadedConfig) -> set[str]:
    return {f"{api_name} {key}" for api_name, api in loaded.config.apis.items() for key in api.routes}


def _names(paths: Iterable[Path]) -> str:
    return ", ".join(str(p) for p in paths)


@dataclass(frozen=True)
class Reload:
    """What a batch of changes means for the processes: the functions whose code changed, and the
    new configuration when one was validated (``previous`` is the one it replaces)."""

    functions: tuple[str, ...] = ()
    config: LoadedConfig | None = None
    previous: LoadedConfig | None = None


class Reloader:
    """Hot reload as the supervisor (``gatehold up``) runs it: watches the files, checks a changed
    configuration once (as ``gatehold check`` does), prints what changed or what is wrong, and
    hands each accepted batch to ``notify`` (which tells the gateway processes, and the identity
    provider when its ``tenant:`` section changed)."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        config_path: Path | None,
        variables: Mapping[str, str],
        options: ImportOptions,
        data_dir: Path | None = None,
        notify: Callable[[Reload], None] | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        """``snapshot``: the watched files' stamps when ``loaded`` was read (else now); what changed
        since is reloaded as soon as the watchers are set."""
        self.loaded = loaded
        self.config_path = config_path
        self.variables = dict(variables)
        self.options = options
        self.data_dir = data_dir
        self.notify = notify
        self.watching: WatchPlan | None = None
        self.snapshot = snapshot
        self._lock = asyncio.Lock()  # one reload at a time

    def specs(self, loaded: LoadedConfig | None = None) -> dict[str, FunctionSpec]:
        from gatehold.runtime.invoker import function_specs

        return function_specs(loaded or self.loaded)

    def plan(self) -> WatchPlan:
        return plan_for(self.loaded, self.specs(), self.data_dir)

    # -- applying changes ----------------------------------------------------------------------------

    async def apply(self, changes: Changes) -> bool:
        """Apply a batch of changes; ``False`` when a configuration change was refused."""
        async with self._lock:
            previous = self.loaded
            if changes.code:
                self.code_changed(changes)
            loaded = await self.reload_config(changes.config) if changes.config else None
            reload = Reload(tuple(changes.functions), loaded, previous)
            if self.notify is not None and (reload.functions or reload.config is not None):
                self.notify(reload)
            return loaded is not None or not changes.config

    def code_changed(self, changes: Changes) -> None:
        for path in changes.code:
            forget_bytecode(path)
        for path, functions in sorted(changes.code.items()):
            log.info(
                "%s changed: %s reload%s on %s next invocation",
                path,
                ", ".join(functions),
                "" if len(functions) > 1 else "s",
                "their" if len(functions) > 1 else "its",
                extra={"event": "reload", "file": str(path), "functions": list(functions)},
            )

    async def reload_config(self, files: tuple[Path, ...]) -> LoadedConfig | None:
        """Load and check the configuration (off the event loop); the new one, or None (every problem
        printed) when the current one is to keep serving."""
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(self._load)
        except ConfigError as exc:
            self._refused(files, exc)
            return None
        except Exception:
            log.exception(
                "configuration reload failed; the previous configuration keeps serving",
                extra={"event": "reload_refused"},
            )
            return None
        previous, self.loaded = self.loaded, loaded
        self._report(files, previous, loaded, time.perf_counter() - started)
        return loaded

    def _load(self) -> LoadedConfig:
        """``gatehold check``'s loading and checks (ConfigError with every problem)."""
        from gatehold.cli.common import example_config_path, validate
        from gatehold.config import load_config

        target = self.config_path or example_config_path()
        loaded = load_config(target, variables=self.variables, options=self.options)
        problems, warnings = validate(loaded)
        if problems:
            raise ConfigError(problems)
        for warning in warnings:
            log.warning("%s", warning, extra={"event": "reload"})
        return loaded

    def _refused(self, files: tuple[Path, ...], exc: ConfigError) -> None:
        from gatehold.cli.common import print_problems

        print_problems(_names(files) or self.config_path, exc)
        log.warning(
            "%s: %d configuration problem%s; the previous configuration keeps serving",
            _names(files) or self.config_path,
            len(exc.problems),
            "" if len(exc.problems) == 1 else "s",
            extra={"event": "reload_refused", "problems": [str(p) for p in exc.problems]},
        )

    def _report(
        self, files: tuple[Path, ...], previous: LoadedConfig, loaded: LoadedConfig, elapsed_s: float
    ) -> None:
        old_routes, new_routes = _routes(previous), _routes(loaded)
        added, removed = sorted(new_routes - old_routes), sorted(old_routes - new_routes)
        before, after = self.specs(previous), self.specs(loaded)
        restarted = sorted(name for name in after if name in before and after[name] != before[name])
        parts = [f"{len(loaded.config.apis)} APIs, {len(new_routes)} routes"]
        if added:
            parts.append("routes added: " + ", ".join(added))
        if removed:
            parts.append("routes removed: " + ", ".join(removed))
        if restarted:
            parts.append("functions with new settings: " + ", ".join(restarted))
        log.info(
            "%s changed: configuration reloaded in %.0f ms (%s)",
            _names(files) or self.config_path,
            elapsed_s * 1000,
            "; ".join(parts),
            extra={"event": "reload", "routes_added": added, "routes_removed": removed},
        )

    # -- watching ------------------------------------------------------------------------------------

    def _relevant(self, _change: Any, path: str) -> bool:
        """The watchers' filter, by the plan of the moment."""
        return self.watching is not None and self.watching.relevant(path)

    async def watch(self) -> None:
        """Watch the plan's files until cancelled, applying each batch of changes; the plan is
        computed again after each batch (a reloaded configuration may name other files)."""
        logging.getLogger("watchfiles").setLevel(logging.WARNING)  # its "N changes detected" lines
        plan = self.watching = self.plan()
        if not plan.code_dirs and not plan.config_files:
            log.info(
                "hot reload: nothing to watch (no function code or configuration file outside the"
                " Gatehold package and site-packages)",
                extra={"event": "watching"},
            )
            return
        log.info(
            "hot reload: watching %d code director%s and %d configuration file%s",
            len(plan.code_dirs),
            "y" if len(plan.code_dirs) == 1 else "ies",
            len(plan.config_files),
            "" if len(plan.config_files) == 1 else "s",
            extra={
                "event": "watching",
                "code_dirs": [str(d) for d in plan.code_dirs],
                "config_files": [str(f) for f in sorted(plan.config_files)],
            },
        )
        # the stamps a new watcher's first look compares with: an edit made before it was set (while
        # the stack started, or while the watchers moved) is reloaded then, not lost
        stamps = self.snapshot if self.snapshot is not None else plan.snapshot()
        while True:
            roots = (plan.recursive_roots(), plan.file_roots())
            if not roots[0] and not roots[1]:
                return
            async with contextlib.aclosing(_watch(roots, self._relevant)) as batches:
                async for batch in batches:
                    paths = batch if batch is not None else changed_since(stamps, plan.snapshot())
                    changes = plan.classify(paths)
                    if changes:
                        await self.apply(changes)
                    new_plan = self.plan()
                    moved = (new_plan.recursive_roots(), new_plan.file_roots()) != roots
                    plan = self.watching = new_plan
                    if moved:  # other directories: watch those instead (the old ones until then)
                        stamps = plan.snapshot()
                        break


# --------------------------------------------------------------------------------------------------
# a gateway process's side: apply what the supervisor reports
# --------------------------------------------------------------------------------------------------


class GatewayReloader:
    """The gateway a gateway process serves, and what a reload the supervisor reports changes in it
    (``{"functions": [...], "config": LoadedConfig | None}``, :meth:`follow`)."""

    def __init__(
        self, loaded: LoadedConfig, invoker: LambdaInvoker, app: GatewayApp, *, http_client: httpx.AsyncClient
    ) -> None:
        self.loaded = loaded
        self.invoker = invoker
        self.app = app
        self.http_client = http_client
        self.server: GatewayHttpServer | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._collecting: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def follow(self, message: Mapping[str, Any]) -> None:
        async with self._lock:
            functions = [str(f) for f in message.get("functions", ())]
            if functions:
                importlib.invalidate_caches()
                self.invoker.code_changed(functions)
            loaded = message.get("config")
            if loaded is not None:
                await self.swap(loaded)

    async def swap(self, loaded: LoadedConfig) -> None:
        """Serve ``loaded`` (checked by the supervisor): a new gateway app whose invoker keeps the
        sandboxes of the functions whose settings did not change, built off the event loop; requests
        being answered finish on the previous app, whose sandboxes close once they are done."""
        current = self.invoker
        try:
            successor, app = await asyncio.to_thread(self._prepare, current, loaded)
        except Exception:
            log.exception(
                "configuration reload failed in this gateway process; it keeps the previous configuration",
                extra={"event": "reload_refused"},
            )
            return
        previous_app = self.app
        dropped = current.hand_over(successor)
        self.loaded, self.invoker, self.app = loaded, successor, app
        in_flight = self.server.replace_app(app) if self.server is not None else set()
        task = asyncio.create_task(self._retire(in_flight, dropped, previous_app))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    def _prepare(self, current: LambdaInvoker, loaded: LoadedConfig) -> tuple[LambdaInvoker, GatewayApp]:
        from gatehold.gateway.app import GatewayApp
        from gatehold.runtime.invoker import function_specs

        successor = current.successor(function_specs(loaded))
        return successor, GatewayApp(loaded, successor, http_client=self.http_client, redis=self.app.redis)

    async def _retire(self, in_flight: set[asyncio.Task[None]], dropped: list[Any], app: GatewayApp) -> None:
        """Once the requests the previous app was answering are done, close what only it used."""
        from gatehold.runtime.invoker import close_sandboxes

        if in_flight:
            await asyncio.wait(in_flight)
        await close_sandboxes(dropped)
        await app.aclose()
        if gc.get_freeze_count() and self._collecting is None:
            self._collecting = asyncio.create_task(self._collect_when_idle())

    async def _collect_when_idle(self) -> None:
        """Let the collector have the previous app: the process froze what start-up built out of its
        way (``gc.freeze``), the previous app's cycles included. A full collection of the process
        takes ≈ 0.1 s (the example stack's gateway), so it waits until no request has been in
        flight for :data:`IDLE_S` (:data:`COLLECT_WITHIN_S` at most), then freezes what is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COLLECT_WITHIN_S
        idle_since = loop.time()
        try:
            while loop.time() - idle_since < IDLE_S and loop.time() < deadline:
                await asyncio.sleep(0.1)
                if self.server is not None and self.server.tasks:
                    idle_since = loop.time()
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        finally:
            self._collecting = None

    async def aclose(self) -> None:
        """Wait for the previous configurations' sandboxes to be closed (shutdown)."""
        if self._collecting is not None:
            self._collecting.cancel()
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)


async def _watch(
    roots: tuple[tuple[Path, ...], tuple[Path, ...]], relevant: Callable[[Any, str], bool]
) -> AsyncGenerator[set[str] | None, None]:
    """``None`` once the watches are set, then the changed paths, batch by batch, from a recursive
    watcher over the code directories and a flat one over the configuration files' directories (an
    async generator)."""
    queue: asyncio.Queue[set[str]] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_watcher(list(paths), recursive, relevant, queue))
        for paths, recursive in ((roots[0], True), (roots[1], False))
        if paths
    ]
    try:
        # a watcher's first step sets its watches (watchfiles creates its notifier before it first
        # waits): one turn of the loop
        await asyncio.sleep(0)
        yield None
        while True:
            paths = await queue.get()
            while not queue.empty():  # both watchers saw the save: one batch
                paths |= queue.get_nowait()
            yield paths
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _watcher(
    paths: list[Path], recursive: bool, relevant: Callable[[Any, str], bool], queue: asyncio.Queue[set[str]]
) -> None:
    import watchfiles

    existing = [p for p in paths if p.is_dir()]
    if not existing:
        return
    polling = None
    while True:
        try:
            async for batch in watchfiles.awatch(
                *existing,
                watch_filter=relevant,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                recursive=recursive,
                force_polling=polling,
                ignore_permission_denied=True,
            ):
                queue.put_nowait({path for _change, path in batch})
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # inotify instances or watches exhausted: poll instead
            if polling:
                log.error("hot reload: cannot watch %s: %s", _names(existing), exc)
                return
            log.warning(
                "hot reload: file notifications unavailable (%s); polling %s instead", exc, _names(existing)
            )
            polling = True
