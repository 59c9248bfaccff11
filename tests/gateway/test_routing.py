"""Routing over real HTTP: API mapping, stages, resource/route priority, AWS's "no route" answers
(docs/aws-reference.md §4.1-§4.3, §3.8)."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import Gateway, event_of


@pytest.mark.parametrize(
    ("method", "path", "resource", "path_parameters"),
    [
        pytest.param("GET", "/rest/test/echo", "/echo", None, id="static"),
        pytest.param("GET", "/rest/test/echo/", "/echo", None, id="trailing-slash-ignored"),
        pytest.param("GET", "/rest/test/pets/42", "/pets/{petId}", {"petId": "42"}, id="param"),
        pytest.param(
            "GET",
            "/rest/test/pets/a%2Bb%40c",
            "/pets/{petId}",
            {"petId": "a%2Bb%40c"},
            id="param-not-decoded",
        ),
        pytest.param(
            "GET", "/rest/test/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}, id="greedy"
        ),
        pytest.param(
            "GET", "/rest/test/files/a/b/", "/files/{proxy+}", {"proxy": "a/b"}, id="greedy-trailing-slash"
        ),
        pytest.param(
            "GET", "/rest/test/files/a//b", "/files/{proxy+}", {"proxy": "a//b"}, id="greedy-double-slash"
        ),
        pytest.param("POST", "/rest/test/any", "/any", None, id="any-method"),
        pytest.param("PATCH", "/rest/test/any", "/any", None, id="any-method-patch"),
    ],
)
def test_rest_route_selection(
    gateway: Gateway, method: str, path: str, resource: str, path_parameters: dict[str, str] | None
) -> None:
    event = event_of(gateway.request(method, path))
    assert event["resource"] == resource
    assert event["requestContext"]["resourcePath"] == resource
    assert event["pathParameters"] == path_parameters
    assert event["httpMethod"] == method


def test_rest_static_beats_param(gateway: Gateway) -> None:
    response = gateway.get("/rest/test/pets/special")
    assert response.status_code == 200
    assert response.json() == {"special": True}


def test_rest_exact_verb_beats_any(gateway: Gateway) -> None:
    assert gateway.request("DELETE", "/rest/test/any").status_code == 204


@pytest.mark.parametrize(
    "method_path",
    [
        pytest.param(("GET", "/rest/test/nothing"), id="unknown-path"),
        pytest.param(("POST", "/rest/test/echo"), id="unknown-verb"),
        pytest.param(("GET", "/rest/test/files"), id="greedy-needs-a-segment"),
        pytest.param(("GET", "/rest/test/files/"), id="greedy-needs-a-segment-slash"),
        pytest.param(("GET", "/rest/bare/pets/1/extra"), id="too-deep"),
    ],
)
def test_rest_missing_authentication_token(gateway: Gateway, method_path: tuple[str, str]) -> None:
    response = gateway.request(*method_path)
    assert response.status_code == 403
    assert response.content == b'{"message":"Missing Authentication Token"}'
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["x-amz-apigw-id"]
    # the API's DEFAULT_4XX applies to a routed stage; $context.extendedRequestId = x-amz-apigw-id
    assert response.headers["x-gateway-response"] == "customised"
    assert response.headers["x-extended-id"] == response.headers["x-amz-apigw-id"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/rest/nostage/echo", id="unknown-stage"),
        pytest.param("/rest", id="no-stage"),
        pytest.param("/rest/", id="no-stage-slash"),
        pytest.param("/nothing-mapped/here", id="no-api-mapping"),
    ],
)
def test_rest_forbidden(gateway: Gateway, path: str) -> None:
    response = gateway.get(path)
    assert response.status_code == 403
    assert response.content == b'{"message":"Forbidden"}'
    assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert response.headers["x-amzn-RequestId"]
    # no stage, no deployment: the API's customised gateway responses do not apply
    assert "x-gateway-response" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "route_key", "stage", "raw_path", "path_parameters"),
    [
        # the documented example of §4.2
        pytest.param(
            "GET", "/http/pets/dog/1", "GET /pets/dog/1", "$default", "/pets/dog/1", None, id="exact"
        ),
        pytest.param(
            "GET",
            "/http/pets/dog/2",
            "GET /pets/dog/{id}",
            "$default",
            "/pets/dog/2",
            {"id": "2"},
            id="param",
        ),
        pytest.param(
            "GET",
            "/http/pets/cat/1",
            "GET /pets/{proxy+}",
            "$default",
            "/pets/cat/1",
            {"proxy": "cat/1"},
            id="greedy",
        ),
        pytest.param(
            "POST",
            "/http/test/5",
            "ANY /{proxy+}",
            "$default",
            "/test/5",
            {"proxy": "test/5"},
            id="any-greedy",
        ),
        pytest.param(
            "POST",
            "/http/pets/dog/1",
            "ANY /{proxy+}",
            "$default",
            "/pets/dog/1",
            {"proxy": "pets/dog/1"},
            id="verb-falls-back",
        ),
        pytest.param("GET", "/http/", "$default", "$default", "/", None, id="default-route"),
        pytest.param("GET", "/http", "$default", "$default", "/", None, id="default-route-no-slash"),
        pytest.param(
            "GET",
            "/http/dev/pets/dog/2",
            "GET /pets/dog/{id}",
            "dev",
            "/dev/pets/dog/2",
            {"id": "2"},
            id="named-stage",
        ),
        pytest.param("GET", "/http/dev", "$default", "dev", "/dev", None, id="named-stage-root"),
    ],
)
def test_http_route_selection(
    gateway: Gateway,
    method: str,
    path: str,
    route_key: str,
    stage: str,
    raw_path: str,
    path_parameters: dict[str, str] | None,
) -> None:
    event = event_of(gateway.request(method, path))
    assert event["routeKey"] == route_key
    assert event["requestContext"]["routeKey"] == route_key
    assert event["requestContext"]["stage"] == stage
    assert event["rawPath"] == raw_path
    assert event["requestContext"]["http"]["path"] == raw_path
    assert event.get("pathParameters") == path_parameters


@pytest.mark.parametrize(
    "method_path",
    [
        pytest.param(("GET", "/plain/prod/nothing"), id="no-route"),
        pytest.param(("POST", "/plain/prod/items/1"), id="no-route-for-verb"),
        pytest.param(("GET", "/plain/staging/items/1"), id="no-stage-no-default-stage"),
        pytest.param(("GET", "/plain"), id="base-path-only"),
    ],
)
def test_http_not_found(gateway: Gateway, method_path: tuple[str, str]) -> None:
    response = gateway.request(*method_path)
    assert response.status_code == 404
    assert response.content == b'{"message":"Not Found"}'
    assert "x-amzn-ErrorType" not in response.headers
    assert response.headers["apigw-requestid"]


def test_http_named_stage_found(gateway: Gateway) -> None:
    event = event_of(gateway.get("/plain/prod/items/7"))
    assert event["pathParameters"] == {"id": "7"}
    assert event["rawPath"] == "/prod/items/7"


# HTTP APIs route on the decoded path and report it decoded (live captures, hotsock/voker
# vokerhttp/testdata/ingress-paths.json); REST keeps the encoding (see "param-not-decoded" above)
@pytest.mark.parametrize(
    ("sent", "raw_path"),
    [
        pytest.param("/capture/plain", "/capture/plain", id="plain"),
        pytest.param("/capture/space%20value", "/capture/space value", id="space"),
        pytest.param("/capture/question%3Fvalue", "/capture/question", id="question-cuts"),
        pytest.param("/capture/hash%23value", "/capture/hash#value", id="hash"),
        pytest.param("/capture/slash%2Fvalue", "/capture/slash/value", id="slash"),
        pytest.param("/capture/unicode-%CE%BB-%E4%B8%96%E7%95%8C", "/capture/unicode-λ-世界", id="utf8"),
        pytest.param("/capture/literal%252Fvalue", "/capture/literal/value", id="double-slash-escape"),
        pytest.param("/capture/literal%253Fvalue", "/capture/literal?value", id="double-question"),
        pytest.param("/capture/literal%2525value", "/capture/literal%value", id="double-percent"),
    ],
)
def test_http_api_path_is_decoded(gateway: Gateway, sent: str, raw_path: str) -> None:
    event = event_of(gateway.get("/http" + sent))
    assert event["routeKey"] == "ANY /{proxy+}"
    assert event["rawPath"] == raw_path
    assert event["requestContext"]["http"]["path"] == raw_path
    assert event["pathParameters"] == {"proxy": raw_path[1:]}


def test_http_api_undecodable_path_is_400(gateway: Gateway) -> None:
    response = gateway.get("/http/capture/percent%25done")
    assert response.status_code == 400
    assert response.content == b'{"message":"Bad Request"}'
    assert response.headers["apigw-requestid"]


def test_http_api_payload_v1_path_is_decoded_too(gateway: Gateway) -> None:
    event = event_of(gateway.get("/v1default/space%20value"))
    assert event["path"] == "/space value"
    assert event["requestContext"]["path"] == "/space value"
