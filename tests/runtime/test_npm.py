"""A Node.js function's dependencies, installed once by the real npm (a ``file:`` dependency: no
registry needed), and the function requiring them in its execution environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gatehold.config import LoadedConfig, parse_config
from gatehold.runtime import build_invoker
from gatehold.runtime.nodejs import find_node
from gatehold.runtime.npm import STAMP, InstallError, command, install, needs_install
from tests.runtime.support import HERE

pytestmark = pytest.mark.skipif(
    find_node() is None or shutil.which("npm") is None, reason="Node.js and npm are not installed"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(HERE / "handlers" / "node" / "deps", tmp_path / "deps")
    return tmp_path / "deps" / "app"


def test_installed_once_then_again_only_when_package_json_or_the_lock_changes(
    project: Path, tmp_path: Path
) -> None:
    log = tmp_path / "npm.log"
    assert needs_install(project)
    assert command(project)[:2] == ["npm", "install"]  # no lock file yet
    with log.open("w") as out:
        assert install(project, ["hello"], out) is True
    text = log.read_text()
    assert f"installing the dependencies of hello: npm install --no-audit --no-fund in {project}" in text
    assert "installed the dependencies of hello in" in text
    assert (project / "node_modules" / "greeting-lib" / "index.js").is_file()
    assert (project / "node_modules" / STAMP).is_file()
    assert not needs_install(project)
    with log.open("w") as out:
        assert install(project, ["hello"], out) is False  # nothing to do: npm is not run
    assert log.read_text() == ""
    # npm install wrote a lock file; without node_modules the next install is `npm ci`
    assert (project / "package-lock.json").is_file()
    shutil.rmtree(project / "node_modules")
    assert command(project)[:2] == ["npm", "ci"]
    with log.open("w") as out:
        assert install(project, ["hello"], out) is True
    assert "npm ci --no-audit --no-fund" in log.read_text()
    (project / "package.json").write_text(
        (project / "package.json").read_text().replace("deps-app", "deps-app2")
    )
    assert needs_install(project)


def test_a_failed_install_names_the_functions(project: Path, tmp_path: Path) -> None:
    (project / "package.json").write_text('{"name": "x", "dependencies": {')  # npm: EJSONPARSE
    with (tmp_path / "npm.log").open("w") as out, pytest.raises(InstallError) as info:
        install(project, ["b-fn", "a-fn"], out)
    assert str(info.value).startswith(
        f"function a-fn, b-fn: npm install --no-audit --no-fund in {project} failed"
    )
    assert needs_install(project)


async def test_the_function_requires_its_installed_dependency(project: Path, tmp_path: Path) -> None:
    with (tmp_path / "npm.log").open("w") as out:
        install(project, ["hello"], out)
    text = yaml.safe_dump({"functions": {"hello": {"handler": "index.handler", "runtime": "nodejs20.x"}}})
    config, lines = parse_config(text, file=str(project / "gatehold.yaml"))
    invoker = build_invoker(LoadedConfig(config=config, path=project / "gatehold.yaml", lines=lines))
    try:
        result = await invoker.invoke("hello", {"name": "Ada"}, request_id="r1")
    finally:
        await invoker.aclose()
    assert (result.error, result.payload) == (None, {"message": "Hello, Ada!"})
