"""Find a Python handler without running its module: ``gatehold check`` and ``gatehold up`` use this
to report a missing module or function before the first request, not as a 502 at request time.

The module is found the way the runtime imports it (the function's ``code_path`` first, then
``sys.path``), by walking the import system's path finders, which read directories and never
execute a module: a package's ``__init__.py`` is not run either. The module's source is then parsed
(:mod:`ast`) and its top-level bindings read: ``def``/``async def``/``class``, assignments and
imports, also inside top-level ``if``/``try``/``with`` blocks. What cannot be decided without running
the module is said, not guessed: a ``from x import *``, a module-level ``__getattr__``, a compiled
extension module.

Messages are the ones Lambda's Python runtime gives for the same mistakes (``Unable to import module
'app': No module named 'app'``, ``Handler 'handler' missing on module 'app'``), with where it looked.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class HandlerCheck:
    """``status``: ``ok``, ``missing`` (an error), or ``unknown`` (could not be decided statically)."""

    status: Literal["ok", "missing", "unknown"]
    message: str
    file: Path | None = None
    line: int | None = None


def _find_module(modname: str, roots: list[str]) -> ModuleSpec | None:
    spec: ModuleSpec | None = None
    locations: list[str] | None = roots
    parts = modname.split(".")
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        if locations is None:
            return None
        spec = PathFinder.find_spec(name, locations)
        if spec is None:
            return None
        search = spec.submodule_search_locations
        locations = list(search) if search is not None else None
    return spec


def _bindings(tree: ast.Module) -> tuple[dict[str, int], str | None]:
    """Top-level names bound by ``tree`` (name → line), and why the list may be incomplete."""
    names: dict[str, int] = {}
    unsure: str | None = None

    def visit(body: list[ast.stmt]) -> None:
        nonlocal unsure
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.setdefault(node.name, node.lineno)
                if node.name == "__getattr__":
                    unsure = "the module defines __getattr__"
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            names.setdefault(leaf.id, node.lineno)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
                names.setdefault(node.target.id, node.lineno)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    if alias.name == "*":
                        unsure = f"the module star-imports from {getattr(node, 'module', None) or '.'}"
                        continue
                    bound = alias.asname or alias.name.split(".")[0]
                    names.setdefault(bound, node.lineno)
            elif isinstance(node, ast.If | ast.While | ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
                visit(node.body)
                visit(getattr(node, "orelse", []))
            elif isinstance(node, ast.Try | ast.TryStar):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return names, unsure


def function_code_path(handler: str, code_path: str | None, base_dir: Path) -> Path | None:
    """Where a function's handler module is imported from: its ``code_path`` (relative to the
    configuration file), else the configuration file's directory when the module is there
    (``handler: app.handler`` beside ``gatehold.yaml``), else nowhere in particular (``sys.path``)."""
    if code_path is not None:
        return (base_dir / code_path).resolve()
    top = handler.rpartition(".")[0].replace("/", ".").split(".")[0]
    if (base_dir / f"{top}.py").is_file() or (base_dir / top).is_dir():
        return base_dir.resolve()
    return None


def check_handler(handler: str, code_path: Path | None, sys_path: list[str] | None = None) -> HandlerCheck:
    """Is ``module.function`` importable from ``code_path`` (then ``sys.path``), without running it?"""
    modname, _, fname = handler.rpartition(".")
    modname = modname.replace("/", ".")
    roots = [str(code_path)] if code_path is not None else []
    roots += [p or str(Path.cwd()) for p in (sys.path if sys_path is None else sys_path)]
    where = f" (looked in {code_path})" if code_path is not None else ""
    if modname.split(".")[0] in sys.builtin_module_names:
        return HandlerCheck("missing", f"Cannot use built-in module {modname} as a handler module")
    try:
        spec = _find_module(modname, roots)
    except (ImportError, ValueError) as exc:  # a finder refusing a malformed name
        return HandlerCheck("missing", f"Unable to import module '{modname}': {exc}{where}")
    if spec is None:
        return HandlerCheck(
            "missing", f"Unable to import module '{modname}': No module named '{modname}'{where}"
        )
    origin = spec.origin
    if origin is None or origin in ("built-in", "frozen"):
        return HandlerCheck("unknown", f"module '{modname}' is a namespace package: not checked")
    path = Path(origin)
    if path.suffix != ".py":
        return HandlerCheck("unknown", f"module '{modname}' is compiled ({path.name}): not checked", path)
    try:
        source = path.read_bytes()
    except OSError as exc:
        return HandlerCheck("missing", f"Unable to import module '{modname}': {exc.strerror}", path)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        return HandlerCheck(
            "missing",
            f"Syntax error in module '{modname}': {exc.msg} ({path}:{exc.lineno})",
            path,
            exc.lineno,
        )
    names, unsure = _bindings(tree)
    if fname in names:
        return HandlerCheck("ok", f"{path}:{names[fname]}", path, names[fname])
    if unsure is not None:
        return HandlerCheck("unknown", f"'{fname}' not found in {path}, but {unsure}: not checked", path)
    return HandlerCheck("missing", f"Handler '{fname}' missing on module '{modname}' ({path})", path)
