"""Node.js functions found without running them (``gatehold check``), and how ``node`` is started."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehold.runtime.nodejs import Node, check_handler, declared_major, handler_file, node_argv, task_root
from tests.runtime.support import HERE

NODE = HERE / "handlers" / "node"


@pytest.mark.parametrize(
    ("source", "export", "status"),
    [
        pytest.param("exports.handler = async () => 1;\n", "handler", "ok", id="exports-dot"),
        pytest.param("module.exports.handler = function () {};\n", "handler", "ok", id="module-exports-dot"),
        pytest.param("export const handler = async () => 1;\n", "handler", "ok", id="export-const"),
        pytest.param("export async function handler() {}\n", "handler", "ok", id="export-async-function"),
        pytest.param("const h = 1;\nexport { h as handler };\n", "handler", "ok", id="export-list-as"),
        pytest.param(
            "module.exports = { other, handler: run };\n", "handler", "ok", id="module-exports-object"
        ),
        pytest.param("exports.other = 1;\n", "handler", "missing", id="not-exported"),
        pytest.param("module.exports = build();\n", "handler", "unknown", id="computed-exports"),
        pytest.param("export * from './impl.js';\n", "handler", "unknown", id="star-export"),
        pytest.param("exports.nested = {};\n", "nested.deeper", "ok", id="nested-export-first-part"),
    ],
)
def test_the_export_is_read_from_the_source(tmp_path: Path, source: str, export: str, status: str) -> None:
    (tmp_path / "index.js").write_text(source)
    found = check_handler(f"index.{export}", tmp_path)
    assert found.status == status, found.message
    if status == "missing":
        assert found.message.startswith(
            f"Runtime.HandlerNotFound: index.{export} is undefined or not exported"
        )


@pytest.mark.parametrize(
    ("handler", "root", "file"),
    [
        pytest.param("index.counter", NODE / "cjs", "index.js", id="js"),
        pytest.param("index.handler", NODE / "esm", "index.mjs", id="mjs"),
        pytest.param("src/handlers/app.handler", NODE / "nested", "src/handlers/app.js", id="nested-path"),
    ],
)
def test_the_file_is_found_as_lambda_finds_it(handler: str, root: Path, file: str) -> None:
    assert handler_file(handler, root) == root / file
    assert check_handler(handler, root).status == "ok"


def test_a_missing_file_is_lambdas_import_module_error() -> None:
    found = check_handler("app.handler", NODE / "cjs")
    assert found.status == "missing"
    assert found.message.startswith("Runtime.ImportModuleError: Error: Cannot find module 'app'")


def test_a_handler_climbing_out_of_the_task_root_is_malformed() -> None:
    found = check_handler("../secret.handler", NODE / "cjs")
    assert (found.status, found.message.split(":")[0]) == ("missing", "Runtime.MalformedHandlerName")


@pytest.mark.parametrize(
    ("memory", "semi", "old"),
    [pytest.param(128, 6, 116, id="128"), pytest.param(1024, 51, 922, id="1024")],
)
def test_node_gets_lambdas_memory_flags(memory: int, semi: int, old: int) -> None:
    argv = node_argv(Node("/usr/bin/node", "v20.0.0"), memory)
    assert argv[:4] == [
        "/usr/bin/node",
        "--expose-gc",
        f"--max-semi-space-size={semi}",
        f"--max-old-space-size={old}",
    ]
    assert argv[4].endswith("bootstrap.js")
    assert Path(argv[4]).is_file()


def test_declared_major_and_task_root(tmp_path: Path) -> None:
    assert [declared_major(r) for r in ("nodejs18.x", "nodejs22.x", "python3.12")] == [18, 22, None]
    assert task_root(None, tmp_path) == tmp_path.resolve()
    assert task_root("src", tmp_path) == (tmp_path / "src").resolve()
