"""``gatehold up`` and tables: a missing engine is a clear error before anything serves; a table
added to the configuration while the stack runs (hot reload) is created."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from botocore.exceptions import ClientError

from tests.dynamodb.conftest import local_boto3
from tests.stackctl import free_port, new_stack

CONFIG = """\
functions:
  hello:
    handler: app.handler
apis:
  hello:
    type: HTTP
    routes:
      GET /hello: {integration: {type: lambda, function: hello}}
tables:
  First:
    partition_key: id
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    config = tmp_path / "gatehold.yaml"
    config.write_text(CONFIG)
    return config


def test_tables_without_node_is_a_clear_error(tmp_path: Path) -> None:
    ports = [str(free_port()) for _ in range(4)]
    done = subprocess.run(
        [
            sys.executable, "-m", "gatehold", "up", "-c", str(project(tmp_path)), "--no-reload",
            "--data-dir", str(tmp_path / "data"), "--gateway-port", ports[0], "--idp-port", ports[1],
            "--admin-port", ports[2], "--dynamodb-port", ports[3],
        ],
        capture_output=True, text=True, timeout=60, env={"PATH": str(Path(sys.executable).parent)},
    )  # fmt: skip
    out = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, out
    assert "Traceback" not in out
    assert "Cannot start: the configuration has tables, but Node.js is not installed" in out
    assert "Install Node.js 20 or newer and npm" in out


def test_a_table_added_while_the_stack_runs_is_created(tmp_path: Path) -> None:
    config = project(tmp_path)
    stack = new_stack(tmp_path / "data", config, ["--no-spa"]).start(timeout=120)
    try:
        client = local_boto3("client", stack.dynamodb_url)
        assert client.list_tables()["TableNames"] == ["First"]
        config.write_text(CONFIG + "  Second:\n    partition_key: {name: n, type: N}\n")
        deadline = time.monotonic() + 30
        while True:
            try:
                described = client.describe_table(TableName="Second")["Table"]
                break
            except ClientError:
                assert time.monotonic() < deadline, stack.output()
                time.sleep(0.1)
        assert described["KeySchema"] == [{"AttributeName": "n", "KeyType": "HASH"}]
    finally:
        stack.stop()
