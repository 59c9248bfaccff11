"""The serverless.yml importer (issue 11 item 4): what it writes, the Serverless variables it resolves,
and every message it refuses or errors with, each at its file, line and key path.

Behaviour over real HTTP (the examples started with ``gatehold up -c``, real tokens) is in
test_serverless_examples.py; these tests load documents the way ``gatehold up`` does
(``support.load``) and look at the model, the problems and what is listed as ignored.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatehold.config import ConfigError
from gatehold.importers.base import shell_quoted
from tests.importers.support import LOCAL_ISSUER, load, problems, write

HEADER = """\
service: shop
provider:
  name: aws
  runtime: python3.12
"""


def sls(tmp_path: Path, body: str, header: str = HEADER, **files: str) -> Path:
    for name, text in files.items():
        write(tmp_path, name, textwrap.dedent(text))
    return write(tmp_path, "serverless.yml", header + textwrap.dedent(body))


def line_of(path: Path, marker: str, after: int = 0) -> int:
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines[after:], start=after + 1):
        if marker in line:
            return i
    raise AssertionError(f"{marker!r} not in {path}")


def model(path: Path, **options: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = load(path, **options).config.model_dump(exclude_defaults=True)
    return dumped


# --------------------------------------------------------------------------------------------------
# what is written
# --------------------------------------------------------------------------------------------------

FUNCTIONS = """\
  stage: ${opt:stage, 'dev'}
  timeout: 10
  environment:
    TABLE: ${self:service}-${sls:stage}
functions:
  list:
    handler: src/orders.list_orders
    memorySize: 512
    environment:
      MODE: fast
    events:
      - http:
          path: orders
          method: get
  get:
    name: shop-orders-get
    handler: src/orders.get_order
    runtime: python3.11
    timeout: 3
    events:
      - http: GET orders/{id}
  stream:
    handler: stream.handler
    events:
      - sqs: arn:aws:sqs:us-east-1:123456789012:orders
"""


def test_functions_are_lambda_functions_with_the_frameworks_defaults(tmp_path: Path) -> None:
    path = sls(tmp_path, FUNCTIONS)
    functions = model(path)["functions"]
    assert functions == {
        "shop-dev-list": {
            "handler": "src/orders.list_orders",
            "code_path": str(tmp_path),
            "runtime": "python3.12",
            "timeout": 10.0,
            "memory_size": 512,
            "environment": {"TABLE": "shop-dev", "MODE": "fast"},
        },
        "shop-orders-get": {
            "handler": "src/orders.get_order",
            "code_path": str(tmp_path),
            "runtime": "python3.11",
            "memory_size": 1024,
            "environment": {"TABLE": "shop-dev"},
        },
        "shop-dev-stream": {
            "handler": "stream.handler",
            "code_path": str(tmp_path),
            "runtime": "python3.12",
            "timeout": 10.0,
            "memory_size": 1024,
            "environment": {"TABLE": "shop-dev"},
        },
    }


def test_the_stage_names_functions_the_api_and_its_stage(tmp_path: Path) -> None:
    path = sls(tmp_path, FUNCTIONS)
    data = model(path, stage="prod")
    assert sorted(data["functions"]) == ["shop-orders-get", "shop-prod-list", "shop-prod-stream"]
    api = data["apis"]["prod-shop"]
    assert api["type"] == "REST"
    assert api["base_path"] == "/"
    assert list(api["stages"]) == ["prod"]
    assert api["routes"] == {
        "GET /orders": {"integration": {"type": "lambda", "function": "shop-prod-list"}},
        "GET /orders/{id}": {"integration": {"type": "lambda", "function": "shop-orders-get"}},
    }


def test_other_event_types_are_listed_as_ignored(tmp_path: Path) -> None:
    path = sls(tmp_path, FUNCTIONS)
    ignored = [str(f) for f in load(path).ignored]
    line = line_of(path, "- sqs:")
    assert (
        f"{path}:{line}: functions.stream.events[0]: sqs events are not served locally"
        " (only http and httpApi events are)"
    ) in ignored


HTTP_API = """\
  httpApi:
    payload: '1.0'
    cors: true
    authorizers:
      tenant:
        identitySource: $request.header.Authorization
        issuerUrl: https://shop.eu.auth0.com/
        audience: https://shop.example.com
      lambda:
        type: request
        functionName: authorize
        enableSimpleResponses: true
        identitySource:
          - $request.header.X-Api-Token
        resultTtlInSeconds: 60
functions:
  authorize:
    handler: auth.handler
  orders:
    handler: orders.handler
    httpApi:
      payload: '2.0'
    events:
      - httpApi: GET /orders
      - httpApi:
          method: POST
          path: /orders
          authorizer:
            name: tenant
            scopes: [write:orders]
      - httpApi:
          method: '*'
          path: /orders/{id}
          authorizer: lambda
  fallback:
    handler: orders.fallback
    events:
      - httpApi: '*'
"""


def test_http_api_routes_authorizers_and_cors(tmp_path: Path) -> None:
    path = sls(tmp_path, HTTP_API)
    api = model(path, issuer_aliases=("https://*.auth0.com/",))["apis"]["dev-shop"]
    orders = {"type": "lambda", "function": "shop-dev-orders", "payload_format_version": "2.0"}
    assert api["type"] == "HTTP"
    assert api["base_path"] == "/"
    assert api["routes"] == {
        "GET /orders": {"integration": orders},
        "POST /orders": {
            "integration": orders,
            "authorizer": "tenant",
            "authorization_scopes": ["write:orders"],
        },
        "ANY /orders/{id}": {"integration": orders, "authorizer": "lambda"},
        "$default": {
            "integration": {
                "type": "lambda",
                "function": "shop-dev-fallback",
                "payload_format_version": "1.0",
            }
        },
    }
    assert api["authorizers"] == {
        "tenant": {
            "type": "JWT",
            "identity_source": ["$request.header.Authorization"],
            "jwt_configuration": {"issuer": LOCAL_ISSUER, "audience": ["https://shop.example.com"]},
        },
        "lambda": {
            "type": "REQUEST",
            "function": "shop-dev-authorize",
            "identity_source": ["$request.header.X-Api-Token"],
            "result_ttl": 60,
            "payload_format_version": "2.0",
            "enable_simple_responses": True,
        },
    }
    # cors: true → '*', the framework's default headers, OPTIONS and every route's method
    assert api["cors"] == {
        "allow_origins": ["*"],
        "allow_methods": ["OPTIONS", "GET", "POST", "PUT", "PATCH", "HEAD", "DELETE"],
        "allow_headers": [
            "Content-Type",
            "X-Amz-Date",
            "Authorization",
            "X-Api-Key",
            "X-Amz-Security-Token",
            "X-Amz-User-Agent",
            "X-Amzn-Trace-Id",
        ],
    }


def test_an_aliased_issuer_creates_its_audience_and_scopes_in_the_local_tenant(tmp_path: Path) -> None:
    path = sls(tmp_path, HTTP_API)
    loaded = load(path, issuer_aliases=("https://*.auth0.com/",))
    tenant = loaded.config.tenant
    assert [(a.identifier, a.permissions) for a in tenant.apis] == [
        ("https://shop.example.com", ["write:orders"])
    ]
    assert [(g.client_id, g.audience, g.scope) for g in tenant.client_grants] == [
        ("gatehold-m2m", "https://shop.example.com", ["write:orders"])
    ]
    line = line_of(path, "issuerUrl:")
    assert (
        f"{path}:{line}: provider.httpApi.authorizers.tenant.issuerUrl: issuer https://shop.eu.auth0.com/ is"
        " served by the local identity provider (--issuer-alias)"
    ) in [str(n) for n in loaded.notes]


def test_without_an_alias_the_issuer_stays_remote(tmp_path: Path) -> None:
    path = sls(tmp_path, HTTP_API)
    api = model(path)["apis"]["dev-shop"]
    assert api["authorizers"]["tenant"]["jwt_configuration"]["issuer"] == "https://shop.eu.auth0.com/"


def test_rest_and_http_apis_in_one_file_each_get_a_base_path(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
        functions:
          a:
            handler: a.handler
            events:
              - http: GET a
              - httpApi: GET /a
        """,
    )
    loaded = load(path)
    apis = loaded.config.model_dump(exclude_defaults=True)["apis"]
    assert {name: (api["type"], api["base_path"]) for name, api in apis.items()} == {
        "dev-shop": ("REST", "/dev-shop"),
        "dev-shop-httpapi": ("HTTP", "/dev-shop-httpapi"),
    }
    line = line_of(path, "functions:")
    assert (
        f"{path}:{line}: functions: the REST and HTTP APIs are both named dev-shop: the HTTP API is"
        " dev-shop-httpapi here"
    ) in [str(n) for n in loaded.notes]


@pytest.mark.parametrize(
    ("provider", "rest", "http"),
    [
        pytest.param("", "dev-shop", "dev-shop", id="default-stage-service"),
        pytest.param(
            "  apiGateway: {shouldStartNameWithService: true}\n"
            "  httpApi: {shouldStartNameWithService: true}\n",
            "shop-dev",
            "shop-dev",
            id="should-start-name-with-service",
        ),
        pytest.param(
            "  apiName: orders-rest\n  httpApi: {name: orders-http}\n",
            "orders-rest",
            "orders-http",
            id="named",
        ),
    ],
)
def test_api_names_follow_the_frameworks_naming(tmp_path: Path, provider: str, rest: str, http: str) -> None:
    one = sls(tmp_path / "rest", provider + "functions:\n  a: {handler: a.h, events: [{http: GET a}]}\n")
    two = sls(tmp_path / "http", provider + "functions:\n  a: {handler: a.h, events: [{httpApi: GET /a}]}\n")
    assert list(model(one)["apis"]) == [rest]
    assert list(model(two)["apis"]) == [http]


CORS = """\
functions:
  list:
    handler: pets.list
    events:
      - http:
          path: /pets/
          method: get
          cors: true
  create:
    handler: pets.create
    events:
      - http:
          path: pets
          method: post
          cors:
            origin: https://shop.example.com
            headers: [Content-Type, X-Token]
            allowCredentials: true
            maxAge: 600
            cacheControl: max-age=600
  any:
    handler: pets.any
    events:
      - http:
          path: pets/{id}
          method: any
          cors: true
"""


def test_rest_cors_is_the_options_mock_the_framework_adds(tmp_path: Path) -> None:
    """cors.js / validate.js: per path, headers and methods merged over its events (lodash union,
    the newest first), the last origin, credentials if any event asks, ANY spelled out."""
    routes = model(sls(tmp_path, CORS))["apis"]["dev-shop"]["routes"]
    assert routes["OPTIONS /pets"] == {
        "integration": {
            "type": "mock",
            "headers": {
                "Access-Control-Allow-Origin": "https://shop.example.com",
                "Access-Control-Allow-Headers": "Content-Type,X-Token,X-Amz-Date,Authorization,X-Api-Key,"
                "X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id",
                "Access-Control-Allow-Methods": "OPTIONS,POST,GET",
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Max-Age": "600",
                "Cache-Control": "max-age=600",
            },
        }
    }
    methods = routes["OPTIONS /pets/{id}"]["integration"]["headers"]["Access-Control-Allow-Methods"]
    assert methods == "OPTIONS,DELETE,GET,HEAD,PATCH,POST,PUT"


def test_cloudformation_values_resolve_against_the_deployed_template(tmp_path: Path) -> None:
    """Intrinsics where Gatehold needs a value: the resources under resources:, a
    {Key}LambdaFunction per function, the stack {service}-{stage} (importers/intrinsics.py)."""
    path = sls(
        tmp_path,
        """\
          environment:
            TABLE: !Ref OrdersTable
            TABLE_ARN: !GetAtt OrdersTable.Arn
            QUEUE_URL: {Ref: Queue}
            URL: !Join ['', ['https://', !Ref AWS::Region, '.example.com/', '${sls:stage}']]
            BUCKET: !Sub 'arn:${AWS::Partition}:s3:::${self:service}-${AWS::AccountId}'
            STACK: !Ref AWS::StackName
            SELF: !Ref HelloLambdaFunction
            SHARED: !ImportValue shared-url
        functions:
          hello:
            handler: hello.handler
            events:
              - http: {path: a, method: get, authorizer: {arn: !ImportValue shared-authorizer-arn}}
        resources:
          Resources:
            OrdersTable:
              Type: AWS::DynamoDB::Table
              Properties:
                TableName: ${self:service}-${sls:stage}-orders
                SSESpecification: {KMSMasterKeyId: '${ssm:/unused/key}'}
            Queue:
              Type: AWS::SQS::Queue
              Properties: {QueueName: orders-queue}
        """,
    )
    values = {
        "ImportValue:shared-url": "http://localhost:9999",
        "ImportValue:shared-authorizer-arn": "arn:aws:lambda:us-east-1:123456789012:function:shop-dev-hello",
    }
    data = model(path, values=values)
    assert data["functions"]["shop-dev-hello"]["environment"] == {
        "TABLE": "shop-dev-orders",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/shop-dev-orders",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/orders-queue",
        "URL": "https://us-east-1.example.com/dev",
        "BUCKET": "arn:aws:s3:::shop-123456789012",
        "STACK": "shop-dev",
        "SELF": "shop-dev-hello",
        "SHARED": "http://localhost:9999",
    }
    assert data["apis"]["dev-shop"]["authorizers"]["hello"]["function"] == "shop-dev-hello"


def test_rest_authorizers_by_function_name_and_arn(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
        functions:
          auth:
            handler: auth.handler
          a:
            handler: a.handler
            events:
              - http:
                  path: a
                  method: get
                  authorizer: auth
              - http:
                  path: b
                  method: get
                  authorizer:
                    arn: arn:aws:lambda:us-east-1:123456789012:function:shop-dev-auth
                    type: request
                    resultTtlInSeconds: 0
              - http:
                  path: c
                  method: get
                  authorizer:
                    arn: {"Fn::GetAtt": [AuthLambdaFunction, Arn]}
                    name: byGetAtt
                    identitySource: method.request.header.X-Token
                    identityValidationExpression: '^x-.*'
        """,
    )
    api = model(path)["apis"]["dev-shop"]
    assert api["authorizers"] == {
        "auth": {
            "type": "REQUEST",
            "function": "shop-dev-auth",
            "result_ttl": 0,
            "identity_source": ["method.request.header.Authorization"],
        },
        "byGetAtt": {
            "type": "TOKEN",
            "function": "shop-dev-auth",
            "result_ttl": 300,
            "identity_source": ["method.request.header.X-Token"],
            "identity_validation_expression": "^x-.*",
        },
    }
    assert [api["routes"][f"GET /{p}"]["authorizer"] for p in "abc"] == ["auth", "auth", "byGetAtt"]


def test_a_request_authorizer_without_cache_or_identity_source_has_none(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
        functions:
          auth: {handler: auth.handler}
          a:
            handler: a.handler
            events:
              - http: {path: a, method: get, authorizer: {name: auth, type: request, resultTtlInSeconds: 0}}
        """,
    )
    assert model(path)["apis"]["dev-shop"]["authorizers"]["auth"]["identity_source"] == []


def test_api_keys_and_usage_plans(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
          apiGateway:
            apiKeys:
              - free: [{name: free, value: free-key-0123456789abcdef}]
              - paid:
                  - {name: gold, value: gold-key-0123456789abcdef}
                  - silver
            usagePlan:
              - free:
                  quota: {limit: 100, period: DAY}
                  throttle: {rateLimit: 1, burstLimit: 2}
              - paid:
                  quota: {limit: 5000, period: MONTH, offset: 2}
        functions:
          a:
            handler: a.handler
            events:
              - http: {path: a, method: get, private: true}
        """,
    )
    loaded = load(path)
    data = loaded.config.model_dump(exclude_defaults=True)
    assert data["apis"]["dev-shop"]["routes"]["GET /a"]["api_key_required"] is True
    assert data["gateway"]["usage_plans"] == {
        "shop-free-dev": {
            "api_stages": ["dev-shop/dev"],
            "api_keys": ["free-key-0123456789abcdef"],
            "throttling": {"rate_limit": 1.0, "burst_limit": 2},
            "quota": {"limit": 100, "period": "DAY"},
        },
        "shop-paid-dev": {
            "api_stages": ["dev-shop/dev"],
            "api_keys": ["gold-key-0123456789abcdef", "gatehold-shop-dev-silver-api-key"],
            "quota": {"limit": 5000, "period": "MONTH", "offset": 2},
        },
    }
    line = line_of(path, "- silver")
    assert (
        f"{path}:{line}: provider.apiGateway.apiKeys[1].paid[1]: API key silver: AWS generates its value at"
        " deploy; locally it is gatehold-shop-dev-silver-api-key"
    ) in [str(n) for n in loaded.notes]


def test_request_validation(tmp_path: Path) -> None:
    """request-validator.js: required parameters and request.schemas give the method the service's
    validator; a schema may be inline, {name, schema}, JSON text, a file, or provider's by name."""
    path = sls(
        tmp_path,
        """\
          apiGateway:
            request:
              schemas:
                pet: {name: Pet, schema: {type: object, required: [name]}}
        functions:
          a:
            handler: a.handler
            events:
              - http:
                  path: pets/{id}
                  method: put
                  request:
                    parameters:
                      paths: {id: true}
                      querystrings: {dry: false, version: {required: true}}
                      headers: {X-Trace: true}
                    schemas:
                      application/json: pet
                      text/plain: '{"type": "string"}'
                      application/xml: ${file(./xml.json)}
              - http:
                  path: owners
                  method: post
                  request:
                    schemas:
                      application/json: {name: Owner, schema: {type: object}}
        """,
        **{"xml.json": '{"type": "string", "maxLength": 10}'},
    )
    routes = model(path)["apis"]["dev-shop"]["routes"]
    assert routes["PUT /pets/{id}"]["request_validation"] == {
        "required_parameters": [
            "method.request.querystring.version",
            "method.request.header.X-Trace",
            "method.request.path.id",
        ],
        "body_schemas": {
            "application/json": {"type": "object", "required": ["name"]},
            "text/plain": {"type": "string"},
            "application/xml": {"type": "string", "maxLength": 10},
        },
    }
    assert routes["POST /owners"]["request_validation"] == {
        "body_schemas": {"application/json": {"type": "object"}}
    }


def test_gateway_responses_from_resources(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
        functions:
          a: {handler: a.handler, events: [{http: GET a}]}
        resources:
          Resources:
            Unauthorized:
              Type: AWS::ApiGateway::GatewayResponse
              Properties:
                ResponseType: UNAUTHORIZED
                RestApiId: !Ref ApiGatewayRestApi
                StatusCode: '401'
                ResponseParameters:
                  gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
                  gatewayresponse.header.X-Region: !Sub "'${AWS::Region}'"
                ResponseTemplates:
                  application/json: '{"error":$context.error.messageString}'
            Orders:
              Type: AWS::DynamoDB::Table
        """,
    )
    loaded = load(path)
    api = loaded.config.model_dump(exclude_defaults=True)["apis"]["dev-shop"]
    assert api["gateway_responses"] == {
        "UNAUTHORIZED": {
            "status_code": 401,
            "headers": {
                "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                "gatewayresponse.header.X-Region": "'us-east-1'",
            },
            "template": '{"error":$context.error.messageString}',
        }
    }
    line = line_of(path, "Orders:")
    assert f"{path}:{line}: resources.Resources.Orders: AWS::DynamoDB::Table Orders: not created locally" in [
        str(f) for f in loaded.ignored
    ]


@pytest.mark.parametrize(
    ("event", "integration"),
    [
        pytest.param(
            "{path: a, method: get, integration: http-proxy, request: {uri: 'http://localhost:9/{p}',"
            " parameters: {paths: {p: true}}}}",
            {
                "type": "http_proxy",
                "uri": "http://localhost:9/{p}",
                "method": "GET",
                "request_parameters": {"integration.request.path.p": "method.request.path.p"},
            },
            id="http-proxy",
        ),
        pytest.param(
            "{path: a, method: post, integration: http, request: {uri: 'http://localhost:9/a', method: put,"
            " passThrough: NEVER}, response: {statusCodes: {201: {pattern: ''}, 400: {pattern: '4\\d\\d',"
            " headers: {X-Why: integration.response.header.X-Why}}}}}",
            {
                "type": "http",
                "uri": "http://localhost:9/a",
                "method": "PUT",
                "passthrough_behavior": "never",
                "responses": {
                    "default": {"status_code": 201},
                    "4\\d\\d": {
                        "status_code": 400,
                        "headers": {"X-Why": "integration.response.header.X-Why"},
                    },
                },
            },
            id="http",
        ),
        pytest.param(
            "{path: a, method: get, integration: http, request: {uri: 'http://localhost:9/a'}, response:"
            ' {template: \'{"stage": "$context.stage"}\'}}',
            {
                "type": "http",
                "uri": "http://localhost:9/a",
                "method": "GET",
                "responses": {"default": {"status_code": 200, "body": '{"stage": "$context.stage"}'}},
            },
            id="http-static-template",
        ),
        pytest.param(
            "{path: a, method: get, integration: mock, request: {template: {application/json:"
            " '{\"statusCode\": 202}'}}, response: {headers: {Content-Type: \"'text/plain'\"}, statusCodes:"
            " {200: {pattern: ''}, 202: {pattern: '202', template: accepted}}}}",
            {
                "type": "mock",
                "status_code": 202,
                "headers": {"Content-Type": "text/plain"},
                "body": "accepted",
            },
            id="mock",
        ),
    ],
)
def test_rest_integrations(tmp_path: Path, event: str, integration: dict[str, Any]) -> None:
    path = sls(tmp_path, f"functions:\n  a:\n    handler: a.handler\n    events:\n      - http: {event}\n")
    routes = model(path)["apis"]["dev-shop"]["routes"]
    assert next(iter(routes.values()))["integration"] == integration


def test_access_logs(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
          logs:
            restApi: {format: '$context.requestId $context.status', executionLogging: true}
            httpApi: true
            frameworkLambda: true
        functions:
          a: {handler: a.handler, events: [{http: GET a}, {httpApi: GET /a}]}
        """,
    )
    apis = model(path)["apis"]
    assert apis["dev-shop"]["stages"]["dev"]["access_log"] == {"format": "$context.requestId $context.status"}
    http_log = apis["dev-shop-httpapi"]["stages"]["$default"]["access_log"]["format"]
    assert http_log.startswith('{"requestId":"$context.requestId","ip":"$context.identity.sourceIp"')


def test_resolved_files_are_tracked_for_reload(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        "  environment: ${file(./env/${sls:stage}.yml)}\nfunctions:\n  a: {handler: a.h}\n",
        **{"env/dev.yml": "A: one\n"},
    )
    loaded = load(path)
    assert loaded.config.functions["shop-dev-a"].environment == {"A": "one"}
    assert (tmp_path / "env" / "dev.yml").resolve() in loaded.files


def test_a_serverless_yml_under_imports_joins_a_gatehold_yaml(tmp_path: Path) -> None:
    sls(tmp_path, "functions:\n  a: {handler: a.handler, events: [{http: GET a}]}\n")
    main = write(
        tmp_path,
        "gatehold.yaml",
        "imports:\n  - {path: serverless.yml, stage: qa}\nfunctions:\n  own: {handler: own.handler}\n",
    )
    data = model(main)
    assert sorted(data["functions"]) == ["own", "shop-qa-a"]
    assert data["apis"]["qa-shop"]["base_path"] == "/qa-shop"


# --------------------------------------------------------------------------------------------------
# variables
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("custom", "value", "expected", "options"),
    [
        pytest.param("", "${self:service}", "shop", {}, id="self"),
        pytest.param(
            "  a: ${self:custom.b}-x\n  b: ${self:custom.c}\n  c: deep\n",
            "${self:custom.a}",
            "deep-x",
            {},
            id="recursive",
        ),
        pytest.param("  list: [zero, one]\n", "${self:custom.list.1}", "one", {}, id="list-index"),
        pytest.param("  n: 3\n", "pre-${self:custom.n}-post", "pre-3-post", {}, id="interpolation"),
        pytest.param("  flag: true\n", "${self:custom.flag}!", "true!", {}, id="boolean-in-string"),
        pytest.param(
            "  dev: {x: d}\n  qa: {x: q}\n",
            "${self:custom.${sls:stage}.x}",
            "q",
            {"stage": "qa"},
            id="nested",
        ),
        pytest.param("", "${opt:stage, 'dev'}", "dev", {}, id="opt-default"),
        pytest.param("", "${opt:stage, 'dev'}", "prod", {"stage": "prod"}, id="opt-stage"),
        pytest.param("", "${opt:color}", "blue", {"values": {"opt:color": "blue"}}, id="opt-value"),
        pytest.param("", "${opt:stage, self:provider.stage}", "dev", {}, id="provider-stage-default"),
        pytest.param("", "${env:GATEHOLD_SLS_SET}", "from-env", {}, id="env"),
        pytest.param(
            "  d: fb\n", "${env:GATEHOLD_SLS_UNSET, self:custom.d}", "fb", {}, id="env-fallback-self"
        ),
        pytest.param(
            "", "${env:GATEHOLD_SLS_EMPTY, 'was-empty'}", "was-empty", {}, id="env-empty-falls-back"
        ),
        pytest.param("", '${env:GATEHOLD_SLS_UNSET, "a, b"}', "a, b", {}, id="double-quoted-fallback"),
        pytest.param("", "${env:GATEHOLD_SLS_UNSET, 10}", "10", {}, id="number-fallback"),
        pytest.param("", "${sls:stage}", "qa", {"stage": "qa"}, id="sls-stage"),
        pytest.param("", "${aws:region}", "eu-west-1", {}, id="aws-region"),
        pytest.param("", "${aws:accountId}", "123456789012", {}, id="aws-account"),
        pytest.param("", "${strToBool(${env:GATEHOLD_SLS_TRUE})}", "true", {}, id="str-to-bool"),
        pytest.param(
            "", "${ssm:/shop/secret}", "s3cr3t", {"values": {"ssm:/shop/secret": "s3cr3t"}}, id="ssm-value"
        ),
        pytest.param(
            "", "${cf:billing-dev.Url, 'http://localhost:9'}", "http://localhost:9", {}, id="cf-fallback"
        ),
        pytest.param("", "${param:db}", "dev-db", {}, id="param-stage"),
        pytest.param("", "${param:db}", "default-db", {"stage": "qa"}, id="param-default"),
        pytest.param("", "${param:db}", "cli-db", {"values": {"param:db": "cli-db"}}, id="param-value"),
        pytest.param("", "${param:queue}", "v4-queue", {}, id="param-v4-stages"),
        pytest.param(
            "",
            "arn:${AWS::Partition}:s3:::${self:service}",
            "arn:${AWS::Partition}:s3:::shop",
            {},
            id="foreign-kept",
        ),
        pytest.param(
            "", "${stageVariables.backend}", "${stageVariables.backend}", {}, id="stage-variable-kept"
        ),
        pytest.param("", "${file(./config.yml):db.host}", "db.local", {}, id="file-key"),
        pytest.param(
            "",
            "${file(./config.yml):db.url}",
            "postgres://db.local/shop",
            {},
            id="file-resolves-against-main",
        ),
        pytest.param("", "${file(./config.json):port}", "5432", {}, id="file-json"),
        pytest.param("", "${file(./token.txt)}", "plain text\n", {}, id="file-text"),
    ],
)
def test_variables(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    custom: str,
    value: str,
    expected: str,
    options: dict[str, Any],
) -> None:
    monkeypatch.setenv("GATEHOLD_SLS_SET", "from-env")
    monkeypatch.setenv("GATEHOLD_SLS_EMPTY", "")
    monkeypatch.setenv("GATEHOLD_SLS_TRUE", "1")
    monkeypatch.delenv("GATEHOLD_SLS_UNSET", raising=False)
    path = sls(
        tmp_path,
        f"""\
  region: eu-west-1
  environment:
    VALUE: {json.dumps(value)}
params:
  dev: {{db: dev-db}}
  default: {{db: default-db}}
stages:
  default: {{params: {{queue: v4-queue}}}}
custom:
  host: db.local
{custom}functions:
  a: {{handler: a.handler}}
""",
        **{
            "config.yml": "db:\n  host: db.local\n  url: postgres://${self:custom.host}/${self:service}\n",
            "config.json": '{"port": 5432}',
            "token.txt": "plain text\n",
        },
    )
    env = load(path, **options).config.functions
    (fn,) = env.values()
    assert fn.environment["VALUE"] == expected


def test_instance_id_is_one_value_per_load(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        "  environment: {A: '${sls:instanceId}', B: '${sls:instanceId}'}\nfunctions:\n  a: {handler: a.h}\n",
    )
    env = load(path).config.functions["shop-dev-a"].environment
    assert env["A"] == env["B"]
    assert len(env["A"]) == 8


def test_a_variable_may_hold_a_whole_section(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        "functions: ${file(./functions.yml)}\n",
        **{"functions.yml": "hello:\n  handler: hello.handler\n  events:\n    - httpApi: GET /hello\n"},
    )
    data = model(path)
    assert data["functions"]["shop-dev-hello"]["handler"] == "hello.handler"
    assert list(data["apis"]["dev-shop"]["routes"]) == ["GET /hello"]


def test_dotenv_files_with_use_dotenv(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        "useDotenv: true\nprovider:\n  name: aws\n  runtime: python3.12\n"
        "  environment: {A: '${env:GATEHOLD_SLS_DOTENV}'}\n"
        "functions:\n  a: {handler: a.h}\n",
        header="service: shop\n",
        **{
            ".env": "GATEHOLD_SLS_DOTENV=plain\n",
            ".env.qa": "export GATEHOLD_SLS_DOTENV='for qa' # staged\n",
        },
    )
    assert load(path).config.functions["shop-dev-a"].environment == {"A": "plain"}
    assert load(path, stage="qa").config.functions["shop-qa-a"].environment == {"A": "for qa"}


def test_unused_sections_are_not_resolved(tmp_path: Path) -> None:
    """An ${ssm:…} in an IAM statement or a resource Gatehold does not create costs nothing."""
    path = sls(
        tmp_path,
        """\
          iam:
            role:
              statements:
                - {Effect: Allow, Action: s3:GetObject, Resource: '${ssm:/shop/bucket-arn}'}
        functions:
          a: {handler: a.handler}
        resources:
          Resources:
            Bucket:
              Type: AWS::S3::Bucket
              Properties: {BucketName: '${cf:shared.Bucket}'}
        """,
    )
    assert list(model(path)["functions"]) == ["shop-dev-a"]


def test_a_fallback_for_an_unresolvable_source_is_noted(tmp_path: Path) -> None:
    path = sls(tmp_path, "  environment: {A: \"${ssm:/shop/a, 'local'}\"}\nfunctions:\n  a: {handler: a.h}\n")
    notes = [str(n) for n in load(path).notes]
    line = line_of(path, "environment:")
    assert (
        f"{path}:{line}: provider.environment.A: ssm:/shop/a is not read locally"
        " (ssm values are read from AWS or another service at deploy time);"
        " the fallback in ${ssm:/shop/a, 'local'} is used"
        " (or pass --value 'ssm:/shop/a=VALUE')"
    ) in notes


# --------------------------------------------------------------------------------------------------
# every problem, at its file, line and key path
# --------------------------------------------------------------------------------------------------

FN = "functions:\n  a:\n    handler: a.handler\n"


def _event(http: str) -> str:
    return FN + "    events:\n      - " + http + "\n"


VARIABLE_ERRORS = [
    pytest.param(
        "custom:\n  a: ${self:custom.b}\n  b: ${self:custom.a}\n",
        "${self:custom.a}",
        "a: ${self:custom.b}",
        "custom.a",
        "variable cycle: custom.a → custom.b → custom.a",
        {},
        id="cycle",
    ),
    pytest.param(
        "",
        "${env:GATEHOLD_SLS_LOOP}",
        "VALUE:",
        "provider.environment.VALUE",
        "variables nest more than 10 levels deep in '${env:GATEHOLD_SLS_LOOP}'",
        {"GATEHOLD_SLS_LOOP": "${env:GATEHOLD_SLS_LOOP}"},
        id="nesting-depth",
    ),
    pytest.param(
        "",
        "${self:service",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${self:service': missing closing '}'",
        {},
        id="unterminated",
    ),
    pytest.param(
        "",
        "${opt:stage, dev}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${opt:stage, dev}': invalid literal 'dev' (quote strings: 'dev')",
        {},
        id="bare-literal",
    ),
    pytest.param(
        "",
        "${env:A, 'x', env:B}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in \"${env:A, 'x', env:B}\": a quoted fallback must be the last source",
        {},
        id="quoted-fallback-not-last",
    ),
    pytest.param(
        "",
        "${self:'service' x}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in \"${self:'service' x}\": unexpected 'x' at index 17",
        {},
        id="after-quoted-address",
    ),
    pytest.param(
        "",
        "${env:A, @}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${env:A, @}': invalid source at index 9",
        {},
        id="invalid-source",
    ),
    pytest.param(
        "",
        "${env:A, Env:B}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${env:A, Env:B}': invalid source type 'Env'",
        {},
        id="invalid-source-type",
    ),
    pytest.param(
        "",
        '${env:A, "\\q"}',
        "VALUE:",
        "provider.environment.VALUE",
        'invalid variable syntax in \'${env:A, "\\\\q"}\': invalid string "\\q": Invalid \\escape: line 1'
        " column 2 (char 1)",
        {},
        id="invalid-string",
    ),
    pytest.param(
        "",
        "${self:${AWS::Region}}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${self:${AWS::Region}}': invalid variable type at index 9",
        {},
        id="foreign-inside-variable",
    ),
    pytest.param(
        "",
        "${ssm:arn:aws:ssm:x}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in '${ssm:arn:aws:ssm:x}': invalid address at index 9 (':' in an address)",
        {},
        id="colon-in-address",
    ),
    pytest.param(
        "",
        "${file('a.yml' b)}",
        "VALUE:",
        "provider.environment.VALUE",
        "invalid variable syntax in \"${file('a.yml' b)}\": invalid parameter at index 15",
        {},
        id="invalid-parameter",
    ),
    pytest.param(
        "",
        "${file(./binary.dat)}",
        "VALUE:",
        "provider.environment.VALUE",
        "cannot read ./binary.dat: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        {},
        id="file-not-text",
    ),
    pytest.param(
        "custom:\n  m: {a: 1}\n",
        "x-${self:custom.m}",
        "VALUE:",
        "provider.environment.VALUE",
        "${self:custom.m} resolves to a mapping, which cannot be part of a string",
        {},
        id="mapping-in-string",
    ),
    pytest.param(
        "custom:\n  m: {a: 1}\n",
        "${self:custom.${self:custom.m}}",
        "VALUE:",
        "provider.environment.VALUE",
        "${self:custom.m} resolves to a mapping inside an address",
        {},
        id="mapping-in-address",
    ),
    pytest.param(
        "",
        "${ssm:/shop/db-password}",
        "VALUE:",
        "provider.environment.VALUE",
        "${ssm:/shop/db-password}: ssm values are read from AWS or another service at deploy time; give the"
        " value with --value 'ssm:/shop/db-password=VALUE'",
        {},
        id="ssm",
    ),
    pytest.param(
        "",
        "${cf(eu-west-1):billing-dev.ServiceEndpoint}",
        "VALUE:",
        "provider.environment.VALUE",
        "${cf(eu-west-1):billing-dev.ServiceEndpoint}: cf values are read from AWS or another service at"
        " deploy time; give the value with --value 'cf(eu-west-1):billing-dev.ServiceEndpoint=VALUE'",
        {},
        id="cf",
    ),
    pytest.param(
        "",
        "${s3:shop-config/flags.json}",
        "VALUE:",
        "provider.environment.VALUE",
        "${s3:shop-config/flags.json}: s3 values are read from AWS or another service at deploy time; give"
        " the value with --value 's3:shop-config/flags.json=VALUE'",
        {},
        id="s3",
    ),
    pytest.param(
        "",
        "${aws:partition}",
        "VALUE:",
        "provider.environment.VALUE",
        "${aws:partition}: aws:partition needs an AWS account; give the value with --value"
        " 'aws:partition=VALUE'",
        {},
        id="aws-other",
    ),
    pytest.param(
        "",
        "${sls:version}",
        "VALUE:",
        "provider.environment.VALUE",
        "${sls:version}: sls:version is not known locally; give the value with --value 'sls:version=VALUE'",
        {},
        id="sls-other",
    ),
    pytest.param(
        "",
        "${vault2:secret/db}",
        "VALUE:",
        "provider.environment.VALUE",
        "${vault2:secret/db}: 'vault2' is not a variable source Gatehold knows; give the value with --value"
        " 'vault2:secret/db=VALUE'",
        {},
        id="unknown-source",
    ),
    pytest.param(
        "",
        "${file(./config.js):db}",
        "VALUE:",
        "provider.environment.VALUE",
        "${file(./config.js):db}: ./config.js is JavaScript, which Gatehold does not run; give the value with"
        " --value 'file(./config.js):db=VALUE'",
        {},
        id="javascript-file",
    ),
    pytest.param(
        "",
        "${env:GATEHOLD_SLS_UNSET}",
        "VALUE:",
        "provider.environment.VALUE",
        "${env:GATEHOLD_SLS_UNSET}: environment variable GATEHOLD_SLS_UNSET is not set; give the value with"
        " --value 'env:GATEHOLD_SLS_UNSET=VALUE'",
        {},
        id="env-unset",
    ),
    pytest.param(
        "",
        "${opt:region}",
        "VALUE:",
        "provider.environment.VALUE",
        "${opt:region}: no region option was given (--value 'opt:region=VALUE'); give the value with --value"
        " 'opt:region=VALUE'",
        {},
        id="opt-missing",
    ),
    pytest.param(
        "",
        "${self:custom.missing}",
        "VALUE:",
        "provider.environment.VALUE",
        "${self:custom.missing}: custom.missing is not defined in this file",
        {},
        id="self-missing",
    ),
    pytest.param(
        "custom:\n  empty: ~\n",
        "${self:custom.empty}",
        "VALUE:",
        "provider.environment.VALUE",
        "${self:custom.empty}: it has no value",
        {},
        id="self-null",
    ),
    pytest.param(
        "",
        "${file(./missing.yml):a}",
        "VALUE:",
        "provider.environment.VALUE",
        "${file(./missing.yml):a}: ./missing.yml does not exist; give the value with --value"
        " 'file(./missing.yml):a=VALUE'",
        {},
        id="file-missing",
    ),
    pytest.param(
        "",
        "${file(./config.yml):db.port}",
        "VALUE:",
        "provider.environment.VALUE",
        "${file(./config.yml):db.port}: ./config.yml has no db.port; give the value with --value"
        " 'file(./config.yml):db.port=VALUE'",
        {},
        id="file-key-missing",
    ),
    pytest.param(
        "",
        "${file(./broken.yml):a}",
        "VALUE:",
        "provider.environment.VALUE",
        "cannot read ./broken.yml: {broken}:2: invalid YAML: did not find expected ',' or ']'",
        {},
        id="file-unparsable",
    ),
    pytest.param(
        "",
        "${file()}",
        "VALUE:",
        "provider.environment.VALUE",
        "${file(…)} needs a path",
        {},
        id="file-without-path",
    ),
    pytest.param(
        "",
        "${param:db}",
        "VALUE:",
        "provider.environment.VALUE",
        "${param:db}: parameter db is not defined for stage dev (params: or stages:); give the value with"
        " --value 'param:db=VALUE'",
        {},
        id="param-missing",
    ),
    pytest.param(
        "",
        "${strToBool(yes)}",
        "VALUE:",
        "provider.environment.VALUE",
        "strToBool expects 'true', 'false', '0' or '1', not 'yes'",
        {},
        id="str-to-bool",
    ),
]


@pytest.mark.parametrize(("extra", "value", "marker", "key", "message", "env"), VARIABLE_ERRORS)
def test_variable_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    value: str,
    marker: str,
    key: str,
    message: str,
    env: dict[str, str],
) -> None:
    monkeypatch.delenv("GATEHOLD_SLS_UNSET", raising=False)
    for name, env_value in env.items():
        monkeypatch.setenv(name, env_value)
    write(tmp_path, "config.yml", "db:\n  host: db.local\n")
    broken = write(tmp_path, "broken.yml", "a: [unclosed\n")
    (tmp_path / "binary.dat").write_bytes(b"\xff\xfe")
    path = sls(tmp_path, f"  environment:\n    VALUE: {json.dumps(value)}\n{extra}{FN}")
    line = line_of(path, marker, after=4)
    assert problems(path) == [f"{path}:{line}: {key}: {message.replace('{broken}', str(broken))}"]


def refused(path: Path, key: str, why: str) -> str:
    return f"{why}; to run without it, pass --ignore {shell_quoted(key)}"


CASES = [
    # -- the service and the provider --------------------------------------------------------------
    pytest.param(
        "service: shop\nprovider:\n  name: google\n" + FN,
        "name: google",
        "provider.name",
        "provider 'google': Gatehold runs AWS services only (provider.name: aws)",
        "refuse",
        id="provider-not-aws",
    ),
    pytest.param(
        "service: [shop]\nprovider:\n  name: aws\n" + FN,
        "service:",
        "service",
        "service must name the service (a string)",
        "error",
        id="service-not-a-string",
    ),
    pytest.param(
        HEADER + "  layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]\n" + FN,
        "layers:",
        "provider.layers",
        "Lambda layers are not mounted: the handlers' imports must come from your environment",
        "refuse",
        id="provider-layers",
    ),
    pytest.param(
        HEADER + "  endpointType: PRIVATE\n" + FN,
        "endpointType",
        "provider.endpointType",
        "a PRIVATE REST API is reachable only through a VPC endpoint; Gatehold serves it on its URL",
        "refuse",
        id="private-endpoint",
    ),
    pytest.param(
        HEADER + "  vpcEndpointIds: [vpce-1]\n" + FN,
        "vpcEndpointIds",
        "provider.vpcEndpointIds",
        "VPC endpoints are not reproduced",
        "refuse",
        id="vpc-endpoints",
    ),
    pytest.param(
        HEADER + "  resourcePolicy: [{Effect: Deny}]\n" + FN,
        "resourcePolicy",
        "provider.resourcePolicy",
        "resource policies (IP and VPC allow / deny lists) are not evaluated by Gatehold",
        "refuse",
        id="resource-policy",
    ),
    pytest.param(
        HEADER + "plugins: [serverless-domain-manager]\n" + FN,
        "plugins:",
        "plugins[0]",
        "plugin serverless-domain-manager: custom domains are not served",
        "refuse",
        id="custom-domain",
    ),
    # -- functions ----------------------------------------------------------------------------------
    pytest.param(
        HEADER + "functions:\n  - a: {handler: a.h}\n  - a: {handler: b.h}\n",
        "- a: {handler: b.h}",
        "functions[1].a",
        "function 'a' is defined twice",
        "error",
        id="function-twice",
    ),
    pytest.param(
        HEADER + "functions:\n  a: {handler: a.h, name: one}\n  b: {handler: b.h, name: one}\n",
        "b: {handler",
        "functions.b.name",
        "functions 'a' and 'b' are both Lambda function 'one'",
        "error",
        id="lambda-name-twice",
    ),
    pytest.param(
        HEADER + "functions:\n  a:\n    image: shop:latest\n",
        "image:",
        "functions.a.image",
        "container images are not run: Gatehold runs handlers from source",
        "refuse",
        id="image",
    ),
    pytest.param(
        HEADER + FN + "    layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]\n",
        "layers:",
        "functions.a.layers",
        "Lambda layers are not mounted: the handler's imports must come from your environment",
        "refuse",
        id="function-layers",
    ),
    pytest.param(
        HEADER + FN + "    url: true\n",
        "url:",
        "functions.a.url",
        "Lambda function URLs are not served (only http and httpApi events are)",
        "refuse",
        id="function-url",
    ),
    pytest.param(
        HEADER + FN + "    fileSystemConfig: {localMountPath: /mnt/efs}\n",
        "fileSystemConfig",
        "functions.a.fileSystemConfig",
        "EFS file systems are not mounted",
        "refuse",
        id="efs",
    ),
    pytest.param(
        HEADER + FN + "    condition: IsProd\n",
        "condition:",
        "functions.a.condition",
        "a CloudFormation condition decides whether this function exists",
        "refuse",
        id="condition",
    ),
    pytest.param(
        HEADER + "functions:\n  a:\n    memorySize: 256\n",
        "  a:",
        "functions.a",
        "a function needs a handler ('module.function')",
        "error",
        id="no-handler",
    ),
    pytest.param(
        HEADER + "functions:\n  a:\n    handler: [a.h]\n",
        "handler:",
        "functions.a.handler",
        "handler must be a string ('module.function')",
        "error",
        id="handler-not-a-string",
    ),
    pytest.param(
        HEADER + FN + "    reservedConcurrency: 0\n",
        "reservedConcurrency",
        "functions.a.reservedConcurrency",
        "reservedConcurrency 0 throttles every invocation; Gatehold's reserved concurrency is 1 or more",
        "refuse",
        id="reserved-concurrency-0",
    ),
    pytest.param(
        HEADER + FN + "    runtime: [python3.12]\n",
        "runtime: [",
        "functions.a.runtime",
        "runtime must be a string such as python3.12",
        "error",
        id="runtime-not-a-string",
    ),
    pytest.param(
        HEADER + FN + "    runtime: java21\n",
        "runtime: java21",
        "functions.a.runtime",
        "runtime java21: Gatehold runs Python and Node.js handlers",
        "refuse",
        id="runtime-java",
    ),
    pytest.param(
        HEADER + FN + "    environment:\n      EMPTY: ~\n",
        "EMPTY",
        "functions.a.environment.EMPTY",
        "environment variable EMPTY has no value",
        "error",
        id="environment-null",
    ),
    pytest.param(
        HEADER + FN + "    environment:\n      LIST: [a, b]\n",
        "LIST",
        "functions.a.environment.LIST",
        "environment variable LIST must be a string, not a list",
        "error",
        id="environment-list",
    ),
    pytest.param(
        HEADER + FN + "    environment:\n      TABLE: !Ref OrdersTable\n",
        "TABLE",
        "functions.a.environment.TABLE.Ref",
        "OrdersTable is not a parameter or a resource of this template",
        "error",
        id="environment-ref-unknown",
    ),
    pytest.param(
        HEADER + FN + "    environment:\n      SHARED: !ImportValue shared-url\n",
        "SHARED",
        "functions.a.environment.SHARED",
        "Fn::ImportValue shared-url is an export of another stack, which Gatehold does not deploy; supply its"
        " value with --value 'ImportValue:shared-url=…'",
        "refuse",
        id="environment-import-value",
    ),
    pytest.param(
        HEADER + FN + "    events: {http: GET a}\n",
        "events:",
        "functions.a.events",
        "events must be a list",
        "error",
        id="events-not-a-list",
    ),
    pytest.param(
        HEADER + FN + "    events:\n      - {http: GET a, httpApi: GET /a}\n",
        "- {http",
        "functions.a.events[0]",
        "an event is a mapping with one key, its type (http, httpApi …)",
        "error",
        id="event-shape",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: nobody}"),
        "authorizer: nobody",
        "functions.a.events[0].http.authorizer",
        "authorizer: function 'nobody' is not defined in functions",
        "error",
        id="authorizer-function-unknown",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {arn: 'arn:aws:sqs:us-east-1:1:q'}}"),
        "authorizer:",
        "functions.a.events[0].http.authorizer.arn",
        "authorizer: 'arn:aws:sqs:us-east-1:1:q' is not a Lambda function ARN",
        "error",
        id="authorizer-not-lambda-arn",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {arn: !GetAtt Other.Arn}}"),
        "authorizer:",
        "functions.a.events[0].http.authorizer.arn",
        "authorizer: Other is not a function of this file",
        "refuse",
        id="authorizer-getatt-other",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {arn: !Split [',', 'a,b']}}"),
        "authorizer:",
        "functions.a.events[0].http.authorizer.arn",
        "authorizer: a list is not a Lambda function ARN",
        "error",
        id="authorizer-arn-not-a-string",
    ),
    pytest.param(
        HEADER
        + _event("http: {path: a, method: get, authorizer: 'arn:aws:lambda:us-east-1:1:function:auth'}"),
        "authorizer:",
        "functions.a.events[0].http.authorizer",
        "authorizer: Lambda function auth is not defined in this file, so it cannot run locally",
        "refuse",
        id="authorizer-external",
    ),
    # -- REST: http events --------------------------------------------------------------------------
    pytest.param(
        HEADER + _event("http: GET"),
        "http: GET",
        "functions.a.events[0].http",
        "http: 'GET' must be 'METHOD path'",
        "error",
        id="http-string",
    ),
    pytest.param(
        HEADER + _event("http: [GET, a]"),
        "http: [",
        "functions.a.events[0].http",
        "an http event is 'METHOD path' or a mapping",
        "error",
        id="http-shape",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, timeout: 3}"),
        "timeout",
        "functions.a.events[0].http.timeout",
        "not a property of http events",
        "refuse",
        id="http-unknown-property",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: fetch}"),
        "fetch",
        "functions.a.events[0].http.method",
        "method 'fetch': one of ANY, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
        "error",
        id="http-method",
    ),
    pytest.param(
        HEADER + _event("http: {method: get}"),
        "method: get",
        "functions.a.events[0].http.path",
        "an http event needs a path",
        "error",
        id="http-no-path",
    ),
    pytest.param(
        HEADER + _event("http: GET a") + "      - http: GET /a/\n",
        "GET /a/",
        "functions.a.events[1].http",
        "GET /a is defined twice (also at {path}:{first}: functions.a.events[0].http)",
        "error",
        id="http-route-twice",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, private: yes please}"),
        "private",
        "functions.a.events[0].http.private",
        "private is true or false",
        "error",
        id="http-private",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, reqValidatorName: all}"),
        "reqValidatorName",
        "functions.a.events[0].http.reqValidatorName",
        "request validators are not applied by Gatehold",
        "refuse",
        id="http-request-validator",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: post, async: true}"),
        "async",
        "functions.a.events[0].http.async",
        "async: true invokes the function asynchronously through a 'lambda' integration, which Gatehold does"
        " not run",
        "refuse",
        id="http-async",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, integration: {type: mock}}"),
        "integration",
        "functions.a.events[0].http.integration",
        "integration is a string (lambda-proxy, http …)",
        "error",
        id="integration-shape",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, integration: lambda}"),
        "integration",
        "functions.a.events[0].http.integration",
        "integration: lambda (non-proxy, VTL mapping templates) is not run by Gatehold; use lambda-proxy",
        "refuse",
        id="integration-lambda",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, integration: sqs}"),
        "integration",
        "functions.a.events[0].http.integration",
        "integration 'sqs': lambda-proxy, lambda, http, http-proxy or mock",
        "error",
        id="integration-unknown",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: http-proxy, connectionType: vpc-link, connectionId: x,"
            " request: {uri: 'http://a'}}"
        ),
        "connectionType",
        "functions.a.events[0].http.connectionType",
        "VPC links are not reproduced",
        "refuse",
        id="vpc-link",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: post, request: {schemas: [object]}}"),
        "schemas",
        "functions.a.events[0].http.request.schemas",
        "schemas maps content types to JSON schemas",
        "error",
        id="request-schemas-shape",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: post, request: {schemas: {application/json: visit-model}}}"),
        "schemas",
        "functions.a.events[0].http.request.schemas['application/json']",
        "'visit-model' is neither a schema of provider.apiGateway.request.schemas nor JSON",
        "error",
        id="request-schema-name",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: post, request: {schemas: {application/json: {name: V, schema: '{'}}}}"
        ),
        "schemas",
        "functions.a.events[0].http.request.schemas['application/json']",
        "the schema is not JSON",
        "error",
        id="request-schema-json",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: post, request: {schema: {application/json: [1]}}}"),
        "schema",
        "functions.a.events[0].http.request.schema['application/json']",
        "a request schema is a JSON schema (a mapping)",
        "error",
        id="request-schema-mapping",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: post, request: {contentHandling: CONVERT_TO_TEXT}}"),
        "contentHandling",
        "functions.a.events[0].http.request.contentHandling",
        "not a request property Gatehold applies",
        "refuse",
        id="request-unknown",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, integration: http-proxy}"),
        "http-proxy",
        "functions.a.events[0].http",
        "request.uri is needed for the http-proxy integration",
        "error",
        id="request-uri",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, request: {parameters: [q]}}"),
        "parameters",
        "functions.a.events[0].http.request.parameters",
        "parameters is a mapping (querystrings, headers, paths)",
        "error",
        id="parameters-shape",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, request: {parameters: {cookies: {a: true}}}}"),
        "parameters",
        "functions.a.events[0].http.request.parameters.cookies",
        "parameters are querystrings, headers or paths",
        "error",
        id="parameters-location",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, request: {parameters: {headers: [a]}}}"),
        "parameters",
        "functions.a.events[0].http.request.parameters.headers",
        "headers is a mapping of names",
        "error",
        id="parameters-names",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: mock,"
            " request: {template: {application/json: '#set($x = 1)'}}}"
        ),
        "template",
        "functions.a.events[0].http.request.template",
        'a mock request template other than {"statusCode": N} is VTL, which Gatehold does not run',
        "refuse",
        id="mock-request-template",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: mock,"
            " response: {statusCodes: {400: {pattern: '4..'}}}}"
        ),
        "response",
        "functions.a.events[0].http.response",
        "no response matches the mock status 200",
        "refuse",
        id="mock-no-response",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: mock, response: {headers: {X-Id: context.requestId}}}"
        ),
        "response",
        "functions.a.events[0].http.response.headers",
        "response header X-Id: only static values ('value') are applied",
        "refuse",
        id="mock-header",
    ),
    pytest.param(
        HEADER
        + _event("http: {path: a, method: get, integration: mock, response: {template: '#if(1) x #end'}}"),
        "response",
        "functions.a.events[0].http.response",
        "a mock response template with VTL directives is not run",
        "refuse",
        id="mock-response-template",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: http, request: {uri: 'http://a', template:"
            " {application/json: '{}'}}}"
        ),
        "template",
        "functions.a.events[0].http.request.template",
        "request templates (VTL) are not run by Gatehold",
        "refuse",
        id="http-request-template",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, integration: http, request: {uri: 'http://a'},"
            " response: {template: '$input.json(\"$\")'}}"
        ),
        "response",
        "functions.a.events[0].http.response",
        "response templates with VTL are not run by Gatehold",
        "refuse",
        id="http-response-template",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, cors: {origin: '*', exposeHeaders: [X-Id]}}"),
        "cors",
        "functions.a.events[0].http.cors.exposeHeaders",
        "not a cors property of http events",
        "refuse",
        id="cors-unknown",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, cors: '*'}"),
        "cors",
        "functions.a.events[0].http.cors",
        "cors is true or a mapping",
        "error",
        id="cors-shape",
    ),
    pytest.param(
        HEADER
        + _event("http: {path: a, method: get, cors: {origins: ['https://a.example', 'https://b.example']}}"),
        "cors",
        "functions.a.events[0].http.cors",
        "cors origins https://a.example, https://b.example: the framework echoes the request's Origin with a"
        " VTL response template; Gatehold's mock answers one static origin",
        "refuse",
        id="cors-origins",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, cors: true}") + "      - http: OPTIONS a\n",
        "cors: true",
        "functions.a.events[0].http.cors",
        "cors adds OPTIONS /a, which an http event also defines"
        " (the framework would merge both into one method)",
        "refuse",
        id="cors-options-twice",
    ),
    pytest.param(
        "service: shop\nprovider:\n  name: aws\n  stage: dev.1\n" + _event("http: GET a"),
        "stage: dev.1",
        "provider.stage",
        "stage 'dev.1': REST API stage names are letters, digits, '-' and '_'",
        "error",
        id="rest-stage-name",
    ),
    pytest.param(
        HEADER + "  apiGateway:\n    restApiId: abc123\n" + _event("http: GET a"),
        "restApiId",
        "provider.apiGateway.restApiId",
        "an API created outside this service is not known locally",
        "refuse",
        id="external-rest-api",
    ),
    pytest.param(
        HEADER + "  apiGateway:\n    usagePlan:\n      throttle: {rateLimit: 5}\n" + _event("http: GET a"),
        "throttle",
        "provider.apiGateway.usagePlan.throttle",
        "a usage plan throttle with only one of rateLimit and burstLimit",
        "refuse",
        id="usage-plan-throttle",
    ),
    pytest.param(
        HEADER + "  apiGateway:\n    apiKeys:\n      - {value: abc}\n" + _event("http: GET a"),
        "- {value",
        "provider.apiGateway.apiKeys[0]",
        "an API key is a name or {name, value}",
        "error",
        id="api-key-shape",
    ),
    pytest.param(
        HEADER + "  apiGateway:\n    apiKeys:\n      - gold: [k]\n" + _event("http: GET a"),
        "- gold",
        "provider.apiGateway.apiKeys[0]",
        "API key group 'gold' has no usage plan",
        "error",
        id="api-key-group",
    ),
    # -- REST authorizers ---------------------------------------------------------------------------
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: aws_iam}"),
        "authorizer",
        "functions.a.events[0].http.authorizer",
        "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
        "refuse",
        id="authorizer-iam",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {type: AWS_IAM}}"),
        "authorizer",
        "functions.a.events[0].http.authorizer",
        "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
        "refuse",
        id="authorizer-iam-type",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {type: CUSTOM, authorizerId: abc}}"),
        "authorizer",
        "functions.a.events[0].http.authorizer.authorizerId",
        "an authorizer created outside this service (authorizerId)",
        "refuse",
        id="authorizer-id",
    ),
    pytest.param(
        HEADER
        + _event(
            "http: {path: a, method: get, authorizer: {arn: 'arn:aws:cognito-idp:us-east-1:1:userpool/x'}}"
        ),
        "authorizer",
        "functions.a.events[0].http.authorizer",
        "Cognito user pool authorizers are not run locally (use a JWT authorizer on an HTTP API, or a Lambda"
        " authorizer)",
        "refuse",
        id="authorizer-cognito",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {resultTtlInSeconds: 0}}"),
        "authorizer",
        "functions.a.events[0].http.authorizer",
        "an authorizer needs name (a function of this service) or arn",
        "error",
        id="authorizer-no-name",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {name: a, type: jwt}}"),
        "authorizer",
        "functions.a.events[0].http.authorizer.type",
        "authorizer type 'jwt': token or request",
        "error",
        id="authorizer-type",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: {name: a, cacheKey: x}}"),
        "authorizer",
        "functions.a.events[0].http.authorizer.cacheKey",
        "not a property of http authorizers",
        "refuse",
        id="authorizer-unknown",
    ),
    pytest.param(
        HEADER + _event("http: {path: a, method: get, authorizer: [a]}"),
        "authorizer",
        "functions.a.events[0].http.authorizer",
        "authorizer is a function name, an ARN or a mapping",
        "error",
        id="authorizer-shape",
    ),
    # -- resources ----------------------------------------------------------------------------------
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  extensions:\n    ApiGatewayRestApi:\n      Properties: {}\n",
        "ApiGatewayRestApi:",
        "resources.extensions.ApiGatewayRestApi",
        "extensions of the framework's ApiGatewayRestApi are not applied by Gatehold",
        "refuse",
        id="extensions",
    ),
    pytest.param(
        HEADER + FN + "resources:\n  Resources:\n    Thing:\n      Properties: {}\n",
        "Thing:",
        "resources.Resources.Thing",
        "a resource needs a Type",
        "error",
        id="resource-type",
    ),
    pytest.param(
        HEADER + FN + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n",
        "R:",
        "resources.Resources.R",
        "this GatewayResponse belongs to the REST API, which exists only when functions have http events",
        "error",
        id="gateway-response-without-rest-api",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    M:\n      Type: AWS::ApiGateway::Method\n",
        "Type: AWS::ApiGateway::Method",
        "resources.Resources.M.Type",
        "AWS::ApiGateway::Method M: API Gateway resources written by hand are not merged by the serverless"
        " importer (only AWS::ApiGateway::GatewayResponse is)",
        "refuse",
        id="api-gateway-resource",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        ResponseType: DEFAULT_4XX\n        RestApiId: !Ref OtherApi\n",
        "RestApiId",
        "resources.Resources.R.Properties.RestApiId",
        "R names another REST API than the service's (Ref: ApiGatewayRestApi)",
        "refuse",
        id="gateway-response-other-api",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n",
        "Properties:",
        "resources.Resources.R.Properties",
        "a GatewayResponse needs a ResponseType",
        "error",
        id="gateway-response-type",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
        "        StatusCode: four hundred\n",
        "StatusCode",
        "resources.Resources.R.Properties.StatusCode",
        "StatusCode is a number",
        "error",
        id="gateway-response-status",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
        "        ResponseParameters:\n          gatewayresponse.header.X-Stage: !Ref Stage\n",
        "X-Stage",
        "resources.Resources.R.Properties.ResponseParameters['gatewayresponse.header.X-Stage'].Ref",
        "Stage is not a parameter or a resource of this template",
        "error",
        id="gateway-response-intrinsic",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
        "        ResponseParameters:\n          gatewayresponse.header.X-List: [a]\n",
        "X-List",
        "resources.Resources.R.Properties.ResponseParameters['gatewayresponse.header.X-List']",
        "a header value is a string, not a list",
        "error",
        id="gateway-response-header-type",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
        "        ResponseTemplates: {text/plain: no}\n",
        "ResponseTemplates",
        "resources.Resources.R.Properties.ResponseTemplates",
        "only application/json response templates are applied",
        "refuse",
        id="gateway-response-template",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n    R:\n      Type: AWS::ApiGateway::GatewayResponse\n"
        "      Properties:\n        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
        "        Color: red\n",
        "Color",
        "resources.Resources.R.Properties.Color",
        "not a GatewayResponse property",
        "refuse",
        id="gateway-response-property",
    ),
    pytest.param(
        HEADER
        + _event("http: GET a")
        + "resources:\n  Resources:\n"
        + "".join(
            f"    R{i}:\n      Type: AWS::ApiGateway::GatewayResponse\n      Properties:\n"
            "        RestApiId: !Ref ApiGatewayRestApi\n        ResponseType: DEFAULT_4XX\n"
            for i in (1, 2)
        ),
        "R2:",
        "resources.Resources.R2",
        "gateway response DEFAULT_4XX is defined twice",
        "error",
        id="gateway-response-twice",
    ),
    # -- HTTP API: httpApi events -------------------------------------------------------------------
    pytest.param(
        HEADER + _event("httpApi: GET"),
        "httpApi: GET",
        "functions.a.events[0].httpApi",
        "httpApi: 'GET' must be '*' or 'METHOD /path'",
        "error",
        id="http-api-string",
    ),
    pytest.param(
        HEADER + _event("httpApi: [GET]"),
        "httpApi:",
        "functions.a.events[0].httpApi",
        "an httpApi event is '*', 'METHOD /path' or a mapping",
        "error",
        id="http-api-shape",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: /a, cors: true}"),
        "httpApi:",
        "functions.a.events[0].httpApi.cors",
        "not a property of httpApi events",
        "refuse",
        id="http-api-unknown",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET}"),
        "httpApi:",
        "functions.a.events[0].httpApi",
        "an httpApi event needs a path",
        "error",
        id="http-api-no-path",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: '*'}"),
        "httpApi:",
        "functions.a.events[0].httpApi.path",
        "path '*' takes no method (or method '*')",
        "error",
        id="http-api-star-method",
    ),
    pytest.param(
        HEADER + _event("httpApi: {path: /a}"),
        "httpApi:",
        "functions.a.events[0].httpApi",
        "an httpApi event needs a method",
        "error",
        id="http-api-no-method",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: FETCH, path: /a}"),
        "httpApi:",
        "functions.a.events[0].httpApi.method",
        "method 'FETCH'",
        "error",
        id="http-api-method",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: a}"),
        "httpApi:",
        "functions.a.events[0].httpApi.path",
        "path 'a' must start with '/'",
        "error",
        id="http-api-path",
    ),
    pytest.param(
        HEADER + _event("httpApi: GET /a") + "      - httpApi: {method: get, path: /a}\n",
        "{method: get",
        "functions.a.events[1].httpApi",
        "route GET /a is defined twice (also at {path}:{first}: functions.a.events[0].httpApi)",
        "error",
        id="http-api-route-twice",
    ),
    pytest.param(
        HEADER
        + "  httpApi:\n    authorizers:\n      x: {issuerUrl: 'https://x/', audience: a}\n"
        + _event("httpApi: {method: GET, path: /a, authorizer: {name: x, cache: 5}}"),
        "- httpApi:",
        "functions.a.events[0].httpApi.authorizer.cache",
        "not a property of httpApi authorizers",
        "refuse",
        id="http-api-authorizer-unknown",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: /a, authorizer: {type: aws_iam}}"),
        "httpApi:",
        "functions.a.events[0].httpApi.authorizer",
        "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
        "refuse",
        id="http-api-authorizer-iam",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: /a, authorizer: {id: abc123}}"),
        "httpApi:",
        "functions.a.events[0].httpApi.authorizer.id",
        "an authorizer of an HTTP API created outside this service (id)",
        "refuse",
        id="http-api-authorizer-id",
    ),
    pytest.param(
        HEADER + _event("httpApi: {method: GET, path: /a, authorizer: nobody}"),
        "httpApi:",
        "functions.a.events[0].httpApi.authorizer",
        "authorizer 'nobody' is not defined in provider.httpApi.authorizers",
        "error",
        id="http-api-authorizer-unknown-name",
    ),
    pytest.param(
        HEADER
        + "  httpApi:\n    authorizers:\n      fn: {type: request, functionName: a}\n"
        + _event("httpApi: {method: GET, path: /a, authorizer: {name: fn, scopes: [read]}}"),
        "- httpApi:",
        "functions.a.events[0].httpApi.authorizer.scopes",
        "authorization scopes apply to JWT authorizers only (API Gateway)",
        "refuse",
        id="http-api-scopes-on-lambda",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    authorizers:\n      fn: request\n" + _event("httpApi: GET /a"),
        "fn: request",
        "provider.httpApi.authorizers.fn",
        "an authorizer is a mapping",
        "error",
        id="http-api-authorizer-shape",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    authorizers:\n      fn: {type: token}\n" + _event("httpApi: GET /a"),
        "fn: {type",
        "provider.httpApi.authorizers.fn.type",
        "authorizer type 'token': jwt or request",
        "error",
        id="http-api-authorizer-type",
    ),
    pytest.param(
        HEADER
        + "  httpApi:\n    authorizers:\n      jwt:\n        issuerUrl: https://x/\n        audience: [a]\n"
        "        jwksUri: https://x/jwks\n" + _event("httpApi: GET /a"),
        "jwksUri",
        "provider.httpApi.authorizers.jwt.jwksUri",
        "not a property of jwt authorizers",
        "refuse",
        id="http-api-authorizer-property",
    ),
    pytest.param(
        HEADER
        + "  httpApi:\n    authorizers:\n      jwt:\n        audience: [a]\n"
        + _event("httpApi: GET /a"),
        "jwt:",
        "provider.httpApi.authorizers.jwt",
        "a JWT authorizer needs issuerUrl",
        "error",
        id="http-api-jwt-issuer",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    authorizers:\n      fn: {type: request}\n" + _event("httpApi: GET /a"),
        "fn: {type",
        "provider.httpApi.authorizers.fn",
        "authorizer fn: give functionName or functionArn (one of them)",
        "error",
        id="http-api-authorizer-function",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    authorizers:\n      fn:\n        type: request\n        functionName: a\n"
        "        resultTtlInSeconds: 60\n" + _event("httpApi: GET /a"),
        "resultTtlInSeconds",
        "provider.httpApi.authorizers.fn.resultTtlInSeconds",
        "authorizer fn: identitySource is needed when resultTtlInSeconds is not 0",
        "error",
        id="http-api-authorizer-cache",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    id: abc123\n" + _event("httpApi: GET /a"),
        "id: abc123",
        "provider.httpApi.id",
        "an HTTP API created outside this service (httpApi.id) is not known locally",
        "refuse",
        id="external-http-api",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    cors: '*'\n" + _event("httpApi: GET /a"),
        "cors:",
        "provider.httpApi.cors",
        "cors is true or a mapping",
        "error",
        id="http-api-cors-shape",
    ),
    pytest.param(
        HEADER + "  httpApi:\n    cors:\n      origin: '*'\n" + _event("httpApi: GET /a"),
        "origin:",
        "provider.httpApi.cors.origin",
        "not an httpApi cors property",
        "refuse",
        id="http-api-cors-unknown",
    ),
]


@pytest.mark.parametrize(("text", "marker", "key", "message", "kind"), CASES)
def test_every_problem_at_its_line(
    tmp_path: Path, text: str, marker: str, key: str, message: str, kind: str
) -> None:
    path = write(tmp_path, "serverless.yml", text)
    header = len(HEADER.splitlines()) if text.startswith(HEADER) else 0
    line = line_of(path, marker, after=header)
    if "{first}" in message:
        message = message.format(path=path, first=line_of(path, "- ", after=header))
    expected = refused(path, key, message) if kind == "refuse" else message
    assert problems(path) == [f"{path}:{line}: {key}: {expected}"]


def test_a_refusal_named_in_ignore_is_listed_instead(tmp_path: Path) -> None:
    path = sls(tmp_path, FN + "    layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]\n")
    loaded = load(path, ignore=("functions.*.layers",))
    line = line_of(path, "layers:")
    assert [str(f) for f in loaded.ignored] == [
        f"{path}:{line}: functions.a.layers: Lambda layers are not mounted: the handler's imports must come"
        " from your environment (ignored: --ignore functions.*.layers)"
    ]
    assert list(loaded.config.functions) == ["shop-dev-a"]


def test_an_ignored_authorizer_refusal_drops_the_route_never_serves_it_open(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        _event("http: {path: a, method: get, authorizer: aws_iam}")
        + "  b: {handler: b.h, events: [{http: GET b}]}\n",
    )
    loaded = load(path, ignore=("functions.a.events[0].http.authorizer",))
    assert list(loaded.config.apis["dev-shop"].routes) == ["GET /b"]


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = sls(
        tmp_path,
        """\
          environment:
            A: ${ssm:/a}
        functions:
          a:
            handler: a.h
            runtime: java21
            events:
              - http: {path: a, method: get, authorizer: aws_iam}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load(path)
    assert [p.line for p in info.value.problems] == [
        line_of(path, "A: ${ssm"),
        line_of(path, "runtime: java21"),
        line_of(path, "authorizer: aws_iam"),
    ]


# --------------------------------------------------------------------------------------------------
# custom.gatehold.expects: what Lambda authorizers check (gatehold token --route)
# --------------------------------------------------------------------------------------------------

#: HTTP_API with its Lambda authorizer named keys (the loader reads an error at a key named "lambda"
#: as pydantic's union tag and drops it from the key path)
HTTP_KEYS = HTTP_API.replace(" lambda", " keys")
EXPECTS = """\
custom:
  audience: https://shop.example.com
  gatehold:
    expects:
      keys:
        issuer: https://shop.eu.auth0.com/
        audience: ${self:custom.audience}
        scopes: [write:orders]
        missing_scope: 401
"""


def test_custom_gatehold_expects_on_a_lambda_authorizer(tmp_path: Path) -> None:
    path = sls(tmp_path, HTTP_KEYS + EXPECTS)
    loaded = load(path, issuer_aliases=("https://*.auth0.com/",))
    authorizers = loaded.config.apis["dev-shop"].authorizers
    expects = authorizers["keys"].expects
    assert expects is not None
    assert expects.model_dump(exclude_defaults=True) == {
        "issuer": LOCAL_ISSUER,  # aliased, as the functions' environment is
        "audience": "https://shop.example.com",
        "scopes": ["write:orders"],
        "missing_scope": 401,
    }
    line = line_of(path, "      keys:", after=line_of(path, "custom:"))
    assert str(loaded.where("apis", "dev-shop", "authorizers", "keys", "expects", "scopes")) == (
        f"{path}:{line}: custom.gatehold.expects.keys"
    )
    assert authorizers["tenant"].expects is None
    remote = load(path).config.apis["dev-shop"].authorizers["keys"].expects
    assert remote is not None
    assert remote.issuer == "https://shop.eu.auth0.com/"


@pytest.mark.parametrize(
    ("replace", "key", "message"),
    [
        pytest.param(
            ("      keys:", "      tenant:"),
            "custom.gatehold.expects.tenant",
            "dev-shop.tenant is a JWT authorizer: its checks are its own"
            " (expects applies to Lambda authorizers)",
            id="jwt",
        ),
        pytest.param(
            ("      keys:", "      kays:"),
            "custom.gatehold.expects.kays",
            "no authorizer kays here (authorizers: dev-shop.tenant, dev-shop.keys)",
            id="unknown",
        ),
        pytest.param(
            ("      keys:", "      other-api.keys:"),
            "custom.gatehold.expects['other-api.keys']",
            "no authorizer other-api.keys here (authorizers: dev-shop.tenant, dev-shop.keys)",
            id="unknown-api",
        ),
        pytest.param(
            ("    expects:", "    expect: {}\n    expects:"),
            "custom.gatehold.expect",
            "expect is not a Gatehold setting (custom.gatehold.expects is)",
            id="unknown-key",
        ),
        pytest.param(
            ("        missing_scope: 401", "        missing_scope: 402"),
            "custom.gatehold.expects.keys",
            "Input should be 401 or 403",
            id="invalid",
        ),
    ],
)
def test_custom_gatehold_expects_errors(
    tmp_path: Path, replace: tuple[str, str], key: str, message: str
) -> None:
    text = EXPECTS.replace(*replace)
    assert text != EXPECTS
    path = sls(tmp_path, HTTP_KEYS + text)
    marker = key.rsplit(".", 1)[-1].strip("[]'").rsplit(".", 1)[-1]
    line = line_of(path, f"{marker}:", after=line_of(path, "custom:"))
    found = problems(path)
    assert f"{path}:{line}: {key}: {message}" in found, found


def test_custom_gatehold_expects_by_api_and_name(tmp_path: Path) -> None:
    path = sls(tmp_path, HTTP_KEYS + EXPECTS.replace("      keys:", "      dev-shop.keys:"))
    assert load(path).config.apis["dev-shop"].authorizers["keys"].expects is not None
