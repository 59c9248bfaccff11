"""Hot reload of a running `gatehold up -c FILE` (gatehold.reload), over HTTP.

Each test writes a project (gatehold.yaml, handler files) into a temporary directory, starts a real
`gatehold up` on it, edits the files while it serves and polls (with a bound, never a timing
assertion) until the change shows. The handlers count their invocations in a module-level variable,
so a function that stayed warm keeps counting and one that was reloaded starts again at 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.stackctl import Stack

T = TypeVar("T")

# The gateway's answers to a function error (docs/runtime.md, "Errors"; docs/aws-reference.md §3).
HTTP_API_FUNCTION_ERROR = (500, {"message": "Internal Server Error"})
REST_FUNCTION_ERROR = (502, {"message": "Internal server error"})


def handler_source(version: str, extra: str = "") -> str:
    return f"""\
import json

VERSION = {version!r}
COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    body = {{"version": VERSION, "count": COUNT, "function": context.function_name}}
{extra}    return {{"statusCode": 200, "body": json.dumps(body)}}
"""


CONFIG = """\
gateway:
  isolation: {isolation}
functions:
  hello:
    handler: app.handler
    code_path: hello
  world:
    handler: app.handler
    code_path: world
apis:
  shop:
    type: HTTP
    routes:
      GET /hello:
        integration: {{type: lambda, function: hello}}
      GET /world:
        integration: {{type: lambda, function: world}}
  store:
    type: REST
    stages:
      test: {{}}
    routes:
      GET /hello:
        integration: {{type: lambda, function: hello}}
"""

#: a route for the HTTP API `shop`, inserted before the `store` API
NEW_ROUTE = """\
      GET {path}:
        integration: {{type: lambda, function: {function}}}
"""


def project(tmp_path: Path, *, isolation: str = "thread") -> Path:
    """Two functions in the `sam init` layout: each code directory holds an `app.py` with `handler`."""
    for name in ("hello", "world"):
        (tmp_path / name).mkdir()
        edit(tmp_path / name / "app.py", handler_source(f"{name} v1"))
    config = tmp_path / "gatehold.yaml"
    config.write_text(CONFIG.format(isolation=isolation))
    return config


def edit(path: Path, text: str, *, rename: bool = False) -> None:
    """Save ``text`` in place, or as an editor that writes a new file and renames it over the old."""
    if not rename:
        path.write_text(text)
        return
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def eventually(
    probe: Callable[[], T | None], what: str, bound_s: float = 20.0, stack: Stack | None = None
) -> T:
    """Poll ``probe`` until it returns something truthy (a bound for a broken reload, not a timing
    assertion); the failure shows the end of ``stack``'s log."""
    deadline = time.monotonic() + bound_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            log = f"\n{stack.output()[-6000:]}" if stack is not None else ""
            raise AssertionError(f"not seen within {bound_s} s: {what}{log}")
        time.sleep(0.02)


def get(stack: Stack, path: str) -> httpx.Response:
    return httpx.get(f"{stack.gateway_url}{path}", timeout=10)


def body(stack: Stack, path: str) -> dict[str, Any]:
    response = get(stack, path)
    assert response.status_code == 200, (path, response.status_code, response.text)
    result: dict[str, Any] = response.json()
    return result


def answers(stack: Stack, path: str, version: str) -> dict[str, Any] | None:
    response = get(stack, path)
    if response.status_code == 200 and response.json()["version"] == version:
        result: dict[str, Any] = response.json()
        return result
    return None


def test_each_function_runs_its_own_module_when_module_names_are_shared(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    """Two code directories each with `app.py` and a helper module `helpers.py` imported inside the
    handler (at call time, through sys.modules): in thread isolation each function runs its own."""
    for name in ("hello", "world"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "helpers.py").write_text(f"WHO = {name!r}\n")
        edit(
            tmp_path / name / "app.py",
            handler_source(f"{name} v1", extra="    import helpers\n    body['helper'] = helpers.WHO\n"),
        )
    config = tmp_path / "gatehold.yaml"
    config.write_text(CONFIG.format(isolation="thread"))
    stack = stack_factory(config)
    for _ in range(2):  # and again, warm
        assert body(stack, "/shop/hello")["version"] == "hello v1"
        assert body(stack, "/shop/world")["version"] == "world v1"
    assert body(stack, "/shop/hello") | body(stack, "/shop/world") == {
        "version": "world v1",
        "count": 3,
        "function": "world",
        "helper": "world",
    }
    assert body(stack, "/shop/hello")["helper"] == "hello"


SAM_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Events:
        HelloWorld:
          Type: Api
          Properties: {Path: /hello, Method: get}
  GoodbyeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: goodbye/
      Handler: app.lambda_handler
      Events:
        Goodbye:
          Type: Api
          Properties: {Path: /goodbye, Method: get}
"""

SAM_APP = """\
import json

COUNT = 0


def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    return {{"statusCode": 200, "body": json.dumps({{"message": {message!r}, "count": COUNT}})}}
"""


def test_a_sam_template_in_the_sam_init_layout_reloads_code_and_template(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    """`sam init`'s layout twice: hello_world/app.py and goodbye/app.py, both `app.lambda_handler`."""
    for name in ("hello_world", "goodbye"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        edit(tmp_path / name / "app.py", SAM_APP.format(message=name))
    template = tmp_path / "template.yaml"
    template.write_text(SAM_TEMPLATE)
    stack = stack_factory(template)
    assert body(stack, "/Prod/hello") == {"message": "hello_world", "count": 1}
    assert body(stack, "/Prod/goodbye") == {"message": "goodbye", "count": 1}

    edit(tmp_path / "hello_world" / "app.py", SAM_APP.format(message="hello, edited"))
    seen = eventually(
        lambda: (
            r.json() if (r := get(stack, "/Prod/hello")).json().get("message") == "hello, edited" else None
        ),
        "the edited hello_world/app.py",
    )
    assert seen == {"message": "hello, edited", "count": 1}
    assert body(stack, "/Prod/goodbye") == {"message": "goodbye", "count": 2}

    edit(
        template,
        SAM_TEMPLATE
        + "        Farewell:\n          Type: Api\n          Properties: {Path: /farewell, Method: get}\n",
        rename=True,
    )
    eventually(lambda: get(stack, "/Prod/farewell").status_code == 200, "GET /Prod/farewell")
    assert body(stack, "/Prod/goodbye") == {"message": "goodbye", "count": 4}


@pytest.mark.parametrize(
    ("isolation", "rename"),
    [
        pytest.param("thread", False, id="thread-saved-in-place"),
        pytest.param("thread", True, id="thread-renamed-over"),
        pytest.param("process", False, id="process-saved-in-place"),
    ],
)
def test_an_edited_handler_answers_the_next_request_and_the_other_function_stays_warm(
    tmp_path: Path, stack_factory: Callable[..., Stack], isolation: str, rename: bool
) -> None:
    config = project(tmp_path, isolation=isolation)
    stack = stack_factory(config)
    assert body(stack, "/shop/hello") == {"version": "hello v1", "count": 1, "function": "hello"}
    assert [body(stack, "/shop/world")["count"] for _ in range(2)] == [1, 2]

    edit(tmp_path / "hello" / "app.py", handler_source("hello v2"), rename=rename)
    reloaded = eventually(lambda: answers(stack, "/shop/hello", "hello v2"), "hello v2")

    assert reloaded == {"version": "hello v2", "count": 1, "function": "hello"}  # a fresh module
    assert body(stack, "/shop/world") == {"version": "world v1", "count": 3, "function": "world"}
    log = stack.output()
    assert f"{tmp_path / 'hello' / 'app.py'} changed: hello reloads on its next invocation" in log


@pytest.mark.parametrize(
    "isolation", [pytest.param("thread", id="thread"), pytest.param("process", id="process")]
)
def test_a_syntax_error_is_that_functions_init_error_until_fixed(
    tmp_path: Path, stack_factory: Callable[..., Stack], isolation: str
) -> None:
    config = project(tmp_path, isolation=isolation)
    stack = stack_factory(config)
    assert body(stack, "/shop/world")["count"] == 1

    edit(tmp_path / "hello" / "app.py", "def handler(event, context)\n    return None\n")

    def broken() -> bool:
        return get(stack, "/shop/hello").status_code != 200

    eventually(broken, "the broken handler's error")
    http_api, rest_api = get(stack, "/shop/hello"), get(stack, "/store/test/hello")
    assert (http_api.status_code, http_api.json()) == HTTP_API_FUNCTION_ERROR
    assert (rest_api.status_code, rest_api.json()) == REST_FUNCTION_ERROR
    assert "Runtime.UserCodeSyntaxError: Syntax error in module 'app'" in stack.output()
    # the rest of the stack keeps serving, warm
    assert body(stack, "/shop/world") == {"version": "world v1", "count": 2, "function": "world"}

    edit(tmp_path / "hello" / "app.py", handler_source("hello v3"))
    fixed = eventually(lambda: answers(stack, "/shop/hello", "hello v3"), "the fixed handler")
    assert fixed["count"] == 1
    assert body(stack, "/store/test/hello")["version"] == "hello v3"


def test_an_invalid_configuration_is_refused_and_the_previous_one_keeps_serving(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    config = project(tmp_path)
    stack = stack_factory(config)
    assert body(stack, "/shop/world")["count"] == 1

    text = config.read_text()
    broken = text.replace("      GET /world:\n", "      GET /world:\n        authorizer: nobody\n")
    broken = broken.replace("  store:", NEW_ROUTE.format(path="/new", function="missing") + "  store:")
    edit(config, broken)
    lines = broken.splitlines()
    authorizer_line = lines.index("        authorizer: nobody") + 1
    missing_line = lines.index("        integration: {type: lambda, function: missing}") + 1

    log = eventually(
        lambda: out if "previous configuration keeps serving" in (out := stack.output()) else None,
        "the refusal",
    )
    assert f"{config}:{authorizer_line}: apis.shop.routes['GET /world'].authorizer:" in log
    assert "'nobody'" in log
    assert f"{config}:{missing_line}: apis.shop.routes['GET /new'].integration.function:" in log
    # the previous configuration serves: no authorizer on GET /world, no GET /new, warm functions
    assert body(stack, "/shop/world") == {"version": "world v1", "count": 2, "function": "world"}
    assert get(stack, "/shop/new").status_code == 404

    edit(config, text.replace("  store:", NEW_ROUTE.format(path="/fixed", function="world") + "  store:"))
    eventually(lambda: get(stack, "/shop/fixed").status_code == 200, "the fixed configuration")
    assert body(stack, "/shop/world")["count"] == 4


def test_a_valid_configuration_edit_adds_a_route_and_unchanged_functions_stay_warm(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    config = project(tmp_path)
    stack = stack_factory(config)
    assert [body(stack, "/shop/world")["count"] for _ in range(2)] == [1, 2]
    assert body(stack, "/shop/hello")["count"] == 1
    assert get(stack, "/shop/goodbye").status_code == 404

    text = config.read_text().replace(
        "  hello:\n    handler: app.handler\n    code_path: hello\n",
        "  hello:\n    handler: app.handler\n    code_path: hello\n    environment: {GREETING: hi}\n",
    )
    text = text.replace("  store:", NEW_ROUTE.format(path="/goodbye", function="world") + "  store:")
    edit(config, text, rename=True)

    added = eventually(
        lambda: r.json() if (r := get(stack, "/shop/goodbye")).status_code == 200 else None, "GET /goodbye"
    )
    assert added == {"version": "world v1", "count": 3, "function": "world"}  # the same warm sandbox
    # hello's settings changed: a new sandbox, its module imported afresh
    assert body(stack, "/shop/hello") == {"version": "hello v1", "count": 1, "function": "hello"}
    assert "configuration reloaded" in stack.output()
    assert "routes added: shop GET /goodbye" in stack.output()


def test_a_function_added_by_a_configuration_edit_is_watched_too(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    """A new code directory is watched once the configuration naming it is in (the watchers follow
    the configuration)."""
    config = project(tmp_path)
    stack = stack_factory(config)
    (tmp_path / "third").mkdir()
    edit(tmp_path / "third" / "app.py", handler_source("third v1"))
    text = config.read_text().replace(
        "apis:\n", "  third:\n    handler: app.handler\n    code_path: third\napis:\n"
    )
    edit(config, text.replace("  store:", NEW_ROUTE.format(path="/third", function="third") + "  store:"))
    eventually(lambda: answers(stack, "/shop/third", "third v1"), "GET /third", stack=stack)

    edit(tmp_path / "third" / "app.py", handler_source("third v2"))
    second = eventually(lambda: answers(stack, "/shop/third", "third v2"), "third v2", stack=stack)
    assert second["count"] == 1
    assert body(stack, "/shop/hello") == {"version": "hello v1", "count": 1, "function": "hello"}


def test_a_changed_tenant_section_is_applied_to_the_identity_provider(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    tenant = """\
tenant:
  apis:
    - {identifier: https://first-api}
  applications:
    robot:
      app_type: non_interactive
      client_secret: robot-secret-0123456789abcdef0123
      grant_types: [client_credentials]
  client_grants:
    - {client_id: robot, audience: https://first-api, scope: []}
"""
    config = project(tmp_path)
    config.write_text(config.read_text() + tenant)
    stack = stack_factory(config)

    def token(audience: str) -> httpx.Response:
        return httpx.post(
            f"{stack.idp_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "robot",
                "client_secret": "robot-secret-0123456789abcdef0123",
                "audience": audience,
            },
            timeout=10,
        )

    assert token("https://first-api").status_code == 200
    assert token("https://second-api").status_code != 200

    text = config.read_text()
    text = text.replace(
        "    - {identifier: https://first-api}\n",
        "    - {identifier: https://first-api}\n    - {identifier: https://second-api}\n",
    )
    edit(config, text + "    - {client_id: robot, audience: https://second-api, scope: []}\n")
    eventually(lambda: token("https://second-api").status_code == 200, "a token for the new API")
    assert "tenant section applied again" in stack.output()


def test_no_reload_picks_up_no_edit(tmp_path: Path, stack_factory: Callable[..., Stack]) -> None:
    """Two stacks on one project, one with --no-reload: once the other one (the witness) serves the
    edit, the --no-reload one still serves what it started with."""
    config = project(tmp_path)
    frozen = stack_factory(config, extra_args=["--no-reload"])
    witness = stack_factory(config)
    assert body(frozen, "/shop/hello")["version"] == "hello v1"
    assert body(witness, "/shop/hello")["version"] == "hello v1"

    edit(tmp_path / "hello" / "app.py", handler_source("hello v2"))
    edit(
        config,
        config.read_text().replace("  store:", NEW_ROUTE.format(path="/new", function="world") + "  store:"),
    )
    eventually(lambda: answers(witness, "/shop/hello", "hello v2"), "the witness's reload")
    eventually(lambda: get(witness, "/shop/new").status_code == 200, "the witness's new route")

    assert body(frozen, "/shop/hello") == {"version": "hello v1", "count": 2, "function": "hello"}
    assert get(frozen, "/shop/new").status_code == 404
    assert "hot reload" not in frozen.output()


def test_gateway_worker_processes_reload_too(tmp_path: Path, stack_factory: Callable[..., Stack]) -> None:
    """--workers 2: the parent watches and tells the other gateway process; every process serves the
    edit (new connections are spread over both by SO_REUSEPORT)."""
    config = project(tmp_path)
    stack = stack_factory(config, extra_args=["--workers", "2"])
    assert body(stack, "/shop/hello")["version"] == "hello v1"

    def all_answer(check: Callable[[], bool]) -> bool:
        return all(check() for _ in range(12))

    edit(tmp_path / "hello" / "app.py", handler_source("hello v2"))
    eventually(
        lambda: all_answer(lambda: answers(stack, "/shop/hello", "hello v2") is not None),
        "hello v2 everywhere",
        stack=stack,
    )

    edit(
        config,
        config.read_text().replace("  store:", NEW_ROUTE.format(path="/new", function="world") + "  store:"),
    )
    eventually(
        lambda: all_answer(lambda: get(stack, "/shop/new").status_code == 200),
        "GET /new everywhere",
        stack=stack,
    )


def test_a_gateway_process_started_again_serves_the_last_valid_configuration(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    """The supervisor checked the configuration once: a gateway process it starts again after a crash
    gets the last valid one, not whatever the file holds now."""
    from tests.server.processes import alive, service

    config = project(tmp_path)
    stack = stack_factory(config)
    assert stack.proc is not None
    text = config.read_text().replace(
        "  store:", NEW_ROUTE.format(path="/new", function="world") + "  store:"
    )
    edit(config, text)
    eventually(lambda: get(stack, "/shop/new").status_code == 200, "GET /new", stack=stack)
    edit(config, text.replace("      GET /world:\n", "      GET /world:\n        authorizer: nobody\n"))
    eventually(lambda: "previous configuration keeps serving" in stack.output(), "the refusal", stack=stack)

    gateway = service(stack.proc.pid, "gw-1")
    assert gateway is not None
    os.kill(gateway, 9)
    eventually(lambda: not alive(gateway), "the gateway process gone")
    assert get(stack, "/shop/new").status_code == 200  # answered by the process started again
    assert service(stack.proc.pid, "gw-1") not in (None, gateway)
    assert body(stack, "/shop/world")["version"] == "world v1"  # no authorizer: the valid edit


SPA_TENANT = """\
spa:
  client_id: first-spa
tenant:
  applications:
    first-spa: {app_type: spa, callbacks: ["${spa_url}/callback"], grant_types: [authorization_code]}
    second-spa: {app_type: spa, callbacks: ["${spa_url}/callback"], grant_types: [authorization_code]}
"""


def test_a_changed_spa_section_starts_the_single_page_app_again(
    tmp_path: Path, stack_factory: Callable[..., Stack]
) -> None:
    config = project(tmp_path)
    config.write_text(config.read_text() + SPA_TENANT)
    stack = stack_factory(config)

    def client_id() -> str:
        response = httpx.get(f"{stack.spa_url}/config.json", timeout=10)
        return str(response.json()["clientId"]) if response.status_code == 200 else ""

    assert client_id() == "first-spa"
    edit(config, config.read_text().replace("  client_id: first-spa", "  client_id: second-spa"))

    def switched() -> bool:
        try:
            return client_id() == "second-spa"
        except httpx.HTTPError:  # a connection of the SPA process that stopped
            return False

    eventually(switched, "the SPA with the new client id")
    assert "single-page app (pid" in stack.output()
    assert "starting it with the new settings" in stack.output()
    assert body(stack, "/shop/world")["count"] == 1  # the gateway's functions stayed warm
