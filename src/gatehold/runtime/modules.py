"""Each function's own modules in thread isolation: code directories as module namespaces.

In Lambda every function has its own process, so two functions whose code each holds an ``app.py``
with ``Handler: app.lambda_handler`` (the ``sam init`` layout, twice) each run their own ``app``.
In thread isolation the functions share this process, its ``sys.path`` and its ``sys.modules``:
without care the second function would import ``app``, find the first one's in ``sys.modules``,
and silently run it. So the functions' modules are kept apart by *code directory*:

* A :class:`Namespace` is one code directory: the function's ``code_path`` (``LAMBDA_TASK_ROOT``),
  or, for a function without one, the directory of its handler module as found on ``sys.path``
  (without importing it: :func:`find_module_file`). Functions with the same code directory share
  it, and their modules, as before (the example stack's two unicorn functions share one module).
  A handler in the Gatehold package, the standard library or site-packages has no namespace.
* A namespace *owns* the modules its handler's import added to ``sys.modules`` that live under its
  directory (and those whose name another namespace owns: a library one function vendors and
  another takes from site-packages). :func:`load` imports a handler with its own directory first
  on ``sys.path``, the other namespaces' directories off it, and the other namespaces' modules out
  of ``sys.modules``; afterwards ``sys.modules`` holds, for each owned name, its owner's module, or
  a :class:`SharedModule` when several namespaces own that name.
* A :class:`SharedModule` stands for a name several code directories define. Module-level imports
  are bound when the handler is imported, so it serves what runs later: an ``import utils`` inside
  a handler body, ``pickle``, ``typing.get_type_hints``, a pydantic model rebuilt on first use —
  each attribute is read from the module of the namespace whose code is calling (the innermost frame
  whose file lies in one of the owners' directories). This costs nothing per invocation; only code
  that reaches a shared name through ``sys.modules`` pays a short walk up the stack.
* :meth:`Namespace.invalidate` (hot reload) drops the namespace's modules: every function of that
  directory imports them afresh on its next invocation; other namespaces stay warm.

Limits (use ``isolation: process`` where they matter): modules the Gatehold process had already
imported (pydantic, httpx, …) are shared, as Lambda's bootstrap modules are, even when a code
directory vendors its own copy; while a handler is being imported (first invocation, or after a
reload), a *lazy* import of a shared name by another function's running handler may see the module
tables of the import in progress.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.machinery
import os
import site
import sys
import sysconfig
import threading
import types
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import gatehold
from gatehold.runtime.handler import Handler, load_handler

if TYPE_CHECKING:
    from gatehold.runtime.context import FunctionSpec

#: held while ``sys.path`` and ``sys.modules`` are rearranged for an import (re-entrant)
LOCK = threading.RLock()
_namespaces: dict[Path, Namespace] = {}
_inserted: set[str] = set()  # code directories put on sys.path by load()


class Resettable(Protocol):
    """What a namespace resets when its code changes (a thread sandbox drops its loaded handler)."""

    def reset(self) -> None: ...


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    """Directories that never hold a function's own code: Gatehold, the standard library,
    site-packages."""
    roots = {str(Path(gatehold.__file__).resolve().parent)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(Exception):
            roots.add(os.path.realpath(sysconfig.get_path(key)))
    with contextlib.suppress(Exception):
        roots.update(os.path.realpath(p) for p in site.getsitepackages())
    with contextlib.suppress(Exception):
        roots.add(os.path.realpath(site.getusersitepackages()))
    return tuple(sorted(r.rstrip(os.sep) + os.sep for r in roots if r))


def is_library(path: str | Path) -> bool:
    """``path`` lies in the Gatehold package, the standard library or site-packages."""
    text = os.path.realpath(path).rstrip(os.sep) + os.sep
    return text.startswith(_library_prefixes())


def find_module_file(module_name: str, search_path: Iterable[str]) -> Path | None:
    """The file of ``module_name`` (dotted) as an import would find it on ``search_path``, without
    importing it or its parent packages (``importlib.machinery.PathFinder`` only looks)."""
    path: list[str] | None = list(search_path)
    spec = None
    parts = module_name.split(".")
    for i in range(len(parts)):
        if path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), path)
        if spec is None:
            return None
        locations = spec.submodule_search_locations
        path = list(locations) if locations is not None else None
    if spec is None:
        return None
    if spec.origin and spec.has_location:
        return Path(spec.origin).resolve()
    if spec.submodule_search_locations:  # a namespace package: its first directory
        return Path(next(iter(spec.submodule_search_locations))).resolve() / "__init__.py"
    return None


def code_directory(spec: FunctionSpec) -> Path | None:
    """Where a function's own code lives: its ``code_path``, else the directory of its handler module
    found on ``sys.path``; ``None`` when that is in Gatehold, the standard library or site-packages
    (or the module cannot be found)."""
    if spec.code_path is not None:
        directory = Path(spec.code_path).resolve()
    else:
        module_name = spec.handler.rsplit(".", 1)[0].replace("/", ".")
        found = find_module_file(module_name, base_sys_path())
        if found is None:
            return None
        directory = found.parent
    return None if is_library(directory) else directory


def base_sys_path() -> list[str]:
    """``sys.path`` without the code directories :func:`load` added (what a worker process starts
    from, and where a handler without ``code_path`` is looked for)."""
    return [p for p in sys.path if p not in _inserted]


def _origin(module: Any) -> str | None:
    try:
        file = getattr(module, "__file__", None)
        if file:
            return str(file)
        locations = getattr(module, "__path__", None)  # a namespace package
        if locations:
            return str(next(iter(locations)))
    except Exception:  # an odd object in sys.modules
        return None
    return None


class Namespace:
    """One code directory's modules (module docstring)."""

    def __init__(self, directory: Path, path_entry: str | None) -> None:
        self.directory = directory
        self.prefix = str(directory).rstrip(os.sep) + os.sep
        #: what goes first on sys.path while importing (the code_path); None: found on sys.path
        self.path_entry = path_entry
        self.modules: dict[str, types.ModuleType] = {}
        self.generation = 0  # bumped by invalidate() (on the loop's thread, without the lock)
        self.loaded_generation = 0
        self.sandboxes: weakref.WeakSet[Resettable] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"Namespace({str(self.directory)!r}, {len(self.modules)} modules)"

    def owns_file(self, file: str) -> bool:
        real = os.path.realpath(file)
        return real.startswith(self.prefix) and not is_library(real)

    def invalidate(self) -> None:
        """Its code changed: every function of this directory imports its modules afresh on its next
        invocation (the modules are dropped then, under :data:`LOCK`)."""
        self.generation += 1
        for sandbox in list(self.sandboxes):
            sandbox.reset()

    def load(self, handler_name: str) -> tuple[Handler, bool]:
        """Import ``handler_name`` in this namespace (caller holds :data:`LOCK`): the handler, and
        whether no :meth:`invalidate` came meanwhile (else the caller should not keep it)."""
        generation = self.generation
        dropped: dict[str, types.ModuleType] = {}
        if self.loaded_generation != generation:
            dropped, self.modules = self.modules, {}
            self.loaded_generation = generation
            importlib.invalidate_caches()  # new files in the directory are seen
        others = {name for ns in _namespaces.values() if ns is not self for name in ns.modules}
        other_entries = {
            ns.path_entry for ns in _namespaces.values() if ns is not self and ns.path_entry is not None
        }
        touched = others | set(dropped) | set(self.modules)
        modules = sys.modules
        for name in touched:
            modules.pop(name, None)
        modules.update(self.modules)
        saved_path = list(sys.path)
        own = self.path_entry
        sys.path[:] = ([own] if own else []) + [p for p in saved_path if p != own and p not in other_entries]
        before = set(list(modules))
        try:
            handler = load_handler(handler_name)
        finally:
            for name in [n for n in list(modules) if n not in before]:
                module = modules[name]
                origin = _origin(module)
                if name in others or (origin is not None and self.owns_file(origin)):
                    self.modules[name] = module
                    touched.add(name)
            sys.path[:] = saved_path
            if own is not None and own not in sys.path:
                sys.path.insert(0, own)  # LAMBDA_TASK_ROOT stays first, for imports at call time
                _inserted.add(own)
            _reconcile(touched)
        return handler, self.generation == generation

    def forget(self) -> None:
        """No function uses this directory any more: its modules leave ``sys.modules``."""
        with LOCK:
            names, self.modules = set(self.modules), {}
            _reconcile(names)


def namespace_for(spec: FunctionSpec) -> Namespace | None:
    """The namespace of a thread-isolated function (shared by the functions of one code directory);
    ``None`` for a handler in Gatehold, the standard library or site-packages."""
    if spec.code_path is not None:
        directory = Path(spec.code_path).resolve()
        entry: str | None = str(spec.code_path)
    else:
        found = code_directory(spec)
        if found is None:
            return None
        directory, entry = found, None
    with LOCK:
        namespace = _namespaces.get(directory)
        if namespace is None:
            namespace = _namespaces[directory] = Namespace(directory, entry)
        elif namespace.path_entry is None and entry is not None:
            namespace.path_entry = entry
        return namespace


def namespaces() -> list[Namespace]:
    with LOCK:
        return list(_namespaces.values())


def load(namespace: Namespace | None, handler_name: str) -> tuple[Handler, bool]:
    """Import a thread-isolated function's handler: in its namespace, or plainly (no namespace)."""
    with LOCK:
        if namespace is None:
            return load_handler(handler_name), True
        return namespace.load(handler_name)


# --------------------------------------------------------------------------------------------------
# one name, several code directories
# --------------------------------------------------------------------------------------------------


def _reconcile(names: Iterable[str]) -> None:
    """``sys.modules[name]``: the one owner's module, a :class:`SharedModule`, or nothing."""
    modules = sys.modules
    for name in names:
        owners = [ns for ns in _namespaces.values() if name in ns.modules]
        if not owners:
            modules.pop(name, None)
        elif len(owners) == 1:
            modules[name] = owners[0].modules[name]
        else:
            current = modules.get(name)
            modules[name] = current if type(current) is SharedModule else SharedModule(name)


def _owner_module(name: str) -> types.ModuleType:
    """The module ``name`` of the namespace whose code is calling (the innermost frame in one of the
    owners' directories)."""
    owners = [ns for ns in _namespaces.values() if name in ns.modules]
    frame = sys._getframe(2)
    while frame is not None:
        file = frame.f_code.co_filename
        for ns in owners:
            if file.startswith(ns.prefix):
                return ns.modules[name]
        frame = frame.f_back  # type: ignore[assignment]
    where = ", ".join(str(ns.directory) for ns in owners)
    raise AttributeError(
        f"module {name!r} is defined by several functions' code directories ({where}) and the code "
        "reading it is in none of them"
    )


class SharedModule(types.ModuleType):
    """``sys.modules[name]`` when several code directories each have a module ``name`` (module
    docstring): attributes are those of the calling function's own module."""

    def __getattribute__(self, attr: str) -> Any:
        if attr == "__class__":
            return SharedModule
        return getattr(_owner_module(types.ModuleType.__getattribute__(self, "__name__")), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(_owner_module(types.ModuleType.__getattribute__(self, "__name__")), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_owner_module(types.ModuleType.__getattribute__(self, "__name__")), attr)

    def __repr__(self) -> str:
        return f"<module {types.ModuleType.__getattribute__(self, '__name__')!r} (one per code directory)>"
