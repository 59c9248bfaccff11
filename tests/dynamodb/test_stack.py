"""DynamoDB for handlers, end to end: ``gatehold up -c tests/dynamodb/gatehold.yaml`` with its tables
(one in ``tables:``, two from a SAM template), handlers on boto3, the AWS SDK for JavaScript v3 and
v2 unchanged, requests through the gateway; items kept across a restart and across ``kill -9`` of
every process of the stack.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.dynamodb.conftest import local_boto3
from tests.stackctl import Stack, new_stack

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "gatehold.yaml"
#: boto3 in process isolation and in-process (the gateway's own process), the SDK for JavaScript v3, v2
SDKS = ("boto3", "inproc", "v3", "v2")
#: what each SDK calls a failed condition
CONDITION_FAILED = "ConditionalCheckFailedException"

pytestmark = pytest.mark.skipif(
    not (HERE / "js" / "node_modules" / "aws-sdk").is_dir(),
    reason="scripts/bootstrap --dev installs the SDKs",
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = new_stack(tmp_path_factory.mktemp("dynamodb"), CONFIG, ["--no-spa"]).start(timeout=120)
    try:
        yield s
    finally:
        s.stop()


def items(stack: Stack, sdk: str) -> str:
    return f"{stack.gateway_url}/t/{sdk}/items"


@pytest.mark.parametrize("sdk", SDKS)
def test_a_handler_writes_and_reads_through_its_sdk(stack: Stack, sdk: str) -> None:
    item = {"id": f"{sdk}-{uuid.uuid4()}", "name": "saddle", "price": 12.5, "tags": ["a", "b"]}
    created = httpx.post(items(stack, sdk), json=item, timeout=30)
    assert created.status_code == 201, created.text
    assert created.json() == {"id": item["id"]}
    read = httpx.get(f"{items(stack, sdk)}/{item['id']}", timeout=30)
    assert read.status_code == 200, read.text
    assert read.json() == item
    assert httpx.get(f"{items(stack, sdk)}/nope", timeout=30).status_code == 404


@pytest.mark.parametrize("sdk", SDKS)
def test_a_failed_condition_reaches_the_handler_as_dynamodb_names_it(stack: Stack, sdk: str) -> None:
    item = {"id": f"{sdk}-dup-{uuid.uuid4()}"}
    assert httpx.post(items(stack, sdk), json=item, timeout=30).status_code == 201
    again = httpx.post(items(stack, sdk), json=item, timeout=30)
    assert again.status_code == 409
    assert again.json() == {"error": CONDITION_FAILED}


def test_the_three_sdks_share_one_table(stack: Stack) -> None:
    item = {"id": f"shared-{uuid.uuid4()}", "by": "boto3"}
    assert httpx.post(items(stack, "boto3"), json=item, timeout=30).status_code == 201
    for sdk in ("v3", "v2"):
        assert httpx.get(f"{items(stack, sdk)}/{item['id']}", timeout=30).json() == item
    # the test itself reaches the same endpoint with boto3, as a developer would
    client = local_boto3("resource", stack.dynamodb_url)
    assert client.Table("Items").get_item(Key={"id": item["id"]})["Item"] == item


def test_the_sdk_v2_route_is_the_preload_not_the_handler(stack: Stack) -> None:
    counted = httpx.get(items(stack, "v2"), timeout=30).json()
    assert counted["endpoint"] == f"{stack.dynamodb_url}/"


def test_a_global_index_query_and_a_missing_table(stack: Stack) -> None:
    owner = f"owner-{uuid.uuid4()}"
    for n, created in enumerate((30, 10, 20)):
        item = {"id": f"{owner}-{n}", "owner": owner, "created": created}
        assert httpx.post(items(stack, "boto3"), json=item, timeout=30).status_code == 201
    found = httpx.get(f"{stack.gateway_url}/t/boto3/owners/{owner}", timeout=30).json()
    assert found == {"ids": [f"{owner}-1", f"{owner}-2", f"{owner}-0"]}  # by the index's sort key
    missing = httpx.get(f"{stack.gateway_url}/t/boto3/missing", timeout=30)
    assert missing.json() == {"error": "ResourceNotFoundException"}


def test_every_function_gets_the_endpoint_and_its_own_variables_win(stack: Stack) -> None:
    env = httpx.get(f"{stack.gateway_url}/t/env", timeout=30).json()
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb_url
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("local", "local")
    assert env["AWS_REGION"] == "us-east-1"
    assert "aws_sdk_v2.cjs" in env["NODE_OPTIONS"]
    own = httpx.get(f"{stack.gateway_url}/t/env-own", timeout=30).json()
    assert own["AWS_ACCESS_KEY_ID"] == "my-own-key"
    assert own["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb_url


def test_tables_of_a_sam_template(stack: Stack) -> None:
    note = f"n-{uuid.uuid4()}"
    url = f"{stack.gateway_url}/ServerlessHttpApi/notes/{note}"
    put = httpx.put(url, content="hello", headers={"Content-Type": "text/plain"}, timeout=30)
    assert put.status_code == 200, put.text
    assert note in put.json()["orders_open"]  # the AWS::DynamoDB::Table, queried on its global index
    assert put.json()["tables"] == {
        "NOTES": "NotesTable",
        "ORDERS": "local-orders",
        "ORDERS_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/local-orders",
    }
    assert httpx.get(url, timeout=30).json() == {"noteId": note, "text": "hello"}


def test_the_banner_names_the_endpoint(stack: Stack) -> None:
    assert f"DynamoDB           {stack.dynamodb_url}" in stack.output()


# -- persistence ------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Callable[[], Stack]]:
    started: list[Stack] = []

    def start() -> Stack:
        s = started[0] if started else new_stack(tmp_path / "data", CONFIG, ["--no-spa"])
        started[:1] = [s.start(timeout=120)]
        return s

    yield start
    for s in started:
        s.stop()


def test_items_survive_a_restart_and_kill_9_of_every_process(own_stack: Callable[[], Stack]) -> None:
    s = own_stack()
    written = []
    for n, sdk in enumerate(SDKS * 3):
        item = {"id": f"kept-{n}-{sdk}", "n": n}
        assert httpx.post(items(s, sdk), json=item, timeout=30).status_code == 201  # acknowledged
        written.append(item)
    assert s.restart(timeout=120)
    for item in written:
        assert httpx.get(f"{items(s, 'v3')}/{item['id']}", timeout=30).json() == item
    late = {"id": "kept-after-restart", "n": 99}
    assert httpx.post(items(s, "v2"), json=late, timeout=30).status_code == 201
    assert s.proc is not None
    everyone = [s.proc.pid, *descendants(s.proc.pid)]
    assert len(everyone) >= 5  # supervisor, gateway, identity provider, dynamodb, its engine …
    for pid in everyone:  # nothing gets to flush or close anything
        os.kill(pid, signal.SIGKILL)
    s.proc.wait(10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in everyone[1:]) and time.monotonic() < deadline:
        time.sleep(0.05)
    own_stack()
    for item in [*written, late]:
        got = httpx.get(f"{items(s, 'boto3')}/{item['id']}", timeout=30)
        assert got.json() == item, s.output()


def test_the_endpoint_killed_is_started_again_with_its_items(own_stack: Callable[[], Stack]) -> None:
    s = own_stack()
    item = {"id": "before-the-kill"}
    assert httpx.post(items(s, "boto3"), json=item, timeout=30).status_code == 201
    assert s.proc is not None
    (service,) = [
        pid
        for pid in descendants(s.proc.pid)
        if Path(f"/proc/{pid}/comm").read_text().strip() == "gatehold dynamo"
    ]
    os.kill(service, signal.SIGKILL)  # its engine sees its pipe close and stops; the supervisor restarts both
    deadline = time.monotonic() + 60
    while True:
        got = httpx.get(f"{items(s, 'v3')}/{item['id']}", timeout=30)
        if got.status_code == 200:
            break
        assert time.monotonic() < deadline, s.output()
        time.sleep(0.2)
    assert got.json() == item
    assert f"DynamoDB endpoint (pid {service}) was killed by SIGKILL; starting it again" in s.output()
