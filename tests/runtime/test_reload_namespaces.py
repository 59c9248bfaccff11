"""Functions that share module names, and reloading a function's code (gatehold.runtime.modules, the
invoker's code_changed / successor / hand_over), through real invokers.

Each test writes code directories into a temporary directory: `app.py` (the handler) and helper
modules, the `sam init` layout twice. In thread isolation the functions share this process; each must
still run its own modules, at import and at call time, and a reload must touch only the functions of
the changed directory.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatehold.config import load_config
from gatehold.reload import forget_bytecode
from gatehold.runtime import LambdaInvoker, build_invoker, modules
from gatehold.runtime.invoker import function_specs
from tests.runtime.support import error_type

MODES = [pytest.param("in-process", id="in-process"), pytest.param("process", id="process")]

APP = """\
import pickle
import sys

import helpers

VERSION = {version!r}
COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    import lazy  # first imported at call time, through sys.modules
    return {{
        "version": VERSION,
        "count": COUNT,
        "helper": helpers.WHO,
        "lazy": lazy.WHO,
        "pickled": pickle.loads(pickle.dumps(helpers.Thing())).who(),
        "app_in_sys_modules": sys.modules["app"].VERSION,
        "pid": __import__("os").getpid(),
    }}


def reads_environment(event, context):
    return {{"greeting": GREETING, "count": COUNT}}


GREETING = __import__("os").environ.get("GREETING")
"""

HELPERS = """\
WHO = {who!r}


class Thing:
    def who(self):
        return WHO
"""


def code_dir(root: Path, name: str, version: str = "v1") -> Path:
    directory = root / name
    directory.mkdir(exist_ok=True)
    (directory / "app.py").write_text(APP.format(version=f"{name} {version}"))
    (directory / "helpers.py").write_text(HELPERS.format(who=name))
    (directory / "lazy.py").write_text(f"WHO = {name!r}\n")
    return directory


@pytest.fixture
def forget_namespaces(tmp_path: Path) -> Iterator[None]:
    """The module names these tests use (`app`, `helpers`) leave sys.modules afterwards."""
    yield
    for namespace in modules.namespaces():
        if namespace.directory is not None and namespace.directory.is_relative_to(tmp_path):
            namespace.forget()


@pytest.fixture
async def invoker_for(tmp_path: Path, forget_namespaces: None) -> AsyncIterator[Callable[..., LambdaInvoker]]:
    made: list[LambdaInvoker] = []

    def make(functions: dict[str, Any], isolation: str = "in-process") -> LambdaInvoker:
        config = tmp_path / "gatehold.yaml"
        config.write_text(yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation}}))
        invoker = build_invoker(load_config(config))
        made.append(invoker)
        return invoker

    yield make
    for invoker in made:
        await invoker.aclose()


async def call(invoker: LambdaInvoker, name: str) -> Any:
    result = await invoker.invoke(name, {}, request_id="r")
    assert result.error is None, result.error
    return result.payload


def mine(name: str, count: int, version: str = "v1") -> dict[str, Any]:
    return {
        "version": f"{name} {version}",
        "count": count,
        "helper": name,
        "lazy": name,
        "pickled": name,
        "app_in_sys_modules": f"{name} {version}",
    }


def without_pid(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "pid"}


@pytest.mark.parametrize("isolation", MODES)
async def test_functions_whose_modules_share_names_each_run_their_own(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker], isolation: str
) -> None:
    """Module-level imports, imports at call time, pickle and sys.modules lookups all find the
    calling function's own module."""
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "world")
    invoker = invoker_for(
        {
            "hello": {"handler": "app.handler", "code_path": "hello"},
            "world": {"handler": "app.handler", "code_path": "world"},
        },
        isolation,
    )
    assert without_pid(await call(invoker, "hello")) == mine("hello", 1)
    assert without_pid(await call(invoker, "world")) == mine("world", 1)
    assert without_pid(await call(invoker, "hello")) == mine("hello", 2)
    assert without_pid(await call(invoker, "world")) == mine("world", 2)


async def test_a_function_without_code_path_is_kept_apart_too(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its code directory is where its module is found on sys.path."""
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "onpath")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "onpath")])
    invoker = invoker_for(
        {"hello": {"handler": "app.handler", "code_path": "hello"}, "onpath": {"handler": "app.handler"}}
    )
    assert without_pid(await call(invoker, "hello")) == mine("hello", 1)
    assert without_pid(await call(invoker, "onpath")) == mine("onpath", 1)


async def test_a_name_other_code_directories_have_is_not_found_where_lambda_would_not_find_it(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker]
) -> None:
    """Two code directories have `lazy.py`, a third has none: `lazy` there fails as it would in
    Lambda, where that function's code directory is all there is (at its first use: Python swallows
    the error of an `import` whose module is in sys.modules)."""
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "world")
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "solo.py").write_text(
        "def handler(event, context):\n    import lazy\n    return lazy.WHO\n"
    )
    invoker = invoker_for(
        {
            "hello": {"handler": "app.handler", "code_path": "hello"},
            "world": {"handler": "app.handler", "code_path": "world"},
            "alone": {"handler": "solo.handler", "code_path": "alone"},
        }
    )
    assert (await call(invoker, "hello"))["lazy"] == "hello"
    result = await invoker.invoke("alone", {}, request_id="r")
    assert result.error is not None
    assert (result.error["errorType"], result.error["errorMessage"]) == (
        "ModuleNotFoundError",
        "No module named 'lazy'",
    )
    assert (await call(invoker, "world"))["lazy"] == "world"
    # code outside every code directory (this test) reads the shared name as if no function had it
    assert not hasattr(sys.modules["lazy"], "WHO")


@pytest.mark.parametrize("isolation", MODES)
async def test_changed_code_reloads_the_functions_of_its_directory_and_no_other(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker], isolation: str
) -> None:
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "world")
    invoker = invoker_for(
        {
            "hello": {"handler": "app.handler", "code_path": "hello"},
            "hello-again": {"handler": "app.handler", "code_path": "hello"},
            "world": {"handler": "app.handler", "code_path": "world"},
        },
        isolation,
    )
    first = await call(invoker, "hello")
    await call(invoker, "hello-again")
    await call(invoker, "world")
    assert (await call(invoker, "world"))["count"] == 2

    changed = tmp_path / "hello" / "helpers.py"
    changed.write_text(HELPERS.format(who="hello, edited"))
    forget_bytecode(changed)
    invoker.code_changed(["hello", "hello-again"])

    reloaded = await call(invoker, "hello")
    assert (reloaded["helper"], reloaded["count"]) == ("hello, edited", 1)
    assert (await call(invoker, "hello-again"))["helper"] == "hello, edited"
    world = await call(invoker, "world")
    assert without_pid(world) == mine("world", 3)
    if isolation == "process":
        assert reloaded["pid"] != first["pid"]  # a fresh worker


@pytest.mark.parametrize("isolation", MODES)
async def test_a_syntax_error_is_the_init_error_of_every_invocation_until_fixed(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker], isolation: str
) -> None:
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "world")
    invoker = invoker_for(
        {
            "hello": {"handler": "app.handler", "code_path": "hello"},
            "world": {"handler": "app.handler", "code_path": "world"},
        },
        isolation,
    )
    await call(invoker, "hello")
    await call(invoker, "world")
    app = tmp_path / "hello" / "app.py"
    app.write_text("def handler(event, context)\n    return 1\n")
    forget_bytecode(app)
    invoker.code_changed(["hello"])

    for _ in range(2):
        result = await invoker.invoke("hello", {}, request_id="r")
        assert error_type(result) == "Runtime.UserCodeSyntaxError"
        assert result.error is not None
        assert result.error["errorMessage"].startswith("Syntax error in module 'app': expected ':'")
    assert (await call(invoker, "world"))["count"] == 2

    code_dir(tmp_path, "hello", "v2")
    forget_bytecode(app)
    invoker.code_changed(["hello"])
    assert without_pid(await call(invoker, "hello")) == mine("hello", 1, "v2")


@pytest.mark.parametrize("isolation", MODES)
async def test_a_reloaded_configuration_keeps_unchanged_functions_warm(
    tmp_path: Path, invoker_for: Callable[..., LambdaInvoker], isolation: str
) -> None:
    """successor + hand_over: a function whose settings changed gets a new sandbox and its module is
    imported afresh (module-level code reads the new environment); the others keep counting."""
    code_dir(tmp_path, "hello")
    code_dir(tmp_path, "world")
    functions: dict[str, Any] = {
        "greeter": {
            "handler": "app.reads_environment",
            "code_path": "hello",
            "environment": {"GREETING": "hi"},
        },
        "world": {"handler": "app.handler", "code_path": "world"},
    }
    invoker = invoker_for(functions, isolation)
    assert await call(invoker, "greeter") == {"greeting": "hi", "count": 0}
    assert (await call(invoker, "world"))["count"] == 1

    functions["greeter"]["environment"] = {"GREETING": "hello"}
    functions["added"] = {"handler": "app.handler", "code_path": "hello"}
    config = tmp_path / "gatehold.yaml"
    config.write_text(yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation}}))
    successor = invoker.successor(function_specs(load_config(config)))
    assert successor.sandbox("world") is invoker.sandbox("world")
    dropped = invoker.hand_over(successor)
    assert dropped == [invoker.sandbox("greeter")]

    assert await call(successor, "greeter") == {"greeting": "hello", "count": 0}
    assert (await call(successor, "world"))["count"] == 2
    assert (await call(successor, "added"))["version"] == "hello v1"
    if isolation == "process":
        from gatehold.runtime.invoker import close_sandboxes

        await close_sandboxes(dropped)
    await successor.aclose()
