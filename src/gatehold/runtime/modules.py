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
directory vendors its own copy; a package also installed in Gatehold's environment and vendored in
several code directories is kept apart only where the handlers import it at module level; a
function can import at call time a module only another function's directory has; while a handler
is being imported (first invocation, or after a reload), a *lazy* import of a shared name by another
function's running handler may see the module tables of the import in progress.
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
from collections.abc import Iterable, Iterator
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

    def __init__(self, directory: Path | None, path_entry: str | None) -> None:
        self.directory = directory
        self.prefix = str(directory).rstrip(os.sep) + os.sep if directory is not None else None
        #: what goes first on sys.path while importing (the code_path); None: found on sys.path
        self.path_entry = path_entry
        #: the top-level modules and packages of the directory (those the process had not imported)
        self.provides: frozenset[str] = frozenset()
        #: the modules it imported: in its directory, or under a name another namespace has too
        self.modules: dict[str, types.ModuleType] = {}
        self.generation = 0  # bumped by invalidate() (on the loop's thread, without the lock)
        self.loaded_generation = 0
        self.sandboxes: weakref.WeakSet[Resettable] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"Namespace({str(self.directory)!r}, {len(self.modules)} modules)"

    def owns_file(self, file: str) -> bool:
        if self.prefix is None:
            return False
        real = os.path.realpath(file)
        return real.startswith(self.prefix) and not is_library(real)

    def has(self, name: str) -> bool:
        """Does this namespace have its own ``name`` (imported, or in its directory)?"""
        return name in self.modules or name.partition(".")[0] in self.provides

    def invalidate(self) -> None:
        """Its code changed: every function of this directory imports its modules afresh on its next
        invocation (the modules are dropped then, under :data:`LOCK`)."""
        self.generation += 1
        for sandbox in list(self.sandboxes):
            sandbox.reset()

    def refresh(self) -> None:
        """(Caller holds :data:`LOCK`.) List the directory's modules again and put the shared names'
        stand-ins in ``sys.modules``."""
        if self.directory is None:
            return
        listed = _top_level_names(self.directory)
        for name in listed:
            _adopt(name)
        # the process's own modules (imported, or installed where it imports from) are not this
        # directory's to provide: a copy vendored here is its own only once its handler imports it
        search = base_sys_path()
        process = {
            n
            for n in listed
            if not any(ns.has(n) for ns in _everyone())
            and (
                n in sys.modules or ((found := find_module_file(n, search)) is not None and is_library(found))
            )
        }
        previous, self.provides = self.provides, frozenset(listed - process)
        _reconcile(previous | self.provides, {})

    def load(self, handler_name: str) -> tuple[Handler, bool]:
        """Import ``handler_name`` in this namespace (caller holds :data:`LOCK`): the handler, and
        whether no :meth:`invalidate` came meanwhile (else the caller should not keep it)."""
        generation = self.generation
        if self.loaded_generation != generation:
            dropped, self.modules = self.modules, {}
            self.loaded_generation = generation
            importlib.invalidate_caches()  # new files in the directory are seen
            for name in dropped:
                sys.modules.pop(name, None)
            self.refresh()
        with self._importing():
            handler = load_handler(handler_name)
        return handler, self.generation == generation

    def import_module(self, name: str) -> types.ModuleType:
        """(Caller holds :data:`LOCK`.) ``import name`` as code in this namespace sees it."""
        with self._importing():
            return importlib.import_module(name)

    @contextlib.contextmanager
    def _importing(self) -> Iterator[None]:
        """(Caller holds :data:`LOCK`.) ``sys.path`` and ``sys.modules`` as this namespace's imports
        see them: its directory first and the other code directories off ``sys.path``; its own
        modules in ``sys.modules``, the other namespaces' and the shared names' out. Afterwards the
        modules the import added are recorded (those in this directory, and those under a name
        another namespace has too) and ``sys.modules`` is reconciled."""
        everyone = _everyone()
        contested = {n for ns in everyone if ns is not self for n in (*ns.modules, *ns.provides)}
        modules = sys.modules
        touched = contested | set(self.modules) | self.provides
        stash = {name: modules.pop(name) for name in touched if name in modules}
        modules.update(self.modules)
        other_entries = {ns.path_entry for ns in everyone if ns is not self and ns.path_entry is not None}
        saved_path = list(sys.path)
        own = self.path_entry
        sys.path[:] = ([own] if own else []) + [p for p in saved_path if p != own and p not in other_entries]
        before = set(list(modules))
        try:
            yield
        finally:
            for name in [n for n in list(modules) if n not in before]:
                module = modules[name]
                origin = _origin(module)
                if name.partition(".")[0] in contested or (origin is not None and self.owns_file(origin)):
                    self.modules[name] = module
                    touched.add(name)
            sys.path[:] = saved_path
            if own is not None and own not in sys.path:
                sys.path.insert(0, own)  # LAMBDA_TASK_ROOT stays first, for imports at call time
                _inserted.add(own)
            _reconcile(touched, stash)

    def forget(self) -> None:
        """No function uses this directory any more: its modules leave ``sys.modules``."""
        with LOCK:
            names = set(self.modules) | self.provides
            self.modules, self.provides = {}, frozenset()
            _reconcile(names, {})


#: what code outside every code directory gets under a name several directories have
_OUTSIDE = Namespace(None, None)


def _everyone() -> list[Namespace]:
    return [*_namespaces.values(), _OUTSIDE]


def _top_level_names(directory: Path) -> set[str]:
    """The modules and (regular) packages directly in ``directory``."""
    suffixes = importlib.machinery.all_suffixes()
    names: set[str] = set()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return names
    for entry in entries:
        name = entry.name
        if entry.is_dir():
            if os.path.exists(os.path.join(entry.path, "__init__.py")) and name.isidentifier():
                names.add(name)
            continue
        for suffix in suffixes:
            if name.endswith(suffix):
                stem = name[: -len(suffix)]
                if stem.isidentifier() and stem != "__init__":
                    names.add(stem)
                break
    return names


def _adopt(name: str) -> None:
    """A module ``name`` (or its submodules) that a handler imported at call time, outside
    :func:`load`, belongs to the namespace whose directory holds it."""
    for module_name in [n for n in list(sys.modules) if n == name or n.startswith(name + ".")]:
        module = sys.modules.get(module_name)
        if module is None or type(module) is SharedModule:
            continue
        if any(module_name in ns.modules for ns in _everyone()):
            continue
        origin = _origin(module)
        if origin is None:
            continue
        for ns in sorted(_namespaces.values(), key=lambda n: -len(n.prefix or "")):
            if ns.owns_file(origin):
                ns.modules[module_name] = module
                break


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
            namespace.refresh()
        elif namespace.path_entry is None and entry is not None:
            namespace.path_entry = entry
        return namespace


def namespaces() -> list[Namespace]:
    """Every code directory's namespace so far."""
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


def _reconcile(names: Iterable[str], stash: dict[str, types.ModuleType]) -> None:
    """``sys.modules[name]`` for each of ``names``: a :class:`SharedModule` when several namespaces
    have their own ``name``, else the one owner's module, else what was there (``stash``)."""
    modules = sys.modules
    everyone = _everyone()
    for name in names:
        having = [ns for ns in everyone if ns.has(name)]
        current = modules.get(name, stash.get(name))
        if len(having) > 1:
            modules[name] = current if type(current) is SharedModule else SharedModule(name)
        elif having and name in having[0].modules:
            modules[name] = having[0].modules[name]
        elif current is not None and type(current) is not SharedModule:
            modules[name] = current
        else:
            modules.pop(name, None)


def _calling_namespace() -> tuple[Namespace, bool]:
    """The namespace of the innermost calling frame in a code directory (the deepest directory when
    they nest), else :data:`_OUTSIDE`; and whether that frame is the immediate caller (the code
    that reads the attribute, rather than a library it called)."""
    candidates = sorted(_namespaces.values(), key=lambda n: -len(n.prefix or ""))
    frame = sys._getframe(3)
    immediate = True
    while frame is not None:
        file = frame.f_code.co_filename
        for ns in candidates:
            if ns.prefix is not None and file.startswith(ns.prefix):
                return ns, immediate
        frame = frame.f_back  # type: ignore[assignment]
        immediate = False
    return _OUTSIDE, False


def _resolve(name: str) -> types.ModuleType:
    """The module ``name`` as the calling code's namespace has it, imported there on first use.

    When that import fails, the function's own code gets the ``ModuleNotFoundError`` Lambda would
    have raised (at the first use of the name rather than at the ``import`` statement, whose error
    Python swallows for a module already in ``sys.modules``); a library looking around
    (``hasattr``, ``getattr`` with a default) gets an ``AttributeError``."""
    namespace, immediate = _calling_namespace()
    module = namespace.modules.get(name)
    if module is not None:
        return module
    try:
        with LOCK:
            return namespace.modules.get(name) or namespace.import_module(name)
    except ImportError as exc:
        if immediate:
            raise
        raise AttributeError(f"module {name!r}: {exc}") from None


class SharedModule(types.ModuleType):
    """``sys.modules[name]`` when several code directories each have a module ``name`` (module
    docstring): its attributes are those of the calling code's own module."""

    def __getattribute__(self, attr: str) -> Any:
        if attr == "__class__":
            return SharedModule
        return getattr(_resolve(types.ModuleType.__getattribute__(self, "__name__")), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(_resolve(types.ModuleType.__getattribute__(self, "__name__")), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_resolve(types.ModuleType.__getattribute__(self, "__name__")), attr)

    def __repr__(self) -> str:
        return f"<module {types.ModuleType.__getattribute__(self, '__name__')!r} (one per code directory)>"
