"""Per-stage access logs over real HTTP: JSON, CLF and templates with $context variables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gatehold.config.models import AccessLogConfig
from gatehold.gateway.access_log import AccessLogger
from tests.edge.conftest import ServeGateway, authorizers_available, lambda_route


def _rest(log: dict[str, Any]) -> dict[str, Any]:
    return {
        "pets": {
            "type": "REST",
            "stages": {"prod": {"access_log": log}, "quiet": {}},
            "routes": {"GET /pets/{id}": lambda_route("hello"), "GET /boom": lambda_route("boom")},
        }
    }


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


async def test_json_rest(serve_gateway: ServeGateway, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    s = await serve_gateway(_rest({"format": "json", "destination": str(log)}))
    async with s.client() as c:
        ok = await c.get("/pets/prod/pets/7", headers={"User-Agent": 'agent "quoted"'})
        missing = await c.get("/pets/prod/nope")
        failed = await c.get("/pets/prod/boom")
        await c.get("/pets/quiet/pets/7")  # a stage without access logs
    first, second, third = (json.loads(line) for line in _lines(log))
    assert first["requestId"] == ok.headers["x-amzn-requestid"]
    assert first["extendedRequestId"] != "-"
    assert first["ip"] == "127.0.0.1"
    assert first["userAgent"] == 'agent "quoted"'
    assert (first["httpMethod"], first["resourcePath"], first["path"]) == (
        "GET",
        "/pets/{id}",
        "/prod/pets/7",
    )
    assert (first["status"], first["protocol"]) == ("200", "HTTP/1.1")
    assert first["responseLength"] == ok.headers["content-length"]
    assert first["integrationStatus"] == "200"
    assert int(first["integrationLatency"]) >= 0
    assert int(first["responseLatency"]) >= 0
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", first["requestTime"])
    assert int(first["requestTimeEpoch"]) > 1_600_000_000_000
    assert (first["errorMessage"], first["authorizerError"], first["principalId"]) == ("-", "-", "-")
    assert second["requestId"] == missing.headers["x-amzn-requestid"]
    assert (second["status"], second["errorMessage"], second["resourcePath"]) == (
        "403",
        "Missing Authentication Token",
        "-",
    )
    assert (third["status"], third["errorMessage"], third["integrationStatus"]) == (
        "502",
        "Internal server error",
        "-",
    )
    assert failed.status_code == 502


async def test_json_http_api_has_route_key(serve_gateway: ServeGateway, tmp_path: Path) -> None:
    log = tmp_path / "http.log"
    apis = {
        "shop": {
            "type": "HTTP",
            "stages": {"$default": {"access_log": {"format": "json", "destination": str(log)}}},
            "routes": {"GET /items/{id}": lambda_route("hello")},
        }
    }
    s = await serve_gateway(apis)
    async with s.client() as c:
        r = await c.get("/shop/items/3")
        await c.get("/shop/nowhere")
    entry, not_found = (json.loads(line) for line in _lines(log))
    assert entry["requestId"] == r.headers["apigw-requestid"]
    assert (entry["routeKey"], entry["path"], entry["status"]) == ("GET /items/{id}", "/items/3", "200")
    assert (not_found["routeKey"], not_found["status"], not_found["errorMessage"]) == (
        "-",
        "404",
        "Not Found",
    )


async def test_clf(serve_gateway: ServeGateway, tmp_path: Path) -> None:
    log = tmp_path / "clf.log"
    s = await serve_gateway(_rest({"format": "clf", "destination": str(log)}))
    async with s.client() as c:
        r = await c.get("/pets/prod/pets/1")
    (line,) = _lines(log)
    m = re.fullmatch(r'127\.0\.0\.1 - - \[[^\]]+\] "GET /pets/\{id\} HTTP/1\.1" 200 (\d+) (\S+)', line)
    assert m is not None, line
    assert m.groups() == (r.headers["content-length"], r.headers["x-amzn-requestid"])


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param(
            "$context.httpMethod ${context.resourcePath} $context.status $context.stage "
            "$context.error.responseType",
            "GET /pets/{id} 200 prod -",
            id="plain-template",
        ),
        pytest.param(
            '{"m":"$context.httpMethod","ua":"$context.identity.userAgent","nope":"$context.notAVariable"}',
            '{"m":"GET","ua":"a\\"b","nope":"-"}',
            id="json-template-escapes",
        ),
    ],
)
async def test_custom_template(
    serve_gateway: ServeGateway, tmp_path: Path, template: str, expected: str
) -> None:
    log = tmp_path / "custom.log"
    s = await serve_gateway(_rest({"format": template, "destination": str(log)}))
    async with s.client() as c:
        await c.get("/pets/prod/pets/1", headers={"User-Agent": 'a"b'})
    assert _lines(log) == [expected]


@pytest.mark.skipif(not authorizers_available(), reason="authorizers not landed yet")
async def test_authorizer_fields(serve_gateway: ServeGateway, tmp_path: Path) -> None:
    log = tmp_path / "authz.log"
    api = _rest(
        {
            "format": "$context.status $context.authorizer.principalId $context.authorizer.error",
            "destination": str(log),
        }
    )
    api["pets"]["authorizers"] = {"tok": {"type": "TOKEN", "function": "token-authorizer", "result_ttl": 0}}
    api["pets"]["routes"]["GET /pets/{id}"]["authorizer"] = "tok"
    s = await serve_gateway(api)
    async with s.client() as c:
        await c.get("/pets/prod/pets/1", headers={"Authorization": "allow"})
        await c.get("/pets/prod/pets/1", headers={"Authorization": "deny"})
    assert _lines(log) == ["200 user-1 -", "401 - Unauthorized"]


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        pytest.param("logs/access.log", "{base}/logs/access.log", id="relative-to-config"),
        pytest.param("/var/log/gw.log", "/var/log/gw.log", id="absolute"),
        pytest.param("stdout", "stdout", id="stdout"),
    ],
)
def test_file_destination_is_relative_to_the_config_file(
    tmp_path: Path, destination: str, expected: str
) -> None:
    logger = AccessLogger(AccessLogConfig(destination=destination), "REST", tmp_path)
    assert logger.destination == expected.format(base=tmp_path)
