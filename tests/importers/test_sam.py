"""The SAM importer: what SAM's translator would make of a template (Globals, implicit APIs, events,
auth defaults, CORS preflights, definitions), one case per refusal message (the template's file, the
line marked ``# <-`` and the property path), and the templates under fixtures/sam, written for these
tests in the shapes of published SAM projects (fixtures/sam/SOURCES.md)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehold.config import ConfigError
from gatehold.importers.base import shell_quoted
from tests.importers.support import load, problems, write
from tests.stackctl import Stack, new_stack

FIXTURES = Path(__file__).parent / "fixtures" / "sam"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:Fn"
IMPORTABLE = {
    "hello-world-rest",
    "http-api-inline-code",
    "rest-request-model",
    "http-api-cors-any",
    "rest-any-root",
}
HEAD = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
"""
FUNCTION = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
"""


def sam(tmp_path: Path, text: str) -> tuple[Path, int]:
    """A SAM template (HEAD + ``text``) with a src/ code directory; the line marked ``# <-``."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    body = textwrap.dedent(text)
    full = (HEAD.splitlines(keepends=True)[0] if body.startswith("Transform:") else HEAD) + body
    path = write(tmp_path, "template.yaml", full)
    marked = [i for i, line in enumerate(full.splitlines(), 1) if "# <-" in line]
    return path, marked[0] if marked else 0


def refusal(path: Path, line: int, key: str, message: str) -> str:
    return f"{path}:{line}: {key}: {message}; to run without it, pass --ignore {shell_quoted(key)}"


# --------------------------------------------------------------------------------------------------
# Globals
# --------------------------------------------------------------------------------------------------


def test_globals_merge_as_sam_merges_them(tmp_path: Path) -> None:
    path, _ = sam(
        tmp_path,
        """
        Globals:
          Function:
            Runtime: python3.12
            CodeUri: src/
            Timeout: 10
            MemorySize: 256
            Environment:
              Variables: {TABLE: global-table, STAGE: dev}
        Resources:
          One:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Timeout: 20
              Environment:
                Variables: {TABLE: own-table, EXTRA: "1"}
          Two:
            Type: AWS::Serverless::Function
            IgnoreGlobals: [Timeout]
            Properties:
              Handler: app.handler
        """,
    )
    loaded = load(path)
    one, two = loaded.config.functions["One"], loaded.config.functions["Two"]
    assert (one.timeout, one.memory_size) == (20.0, 256)
    assert one.environment == {"TABLE": "own-table", "STAGE": "dev", "EXTRA": "1"}
    assert (two.timeout, two.memory_size) == (3.0, 256)  # IgnoreGlobals: Lambda's default timeout
    lines = path.read_text().splitlines()
    # each value's line is where it was written: the resource, or Globals
    assert loaded.where("functions", "One", "environment", "TABLE").line == 1 + next(
        i for i, line in enumerate(lines) if "own-table" in line
    )
    assert loaded.where("functions", "One", "environment", "STAGE").line == 1 + next(
        i for i, line in enumerate(lines) if "global-table" in line
    )
    assert loaded.where("functions", "Two", "memory_size").path == "Globals.Function.MemorySize"


def test_globals_refuse_unknown_sections_and_properties(tmp_path: Path) -> None:
    path, line = sam(
        tmp_path,
        """
        Globals:
          Function:
            Policies: []  # <-
          Queue: {}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src/}
        """,
    )
    assert problems(path) == [
        f"{path}:{line}: Globals.Function.Policies: 'Policies' is not a property SAM takes in"
        f" Globals.Function",
        f"{path}:{line + 1}: Globals.Queue: 'Queue' is not a Globals section; it must be one of Api,"
        " CapacityProvider, Function, HttpApi, LayerVersion, SimpleTable, StateMachine, WebSocketApi",
    ]


# --------------------------------------------------------------------------------------------------
# events and implicit APIs
# --------------------------------------------------------------------------------------------------


def test_implicit_apis_and_their_stages(tmp_path: Path) -> None:
    path, _ = sam(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                Get: {Type: Api, Properties: {Path: /items, Method: any}}
                Http:
                  Type: HttpApi
                  Properties: {Path: "/items/{id}", Method: get, PayloadFormatVersion: "1.0"}
                Catch: {Type: HttpApi}
                Timed: {Type: HttpApi, Properties: {Path: /slow, Method: POST, TimeoutInMillis: 5000}}
                Queue: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:q}}
        """,
    )
    loaded = load(path)
    rest = loaded.config.apis["ServerlessRestApi"]
    http = loaded.config.apis["ServerlessHttpApi"]
    assert (rest.base_path, http.base_path) == ("/ServerlessRestApi", "/ServerlessHttpApi")
    assert list(rest.stages) == ["Prod", "Stage"]
    assert list(rest.routes) == ["ANY /items"]
    assert list(http.stages) == ["$default"]
    assert list(http.routes) == ["GET /items/{id}", "$default", "POST /slow"]
    assert (
        http.routes["GET /items/{id}"].integration.model_dump(exclude_defaults=True)["payload_format_version"]
        == "1.0"
    )
    assert http.routes["POST /slow"].integration.model_dump(exclude_defaults=True)["timeout_ms"] == 5000
    assert any("Events of type SQS" in str(f) for f in loaded.ignored)


def test_rest_auth_defaults_cors_preflight_and_api_keys(tmp_path: Path) -> None:
    path, _ = sam(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: live
              Variables: {color: blue}
              Cors: "'https://app.example.com'"
              Auth:
                DefaultAuthorizer: Tokens
                ApiKeyRequired: true
                AddApiKeyRequiredToCorsPreflight: false
                Authorizers:
                  Tokens:
                    FunctionArn: !GetAtt Fn.Arn
                    Identity: {Header: X-Token, ValidationExpression: "^tok_.+$", ReauthorizeEvery: 0}
                  Requests:
                    FunctionArn: !GetAtt Fn.Arn
                    FunctionPayloadType: REQUEST
                    Identity: {QueryStrings: [key], StageVariables: [color], Context: [sourceIp]}
              MethodSettings:
                - {ResourcePath: /~1items, HttpMethod: GET, ThrottlingRateLimit: 3, ThrottlingBurstLimit: 1}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                List: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items, Method: get}}
                Make:
                  Type: Api
                  Properties:
                    RestApiId: !Ref Api
                    Path: /items
                    Method: post
                    Auth: {Authorizer: Requests, ApiKeyRequired: false}
                Open:
                  Type: Api
                  Properties: {RestApiId: !Ref Api, Path: /open, Method: get, Auth: {Authorizer: NONE}}
        """,
    )
    api = load(path).config.apis["Api"]
    assert list(api.stages) == ["live", "Stage"]
    assert api.stages["live"].variables == {"color": "blue"}
    assert api.stages["live"].route_throttling["GET /items"].rate_limit == 3
    routes = api.routes
    assert (routes["GET /items"].authorizer, routes["GET /items"].api_key_required) == ("Tokens", True)
    assert (routes["POST /items"].authorizer, routes["POST /items"].api_key_required) == ("Requests", False)
    assert (routes["GET /open"].authorizer, routes["GET /open"].api_key_required) == (None, True)
    # SAM adds the default authorizer to its CORS preflight (AddDefaultAuthorizerToCorsPreflight), not the key
    preflight = routes["OPTIONS /items"]
    assert (preflight.authorizer, preflight.api_key_required) == ("Tokens", False)
    assert preflight.integration.model_dump(exclude_defaults=True) == {
        "type": "mock",
        "headers": {
            "Access-Control-Allow-Origin": "https://app.example.com",
            "Access-Control-Allow-Methods": "GET,OPTIONS,POST",
        },
        "body": "{}\n",
    }
    tokens, requests = api.authorizers["Tokens"], api.authorizers["Requests"]
    assert (
        tokens.type,
        tokens.identity_source,
        tokens.identity_validation_expression,
        tokens.result_ttl,
    ) == (
        "TOKEN",
        ["method.request.header.X-Token"],
        "^tok_.+$",
        0,
    )
    assert requests.identity_source == [
        "method.request.querystring.key",
        "stageVariables.color",
        "context.sourceIp",
    ]


def test_http_auth_default_scopes_lambda_authorizer_and_cors_true(tmp_path: Path) -> None:
    path, _ = sam(
        tmp_path,
        """
        Resources:
          Http:
            Type: AWS::Serverless::HttpApi
            Properties:
              StageName: v1
              StageVariables: {mode: x}
              CorsConfiguration: true
              Auth:
                DefaultAuthorizer: Oidc
                Authorizers:
                  Oidc:
                    IdentitySource: $request.header.Authorization
                    AuthorizationScopes: [basic]
                    JwtConfiguration: {Issuer: https://tenant.us.auth0.com/, Audience: api}
                  Keys:
                    FunctionArn: !GetAtt Fn.Arn
                    AuthorizerPayloadFormatVersion: 2.0
                    EnableSimpleResponses: true
                    Identity: {Headers: [X-Key], ReauthorizeEvery: 30}
              RouteSettings:
                GET /a: {ThrottlingRateLimit: 7, ThrottlingBurstLimit: 2}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                A: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /a, Method: GET}}
                B:
                  Type: HttpApi
                  Properties: {ApiId: !Ref Http, Path: /b, Method: GET, Auth: {AuthorizationScopes: [extra]}}
                C:
                  Type: HttpApi
                  Properties: {ApiId: !Ref Http, Path: /c, Method: GET, Auth: {Authorizer: Keys}}
        """,
    )
    loaded = load(path, issuer_aliases=("https://*.auth0.com/",))
    api = loaded.config.apis["Http"]
    assert list(api.stages) == ["v1"]
    assert api.stages["v1"].route_throttling["GET /a"].rate_limit == 7
    assert api.cors is not None
    assert api.cors.allow_origins == ["*"]
    assert api.routes["GET /a"].authorization_scopes == ["basic"]  # the authorizer's scopes by default
    assert api.routes["GET /b"].authorization_scopes == ["extra"]
    assert (api.routes["GET /c"].authorizer, api.routes["GET /c"].authorization_scopes) == ("Keys", [])
    keys = api.authorizers["Keys"]
    assert (keys.type, keys.payload_format_version, keys.enable_simple_responses) == ("REQUEST", "2.0", True)
    assert (keys.identity_source, keys.result_ttl) == (["$request.header.X-Key"], 30)
    assert api.authorizers["Oidc"].jwt_configuration is not None
    assert api.authorizers["Oidc"].jwt_configuration.audience == ["api"]
    tenant_api = loaded.config.tenant.apis[0]
    assert (tenant_api.identifier, sorted(str(p) for p in tenant_api.permissions)) == (
        "api",
        ["basic", "extra"],
    )


def test_usage_plans_shared_and_gateway_responses(tmp_path: Path) -> None:
    api = """
          {name}:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              OpenApiVersion: 3.0.1
              Auth:
                ApiKeyRequired: true
                UsagePlan: {{CreateUsagePlan: SHARED, Throttle: {{RateLimit: 9, BurstLimit: 3}}}}
              GatewayResponses:
                INVALID_API_KEY:
                  StatusCode: 401
                  ResponseParameters: {{Headers: {{WWW-Authenticate: "'ApiKey'"}}}}
                  ResponseTemplates: {{application/json: '{{"error": "key"}}'}}
    """
    path, _ = sam(
        tmp_path,
        "Resources:"
        + api.format(name="One")
        + api.format(name="Two")
        + """
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                A: {Type: Api, Properties: {RestApiId: !Ref One, Path: /a, Method: get}}
                B: {Type: Api, Properties: {RestApiId: !Ref Two, Path: /b, Method: get}}
        """,
    )
    loaded = load(path, values={"ApiKey:ServerlessApiKey": "shared-key-0123456789"})
    plan = loaded.config.gateway.usage_plans["ServerlessUsagePlan"]
    assert (plan.api_stages, plan.api_keys) == (["One/s", "Two/s"], ["shared-key-0123456789"])
    response = loaded.config.apis["One"].gateway_responses["INVALID_API_KEY"]
    assert (response.status_code, response.headers, response.template) == (
        401,
        {"WWW-Authenticate": "'ApiKey'"},
        '{"error": "key"}',
    )


def test_definition_uri_and_aws_include(tmp_path: Path) -> None:
    write(
        tmp_path,
        "openapi.yaml",
        """openapi: 3.0.1
info: {title: files, version: "1"}
paths:
  /files:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: URI
""".replace(
            "URI", "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + FN_ARN + "/invocations"
        ),
    )
    write(
        tmp_path,
        "included.yaml",
        "openapi: 3.0.1\ninfo: {title: inc, version: '1'}\npaths:\n  /inc:\n    get:\n"
        "      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: 'http://b.example/'}\n",
    )
    path, _ = sam(
        tmp_path,
        """
        Resources:
          FromFile:
            Type: AWS::Serverless::Api
            Properties: {StageName: f, DefinitionUri: openapi.yaml}
          Included:
            Type: AWS::Serverless::Api
            Properties:
              StageName: i
              DefinitionBody:
                Fn::Transform: {Name: AWS::Include, Parameters: {Location: included.yaml}}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                Inc: {Type: Api, Properties: {RestApiId: !Ref Included, Path: /inc, Method: get}}
                NotInFile: {Type: Api, Properties: {RestApiId: !Ref FromFile, Path: /other, Method: get}}
        """,
    )
    loaded = load(path)
    assert list(loaded.config.apis["FromFile"].routes) == ["GET /files"]
    assert list(loaded.config.apis["Included"].routes) == ["GET /inc"]
    assert any("GET /other is not in FromFile's DefinitionUri file" in str(n) for n in loaded.notes)
    assert tmp_path / "openapi.yaml" in loaded.files


DEFINITION_EVENTS = """
Resources:
  Api:
    Type: AWS::Serverless::{kind}
    Properties:{extra}
      DefinitionBody:
        openapi: 3.0.1
        info: {{title: t, version: "1"}}
        paths:
          /mocked:
            get:
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: GET
                uri: http://backend.example/mocked{version}
          /bare:
            get:
              summary: no integration
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Events:
        Mocked:
          Type: {event}
          Properties:
            {api_id}: !Ref Api
            Path: /mocked
            Method: get
            TimeoutInMillis: 5000
        Elsewhere:  # <-
          Type: {event}
          Properties: {{{api_id}: !Ref Api, Path: /elsewhere, Method: get}}
"""


def definition_events(kind: str, extra: str = "") -> str:
    rest = kind == "Api"
    return DEFINITION_EVENTS.format(
        kind=kind,
        extra="\n      StageName: s" + extra if rest else extra,
        event="Api" if rest else "HttpApi",
        api_id="RestApiId" if rest else "ApiId",
        version="" if rest else "\n                payloadFormatVersion: '1.0'",
    )


def test_events_on_a_rest_api_s_own_definition_body_are_not_merged(tmp_path: Path) -> None:
    """SAM edits a REST API's own DefinitionBody only with MergeDefinitions: true (push.py: events are
    applied when SAM generated the definition or MergeDefinitions is set): without it an event adds
    no route and no integration, and its settings apply nowhere."""
    bare = "          /bare:\n            get:\n              summary: no integration\n"
    text = definition_events("Api").replace(bare, "")
    path, line = sam(tmp_path, text)
    loaded = load(path)
    api = loaded.config.apis["Api"]
    assert list(api.routes) == ["GET /mocked"]
    assert api.routes["GET /mocked"].integration.type == "http_proxy"
    assert api.routes["GET /mocked"].integration.timeout_ms is None
    [note] = [str(n) for n in loaded.notes if "/elsewhere" in str(n)]
    assert note == (
        f"{path}:{line}: Resources.Fn.Properties.Events.Elsewhere: GET /elsewhere is not in Api's"
        " DefinitionBody, to which SAM adds Api events only with MergeDefinitions: true: API Gateway"
        " would not serve it"
    )
    [ignored] = [f for f in loaded.ignored if f.ref.path.endswith("TimeoutInMillis")]
    assert ignored.ref.path == "Resources.Fn.Properties.Events.Mocked.Properties.TimeoutInMillis"
    assert ignored.message.endswith(
        "GET /mocked is served as Api's DefinitionBody has it, to which SAM adds Api events only with"
        " MergeDefinitions: true"
    )


def test_an_event_on_a_rest_definition_operation_without_integration(tmp_path: Path) -> None:
    path, _ = sam(tmp_path, definition_events("Api").replace("Path: /mocked", "Path: /bare"))
    event_line = line_of_text(path, "        Mocked:")
    operation_line = line_of_text(path, "          /bare:") + 1
    assert problems(path) == [
        f"{path}:{operation_line}: Resources.Api.Properties.DefinitionBody.paths['/bare'].get: GET /bare"
        " has no x-amazon-apigateway-integration: API Gateway cannot deploy a method without one; to run"
        " without it, pass --ignore \"Resources.Api.Properties.DefinitionBody.paths['/bare'].get\"",
        f"{path}:{event_line}: Resources.Fn.Properties.Events.Mocked: GET /bare has no"
        " x-amazon-apigateway-integration in Api's DefinitionBody, to which SAM adds Api events only with"
        " MergeDefinitions: true: API Gateway cannot deploy the method (add MergeDefinitions: true, or the"
        " integration)",
    ]


@pytest.mark.parametrize(
    ("kind", "extra", "mocked", "bare"),
    [
        pytest.param(
            "Api", "\n      MergeDefinitions: true", ("lambda", 5000), ("lambda", None), id="rest-merge"
        ),
        pytest.param("HttpApi", "", ("http_proxy", 5000), ("lambda", None), id="http"),
    ],
)
def test_events_merged_into_a_definition_body(
    tmp_path: Path, kind: str, extra: str, mocked: tuple[str, int], bare: tuple[str, None]
) -> None:
    """With MergeDefinitions: true the event's operation wins (SAM merges its generated operation over
    the definition's); an HttpApi event keeps an integration the definition has (OpenApiEditor's
    add_lambda_integration returns when one exists) and sets its TimeoutInMillis. Both add the
    integration to an operation without one, and the routes of events on other paths."""
    event, api_id = ("Api", "RestApiId") if kind == "Api" else ("HttpApi", "ApiId")
    on_bare = (
        f"        Bare:\n          Type: {event}\n"
        f"          Properties: {{{api_id}: !Ref Api, Path: /bare, Method: get}}\n"
    )
    text = definition_events(kind, extra).replace("        Elsewhere:", on_bare + "        Elsewhere:")
    path, _ = sam(tmp_path, text)
    api = load(path).config.apis["Api"]
    assert sorted(api.routes) == ["GET /bare", "GET /elsewhere", "GET /mocked"]
    got = {
        key: (route.integration.type, route.integration.timeout_ms)  # type: ignore[union-attr]
        for key, route in api.routes.items()
    }
    assert got == {"GET /mocked": mocked, "GET /bare": bare, "GET /elsewhere": ("lambda", None)}


def line_of_text(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(marker))


# --------------------------------------------------------------------------------------------------
# one case per refusal message
# --------------------------------------------------------------------------------------------------


def with_function(props: str) -> str:
    """Resources with the Fn function, ``props`` added to its properties."""
    return "Resources:\n" + FUNCTION + textwrap.indent(textwrap.dedent(props), "      ")


def with_api(kind: str, props: str, events: str = "") -> str:
    """Resources with an API of ``kind`` (Api / HttpApi) and the Fn function routing /x to it."""
    event = "Api" if kind == "Api" else "HttpApi"
    ref = "RestApiId" if kind == "Api" else "ApiId"
    stage = "      StageName: s\n" if kind == "Api" else ""
    return (
        "Resources:\n  Svc:\n    Type: AWS::Serverless::"
        + kind
        + "\n    Properties:\n"
        + stage
        + textwrap.indent(textwrap.dedent(props), "      ")
        + FUNCTION
        + "      Events:\n        X:\n          Type: "
        + event
        + "\n          Properties:\n"
        + f"            {ref}: !Ref Svc\n            Path: /x\n            Method: get\n"
        + textwrap.indent(textwrap.dedent(events), "            ")
    )


REFUSALS: list[Any] = [
    pytest.param(
        with_function("PackageType: Image  # <-\n"),
        "Resources.Fn.Properties.PackageType",
        "container-image functions are not run: Gatehold runs Python handlers from local code",
        id="package-type-image",
    ),
    pytest.param(
        with_function("ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fn:latest  # <-\n"),
        "Resources.Fn.Properties.ImageUri",
        "container-image functions are not run: Gatehold runs Python handlers from local code",
        id="image-uri",
    ),
    pytest.param(
        with_function("Layers: [!Ref Deps]  # <-\n") + "  Deps:\n    Type: AWS::Serverless::LayerVersion\n"
        "    Properties: {ContentUri: src/}\n",
        "Resources.Fn.Properties.Layers",
        "layers are not built or mounted: put the layer's code on the function's code path (or in the"
        " environment Gatehold runs in)",
        id="layers",
    ),
    pytest.param(
        with_function("FileSystemConfigs: []  # <-\n"),
        "Resources.Fn.Properties.FileSystemConfigs",
        "EFS file systems are not mounted locally",
        id="file-system",
    ),
    pytest.param(
        with_function("FunctionUrlConfig: {AuthType: NONE}  # <-\n"),
        "Resources.Fn.Properties.FunctionUrlConfig",
        "function URLs are not served: only API Gateway routes reach functions locally",
        id="function-url",
    ),
    pytest.param(
        with_function("Bogus: 1  # <-\n"),
        "Resources.Fn.Properties.Bogus",
        "Bogus is not a property of AWS::Serverless::Function that Gatehold knows",
        id="unknown-property",
    ),
    pytest.param(
        with_function("").replace("CodeUri: src/", "CodeUri: s3://bucket/code.zip  # <-"),
        "Resources.Fn.Properties.CodeUri",
        "the code is in S3 (s3://bucket/code.zip): Gatehold runs code from a local directory"
        " (CodeUri: ./src)",
        id="code-uri-s3",
    ),
    pytest.param(
        with_function("").replace("CodeUri: src/", "CodeUri: {Bucket: b, Key: k}  # <-"),
        "Resources.Fn.Properties.CodeUri",
        "the code is in S3 (b/k): Gatehold runs code from a local directory (CodeUri: ./src)",
        id="code-uri-s3-object",
    ),
    pytest.param(
        with_function("").replace("CodeUri: src/", "CodeUri: src/app.py  # <-"),
        "Resources.Fn.Properties.CodeUri",
        "CodeUri src/app.py is a file: Gatehold runs code from a directory; unpack it",
        id="code-uri-file",
    ),
    pytest.param(
        with_function("Events:\n  Sock:\n    Type: WebSocket  # <-\n"),
        "Resources.Fn.Properties.Events.Sock.Type",
        "events of type WebSocket are not supported",
        id="event-type",
    ),
    pytest.param(
        with_function(
            "Events:\n  X:\n    Type: Api\n    Properties: {Path: /x, Method: get}\n"
            "    Description: x  # <-\n"
        ),
        "Resources.Fn.Properties.Events.X.Description",
        "Description is not part of an event Gatehold knows",
        id="event-key",
    ),
    pytest.param(
        with_function(
            "Events:\n  X:\n    Type: Api\n    Properties:\n      Path: /x\n      Method: get\n"
            "      Stage: prod  # <-\n"
        ),
        "Resources.Fn.Properties.Events.X.Properties.Stage",
        "Stage is not a property of a Api event that Gatehold knows",
        id="event-property",
    ),
    pytest.param(
        with_api("Api", "Auth:\n  Bogus: 1  # <-\n"),
        "Resources.Svc.Properties.Auth.Bogus",
        "Bogus is not an Auth setting of AWS::Serverless::Api Gatehold knows",
        id="api-auth-key",
    ),
    pytest.param(
        with_api("Api", "Auth:\n  ResourcePolicy: {IpRangeWhitelist: [10.0.0.0/8]}  # <-\n"),
        "Resources.Svc.Properties.Auth.ResourcePolicy",
        "resource policies (IP, VPC, account conditions) are not evaluated locally",
        id="api-resource-policy",
    ),
    pytest.param(
        with_api("Api", "Auth:\n  Authorizers:\n    Pool:  # <-\n      UserPoolArn: arn:aws:cognito\n"),
        "Resources.Svc.Properties.Auth.Authorizers.Pool",
        "Cognito user-pool authorizers are not supported",
        id="cognito-authorizer",
    ),
    pytest.param(
        with_api(
            "Api", "Auth:\n  Authorizers:\n    T:\n      FunctionArn: !GetAtt Fn.Arn\n      Bogus: 1  # <-\n"
        ),
        "Resources.Svc.Properties.Auth.Authorizers.T.Bogus",
        "Bogus is not a property of a Lambda authorizer Gatehold knows",
        id="rest-authorizer-key",
    ),
    pytest.param(
        with_api(
            "Api",
            "Auth:\n  Authorizers:\n    T:\n      FunctionArn: !GetAtt Fn.Arn\n"
            "      Identity:\n        Headerz: [X]  # <-\n",
        ),
        "Resources.Svc.Properties.Auth.Authorizers.T.Identity.Headerz",
        "Headerz is not part of a TOKEN authorizer's Identity",
        id="rest-identity-key",
    ),
    pytest.param(
        with_api(
            "HttpApi",
            "Auth:\n  Authorizers:\n    O:\n      OpenIdConnectUrl: https://x/.well-known"
            "/openid-configuration  # <-\n      IdentitySource: $request.header.Authorization\n"
            "      JwtConfiguration: {issuer: https://x/, audience: [a]}\n",
        ),
        "Resources.Svc.Properties.Auth.Authorizers.O.OpenIdConnectUrl",
        "OpenIdConnectUrl: give JwtConfiguration.issuer (the issuer is not discovered)",
        id="openid-url",
    ),
    pytest.param(
        with_api(
            "HttpApi",
            "Auth:\n  Authorizers:\n    O:\n      Bogus: 1  # <-\n"
            "      IdentitySource: $request.header.Authorization\n"
            "      JwtConfiguration: {issuer: https://x/, audience: [a]}\n",
        ),
        "Resources.Svc.Properties.Auth.Authorizers.O.Bogus",
        "Bogus is not a property of an HTTP API authorizer Gatehold knows",
        id="http-authorizer-key",
    ),
    pytest.param(
        with_api(
            "HttpApi",
            "Auth:\n  Authorizers:\n    L:\n      FunctionArn: !GetAtt Fn.Arn\n"
            "      AuthorizerPayloadFormatVersion: 2.0\n"
            "      Identity:\n        Header: X  # <-\n",
        ),
        "Resources.Svc.Properties.Auth.Authorizers.L.Identity.Header",
        "Header is not part of a Lambda authorizer's Identity",
        id="http-identity-key",
    ),
    pytest.param(
        with_api("Api", "DefinitionUri: s3://bucket/openapi.yaml  # <-\n"),
        "Resources.Svc.Properties.DefinitionUri",
        "the definition is in S3: point DefinitionUri at the local file (or use DefinitionBody)",
        id="definition-uri-s3",
    ),
    pytest.param(
        with_api("Api", "", "Auth:\n  Bogus: 1  # <-\n"),
        "Resources.Fn.Properties.Events.X.Properties.Auth.Bogus",
        "Bogus is not an Auth setting of a Api event Gatehold knows",
        id="event-auth-key",
    ),
    pytest.param(
        with_api("Api", "", "Auth:\n  ResourcePolicy: {SourceVpcWhitelist: [vpc-1]}  # <-\n"),
        "Resources.Fn.Properties.Events.X.Properties.Auth.ResourcePolicy",
        "resource policies (IP, VPC, account conditions) are not evaluated locally",
        id="event-resource-policy",
    ),
    pytest.param(
        with_api("Api", "", "Auth:\n  Authorizer: AWS_IAM  # <-\n"),
        "Resources.Fn.Properties.Events.X.Properties.Auth.Authorizer",
        "IAM (SigV4) authorization is not supported",
        id="event-iam",
    ),
    pytest.param(
        with_api("Api", "Auth:\n  DefaultAuthorizer: AWS_IAM  # <-\n"),
        "Resources.Svc.Properties.Auth.DefaultAuthorizer",
        "IAM (SigV4) authorization is not supported",
        id="default-iam",
    ),
    pytest.param(
        with_api("Api", "Models: {M: {type: object}}\n", "RequestModel:\n  Model: M\n  Bogus: 1  # <-\n"),
        "Resources.Fn.Properties.Events.X.Properties.RequestModel.Bogus",
        "Bogus is not part of RequestModel",
        id="request-model-key",
    ),
    pytest.param(
        with_api("HttpApi", "Description: d\n", "RouteSettings: {Bogus: 1}  # <-\n"),
        "Resources.Fn.Properties.Events.X.Properties.RouteSettings.Bogus",
        "Bogus is not a route setting Gatehold knows",
        id="event-route-setting",
    ),
    pytest.param(
        with_api("Api", "Cors:\n  AllowOrigin: \"'*'\"\n  ExposeHeaders: \"'x'\"  # <-\n"),
        "Resources.Svc.Properties.Cors.ExposeHeaders",
        "ExposeHeaders is not a Cors setting SAM knows",
        id="cors-key",
    ),
    pytest.param(
        with_api("HttpApi", "CorsConfiguration:\n  AllowOrigins: ['*']\n  Bogus: 1  # <-\n"),
        "Resources.Svc.Properties.CorsConfiguration.Bogus",
        "Bogus is not a CORS setting Gatehold knows",
        id="cors-configuration-key",
    ),
    pytest.param(
        with_api("Api", "GatewayResponses:\n  DEFAULT_4XX:\n    Bogus: 1  # <-\n"),
        "Resources.Svc.Properties.GatewayResponses.DEFAULT_4XX.Bogus",
        "Bogus is not part of a gateway response",
        id="gateway-response-key",
    ),
    pytest.param(
        with_api(
            "Api",
            "GatewayResponses:\n  DEFAULT_4XX:\n    ResponseParameters:\n      Paths: {x: \"'y'\"}  # <-\n",
        ),
        "Resources.Svc.Properties.GatewayResponses.DEFAULT_4XX.ResponseParameters.Paths",
        "gateway responses set headers only (Paths and QueryStrings are not read)",
        id="gateway-response-paths",
    ),
    pytest.param(
        with_api("Api", "Auth:\n  UsagePlan:\n    CreateUsagePlan: PER_API\n    Bogus: 1  # <-\n"),
        "Resources.Svc.Properties.Auth.UsagePlan.Bogus",
        "Bogus is not part of a SAM usage plan",
        id="usage-plan-key",
    ),
    pytest.param(
        with_api("Api", "Domain: {DomainName: api.example.com, CertificateArn: arn:aws:acm}  # <-\n"),
        "Resources.Svc.Properties.Domain",
        "custom domains are not served: the API is served at its invoke URL",
        id="api-domain",
    ),
    pytest.param(
        with_api("HttpApi", "Domain: {DomainName: api.example.com, CertificateArn: arn:aws:acm}  # <-\n"),
        "Resources.Svc.Properties.Domain",
        "custom domains are not served: the API is served at its invoke URL",
        id="http-api-domain",
    ),
    pytest.param(
        with_function("") + "  App:  # <-\n    Type: AWS::Serverless::Application\n"
        "    Properties: {Location: {ApplicationId: arn:aws:serverlessrepo, SemanticVersion: 1.0.0}}\n",
        "Resources.App",
        "nested applications are not deployed: import the application's template itself (imports: in a"
        " gatehold.yaml)",
        id="application",
    ),
    pytest.param(
        with_function("") + "  Graph:  # <-\n    Type: AWS::Serverless::GraphQLApi\n    Properties: {}\n",
        "Resources.Graph",
        "AppSync GraphQL APIs are not served",
        id="graphql-api",
    ),
    pytest.param(
        with_function("") + "  Ws:  # <-\n    Type: AWS::Serverless::WebSocketApi\n    Properties: {}\n",
        "Resources.Ws",
        "WebSocket APIs are not supported",
        id="websocket-api",
    ),
    pytest.param(
        with_function("") + "  Flow:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
        "      Definition: {}\n      Events:\n        Start:  # <-\n          Type: Api\n"
        "          Properties: {Path: /start, Method: post}\n",
        "Resources.Flow.Properties.Events.Start",
        "Api events of state machines start Step Functions executions, which Gatehold does not run",
        id="state-machine-api-event",
    ),
    pytest.param(
        "Transform: [AWS::Serverless-2016-10-31, Custom::Macro]  # <-\n" + with_function(""),
        "Transform[1]",
        "the macro Custom::Macro runs in AWS (Transform); Gatehold cannot expand it",
        id="transform-macro",
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), REFUSALS)
def test_refusals(tmp_path: Path, text: str, key: str, message: str) -> None:
    path, line = sam(tmp_path, text)
    assert line, "the template marks the refused line with # <-"
    assert problems(path) == [refusal(path, line, key, message)]


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        pytest.param(
            with_api("Api", "Auth:\n  DefaultAuthorizer: Nope  # <-\n"),
            "Resources.Svc.Properties.Auth.DefaultAuthorizer",
            "Unable to set DefaultAuthorizer because 'Nope' was not defined in 'Authorizers' (SAM)",
            id="default-authorizer-undefined",
        ),
        pytest.param(
            with_api("Api", "", "Auth:\n  Authorizer: Nope  # <-\n"),
            "Resources.Fn.Properties.Events.X.Properties.Auth.Authorizer",
            "authorizer 'Nope' is not defined in Svc's Auth.Authorizers",
            id="event-authorizer-undefined",
        ),
        pytest.param(
            with_api(
                "HttpApi",
                "Auth:\n  Authorizers:\n    J:  # <-\n      JwtConfiguration: {issuer: https://x/}\n",
            ),
            "Resources.Svc.Properties.Auth.Authorizers.J",
            "J OAuth2 Authorizer must define 'IdentitySource' (SAM)",
            id="jwt-without-identity-source",
        ),
        pytest.param(
            with_api(
                "Api",
                "Auth:\n  Authorizers:\n    R:  # <-\n      FunctionArn: !GetAtt Fn.Arn\n"
                "      FunctionPayloadType: REQUEST\n",
            ),
            "Resources.Svc.Properties.Auth.Authorizers.R",
            "R Authorizer must specify Identity with at least one of Headers, QueryStrings,"
            " StageVariables, or"
            " Context (SAM)",
            id="request-authorizer-without-identity",
        ),
        pytest.param(
            with_function(
                "Events:\n  X:\n    Type: Api\n    Properties:\n      Path: /x\n      Method: get\n"
                "      RestApiId: NotAnApi  # <-\n"
            ),
            "Resources.Fn.Properties.Events.X.Properties.RestApiId",
            "RestApiId must name an AWS::Serverless::Api of this template (with !Ref)",
            id="rest-api-id",
        ),
        pytest.param(
            with_api("Api", "Description: d\n", "Auth:\n  Authorizer: NONE  # <-\n"),
            "Resources.Fn.Properties.Events.X.Properties.Auth.Authorizer",
            "Unable to set Authorizer on API method [get] for path [/x] because 'NONE' is only a valid"
            " value when a DefaultAuthorizer on the API is specified (SAM)",
            id="event-none-without-default-authorizer",
        ),
        pytest.param(
            with_api("HttpApi", "Description: d\n", "Auth:  # <-\n  AuthorizationScopes: [read]\n"),
            "Resources.Fn.Properties.Events.X.Properties.Auth",
            "'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer'"
            " configured on the HttpApi (SAM)",
            id="http-event-scopes-without-authorizer",
        ),
        pytest.param(
            with_api(
                "HttpApi",
                "Auth:\n  Authorizers:\n    L:\n      FunctionArn: !GetAtt Fn.Arn\n"
                "      AuthorizerPayloadFormatVersion: '2.0'\n"
                "      Identity:\n        ReauthorizeEvery: 60  # <-\n",
            ),
            "Resources.Svc.Properties.Auth.Authorizers.L.Identity.ReauthorizeEvery",
            "L caches its results (ReauthorizeEvery 60) but names no Identity Headers, QueryStrings,"
            " StageVariables or Context to cache them on",
            id="http-lambda-authorizer-caching-without-identity",
        ),
        pytest.param(
            with_api("Api", "Auth:\n  Authorizers:\n    T:  # <-\n      FunctionPayloadType: TOKEN\n"),
            "Resources.Svc.Properties.Auth.Authorizers.T",
            "T Lambda Authorizer must define 'FunctionArn' (SAM)",
            id="rest-authorizer-without-function-arn",
        ),
        pytest.param(
            with_api("HttpApi", "Auth:\n  Authorizers:\n    A:  # <-\n      AuthorizationScopes: [x]\n"),
            "Resources.Svc.Properties.Auth.Authorizers.A",
            "A is neither a JWT authorizer (JwtConfiguration) nor a Lambda one (FunctionArn)",
            id="http-authorizer-of-no-kind",
        ),
        pytest.param(
            with_api("Api", "Description: d\n").replace(
                "Properties:\n      StageName: s\n      Description: d\n",
                "Properties:\n      StageName: !Ref Nope  # <-\n",
            ),
            "Resources.Svc.Properties.StageName.Ref",
            "Nope is not a parameter or a resource of this template",
            id="stage-name-unresolved-said-once",
        ),
        pytest.param(
            with_api("HttpApi", "Description: d\n")
            + "        Y:\n          Type: Api\n          Properties:\n"
            "            RestApiId: !Ref Svc  # <-\n            Path: /y\n            Method: get\n",
            "Resources.Fn.Properties.Events.Y.Properties.RestApiId",
            "RestApiId names Svc, an AWS::Serverless::HttpApi: it must name an AWS::Serverless::Api",
            id="rest-api-id-of-another-type",
        ),
        pytest.param(
            with_function("").replace("CodeUri: src/", "CodeUri: missing/  # <-"),
            "Resources.Fn.Properties.CodeUri",
            "CodeUri missing/ is not a directory: {tmp}/missing",
            id="code-uri-missing",
        ),
    ],
)
def test_errors(tmp_path: Path, text: str, key: str, message: str) -> None:
    path, line = sam(tmp_path, text)
    assert problems(path) == [f"{path}:{line}: {key}: {message.format(tmp=tmp_path)}"]


# --------------------------------------------------------------------------------------------------
# templates in the shapes of published projects (fixtures/sam/SOURCES.md)
# --------------------------------------------------------------------------------------------------


def fixture(name: str) -> Path:
    return FIXTURES / name / "template.yaml"


@pytest.mark.parametrize(
    ("name", "routes"),
    [
        pytest.param("hello-world-rest", {"ServerlessRestApi": ["GET /hello"]}, id="hello-world-rest"),
        pytest.param("http-api-inline-code", {"ServerlessHttpApi": ["$default"]}, id="http-api-inline-code"),
        pytest.param("rest-request-model", {"BookingsApi": ["POST /bookings"]}, id="rest-request-model"),
        pytest.param("http-api-cors-any", {"PublicHttpApi": ["ANY /inspect"]}, id="http-api-cors-any"),
        pytest.param("rest-any-root", {"ClockApi": ["ANY /"]}, id="rest-any-root"),
    ],
)
def test_fixture_templates_that_import(name: str, routes: dict[str, list[str]]) -> None:
    loaded = load(fixture(name))
    assert {api: list(cfg.routes) for api, cfg in loaded.config.apis.items()} == routes


def test_fixture_data_validation_body_schema() -> None:
    route = load(fixture("rest-request-model")).config.apis["BookingsApi"].routes["POST /bookings"]
    assert route.request_validation is not None
    assert list(route.request_validation.body_schemas) == ["application/json"]
    assert route.request_validation.body_schemas["application/json"]["required"] == [
        "guest",
        "nights",
        "arrival",
    ]


@pytest.mark.parametrize(
    ("name", "runtime"),
    [
        pytest.param("raw-rest-token-authorizer-node", "nodejs20.x", id="node-rest-token-authorizer"),
        pytest.param("raw-rest-api-key-node", "nodejs24.x", id="node-24-api-key"),
    ],
)
def test_fixture_templates_of_node_functions_load_with_their_runtime(name: str, runtime: str) -> None:
    functions = load(fixture(name)).config.functions
    assert functions
    assert {fn.runtime for fn in functions.values()} == {runtime}


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        pytest.param(
            "rest-iam-default-authorizer",
            {},
            [
                "12: Resources.ReportsApi.Properties.Auth.DefaultAuthorizer: IAM (SigV4) authorization"
                " is not supported; to"
                " run without it, pass --ignore 'Resources.ReportsApi.Properties.Auth.DefaultAuthorizer'"
            ],
            id="iam-authorizer",
        ),
        pytest.param(
            "http-api-custom-domain",
            {},
            # the parameters without Default feed only refused resources: not asked for
            [
                "19: Resources.ApiDomain: custom domains are not served: the API is"
                " served at its invoke"
                " URL; to run without it, pass --ignore 'Resources.ApiDomain'",
                "28: Resources.ApiDomainMapping: custom domains are not served: the API is served at"
                " its invoke URL;"
                " to run without it, pass --ignore 'Resources.ApiDomainMapping'",
            ],
            id="custom-domain",
        ),
        pytest.param(
            "rest-java-cognito",
            {},
            [
                "7: Globals.Function.Runtime: Runtime java21: Gatehold runs Python and Node.js"
                " handlers; to run"
                " without it, pass --ignore 'Globals.Function.Runtime'"
            ],
            id="java-with-cognito-pool",
        ),
        pytest.param(
            "rest-definition-body-vtl",
            {},
            [
                "39: Resources.ProfileApi.Properties.DefinitionBody.paths['/profile'].get"
                ".x-amazon-apigateway-integration.requestTemplates['application/json']: request mapping"
                " template 'application/json' transforms the"
                " body: only passthrough ($input.body, $input.json('$')) is supported; to run"
                " without it, pass --ignore"
                " \"Resources.ProfileApi.Properties.DefinitionBody.paths['/profile'].get"
                ".x-amazon-apigateway-integration.requestTemplates['application/json']\""
            ],
            id="vtl-mapping-template",
        ),
    ],
)
def test_fixture_templates_that_are_refused(name: str, options: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load(fixture(name), **options)
    assert [str(p) for p in info.value.problems] == [f"{fixture(name)}:{e}" for e in expected]


def test_fixture_java_template_runs_nothing_once_its_runtime_is_ignored() -> None:
    loaded = load(fixture("rest-java-cognito"), ignore=("Globals.Function.Runtime",))
    assert loaded.config.apis["MembersApi"].routes == {}
    ignored = [str(f) for f in loaded.ignored]
    assert (
        sum("is not served: its function or its authorization is not supported here" in f for f in ignored)
        == 3
    )
    assert any("AWS::Cognito::UserPool (MembersPool)" in f for f in ignored)


@pytest.fixture(scope="module")
def hello(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = new_stack(tmp_path_factory.mktemp("hello"), fixture("hello-world-rest")).start()
    try:
        yield stack
    finally:
        stack.stop()


def test_hello_world_rest_over_http(hello: Stack) -> None:
    # sam local start-api serves it at http://127.0.0.1:3000/hello; AWS and Gatehold at /Prod/hello
    response = httpx.get(f"{hello.gateway_url}/Prod/hello")
    assert (response.status_code, response.json()) == (200, {"message": "hello from the greeter"})
    assert httpx.get(f"{hello.gateway_url}/Stage/hello").json() == {"message": "hello from the greeter"}
    missing = httpx.get(f"{hello.gateway_url}/Prod/goodbye")
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})


def test_inline_code_over_http(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack = new_stack(tmp_path_factory.mktemp("inline"), fixture("http-api-inline-code")).start()
    try:
        response = httpx.post(f"{stack.gateway_url}/anything/at/all")
        assert (response.status_code, response.text) == (200, "POST /anything/at/all")
    finally:
        stack.stop()


def test_an_api_without_definition_or_events(tmp_path: Path) -> None:
    path, line = sam(
        tmp_path,
        """
        Resources:
          Lonely:  # <-
            Type: AWS::Serverless::HttpApi
        """,
    )
    assert problems(path) == [
        f"{path}:{line}: Resources.Lonely: 'DefinitionUri' or 'DefinitionBody' are required properties of an"
        " 'AWS::Serverless::HttpApi'. Add a value for one of these properties or add a 'HttpApi' event to an"
        " 'AWS::Serverless::Function' (SAM)"
    ]


def test_a_template_imported_by_a_gatehold_yaml(tmp_path: Path) -> None:
    template = Path(__file__).parents[2] / "examples" / "sam-rest-request" / "template.yaml"
    config = write(
        tmp_path,
        "gatehold.yaml",
        f"""
imports:
  - path: {template}
    issuer_aliases: [https://gatehold-example.us.auth0.com/]
tenant:
  applications:
    partner: {{app_type: non_interactive, client_secret: partner-secret-0123456789abcdef}}
  client_grants:
    - {{client_id: partner, audience: https://reports-api}}
""",
    )
    loaded = load(config)
    api = loaded.config.apis["ServerlessRestApi"]
    assert api.base_path == "/ServerlessRestApi"  # beside the file's own APIs: under its logical id
    plan = loaded.config.gateway.usage_plans["ServerlessRestApiUsagePlan"]
    assert plan.api_stages == ["ServerlessRestApi/Prod"]
    assert {a.identifier for a in loaded.config.tenant.apis} == {"https://reports-api"}
    assert loaded.where("apis", "ServerlessRestApi", "routes", "GET /reports").file == str(template)


def test_values_of_unused_properties_need_not_resolve(tmp_path: Path) -> None:
    path, line = sam(
        tmp_path,
        """
        Parameters:
          WithLayer: {Type: String, Default: "no"}
        Conditions:
          HasLayer: !Equals [!Ref WithLayer, "yes"]
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Role: !ImportValue shared-lambda-role
              Policies: [{Statement: [{Effect: Allow, Action: "s3:*", Resource: !ImportValue shared-bucket}]}]
              Layers: !If [HasLayer, [!ImportValue shared-layer], !Ref AWS::NoValue]
              Environment:
                Variables:
                  SECRET: !ImportValue shared-secret  # <-
        """,
    )
    # Role, Policies: ignored, their imports do not matter; Layers: absent (condition false)
    assert problems(path) == [
        refusal(
            path,
            line,
            "Resources.Fn.Properties.Environment.Variables.SECRET",
            "Fn::ImportValue shared-secret is an export of another stack, which Gatehold does not deploy;"
            " supply its value with --value 'ImportValue:shared-secret=…'",
        )
    ]
    assert load(path, values={"ImportValue:shared-secret": "s"}).config.functions["Fn"].environment == {
        "SECRET": "s"
    }


def test_problems_in_an_included_definition_name_its_file(tmp_path: Path) -> None:
    included = write(
        tmp_path,
        "api.yaml",
        """openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /items:
    get:
      x-amazon-apigateway-integration:
        type: aws
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:dynamodb:action/Scan
""",
    )
    path, _ = sam(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              DefinitionBody:
                Fn::Transform: {Name: AWS::Include, Parameters: {Location: api.yaml}}
        """,
    )
    reported = problems(path)
    assert len(reported) == 1
    assert reported[0].startswith(f"{included}:7: paths['/items'].get.x-amazon-apigateway-integration.type: ")


def test_routes_behind_a_refused_authorizer_are_never_served_open(tmp_path: Path) -> None:
    path, _ = sam(
        tmp_path,
        with_api(
            "Api",
            "Auth:\n  DefaultAuthorizer: Pool\n  Authorizers:\n    Pool:\n"
            "      UserPoolArn: arn:aws:cognito-idp:pool\n",
        )
        + "        Open:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Svc\n"
        "            Path: /open\n            Method: get\n            Auth: {Authorizer: NONE}\n",
    )
    loaded = load(path, ignore=("Resources.Svc.Properties.Auth.Authorizers.Pool",))
    assert list(loaded.config.apis["Svc"].routes) == ["GET /open"]
    assert any("route GET /x of Svc is not served" in str(f) for f in loaded.ignored)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        pytest.param(name, 0 if name in IMPORTABLE else 2, id=name)
        for name in sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    ],
)
def test_gatehold_check_on_the_fixture_templates(name: str, code: int, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "check", "-c", str(fixture(name))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == code, done.stdout + done.stderr
    if code == 0:
        assert "(SAM template)" in done.stdout
    else:
        assert f"{fixture(name)}:" in done.stderr


def test_a_globals_value_is_noted_once_for_all_its_functions(tmp_path: Path) -> None:
    write(tmp_path, "src/app.py", "def handler(event, context):\n    return {}\n")
    template = write(
        tmp_path,
        "template.yaml",
        "Transform: AWS::Serverless-2016-10-31\n"
        "Globals:\n"
        "  Function:\n"
        "    Runtime: python3.12\n"
        "    CodeUri: src/\n"
        "    Environment:\n"
        "      Variables:\n"
        "        SECRET: !GetAtt Client.ClientSecret\n"
        "Resources:\n"
        "  Client:\n"
        "    Type: AWS::Cognito::UserPoolClient\n"
        "    Properties: {UserPoolId: pool}\n"
        "  A: {Type: AWS::Serverless::Function, Properties: {Handler: app.handler}}\n"
        "  B: {Type: AWS::Serverless::Function, Properties: {Handler: app.handler}}\n",
    )
    notes = [str(f) for f in load(template).notes]
    assert len(notes) == len(set(notes))
    assert sum("Globals.Function.Environment.Variables.SECRET" in n for n in notes) == 1, notes


def test_serverless_resources_without_the_transform_are_read_as_sam(tmp_path: Path) -> None:
    """SAM's own test templates (and hand-trimmed ones) omit the Transform line: read as SAM, noted —
    never taken for plain CloudFormation with its functions and APIs "not created locally"."""
    write(tmp_path, "app.py", "def handler(event, context):\n    return {}\n")
    template = write(
        tmp_path,
        "template.yaml",
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      CodeUri: .\n"
        "      Events:\n"
        "        Get: {Type: HttpApi, Properties: {Path: /x, Method: get}}\n",
    )
    loaded = load(template)
    assert loaded.format == "sam"
    assert list(loaded.config.apis["ServerlessHttpApi"].routes) == ["GET /x"]
    assert [str(n) for n in loaded.notes] == [
        f"{template}:1: Resources: read as SAM (it has AWS::Serverless resources); CloudFormation needs"
        " 'Transform: AWS::Serverless-2016-10-31'"
    ]


def test_resources_sam_generates_can_be_referenced(tmp_path: Path) -> None:
    """<Function>Role, <Api><Stage>Stage and <HttpApi>ApiGatewayDefaultStage exist once SAM transforms
    the template; a reference to one (an invoke role, an environment value) resolves."""
    write(tmp_path, "app.py", "def handler(event, context):\n    return {}\n")
    template = write(
        tmp_path,
        "template.yaml",
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::Serverless::Api\n"
        "    Properties:\n"
        "      StageName: live\n"
        "      Auth:\n"
        "        Authorizers:\n"
        "          Tok:\n"
        "            FunctionArn: !GetAtt Auth.Arn\n"
        "            FunctionInvokeRole: !GetAtt AuthRole.Arn\n"
        "  Auth: {Type: AWS::Serverless::Function, Properties: {Handler: app.handler, Runtime: python3.12}}\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      Environment: {Variables: {STAGE: !Ref ApiliveStage, ROLE: !Ref FnRole}}\n"
        "      Events: {Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /x, Method: get}}}\n",
    )
    loaded = load(template)
    # Ref of a stage is its name (CloudFormation); of a role, its name (the logical id stands in)
    assert loaded.config.functions["Fn"].environment == {"STAGE": "live", "ROLE": "FnRole"}
    assert loaded.config.apis["Api"].authorizers["Tok"].function == "Auth"


# --------------------------------------------------------------------------------------------------
# shapes found by running SAM's translator inputs and published templates (our own templates here)
# --------------------------------------------------------------------------------------------------


def test_the_default_route_path_as_sam_writes_it(tmp_path: Path) -> None:
    """SAM's OpenAPI editor names the HTTP API's default route ``$default`` (no slash); an HttpApi
    event without Path and Method integrates that operation."""
    path, _ = sam(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::HttpApi
            Properties:
              DefinitionBody:
                openapi: 3.0.1
                info: {title: t, version: "1"}
                paths:
                  $default:
                    x-amazon-apigateway-any-method:
                      isDefaultRoute: true
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                Catch: {Type: HttpApi, Properties: {ApiId: !Ref Api}}
        """,
    )
    api = load(path).config.apis["Api"]
    assert list(api.routes) == ["$default"]
    integration = api.routes["$default"].integration
    assert (integration.type, integration.function, integration.payload_format_version) == (  # type: ignore[union-attr]
        "lambda",
        "Fn",
        "2.0",
    )


def test_authorizer_and_cors_settings_as_sam_reads_them(tmp_path: Path) -> None:
    """An Identity key SAM does not read for the authorizer's payload type is listed as ignored, not
    refused; an HTTP API's OPTIONS methods never get the DefaultAuthorizer (OpenApiEditor skips them);
    an HTTP Lambda authorizer without Identity caches nothing; CorsConfiguration may come from a
    parameter; a REST event's scopes with no authorizer to apply are listed."""
    path, _ = sam(
        tmp_path,
        """
        Parameters:
          EnableCors: {Type: String, Default: "true", AllowedValues: ["true", "false"]}
        Resources:
          Rest:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              Auth:
                Authorizers:
                  Tok:
                    FunctionArn: !GetAtt Fn.Arn
                    Identity: {Header: X-Token, Headers: [X-Other]}
          Http:
            Type: AWS::Serverless::HttpApi
            Properties:
              CorsConfiguration: !Ref EnableCors
              Auth:
                DefaultAuthorizer: Lam
                Authorizers:
                  Lam: {FunctionArn: !GetAtt Fn.Arn, AuthorizerPayloadFormatVersion: "2.0"}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                Scoped:
                  Type: Api
                  Properties: {RestApiId: !Ref Rest, Path: /r, Method: get, Auth: {AuthorizationScopes: [a]}}
                Preflight: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /h, Method: options}}
                Get: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /h, Method: get}}
        """,
    )
    loaded = load(path)
    http = loaded.config.apis["Http"]
    assert {key: route.authorizer for key, route in http.routes.items()} == {
        "OPTIONS /h": None,
        "GET /h": "Lam",
    }
    lam = http.authorizers["Lam"]
    assert (lam.identity_source, lam.result_ttl) == ([], 0)
    assert http.cors is not None
    assert http.cors.allow_origins == ["*"]
    tok = loaded.config.apis["Rest"].authorizers["Tok"]
    assert tok.identity_source == ["method.request.header.X-Token"]
    ignored = {f.ref.path: f.message for f in loaded.ignored}
    assert ignored["Resources.Rest.Properties.Auth.Authorizers.Tok.Identity.Headers"] == (
        "Identity.Headers of Lambda authorizer (Rest.Tok): SAM reads Identity.Header of a TOKEN"
        " authorizer: Headers has no effect"
    )
    assert ignored["Resources.Fn.Properties.Events.Scoped.Properties.Auth.AuthorizationScopes"] == (
        "Auth.AuthorizationScopes of Api event (Fn): no authorizer applies to the method (no"
        " Auth.Authorizer, no DefaultAuthorizer): SAM writes no scopes"
    )


def test_a_definition_that_does_not_resolve_is_not_also_missing(tmp_path: Path) -> None:
    path, line = sam(
        tmp_path,
        """
        Resources:
          Api:
            Type: AWS::Serverless::Api
            Properties:
              StageName: s
              DefinitionBody:
                openapi: 3.0.1
                info: {title: t, version: "1"}
                paths:
                  /x:
                    get:
                      x-amazon-apigateway-integration:
                        type: aws_proxy
                        httpMethod: POST
                        uri: !Sub "${Gone.Arn}"  # <-
        """,
    )
    key = (
        "Resources.Api.Properties.DefinitionBody.paths['/x'].get.x-amazon-apigateway-integration"
        ".uri['Fn::Sub']"
    )
    assert problems(path) == [f"{path}:{line}: {key}: Gone is not a resource of this template"]


def test_globals_of_an_api_kind_the_template_does_not_have(tmp_path: Path) -> None:
    """Globals.Api in a template whose events make only an HTTP API applies to nothing: listed."""
    path, _ = sam(
        tmp_path,
        """
        Globals:
          Api:  # <-
            Cors: "'*'"
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
              CodeUri: src/
              Events:
                Get: {Type: HttpApi, Properties: {Path: /x, Method: get}}
        """,
    )
    loaded = load(path)
    assert list(loaded.config.apis) == ["ServerlessHttpApi"]
    assert [str(f) for f in loaded.ignored if f.ref.path == "Globals.Api"] == [
        f"{path}:5: Globals.Api: Globals.Api applies to AWS::Serverless::Api resources (and the implicit API"
        " of Api events); the template has none"
    ]


def test_gateway_problems_of_an_imported_api_name_the_template_property(tmp_path: Path) -> None:
    """A problem found when the gateway compiles an imported authorizer (a regex that does not
    compile) is reported at the template's line and property path, not the model's key."""
    from gatehold.gateway.authorizers import check_authorizers

    write(tmp_path, "app.py", "def handler(event, context):\n    return {}\n")
    template = write(
        tmp_path,
        "template.yaml",
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::Serverless::Api\n"
        "    Properties:\n"
        "      StageName: live\n"
        "      Auth:\n"
        "        DefaultAuthorizer: Tok\n"
        "        Authorizers:\n"
        "          Tok:\n"
        "            FunctionArn: !GetAtt Fn.Arn\n"
        "            Identity: {ValidationExpression: '(unclosed'}\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      Events: {Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /x, Method: get}}}\n",
    )
    with pytest.raises(ConfigError) as info:
        check_authorizers(load(template))
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.key_path) == (
        str(template),
        10,
        "Resources.Api.Properties.Auth.Authorizers.Tok",
    ), str(problem)
    assert problem.message.startswith("identity_validation_expression is not a valid regex")


# --------------------------------------------------------------------------------------------------
# expects in a function's Metadata (what a Lambda authorizer checks, for gatehold token --route)
# --------------------------------------------------------------------------------------------------

EXPECTS_TEMPLATE = """
Parameters:
  Tenant: {Type: String, Default: tenant.us.auth0.com}
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: s
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens: {FunctionArn: !GetAtt Auth.Arn}
          Others: {FunctionArn: !GetAtt Fn.Arn}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Requests
        Authorizers:
          Requests:
            FunctionArn: !GetAtt Auth.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            Identity: {Headers: [Authorization]}
  Auth:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: python3.12
      Gatehold:
        expects:  # <-
          issuer: !Sub https://${Tenant}/
          audience: https://api
          scopes: [read:things]
          invalid_token: 403
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Events:
        A: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /a, Method: GET}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /b, Method: GET}}
"""


def test_metadata_expects_on_every_authorizer_of_its_function(tmp_path: Path) -> None:
    path, line = sam(tmp_path, EXPECTS_TEMPLATE)
    loaded = load(path, issuer_aliases=("https://*.auth0.com/",))
    rest, http = loaded.config.apis["Rest"], loaded.config.apis["Http"]
    for auth in (rest.authorizers["Tokens"], http.authorizers["Requests"]):
        assert auth.expects is not None
        assert auth.expects.model_dump(exclude_defaults=True) == {
            "issuer": "http://localhost:9000/",  # the aliased issuer, as in the function's environment
            "audience": "https://api",
            "scopes": ["read:things"],
            "invalid_token": 403,
        }
    assert rest.authorizers["Others"].expects is None  # Fn declares nothing
    assert str(loaded.where("apis", "Rest", "authorizers", "Tokens", "expects", "audience")) == (
        f"{path}:{line}: Resources.Auth.Metadata.Gatehold.expects"
    )
    assert (
        f"{path}:{line}: Resources.Auth.Metadata.Gatehold.expects: issuer https://tenant.us.auth0.com/ is"
        " served by the local identity provider (--issuer-alias)" in [str(n) for n in loaded.notes]
    )
    unaliased = load(path).config.apis["Rest"].authorizers["Tokens"].expects
    assert unaliased is not None
    assert unaliased.issuer == "https://tenant.us.auth0.com/"


def test_metadata_expects_of_a_function_backing_no_authorizer_is_noted(tmp_path: Path) -> None:
    text = EXPECTS_TEMPLATE.replace("!GetAtt Auth.Arn", "!GetAtt Fn.Arn")
    path, line = sam(tmp_path, text)
    loaded = load(path)
    assert loaded.config.apis["Rest"].authorizers["Tokens"].expects is None
    assert [str(n) for n in loaded.notes if "backs no Lambda authorizer" in n.message] == [
        f"{path}:{line}: Resources.Auth.Metadata.Gatehold.expects: Auth backs no Lambda authorizer: its"
        " expects is not used"
    ]


@pytest.mark.parametrize(
    ("replace", "key", "message"),
    [
        pytest.param(
            (
                "      Gatehold:\n        expects:  # <-\n",
                "      Gatehold: yes  # <-\n      Other:\n        x:\n",
            ),
            "Resources.Auth.Metadata.Gatehold",
            "Metadata.Gatehold must be a mapping (expects: …)",
            id="not-a-mapping",
        ),
        pytest.param(
            ("        expects:  # <-\n", "        expect: {}  # <-\n        expects:\n"),
            "Resources.Auth.Metadata.Gatehold.expect",
            "expect is not a Gatehold setting of a function's Metadata (expects is)",
            id="unknown-key",
        ),
        pytest.param(
            ("          audience: https://api\n", ""),
            "Resources.Auth.Metadata.Gatehold.expects",
            "Field required",
            id="no-audience",
        ),
        pytest.param(
            ("          invalid_token: 403\n", "          invalid_token: 500\n"),
            "Resources.Auth.Metadata.Gatehold.expects",
            "Input should be 401 or 403",
            id="bad-status",
        ),
        pytest.param(
            ("        expects:  # <-\n", "        expects: [a]  # <-\n        unused:\n"),
            "Resources.Auth.Metadata.Gatehold.expects",
            "expects must be a mapping (issuer, audience, scopes …)",
            id="expects-not-a-mapping",
        ),
    ],
)
def test_metadata_expects_errors(tmp_path: Path, replace: tuple[str, str], key: str, message: str) -> None:
    text = EXPECTS_TEMPLATE.replace(*replace)
    assert text != EXPECTS_TEMPLATE
    path, line = sam(tmp_path, text)
    found = problems(path)
    assert f"{path}:{line}: {key}: {message}" in found, found
