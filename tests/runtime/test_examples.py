"""The example handlers (src/gatehold/examples/handlers), run through the invoker from the example
stack's own gatehold.yaml, with minimal payload 1.0 / 2.0 events."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gatehold.examples
from gatehold.config import LoadedConfig, load_config
from gatehold.dynamodb.environment import handler_environment
from gatehold.runtime import LambdaInvoker, build_invoker
from tests.dynamodb.conftest import start_engine, stop_engine

EXAMPLE = Path(gatehold.examples.__file__).parent / "gatehold.yaml"
CORS = {"Access-Control-Allow-Origin": "*"}

Build = Callable[..., LambdaInvoker]


def example_config(data_dir: Path, isolation: str = "in-process") -> LoadedConfig:
    variables = {
        "idp_url": "http://localhost:9000",
        "issuer": "http://localhost:9000/",
        "gateway_url": "http://localhost:8000",
        "spa_url": "http://localhost:3000",
        "data_dir": str(data_dir),
    }
    loaded = load_config(EXAMPLE, variables=variables)
    gateway = loaded.config.gateway.model_copy(update={"isolation": isolation})
    config = loaded.config.model_copy(update={"gateway": gateway})
    return LoadedConfig(config=config, path=loaded.path, lines=loaded.lines)


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[Build]:
    made: list[LambdaInvoker] = []

    def make(isolation: str = "in-process", data_dir: Path = tmp_path) -> LambdaInvoker:
        invoker = build_invoker(example_config(data_dir, isolation))
        made.append(invoker)
        return invoker

    yield make
    for invoker in made:
        await invoker.aclose()


def v2(method: str, query: dict[str, str] | None = None, body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} /x",
        "rawPath": "/x",
        "headers": {},
        "requestContext": {"http": {"method": method, "path": "/x"}, "requestId": "abc"},
        "isBase64Encoded": False,
    }
    if query is not None:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def v1(
    method: str,
    resource: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {},
        "queryStringParameters": query,
        "pathParameters": path_parameters,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "stage": "test"},
    }


MISSING = '"Missing Unicorn Name"'  # json.dumps('Missing Unicorn Name'), as the seed wrote it


@pytest.mark.parametrize(
    ("function", "event", "expected"),
    [
        pytest.param(
            "get-unicorn",
            v2("GET", {"name": "Gaia"}),
            {"statusCode": 200, "body": '{"name": "Gaia", "gift": "Flight"}'},
            id="get-unicorn",
        ),
        pytest.param(
            "get-unicorn", v2("GET"), {"statusCode": 400, "body": MISSING}, id="get-unicorn-no-query"
        ),
        pytest.param(
            "get-unicorn",
            v2("GET", {"other": "x"}),
            {"statusCode": 400, "body": MISSING},
            id="get-unicorn-no-name",
        ),
        pytest.param(
            "list-all-unicorns",
            v2("GET"),
            {
                "statusCode": 200,
                "body": json.dumps(
                    [
                        {"name": "Gaia", "gift": "Speed"},
                        {"name": "Magestic", "gift": "Magic"},
                        {"name": "Sparkles", "gift": "Glitter"},
                    ]
                ),
            },
            id="list-all-unicorns",
        ),
    ],
)
async def test_unicorns(build: Build, function: str, event: dict[str, Any], expected: dict[str, Any]) -> None:
    result = await build().invoke(function, event, request_id="r1")
    assert result.payload == expected


PAGE_1 = (
    '[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99},'
    '{"id":3,"type":"fish","price":0.99}]'
)


@pytest.mark.parametrize(
    ("event", "status", "body"),
    [
        pytest.param(v1("GET", "/pets", "/pets"), 200, PAGE_1, id="list"),
        pytest.param(
            v1("GET", "/pets", "/pets", query={"type": "fish"}),
            200,
            '[{"id":1,"type":"fish","price":249.99},{"id":2,"type":"fish","price":124.99},'
            '{"id":3,"type":"fish","price":0.99}]',
            id="list-fish",
        ),
        pytest.param(
            v1("GET", "/pets", "/pets", query={"type": "cat", "page": "2"}),
            200,
            '[{"id":4,"type":"cat","price":999.99},{"id":5,"type":"cat","price":249.99},'
            '{"id":6,"type":"cat","price":49.97}]',
            id="list-cat-page-2",
        ),
        pytest.param(
            v1("GET", "/pets/{petId}", "/pets/1", path_parameters={"petId": "1"}),
            200,
            '{"id":1,"type":"dog","price":249.99}',
            id="get-1",
        ),
        pytest.param(
            v1("POST", "/pets", "/pets", body='{"type": "dog", "price": 249.99}'),
            200,
            '{"pet":{"type":"dog","price":249.99},"message":"success"}',
            id="create",
        ),
    ],
)
async def test_petstore_backend(build: Build, event: dict[str, Any], status: int, body: str) -> None:
    result = await build().invoke("petstore-backend", event, request_id="r1")
    assert result.payload == {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **CORS},
        "body": body,
    }


@pytest.mark.parametrize(
    ("function", "message"),
    [
        pytest.param("movie-info", "Movie Info retrieved from Movie API", id="movie"),
        pytest.param("device-info", "Device Info retrieved from Device API", id="device"),
    ],
)
async def test_movies_and_devices(build: Build, function: str, message: str) -> None:
    event = v1("GET", f"/{function.split('-')[0]}", f"/{function.split('-')[0]}")
    result = await build().invoke(function, event, request_id="r1")
    assert result.payload == {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", **CORS},
        "body": json.dumps({"message": message}),
    }


MODES = [pytest.param("in-process", id="in-process"), pytest.param("process", id="process")]
ITEM = {"name": "Test Item", "description": "Test Description", "url": "https://www.amazon.com"}


@pytest.fixture
def wishlist_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example's WishList table in a local engine, and the environment gatehold up gives every
    function (docs/dynamodb.md) in this process, which the functions' environments start from."""
    tables = example_config(tmp_path).config.tables
    engine = start_engine(tmp_path / "dynamodb", dict(tables))
    for name, value in handler_environment(engine.url, os.environ, "us-east-1").items():
        monkeypatch.setenv(name, value)  # as the gateway's process does
    yield
    stop_engine(engine)


@pytest.mark.usefixtures("wishlist_table")
@pytest.mark.parametrize("isolation", MODES)
async def test_wishlist_add_list_and_keep_items_in_the_table(build: Build, isolation: str) -> None:
    first = build(isolation)
    empty = await first.invoke("wish-list-service", v2("GET"), request_id="r0")
    assert empty.payload == {
        "statusCode": 200,
        "body": '{"Items":[],"Count":0,"ScannedCount":0}',
        "headers": {"Content-Type": "application/json"},
    }
    add = v2("POST", body=json.dumps(ITEM))
    created = await first.invoke("wish-list-service", add, request_id="req-wish-1")
    assert created.payload == {
        "statusCode": 201,
        "body": '{"id":"req-wish-1"}',
        "headers": {"Content-Type": "application/json"},
    }
    await first.aclose()

    second = build(isolation)  # new execution environments: the items are the table's
    add_name_only = v2("POST", body='{"name": "Only a name", "price": 12.5}')
    await second.invoke("wish-list-service", add_name_only, request_id="req-wish-2")
    listed = await second.invoke("wish-list-service", v2("GET"), request_id="r3")
    assert listed.payload["statusCode"] == 200
    body = json.loads(listed.payload["body"])
    assert sorted(body["Items"], key=lambda item: item["id"]) == [
        {**ITEM, "id": "req-wish-1"},
        {"name": "Only a name", "id": "req-wish-2"},  # the seed puts name, url and description only
    ]
    assert (body["Count"], body["ScannedCount"]) == (2, 2)


@pytest.mark.usefixtures("wishlist_table")
async def test_wishlist_other_methods_fall_through_to_null(build: Build) -> None:
    result = await build().invoke("wish-list-service", v2("DELETE"), request_id="r1")
    assert (result.payload, result.error) == (None, None)


@pytest.mark.usefixtures("wishlist_table")
async def test_wishlist_body_that_is_not_json_is_a_function_error(build: Build) -> None:
    result = await build().invoke("wish-list-service", v2("POST", body="name=x"), request_id="r1")
    assert result.error is not None
    assert result.error["errorType"] == "JSONDecodeError"
