"""Node.js functions: the installed ``node``, Lambda's handler resolution checked without running
code, and the :data:`~gatehold.runtime.environment.Launcher` of their execution environments.

A Node.js environment is ``node`` running Gatehold's runtime interface client (``bootstrap.js``,
package data, Node's own modules only) against the Runtime API the gateway serves it
(:mod:`gatehold.runtime.runtime_api`). ``node`` is started as Lambda's ``/var/runtime/bootstrap``
starts it: ``--expose-gc``, a tenth of ``memory_size`` for the young generation
(``--max-semi-space-size`` half of it) and the rest for the old one (``--max-old-space-size``), with
``NODE_PATH`` ending in the code directory.

The ``node`` used is the first on ``PATH`` (``GATEHOLD_NODE`` names another); its version is read
once, printed at start-up, and a function whose ``runtime`` names another major version is warned
about: the handler runs on the installed one.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gatehold.runtime import environ
from gatehold.runtime.environment import Environment, Launcher, PoolEvents
from gatehold.runtime.runtime_api import RuntimeApiEnvironment

if TYPE_CHECKING:
    from gatehold.runtime.context import FunctionSpec


def is_node(runtime: str) -> bool:
    return runtime.startswith("nodejs")


@dataclass(frozen=True)
class Node:
    path: str
    version: str  # "v20.20.2"

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


@functools.cache
def find_node() -> Node | None:
    """The ``node`` functions run on (``GATEHOLD_NODE``, else the first on ``PATH``), or None."""
    path = os.environ.get("GATEHOLD_NODE") or shutil.which("node")
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return Node(str(Path(path).resolve()), out.stdout.strip())


def task_root(code_path: str | None, base_dir: Path) -> Path:
    """A Node.js function's ``LAMBDA_TASK_ROOT``: its ``code_path`` (relative to the configuration
    file), else the configuration file's directory."""
    return (base_dir / code_path).resolve() if code_path is not None else base_dir.resolve()


def declared_major(runtime: str) -> int | None:
    match = re.fullmatch(r"nodejs(\d+)\.x", runtime)
    return int(match.group(1)) if match else None


def bootstrap_path() -> str:
    return str(resources.files("gatehold.runtime").joinpath("bootstrap.js"))


def node_argv(node: Node, memory_size: int) -> list[str]:
    """``node`` with Lambda's memory flags for ``memory_size`` MB, then Gatehold's bootstrap."""
    new_space = memory_size // 10
    return [
        node.path,
        "--expose-gc",
        f"--max-semi-space-size={max(1, new_space // 2)}",
        f"--max-old-space-size={memory_size - new_space}",
        bootstrap_path(),
    ]


def node_environment(spec: FunctionSpec) -> dict[str, str]:
    """The process environment plus what Lambda's Node.js runtime adds (``NODE_PATH``); Lambda's
    reserved variables and the function's own come on top (RuntimeApiEnvironment)."""
    env = environ.process_environ()
    root = str(spec.code_path) if spec.code_path else os.getcwd()
    env["NODE_PATH"] = os.pathsep.join(p for p in (env.get("NODE_PATH"), root) if p)
    return env


def launch(node: Node) -> Launcher:
    """The launcher of Node.js functions' execution environments."""

    def start(
        spec: FunctionSpec, events: PoolEvents, loop: asyncio.AbstractEventLoop, generation: int
    ) -> Environment:
        return RuntimeApiEnvironment(
            spec, events, loop, generation, node_argv(node, spec.memory_size), node_environment(spec)
        )

    return start


# -- the handler, found without running it --------------------------------------------------------

_EXTENSIONS = (".js", ".mjs", ".cjs")


@dataclass(frozen=True)
class NodeHandlerCheck:
    """``status``: ``ok``, ``missing`` (an error), or ``unknown`` (could not be decided statically)."""

    status: Literal["ok", "missing", "unknown"]
    message: str
    file: Path | None = None
    line: int | None = None


def handler_file(handler: str, code_path: Path) -> Path | None:
    """The file Lambda loads for ``handler`` (``src/app.handler`` → ``src/app`` + ``.js``, ``.mjs``
    or ``.cjs``, or the extensionless file), or None."""
    file = handler.rpartition("/")[2]
    module_root = handler[: len(handler) - len(file)]
    module = file.partition(".")[0]
    base = code_path / module_root / module
    if base.is_file():
        return base
    for ext in _EXTENSIONS:
        candidate = base.with_name(base.name + ext)
        if candidate.is_file():
            return candidate
    return None


_EXPORTS = (
    re.compile(r"^\s*(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=", re.M),
    re.compile(r"^\s*export\s+(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)", re.M),
    re.compile(r"^\s*export\s+(?:const|let|var|class)\s+([A-Za-z_$][\w$]*)", re.M),
    re.compile(r"Object\.defineProperty\(\s*(?:module\.)?exports\s*,\s*['\"]([A-Za-z_$][\w$]*)['\"]"),
)
_EXPORT_LISTS = (
    re.compile(r"^\s*export\s*\{([^}]*)\}", re.M),
    re.compile(r"^\s*module\.exports\s*=\s*\{([^}]*)\}", re.M),
)
#: what makes the list of exports undecidable without running the module
_DYNAMIC = re.compile(
    r"module\.exports\s*=\s*(?!\{)|exports\s*\[|export\s*\*|export\s+default|Object\.assign\(\s*(?:module\.)?exports"
)


def _exported(source: str) -> dict[str, int]:
    names: dict[str, int] = {}

    def add(name: str, pos: int) -> None:
        names.setdefault(name, source.count("\n", 0, pos) + 1)

    for pattern in _EXPORTS:
        for match in pattern.finditer(source):
            add(match.group(1), match.start())
    for pattern in _EXPORT_LISTS:
        for match in pattern.finditer(source):
            for item in match.group(1).split(","):
                item = item.strip()
                if not item or item.startswith("..."):
                    continue
                # `a as b` exports b; `b: a` / `b` in an object literal exports b
                name = item.split(" as ")[-1].split(":")[0].strip().split("(")[0].strip()
                name = name.removeprefix("async ").strip()
                if re.fullmatch(r"[A-Za-z_$][\w$]*", name):
                    add(name, match.start())
    return names


def check_handler(handler: str, code_path: Path) -> NodeHandlerCheck:
    """Does ``handler`` name a file of ``code_path`` and an export of it? The file as Lambda's
    runtime looks for it; the export by reading the module's export statements (never running it),
    "unknown" when they are computed (``module.exports = build()``, ``export *`` …)."""
    if ".." in handler:
        return NodeHandlerCheck(
            "missing",
            f"Runtime.MalformedHandlerName: '{handler}' is not a valid handler name. Use absolute paths"
            " when specifying root directories in handler names.",
        )
    file = handler.rpartition("/")[2]
    module, _, export = file.partition(".")
    path = handler_file(handler, code_path)
    if path is None:
        if (code_path / "node_modules" / module).exists():
            return NodeHandlerCheck("unknown", f"'{module}' is a package of node_modules: not checked")
        return NodeHandlerCheck(
            "missing",
            f"Runtime.ImportModuleError: Error: Cannot find module '{module}' (looked for"
            f" {code_path / handler[: len(handler) - len(file)] / module}.js, .mjs, .cjs)",
        )
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return NodeHandlerCheck("missing", f"Runtime.ImportModuleError: {path}: {exc.strerror}", path)
    first = export.split(".")[0]
    names = _exported(source)
    if first in names:
        return NodeHandlerCheck("ok", f"{path}:{names[first]}", path, names[first])
    if _DYNAMIC.search(source):
        return NodeHandlerCheck(
            "unknown", f"'{first}' not seen exported by {path}, whose exports are computed", path
        )
    return NodeHandlerCheck(
        "missing", f"Runtime.HandlerNotFound: {handler} is undefined or not exported ({path})", path
    )
