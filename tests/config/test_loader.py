"""Configuration errors name the file, the line and the key path (issue 2 §2; design "Configuration")."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatehold.config import ConfigError, load_config
from gatehold.gateway.routing import compile_apis

EXAMPLE = Path(__file__).parents[2] / "src" / "gatehold" / "examples" / "gatehold.yaml"

BASE = """\
functions:
  echo:
    handler: app.handler
apis:
  pets:
    type: REST
    stages:
      test: {}
    routes:
      GET /pets:
        integration: {type: lambda, function: echo}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatehold.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        pytest.param(
            BASE.replace("    handler: app.handler", "    handler: app.handler\n    timout: 3"),
            4,
            "functions.echo.timout",
            "unknown key",
            id="unknown-key",
        ),
        pytest.param(
            BASE.replace("app.handler", "not-a-handler"),
            3,
            "functions.echo.handler",
            "module.function",
            id="bad-handler",
        ),
        pytest.param(BASE.replace("type: REST", "type: SOAP"), 6, "apis.pets.type", "", id="bad-api-type"),
        pytest.param(
            BASE.replace("GET /pets:", "FETCH /pets:"),
            9,
            "apis.pets.routes",
            "route key 'FETCH /pets'",
            id="bad-route-key",
        ),
        pytest.param(
            BASE.replace("function: echo}", "function: nope}"),
            11,
            "apis.pets.routes['GET /pets'].integration.function",
            "unknown function 'nope'",
            id="unknown-function",
        ),
        pytest.param(
            BASE.replace("      test: {}", "      $default: {}"),
            8,
            "apis.pets.stages.$default",
            "REST API stages are named",
            id="rest-default-stage",
        ),
        pytest.param(
            BASE + "        timeout_ms: 10\n",
            12,
            "apis.pets.routes['GET /pets'].timeout_ms",
            "",
            id="bad-timeout",
        ),
        pytest.param(
            BASE.replace("    handler: app.handler", "    handler: app.handler\n    runtime: java21"),
            4,
            "functions.echo.runtime",
            "runtime 'java21' is not one Gatehold runs: Lambda's Python runtimes (python3.8,",
            id="unknown-runtime",
        ),
        pytest.param(
            # a function and an authorizer *named* like a union tag keep their names in the path
            BASE.replace(
                "functions:\n  echo:", "functions:\n  lambda:\n    handler: x.y\n    timout: 3\n  echo:"
            ),
            4,
            "functions.lambda.timout",
            "unknown key",
            id="key-named-like-a-union-tag",
        ),
        pytest.param(
            BASE + "    authorizers:\n      mock:\n        type: TOKEN\n"
            "        function: echo\n        result_ttl: -1\n",
            16,
            "apis.pets.authorizers.mock.result_ttl",
            "",
            id="authorizer-named-mock",
        ),
        pytest.param(BASE + "  bad: [unclosed\n", None, "", "invalid YAML", id="invalid-yaml"),
        pytest.param(
            BASE.replace("functions:\n  echo:", "functions:\n  echo:\n    handler: x.y\n  echo:"),
            4,
            "functions.echo",
            "duplicate key",
            id="duplicate-key",
        ),
    ],
)
def test_config_errors_name_file_line_key(
    tmp_path: Path, text: str, line: int | None, key: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problem = info.value.problems[0]
    assert problem.file == str(path)
    if line is not None:
        assert problem.line == line, str(problem)
    assert problem.key_path == key, str(problem)
    assert message in problem.message
    text_form = str(info.value)
    assert text_form.startswith(f"{path}:")


def test_route_table_conflicts_name_file_line_key(tmp_path: Path) -> None:
    text = (
        BASE
        + "      GET /pets/{id}:\n        integration: {type: mock}\n"
        + "      GET /pets/{petId}/toys:\n        integration: {type: mock}\n"
    )
    loaded = load_config(_write(tmp_path, text))
    with pytest.raises(ConfigError) as info:
        compile_apis(loaded)
    problem = info.value.problems[0]
    assert problem.line == 9
    assert problem.key_path == "apis.pets.routes"
    assert "{id}" in problem.message
    assert "{petId}" in problem.message
    assert str(info.value).startswith(f"{loaded.path}:9: apis.pets.routes:")


def test_example_stack_compiles() -> None:
    variables = {"idp_url": "http://localhost:9000", "spa_url": "http://localhost:3000", "data_dir": "/tmp/x"}
    routers = compile_apis(load_config(EXAMPLE, variables=variables))
    assert set(routers) == {"movies", "devices", "petstore", "unicorns", "wishlist"}
    assert routers["petstore"].api.base_path == "/petstore"
    assert len(routers["petstore"].api.api_id) == 10


HTTP_API = """\
apis:
  shop:
    type: HTTP
    routes:
      GET /a:
        integration: {type: http_proxy, uri: "https://example.com"}
"""


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        pytest.param(
            BASE.replace("    stages:\n      test: {}\n", ""),
            5,
            "apis.pets",
            "a REST API is served on a named stage",
            id="rest-without-stages",
        ),
        pytest.param(
            HTTP_API + "    binary_media_types: [image/png]\n",
            7,
            "apis.shop.binary_media_types",
            "binary media types exist only in REST APIs",
            id="http-binary-media-types",
        ),
        pytest.param(
            HTTP_API + "    api_key_source: HEADER\n",
            7,
            "apis.shop.api_key_source",
            "API keys exist only in REST APIs",
            id="http-api-key-source",
        ),
        pytest.param(
            HTTP_API.replace('uri: "https://example.com"', "uri: '${isuer}'"),
            6,
            "apis.shop.routes['GET /a'].integration.uri",
            "unknown placeholder ${isuer} (known: ${issuer}",
            id="unknown-placeholder",
        ),
        pytest.param(
            "tenant:\n  applications:\n    web:\n      app_type: spa\n      connections: [nope]\n",
            5,
            "tenant.applications.web.connections[0]",
            "unknown connection 'nope'",
            id="application-unknown-connection",
        ),
    ],
)
def test_cross_checks_name_their_own_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, variables={"issuer": "http://localhost:9000/"})
    problem = info.value.problems[0]
    assert (problem.line, problem.key_path) == (line, key), str(problem)
    assert message in problem.message, str(problem)


def test_literal_placeholder_is_written_with_two_dollars(tmp_path: Path) -> None:
    path = _write(tmp_path, HTTP_API.replace('uri: "https://example.com"', "uri: '${issuer}$${literal}'"))
    loaded = load_config(path, variables={"issuer": "http://localhost:9000/"})
    integration = loaded.config.apis["shop"].routes["GET /a"].integration
    assert integration.uri == "http://localhost:9000/${literal}"  # type: ignore[union-attr]
