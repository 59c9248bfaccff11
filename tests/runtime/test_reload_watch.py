"""What hot reload watches and what a changed path means (gatehold.reload.WatchPlan, plan_for).

Pure: a plan over a made-up project, paths in, meanings out; and the plans `plan_for` makes for real
configurations (the example stack watches nothing: its code is in the Gatehold package).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import yaml

from gatehold.config import LoadedConfig, load_config
from gatehold.importers import ImportOptions
from gatehold.reload import (
    Changes,
    Reload,
    Reloader,
    WatchPlan,
    changed_since,
    is_source_file,
    plan_for,
    watched_snapshot,
)
from gatehold.runtime.invoker import function_specs

ROOT = Path("/project")
PLAN = WatchPlan(
    code_dirs={
        ROOT / "hello": ("hello",),
        ROOT / "world": ("world", "world-admin"),
        ROOT: ("everything",),  # code_path: . (holds the other two)
    },
    config_files=frozenset({ROOT / "template.yaml", ROOT / "openapi" / "api.yaml"}),
    ignored=(ROOT / ".gatehold",),
)


@pytest.mark.parametrize(
    ("path", "meaning"),
    [
        pytest.param("hello/app.py", ("code", ("everything", "hello")), id="handler-module"),
        pytest.param(
            "world/lib/db.py", ("code", ("everything", "world", "world-admin")), id="module-in-a-package"
        ),
        pytest.param(
            "world/lib/__init__.py", ("code", ("everything", "world", "world-admin")), id="package-init"
        ),
        pytest.param("shared.py", ("code", ("everything",)), id="only-the-outer-directory"),
        pytest.param("template.yaml", ("config", ()), id="the-template"),
        pytest.param("openapi/api.yaml", ("config", ()), id="a-definition-file"),
        pytest.param("openapi/other.yaml", None, id="another-yaml-beside-it"),
        pytest.param("samconfig.toml", None, id="a-file-the-config-was-not-read-from"),
        pytest.param("hello/__pycache__/app.cpython-311.pyc", None, id="bytecode"),
        pytest.param("hello/app.pyc", None, id="bytecode-beside-the-source"),
        pytest.param("hello/.app.py.swp", None, id="vim-swap"),
        pytest.param("hello/4913", None, id="vim-write-test"),
        pytest.param("hello/app.py~", None, id="backup"),
        pytest.param("hello/.#app.py", None, id="emacs-lock"),
        pytest.param("hello/#app.py#", None, id="emacs-autosave"),
        pytest.param("hello/app.py___jb_tmp___", None, id="jetbrains-safe-write"),
        pytest.param("hello/requirements.txt", None, id="not-python"),
        pytest.param("hello/events/event.json", None, id="data-file"),
        pytest.param(".git/hooks/pre-commit.py", None, id="git"),
        pytest.param("node_modules/x/y.py", None, id="node-modules"),
        pytest.param(".venv/lib/python3.11/site-packages/requests/api.py", None, id="virtualenv"),
        pytest.param("world/vendor/site-packages/x.py", None, id="site-packages"),
        pytest.param(".aws-sam/build/HelloFunction/app.py", None, id="sam-build-output"),
        pytest.param(".serverless/x.py", None, id="serverless-build-output"),
        pytest.param(".gatehold/hooks.py", None, id="the-data-directory"),
        pytest.param(".gatehold/idp.sqlite3", None, id="the-data-directory-store"),
        pytest.param("/elsewhere/app.py", None, id="outside-every-directory"),
    ],
)
def test_what_a_changed_path_means(path: str, meaning: tuple[str, tuple[str, ...]] | None) -> None:
    assert PLAN.classify_path(ROOT / path) == meaning


def test_a_code_directory_below_a_build_directory_is_watched_as_itself() -> None:
    """`gatehold up -c .aws-sam/build/template.yaml`: the functions' code is inside .aws-sam; only
    directories *below* a code directory are skipped."""
    built = ROOT / ".aws-sam" / "build"
    plan = WatchPlan({built / "HelloFunction": ("hello",)}, frozenset({built / "template.yaml"}))
    assert plan.classify_path(built / "HelloFunction" / "app.py") == ("code", ("hello",))
    assert plan.classify_path(built / "template.yaml") == ("config", ())


def test_a_batch_of_events_is_one_change_per_file() -> None:
    changes = PLAN.classify(
        [
            str(ROOT / "hello" / "app.py"),
            str(ROOT / "hello" / "4913"),
            str(ROOT / "hello" / "app.py"),
            str(ROOT / "template.yaml"),
            str(ROOT / "template.yaml"),
            str(ROOT / "hello" / "__pycache__" / "app.cpython-311.pyc"),
        ]
    )
    assert changes == Changes(
        config=(ROOT / "template.yaml",), code={ROOT / "hello" / "app.py": ("everything", "hello")}
    )
    assert changes.functions == ["everything", "hello"]
    assert not PLAN.classify([str(ROOT / "hello" / "4913")])


def test_watch_roots_cover_each_directory_once() -> None:
    """One recursive watch per outermost code directory; a configuration file's directory is
    watched flat unless a code directory covers it."""
    assert PLAN.recursive_roots() == (ROOT,)
    assert PLAN.file_roots() == ()
    apart = WatchPlan(
        {ROOT / "src" / "hello": ("hello",), ROOT / "src" / "world": ("world",)},
        frozenset({ROOT / "template.yaml", ROOT / "src" / "hello" / "openapi.yaml"}),
    )
    assert apart.recursive_roots() == (ROOT / "src" / "hello", ROOT / "src" / "world")
    assert apart.file_roots() == (ROOT,)


@pytest.mark.parametrize(
    ("name", "source"),
    [
        pytest.param("app.py", True, id="module"),
        pytest.param(".#app.py", False, id="emacs-lock"),
        pytest.param("app.pyc", False, id="bytecode"),
        pytest.param("app.pyi", False, id="stub"),
    ],
)
def test_is_source_file(name: str, source: bool) -> None:
    assert is_source_file(Path(name)) is source


def _loaded(tmp_path: Path, config: dict[str, object]) -> LoadedConfig:
    path = tmp_path / "gatehold.yaml"
    path.write_text(yaml.safe_dump(config))
    return load_config(path)


def test_the_example_stack_watches_nothing() -> None:
    """Its handlers and its gatehold.yaml are in the Gatehold package, which is never watched."""
    from gatehold.cli.common import example_config_path
    from gatehold.server import StackOptions

    loaded = load_config(example_config_path(), variables=StackOptions().variables())
    plan = plan_for(loaded, function_specs(loaded), None)
    assert plan.code_dirs == {}
    assert plan.config_files == frozenset()


def test_plan_for_a_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """code_path directories; a handler without code_path: the directory its module is found in on
    sys.path (not imported); a handler in site-packages or the standard library: nothing."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("raise RuntimeError('never imported')\n")
    (tmp_path / "onpath" / "pkg").mkdir(parents=True)
    (tmp_path / "onpath" / "pkg" / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (tmp_path / "onpath" / "pkg" / "handlers.py").write_text("raise RuntimeError('never imported')\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path / "onpath")])
    loaded = _loaded(
        tmp_path,
        {
            "functions": {
                "a": {"handler": "app.handler", "code_path": "src"},
                "b": {"handler": "app.other", "code_path": "./src/"},
                "c": {"handler": "pkg.handlers.handler"},
                "d": {"handler": "yaml.safe_load"},  # site-packages
                "e": {"handler": "json.loads"},  # the standard library
                "f": {"handler": "gatehold.examples.handlers.unicorns.get_unicorn"},
            }
        },
    )
    plan = plan_for(loaded, function_specs(loaded), tmp_path / "data")
    assert plan.code_dirs == {
        tmp_path / "src": ("a", "b"),
        tmp_path / "onpath" / "pkg": ("c",),
    }
    assert plan.config_files == frozenset({tmp_path / "gatehold.yaml"})
    assert plan.ignored == (tmp_path / "data",)
    assert "pkg" not in sys.modules


def _function_project(tmp_path: Path) -> tuple[LoadedConfig, Path]:
    (tmp_path / "src" / "node_modules").mkdir(parents=True)
    (tmp_path / "src" / "node_modules" / "dep.py").write_text("")
    app = tmp_path / "src" / "app.py"
    app.write_text("def handler(event, context):\n    return 1\n")
    config = {
        "functions": {"a": {"handler": "app.handler", "code_path": "src"}},
        "apis": {
            "shop": {
                "type": "HTTP",
                "routes": {"GET /a": {"integration": {"type": "lambda", "function": "a"}}},
            }
        },
    }
    return _loaded(tmp_path, config), app


def test_a_snapshot_differs_where_a_watcher_would_have_seen_an_edit(tmp_path: Path) -> None:
    """What a watcher started late compares with: the configuration file and the source files below the
    code directories (not what the watcher ignores)."""
    loaded, app = _function_project(tmp_path)
    plan = plan_for(loaded, function_specs(loaded), None)
    before = plan.snapshot()
    assert set(before) == {tmp_path / "gatehold.yaml", app}
    assert changed_since(before, plan.snapshot()) == set()

    app.write_text("def handler(event, context):\n    return 2  # edited\n")
    (tmp_path / "src" / "util.py").write_text("")
    (tmp_path / "src" / "node_modules" / "dep.py").write_text("ignored")
    (tmp_path / "src" / "notes.txt").write_text("not source")
    assert changed_since(before, plan.snapshot()) == {str(app), str(tmp_path / "src" / "util.py")}
    (tmp_path / "src" / "util.py").unlink()
    app.unlink()
    assert changed_since(before, plan.snapshot()) == {str(app)}


async def test_an_edit_made_before_the_watchers_are_set_is_reloaded(tmp_path: Path) -> None:
    """`gatehold up` reads the configuration, starts its processes and only then watches: a save made in
    between (or while the watchers move to other directories) is compared against the stamps taken when
    the configuration was read, and reloaded once the watchers are set."""
    loaded, _app = _function_project(tmp_path)
    snapshot = watched_snapshot(loaded, None)
    config = tmp_path / "gatehold.yaml"
    config.write_text(config.read_text().replace("GET /a:", "GET /b:"))
    seen: asyncio.Queue[Reload] = asyncio.Queue()
    reloader = Reloader(
        loaded,
        config_path=config,
        variables={},
        options=ImportOptions(),
        notify=seen.put_nowait,
        snapshot=snapshot,
    )
    watching = asyncio.create_task(reloader.watch())
    try:
        reload = await asyncio.wait_for(seen.get(), 20)  # a bound for a lost edit, not a timing assertion
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    assert reload.config is not None
    assert list(reload.config.config.apis["shop"].routes) == ["GET /b"]
