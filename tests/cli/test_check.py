"""`gatehold check` as a new user meets it (issue 11, item 10): every problem, each at its own line;
missing handler modules and functions found without running the module; an empty file refused; the
effective API printed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def write(tmp_path: Path, text: str, name: str = "gatehold.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SEVERAL_ERRORS = """\
functions:
  hello:
    handler: app.hello
    code_path: .
apis:
  shop:
    type: HTTP
    routes:
      GET /a:
        integration: {type: lambda, function: nope}
      GET /b:
        integration: {type: lambda, function: hello}
        authorizer: missing-authorizer
      GET /c:
        integration: {type: lambda, function: also-nope}
        authorization_scopes: [read]
"""


def test_every_cross_reference_error_at_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def hello(event, context):\n    return {}\n")
    path = write(tmp_path, SEVERAL_ERRORS)
    result = run("check", "-c", str(path))
    assert result.returncode == 2
    lines = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert lines == [
        f"{path}:10: apis.shop.routes['GET /a'].integration.function: names unknown function 'nope'",
        f"{path}:13: apis.shop.routes['GET /b'].authorizer: names authorizer 'missing-authorizer', "
        "which is not defined",
        f"{path}:15: apis.shop.routes['GET /c'].integration.function: names unknown function 'also-nope'",
        f"{path}:16: apis.shop.routes['GET /c'].authorization_scopes: "
        "authorization_scopes need an authorizer",
    ]
    assert "(4 problems)" in result.stderr


HANDLERS = """\
functions:
  missing-module:
    handler: nomodule.handler
    code_path: .
  missing-function:
    handler: app.absent
    code_path: .
  broken:
    handler: broken.handler
    code_path: .
  nested:
    handler: pkg/sub/mod.handler
    code_path: .
  fine:
    handler: app.handler
    code_path: .
"""


def test_missing_modules_and_functions_are_found_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "app.py").write_text(
        f"open({str(marker)!r}, 'w').write('top-level code ran')\n\n"
        "def handler(event, context):\n    return 1\n"
    )
    (tmp_path / "broken.py").write_text("def handler(event, context)\n    return 1\n")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('package ran')\n")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "mod.py").write_text("handler = lambda event, context: 1\n")
    path = write(tmp_path, HANDLERS)
    result = run("check", "-c", str(path))
    assert result.returncode == 2, result.stdout
    errors = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert errors == [
        f"{path}:3: functions.missing-module.handler: Unable to import module 'nomodule': "
        f"No module named 'nomodule' (looked in {tmp_path})",
        f"{path}:6: functions.missing-function.handler: Handler 'absent' missing on module 'app' "
        f"({tmp_path / 'app.py'})",
        f"{path}:9: functions.broken.handler: Syntax error in module 'broken': expected ':' "
        f"({tmp_path / 'broken.py'}:1)",
    ]
    assert not marker.exists(), "check ran a module's top-level code"


def test_undecidable_handler_is_a_warning_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "impl.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "app.py").write_text("from impl import *\n")
    path = write(tmp_path, "functions:\n  f:\n    handler: app.handler\n    code_path: .\n")
    result = run("check", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert "star-imports from impl: not checked" in result.stderr


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("# only a comment\n", id="comment"),
        pytest.param("{}\n", id="empty-map"),
    ],
)
def test_empty_file_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    result = run("check", "-c", str(path))
    assert result.returncode == 2
    assert f"{path}:1: the file is empty" in result.stderr


def test_effective_api_is_printed_with_urls(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("def hello(event, context):\n    return {}\n")
    text = (
        SEVERAL_ERRORS.replace("function: nope}", "function: hello}")
        .replace("function: also-nope}\n        authorization_scopes: [read]", "function: hello}")
        .replace("        authorizer: missing-authorizer\n", "")
    )
    path = write(tmp_path, text)
    result = run("check", "-c", str(path), "--gateway-port", "8123")
    assert result.returncode == 0, result.stderr
    assert "shop (HTTP API)  stage $default: http://localhost:8123/shop/" in result.stdout
    assert "  GET http://localhost:8123/shop/a\n      Lambda hello (app.hello)" in result.stdout
    data = json.loads(run("check", "-c", str(path), "--json").stdout)
    assert [r["urls"] for r in data["apis"][0]["routes"]] == [
        ["http://localhost:8000/shop/a"],
        ["http://localhost:8000/shop/b"],
        ["http://localhost:8000/shop/c"],
    ]
    assert data["problems"] == []


def test_relative_path_in_messages_is_the_one_given(tmp_path: Path) -> None:
    write(
        tmp_path,
        "apis:\n  x:\n    type: HTTP\n    routes:\n      GET /a:\n"
        "        integration: {type: mock}\n        authorizer: nope\n",
    )
    result = run("check", "-c", "gatehold.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "  gatehold.yaml:7: apis.x.routes['GET /a'].authorizer: names authorizer 'nope'" in result.stderr


def test_missing_hook_module_is_found(tmp_path: Path) -> None:
    path = write(tmp_path, "tenant:\n  hooks:\n    code_path: .\n    post_login: [hooks.post_login]\n")
    result = run("check", "-c", str(path))
    assert result.returncode == 2
    assert (
        f"  {path}:4: tenant.hooks.post_login[0]: Unable to import module 'hooks': No module named 'hooks'"
        in result.stderr
    )


NODE_FUNCTIONS = """\
functions:
  ok:
    handler: index.handler
    runtime: nodejs20.x
  missing-file:
    handler: nofile.handler
    runtime: nodejs20.x
  missing-export:
    handler: index.absent
    runtime: nodejs20.x
"""


def test_node_handlers_are_found_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "index.js").write_text(
        f"require('fs').writeFileSync({str(marker)!r}, 'ran');\nexports.handler = async () => 1;\n"
    )
    path = write(tmp_path, NODE_FUNCTIONS)
    result = run("check", "-c", str(path))
    assert result.returncode == 2, result.stdout
    errors = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert errors == [
        f"{path}:6: functions.missing-file.handler: Runtime.ImportModuleError: Error: Cannot find module"
        f" 'nofile' (looked for {tmp_path / 'nofile'}.js, .mjs, .cjs)",
        f"{path}:9: functions.missing-export.handler: Runtime.HandlerNotFound: index.absent is undefined or"
        f" not exported ({tmp_path / 'index.js'})",
    ]
    assert not marker.exists(), "check ran a module's top-level code"


@pytest.mark.parametrize("runtime", ["nodejs16.x", "nodejs99.x"])
def test_a_node_runtime_lambda_does_not_run_is_refused(tmp_path: Path, runtime: str) -> None:
    path = write(tmp_path, f"functions:\n  f:\n    handler: index.handler\n    runtime: {runtime}\n")
    result = run("check", "-c", str(path))
    assert result.returncode == 2
    assert (
        f"{path}:4: functions.f.runtime: {runtime} is not a Node.js runtime Lambda runs: nodejs18.x,"
        " nodejs20.x, nodejs22.x, nodejs24.x"
    ) in result.stderr


def test_a_node_runtime_other_than_the_installed_node_is_a_warning(tmp_path: Path) -> None:
    from gatehold.runtime.nodejs import find_node

    node = find_node()
    if node is None:
        pytest.skip("Node.js is not installed")
    other = 22 if node.major != 22 else 20
    (tmp_path / "index.mjs").write_text("export const handler = async () => 1;\n")
    (tmp_path / "package.json").write_text('{"name": "x", "dependencies": {}}')
    text = f"functions:\n  f:\n    handler: index.handler\n    runtime: nodejs{other}.x\n"
    path = write(tmp_path, text)
    result = run("check", "-c", str(path))
    assert result.returncode == 0, result.stderr
    assert (
        f"{path}:4: functions.f.runtime: nodejs{other}.x runs on this machine's Node.js {node.version}"
        in result.stderr
    )
    assert "dependencies not installed yet (gatehold up installs them)" in result.stderr
