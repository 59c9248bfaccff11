"""The CloudFormation importer: what a template becomes, and one case per refusal message, each at
the template's file, line (the line marked ``# <-``) and property path."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatehold.importers.base import shell_quoted
from tests.importers.support import load, problems, write

BASE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Code: {ZipFile: "def handler(event, context):\\n    return {'statusCode': 200}\\n"}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties: {RestApiId: !Ref Api, StageName: prod}
  Get:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
"""
HTTP = """\
  Http:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: http, ProtocolType: HTTP}
  HttpStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Http, StageName: $default}
  HttpFn:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Fn.Arn
      PayloadFormatVersion: "2.0"
"""
#: a mock integration API Gateway answers (a request template's statusCode, an integration response)
MOCK_OK = (
    "Integration:\n  Type: MOCK\n  RequestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
    "  IntegrationResponses: [{StatusCode: 200}]"
)
URI = "!Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"


def template(tmp_path: Path, extra: str, *, http: bool = False, head: str = "") -> tuple[Path, int]:
    """BASE (+ HTTP) + ``extra`` resources; the line marked ``# <-``."""
    text = head + BASE + (HTTP if http else "") + extra
    path = write(tmp_path, "template.yaml", text)
    marked = [i for i, line in enumerate(text.splitlines(), 1) if "# <-" in line]
    return path, marked[0] if marked else 0


def method(props: str, *, resource: str = "!GetAtt Api.RootResourceId", verb: str = "POST") -> str:
    body = textwrap.indent(textwrap.dedent(props).strip(chr(10)), "      ")
    return f"""
  Extra:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: {resource}
      HttpMethod: {verb}
      AuthorizationType: NONE
{body}
"""


def refusal(path: Path, line: int, key: str, message: str) -> str:
    return f"{path}:{line}: {key}: {message}; to run without it, pass --ignore {shell_quoted(key)}"


# --------------------------------------------------------------------------------------------------
# what a template becomes
# --------------------------------------------------------------------------------------------------


def test_a_rest_api_with_resources_methods_authorizer_and_stage(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        f"""
  Pets:
    Type: AWS::ApiGateway::Resource
    Properties: {{RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: pets}}
  Pet:
    Type: AWS::ApiGateway::Resource
    Properties: {{RestApiId: !Ref Api, ParentId: !Ref Pets, PathPart: "{{petId}}"}}
  Proxy:
    Type: AWS::ApiGateway::Resource
    Properties: {{RestApiId: !Ref Api, ParentId: !Ref Pets, PathPart: "{{proxy+}}"}}
  Auth:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Type: REQUEST
      IdentitySource: method.request.header.Authorization, method.request.querystring.tenant
      AuthorizerUri: {URI}
      AuthorizerResultTtlInSeconds: 0
  GetPet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Pet
      HttpMethod: GET
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      ApiKeyRequired: true
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: {URI}
        TimeoutInMillis: 5000
  AnyProxy:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Proxy
      HttpMethod: ANY
      AuthorizationType: NONE
      RequestParameters: {{method.request.path.proxy: true}}
      Integration:
        Type: HTTP_PROXY
        IntegrationHttpMethod: ANY
        Uri: https://backend.example.com/{{proxy}}
        RequestParameters: {{integration.request.path.proxy: method.request.path.proxy}}
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties:
      RestApiId: !Ref Api
      StageName: beta
      StageDescription:
        Variables: {{backend: https://beta.example.com}}
        ThrottlingRateLimit: 10
        ThrottlingBurstLimit: 5
        LoggingLevel: INFO
""",
    )
    loaded = load(path)
    api = loaded.config.apis["Api"]
    assert api.type == "REST"
    assert api.base_path == "/"
    assert set(api.stages) == {"prod", "beta"}
    assert api.stages["beta"].variables == {"backend": "https://beta.example.com"}
    assert api.stages["beta"].throttling is not None
    assert (api.stages["beta"].throttling.rate_limit, api.stages["beta"].throttling.burst_limit) == (10.0, 5)
    assert list(api.routes) == ["GET /", "GET /pets/{petId}", "ANY /pets/{proxy+}"]
    route = api.routes["GET /pets/{petId}"]
    assert route.authorizer == "Auth"
    assert route.api_key_required
    assert route.integration.model_dump(exclude_defaults=True) == {
        "type": "lambda",
        "function": "Fn",
        "timeout_ms": 5000,
    }
    assert api.routes["ANY /pets/{proxy+}"].integration.model_dump(exclude_defaults=True) == {
        "type": "http_proxy",
        "uri": "https://backend.example.com/{proxy}",
        "request_parameters": {"integration.request.path.proxy": "method.request.path.proxy"},
    }
    auth = api.authorizers["Auth"]
    assert (auth.type, auth.function, auth.result_ttl) == ("REQUEST", "Fn", 0)
    assert auth.identity_source == [
        "method.request.header.Authorization",
        "method.request.querystring.tenant",
    ]
    authorizer_line = path.read_text().splitlines().index("      AuthorizerId: !Ref Auth") + 1
    assert loaded.where("apis", "Api", "routes", "GET /pets/{petId}", "authorizer").line == authorizer_line
    assert sorted(str(f).split(": ", 2)[-1] for f in loaded.ignored) == [
        "RequestParameters of AWS::ApiGateway::Method (AnyProxy): without a RequestValidatorId API Gateway"
        " does not check it",
        "StageDescription.LoggingLevel of AWS::ApiGateway::Deployment (Deployment): execution logs go to the"
        " console",
    ]


def test_an_http_api_with_routes_authorizers_stage_settings(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        f"""
  Jwt:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      AuthorizerType: JWT
      IdentitySource: [$request.header.Authorization]
      JwtConfiguration: {{Issuer: https://tenant.eu.auth0.com/, Audience: [https://api]}}
  Lambda:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      AuthorizerType: REQUEST
      AuthorizerUri: {URI}
      AuthorizerPayloadFormatVersion: "2.0"
      EnableSimpleResponses: true
      IdentitySource: [$request.header.X-Key]
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /items
      AuthorizationType: JWT
      AuthorizerId: !Ref Jwt
      AuthorizationScopes: [read:items]
      Target: !Join ["/", [integrations, !Ref HttpFn]]
  Other:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: $default
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Lambda
      Target: !Sub integrations/${{HttpFn}}
  HttpStage2:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Http
      StageName: v2
      StageVariables: {{mode: fast}}
      DefaultRouteSettings: {{ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50}}
      RouteSettings:
        GET /items: {{ThrottlingRateLimit: 1, ThrottlingBurstLimit: 1}}
""",
        http=True,
    )
    loaded = load(path, issuer_aliases=("https://*.auth0.com/",))
    http = loaded.config.apis["Http"]
    assert loaded.config.apis["Api"].base_path == "/Api"  # two APIs: each under /<LogicalId>
    assert http.base_path == "/Http"
    assert list(http.routes) == ["GET /items", "$default"]
    assert http.routes["GET /items"].authorization_scopes == ["read:items"]
    assert http.authorizers["Jwt"].jwt_configuration is not None
    assert http.authorizers["Jwt"].jwt_configuration.issuer == "http://localhost:9000/"
    assert http.authorizers["Lambda"].enable_simple_responses
    assert http.routes["$default"].authorizer == "Lambda"
    assert http.stages["v2"].variables == {"mode": "fast"}
    assert http.stages["v2"].route_throttling["GET /items"].rate_limit == 1
    assert loaded.config.tenant.apis[0].identifier == "https://api"
    assert loaded.config.tenant.apis[0].permissions == ["read:items"]


def test_quick_create_and_usage_plans(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        """
  Quick:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: quick, ProtocolType: HTTP, Target: !GetAtt Fn.Arn}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{ApiId: !Ref Api, Stage: !Ref Stage}]
      Throttle: {RateLimit: 5, BurstLimit: 2}
      Quota: {Limit: 100, Period: WEEK, Offset: 1}
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: true, Value: my-own-key-0123456789}
  Generated:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: true}
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}
  PlanKey2:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Generated, KeyType: API_KEY, UsagePlanId: !Ref Plan}
""",
    )
    loaded = load(path, values={"ApiKey:Generated": "chosen-on-the-command-line"})
    quick = loaded.config.apis["Quick"]
    assert list(quick.stages) == ["$default"]
    assert quick.routes["$default"].integration.model_dump(exclude_defaults=True) == {
        "type": "lambda",
        "function": "Fn",
        "payload_format_version": "2.0",
    }
    plan = loaded.config.gateway.usage_plans["Plan"]
    assert plan.api_stages == ["Api/prod"]
    assert plan.api_keys == ["my-own-key-0123456789", "chosen-on-the-command-line"]
    assert plan.quota is not None
    assert (plan.quota.limit, plan.quota.period, plan.quota.offset) == (100, "WEEK", 1)


def test_mock_http_and_gateway_responses(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        method(
            """
            Integration:
              Type: MOCK
              RequestTemplates: {application/json: '{"statusCode": 404}'}
              IntegrationResponses:
                - StatusCode: 200
                - StatusCode: 404
                  SelectionPattern: "4\\\\d{2}"
                  ResponseParameters: {method.response.header.X-Reason: "'gone'"}
                  ResponseTemplates: {text/plain: "gone from $context.stage"}
            """
        )
        + """
  Http2:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: PUT
      AuthorizationType: NONE
      Integration:
        Type: HTTP
        IntegrationHttpMethod: PUT
        Uri: https://backend.example.com/things
        PassthroughBehavior: WHEN_NO_MATCH
        IntegrationResponses:
          - StatusCode: 200
            ResponseParameters: {method.response.header.X-Up: integration.response.header.X-Up}
          - StatusCode: 502
            SelectionPattern: "5\\\\d{2}"
  Missing:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: MISSING_AUTHENTICATION_TOKEN
      StatusCode: "404"
      ResponseParameters: {gatewayresponse.header.Access-Control-Allow-Origin: "'*'"}
      ResponseTemplates: {application/json: '{"error": "no such route"}'}
""",
    )
    api = load(path).config.apis["Api"]
    assert api.routes["POST /"].integration.model_dump(exclude_defaults=True) == {
        "type": "mock",
        "status_code": 404,
        "headers": {"X-Reason": "gone", "Content-Type": "text/plain"},
        "body": "gone from $context.stage",
    }
    assert api.routes["PUT /"].integration.model_dump(exclude_defaults=True) == {
        "type": "http",
        "uri": "https://backend.example.com/things",
        "method": "PUT",
        "responses": {
            "default": {"status_code": 200, "headers": {"X-Up": "integration.response.header.X-Up"}},
            "5\\d{2}": {"status_code": 502},
        },
    }
    response = api.gateway_responses["MISSING_AUTHENTICATION_TOKEN"]
    assert (response.status_code, response.headers, response.template) == (
        404,
        {"Access-Control-Allow-Origin": "'*'"},
        '{"error": "no such route"}',
    )


def test_request_validation_from_models_and_validators(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        method(
            """
            RequestValidatorId: !Ref Validator
            RequestParameters: {method.request.querystring.q: true, method.request.header.x-opt: false}
            RequestModels: {application/json: !Ref Thing}
            Integration:
              Type: AWS_PROXY
              IntegrationHttpMethod: POST
              Uri: URI
            """.replace("URI", URI)
        )
        + """
  Validator:
    Type: AWS::ApiGateway::RequestValidator
    Properties: {RestApiId: !Ref Api, ValidateRequestBody: true, ValidateRequestParameters: true}
  Thing:
    Type: AWS::ApiGateway::Model
    Properties:
      RestApiId: !Ref Api
      ContentType: application/json
      Name: Thing
      Schema: {type: object, required: [name]}
""",
    )
    route = load(path).config.apis["Api"].routes["POST /"]
    assert route.request_validation is not None
    assert route.request_validation.required_parameters == ["method.request.querystring.q"]
    assert route.request_validation.body_schemas == {
        "application/json": {"type": "object", "required": ["name"]}
    }


def test_a_cdk_asset_directory_is_the_code_path(tmp_path: Path) -> None:
    (tmp_path / "asset.abc123").mkdir()
    (tmp_path / "asset.abc123" / "index.py").write_text("def handler(e, c):\n    return {}\n")
    text = json.dumps(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Code": {"S3Bucket": "cdk-assets", "S3Key": "abc123.zip"},
                        "Handler": "index.handler",
                        "Runtime": "python3.11",
                        "Environment": {"Variables": {"PORT": 8080, "DEBUG": True}},
                        "ReservedConcurrentExecutions": 2,
                    },
                    "Metadata": {"aws:asset:path": "asset.abc123", "aws:asset:property": "Code"},
                }
            }
        },
        indent=1,
    )
    fn = load(write(tmp_path, "Stack.template.json", text)).config.functions["Fn"]
    assert fn.code_path == str(tmp_path / "asset.abc123")
    assert (fn.handler, fn.runtime, fn.reserved_concurrency) == ("index.handler", "python3.11", 2)
    assert fn.environment == {"PORT": "8080", "DEBUG": "true"}


def test_conditions_decide_which_resources_exist(tmp_path: Path) -> None:
    head = "Parameters:\n  Env: {Type: String, Default: dev}\nConditions:\n  Prod: !Equals [!Ref Env, prod]\n"
    extra = method(MOCK_OK).replace("  Extra:\n", "  Extra:\n    Condition: Prod\n")
    path, _ = template(tmp_path, extra, head=head)
    assert list(load(path).config.apis["Api"].routes) == ["GET /"]
    assert list(load(path, parameter_overrides={"Env": "prod"}).config.apis["Api"].routes) == [
        "GET /",
        "POST /",
    ]


def test_refused_functions_take_their_routes_along_when_ignored(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        """
  Java:
    Type: AWS::Lambda::Function
    Properties:
      Handler: com.example.Handler::handle
      Runtime: java21  # <-
      Code: {ZipFile: "x"}
  Auth:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Type: TOKEN
      IdentitySource: method.request.header.Authorization
      AuthorizerUri: !Join
        - ""
        - [arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/, !GetAtt Java.Arn, /invocations]
  Guarded:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !GetAtt Api.RootResourceId
      HttpMethod: DELETE
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses: [{StatusCode: 200}]
""",
    )
    loaded = load(path, ignore=("Resources.Java.Properties.Runtime",))
    api = loaded.config.apis["Api"]
    assert list(api.routes) == ["GET /"]  # DELETE / is not served open: its authorizer cannot run
    assert api.authorizers == {}
    assert any("route DELETE / of Api is not served" in str(f) for f in loaded.ignored)


# --------------------------------------------------------------------------------------------------
# one case per refusal message
# --------------------------------------------------------------------------------------------------

FN_PROPS = """
  Other:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Code: {ZipFile: "x"}
"""


def fn_with(line: str) -> str:
    return FN_PROPS + f"      {line}  # <-\n"


REFUSALS: list[Any] = [
    pytest.param(
        dict(head="Transform: MyMacro  # <-\n"),
        "Transform",
        "the macro MyMacro runs in AWS (Transform); Gatehold cannot expand it",
        id="transform-macro",
    ),
    pytest.param(
        dict(extra=fn_with("Layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]")),
        "Resources.Other.Properties.Layers",
        "layers are not built or mounted: put the layer's code on the function's code path (or in the"
        " environment Gatehold runs in)",
        id="lambda-layers",
    ),
    pytest.param(
        dict(extra=fn_with("FileSystemConfigs: [{Arn: arn:aws:efs, LocalMountPath: /mnt/data}]")),
        "Resources.Other.Properties.FileSystemConfigs",
        "EFS file systems are not mounted locally",
        id="lambda-efs",
    ),
    pytest.param(
        dict(extra=fn_with("ImageConfig: {Command: [app.handler]}")),
        "Resources.Other.Properties.ImageConfig",
        "container-image functions are not run",
        id="lambda-image-config",
    ),
    pytest.param(
        dict(extra=fn_with("Bogus: 1")),
        "Resources.Other.Properties.Bogus",
        "Bogus is not a property of AWS::Lambda::Function that Gatehold knows",
        id="unknown-property",
    ),
    pytest.param(
        dict(extra=fn_with("PackageType: Image")),
        "Resources.Other.Properties.PackageType",
        "container-image functions are not run: Gatehold runs Python handlers from local code",
        id="lambda-package-type-image",
    ),
    pytest.param(
        dict(
            extra="""
  S3Code:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Code: {S3Bucket: my-bucket, S3Key: code.zip}  # <-
"""
        ),
        "Resources.S3Code.Properties.Code",
        "the code is in S3 (my-bucket/code.zip): Gatehold runs code from a local directory; a SAM CodeUri"
        " or a cdk asset (Metadata aws:asset:path) names one",
        id="lambda-code-in-s3",
    ),
    pytest.param(
        dict(
            extra="""
  ZipAsset:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Code: {S3Bucket: b, S3Key: k.zip}  # <-
    Metadata: {aws:asset:path: asset.zip}
""",
            files={"asset.zip": "PK"},
        ),
        "Resources.ZipAsset.Properties.Code",
        "the asset asset.zip is a file: Gatehold runs code from a directory; unpack it",
        id="lambda-asset-is-a-file",
    ),
    pytest.param(
        dict(extra=fn_with("ReservedConcurrentExecutions: 0")),
        "Resources.Other.Properties.ReservedConcurrentExecutions",
        "ReservedConcurrentExecutions 0 throttles every invocation; Gatehold runs a function with at least 1",
        id="lambda-reserved-concurrency-zero",
    ),
    pytest.param(
        dict(extra=FN_PROPS + "      Environment:\n        Bogus: 1  # <-\n"),
        "Resources.Other.Properties.Environment.Bogus",
        "Bogus is not a property of Environment that Gatehold knows",
        id="lambda-environment-key",
    ),
    pytest.param(
        dict(extra=FN_PROPS.replace("Runtime: python3.12", "Runtime: go1.x  # <-")),
        "Resources.Other.Properties.Runtime",
        "Runtime go1.x: Gatehold runs Python and Node.js handlers",
        id="runtime",
    ),
    pytest.param(
        dict(
            extra="""
  Stage2:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      StageName: two
      AccessLogSetting: {Format: $context.requestId, Bogus: 1}  # <-
"""
        ),
        "Resources.Stage2.Properties.AccessLogSetting.Bogus",
        "Bogus is not an access log setting Gatehold knows",
        id="access-log-setting",
    ),
    pytest.param(
        dict(
            extra="  Ws:\n    Type: AWS::ApiGatewayV2::Api\n"
            "    Properties: {Name: ws, ProtocolType: WEBSOCKET}  # <-\n"
        ),
        "Resources.Ws.Properties.ProtocolType",
        "ProtocolType WEBSOCKET: WebSocket APIs are not supported",
        id="websocket-api",
    ),
    pytest.param(
        dict(
            extra="""
  Cors:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: cors
      ProtocolType: HTTP
      Target: !GetAtt Fn.Arn
      CorsConfiguration: {AllowOrigins: ["*"], AllowPrivateNetwork: true}  # <-
"""
        ),
        "Resources.Cors.Properties.CorsConfiguration.AllowPrivateNetwork",
        "AllowPrivateNetwork is not a CORS setting Gatehold knows",
        id="cors-setting",
    ),
    pytest.param(
        dict(
            extra="""
  Pool:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Type: COGNITO_USER_POOLS  # <-
      ProviderARNs: [arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x]
"""
        ),
        "Resources.Pool.Properties.Type",
        "Cognito user-pool authorizers are not supported",
        id="cognito-authorizer",
    ),
    pytest.param(
        dict(
            extra=method("AuthorizationType: COGNITO_USER_POOLS  # <-\n" + MOCK_OK).replace(
                "      AuthorizationType: NONE\n", "", 1
            )
        ),
        "Resources.Extra.Properties.AuthorizationType",
        "Cognito user-pool authorizers are not supported",
        id="method-cognito",
    ),
    pytest.param(
        dict(
            extra=method("AuthorizationType: AWS_IAM  # <-\n" + MOCK_OK).replace(
                "      AuthorizationType: NONE\n", "", 1
            )
        ),
        "Resources.Extra.Properties.AuthorizationType",
        "IAM (SigV4) authorization is not supported",
        id="method-iam",
    ),
    pytest.param(
        dict(
            extra=method("Integration: {Type: HTTP_PROXY, Uri: http://nlb, ConnectionType: VPC_LINK}  # <-")
        ),
        "Resources.Extra.Properties.Integration.ConnectionType",
        "VPC link integrations are not supported",
        id="method-vpc-link",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: HTTP\n  Uri: https://b\n  IntegrationHttpMethod: GET\n"
                "  RequestTemplates: {application/json: '#set($x = 1)'}  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.RequestTemplates",
        "request mapping templates (VTL) are not run: the body passes through",
        id="http-request-templates",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: HTTP\n  Uri: https://b\n  IntegrationHttpMethod: GET\n"
                "  ContentHandling: CONVERT_TO_TEXT  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.ContentHandling",
        "binary conversions are not supported",
        id="http-content-handling",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: AWS  # <-\n  IntegrationHttpMethod: POST\n"
                "  Uri: arn:aws:apigateway:us-east-1:sqs:path/123456789012/queue"
            )
        ),
        "Resources.Extra.Properties.Integration.Type",
        "AWS service integrations (Type AWS) call AWS services; Gatehold runs Lambda proxy, HTTP, HTTP proxy"
        " and mock integrations",
        id="aws-service-integration",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: AWS_PROXY\n  IntegrationHttpMethod: POST\n  Uri: arn:aws:apigateway:"
                "us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:"
                "${stageVariables.fn}/invocations  # <-"
            )
            + "  Stage3:\n    Type: AWS::ApiGateway::Stage\n"
            "    Properties: {RestApiId: !Ref Api, StageName: b, Variables: {fn: Fn}}\n"
        ),
        "Resources.Extra.Properties.Integration.Uri",
        "the function is chosen by stage variable fn, which the stages do not set to one value",
        id="stage-variable-function",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: HTTP\n  Uri: https://b\n  IntegrationHttpMethod: GET\n"
                "  IntegrationResponses:\n    - StatusCode: 200\n"
                "      ResponseTemplates: {application/json: '$input.path(\"$.x\")'}  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.IntegrationResponses[0].ResponseTemplates",
        "response mapping templates (VTL) are not run: the body passes through",
        id="http-response-templates",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: HTTP\n  Uri: https://b\n  IntegrationHttpMethod: GET\n"
                "  IntegrationResponses:\n    - StatusCode: 200\n      ContentHandling: CONVERT_TO_TEXT  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.IntegrationResponses[0].ContentHandling",
        "ContentHandling is not an integration response setting Gatehold knows",
        id="http-integration-response-key",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: MOCK\n  IntegrationResponses: [{StatusCode: 200}]\n"
                "  RequestTemplates: {application/json: '#if(1)x#end'}  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.RequestTemplates",
        "request mapping templates (VTL) are not run; a mock reads only its statusCode",
        id="mock-request-template-vtl",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: MOCK\n"
                "  RequestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
                "  IntegrationResponses:\n    - StatusCode: 200\n"
                "      ResponseParameters:\n        method.response.header.X: method.request.header.Y  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.IntegrationResponses[0].ResponseParameters['method.response.header.X']",
        "a mock response sets headers from 'static' values only",
        id="mock-dynamic-header",
    ),
    pytest.param(
        dict(extra=method("Integration: {Type: MOCK}  # <-")),
        "Resources.Extra.Properties.Integration",
        'a mock integration without a RequestTemplates {"statusCode": N} answers 500 on API Gateway',
        id="mock-without-request-template",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: MOCK\n"
                "  RequestTemplates: {application/json: '{\"statusCode\": 404}'}\n"
                "  IntegrationResponses:  # <-\n    - {StatusCode: 200, SelectionPattern: '2\\d{2}'}"
            )
        ),
        "Resources.Extra.Properties.Integration.IntegrationResponses",
        "no integration response for the mock's status 404: API Gateway answers 500",
        id="mock-without-matching-integration-response",
    ),
    pytest.param(
        dict(
            extra=method(
                "Integration:\n  Type: MOCK\n"
                "  RequestTemplates: {application/json: '{\"statusCode\": 200}'}\n"
                "  IntegrationResponses:\n    - StatusCode: 200\n"
                "      ResponseTemplates: {application/json: '$input.json(\"$\")'}  # <-"
            )
        ),
        "Resources.Extra.Properties.Integration.IntegrationResponses[0].ResponseTemplates",
        "response mapping templates (VTL) other than $context and $stageVariables substitutions are not run",
        id="mock-response-template-vtl",
    ),
    pytest.param(
        dict(
            extra="""
  Gone:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: DEFAULT_4XX
      ResponseParameters:
        gatewayresponse.path.x: "'y'"  # <-
"""
        ),
        "Resources.Gone.Properties.ResponseParameters['gatewayresponse.path.x']",
        "gateway responses set headers only",
        id="gateway-response-non-header",
    ),
    pytest.param(
        dict(
            extra="""
  VpcIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: HTTP_PROXY
      IntegrationUri: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x
      ConnectionType: VPC_LINK  # <-
""",
            http=True,
        ),
        "Resources.VpcIntegration.Properties.ConnectionType",
        "VPC link integrations are not supported",
        id="http-api-vpc-link",
    ),
    pytest.param(
        dict(
            extra="""
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: MOCK  # <-
""",
            http=True,
        ),
        "Resources.Mock.Properties.IntegrationType",
        "IntegrationType MOCK belongs to WebSocket APIs",
        id="http-api-websocket-integration",
    ),
    pytest.param(
        dict(
            extra="""
  Iam:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /iam
      AuthorizationType: AWS_IAM  # <-
      Target: !Sub integrations/${HttpFn}
""",
            http=True,
        ),
        "Resources.Iam.Properties.AuthorizationType",
        "IAM (SigV4) authorization is not supported",
        id="http-api-route-iam",
    ),
    pytest.param(
        dict(
            extra="""
  Stage4:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      StageName: four
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", Bogus: true}  # <-
"""
        ),
        "Resources.Stage4.Properties.MethodSettings[0].Bogus",
        "Bogus is not a method setting Gatehold knows",
        id="method-setting",
    ),
    pytest.param(
        dict(
            extra="""
  HttpStage5:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Http
      StageName: five
      DefaultRouteSettings: {Bogus: 1}  # <-
""",
            http=True,
        ),
        "Resources.HttpStage5.Properties.DefaultRouteSettings.Bogus",
        "Bogus is not a route setting Gatehold knows",
        id="route-setting",
    ),
    pytest.param(
        dict(
            extra="""
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages:
        - ApiId: !Ref Api
          Stage: prod
          Throttle: {"/pets/GET": {RateLimit: 1, BurstLimit: 1}}  # <-
"""
        ),
        "Resources.Plan.Properties.ApiStages[0].Throttle",
        "per-method usage-plan throttling is not supported (the plan's Throttle is)",
        id="usage-plan-method-throttle",
    ),
    *[
        pytest.param(
            dict(
                extra=f"  {name}:\n    Type: AWS::ApiGateway::RestApi\n"
                f"    Properties:\n      {prop}: {value}  # <-\n"
                f"  {name}Stage:\n    Type: AWS::ApiGateway::Stage\n"
                f"    Properties: {{RestApiId: !Ref {name}, StageName: s}}\n"
            ),
            f"Resources.{name}.Properties.{prop}",
            why,
            id=f"rest-api-{prop.lower()}",
        )
        for name, prop, value, why in [
            (
                "FromS3",
                "BodyS3Location",
                "{Bucket: b, Key: api.yaml}",
                "the definition is in S3: put it in Body (or import the OpenAPI file with a gatehold.yaml)",
            ),
            ("Clone", "CloneFrom", "abc123", "an API cloned from another API Gateway API cannot be read"),
            (
                "Private",
                "Policy",
                "{Statement: []}",
                "resource policies (IP, VPC, account conditions) are not evaluated locally",
            ),
        ]
    ],
    pytest.param(
        dict(
            extra="  S3Body:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      ProtocolType: HTTP\n"
            "      BodyS3Location: {Bucket: b}  # <-\n"
            "  S3BodyStage:\n    Type: AWS::ApiGatewayV2::Stage\n"
            "    Properties: {ApiId: !Ref S3Body, StageName: s}\n"
        ),
        "Resources.S3Body.Properties.BodyS3Location",
        "the definition is in S3: put it in Body",
        id="http-api-body-s3",
    ),
    pytest.param(
        dict(
            extra=f"""
  Expr:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      AuthorizerType: REQUEST
      AuthorizerUri: {URI}
      AuthorizerPayloadFormatVersion: "1.0"
      IdentityValidationExpression: ".*"  # <-
""",
            http=True,
        ),
        "Resources.Expr.Properties.IdentityValidationExpression",
        "identity validation expressions belong to WebSocket APIs",
        id="http-authorizer-validation-expression",
    ),
    *[
        pytest.param(
            dict(
                extra=f"""
  Mapped:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Http
      IntegrationType: HTTP_PROXY
      IntegrationUri: https://backend.example.com
      {prop}: {value}  # <-
""",
                http=True,
            ),
            f"Resources.Mapped.Properties.{prop}",
            why,
            id=f"http-integration-{prop.lower()}",
        )
        for prop, value, why in [
            ("RequestParameters", "{overwrite:path: /x}", "parameter mapping is not supported"),
            (
                "ResponseParameters",
                "{'200': {overwrite:statuscode: '204'}}",
                "parameter mapping is not supported",
            ),
            ("IntegrationSubtype", "SQS-SendMessage", "AWS service integrations are not supported"),
            ("RequestTemplates", "{application/json: x}", "mapping templates belong to WebSocket APIs"),
            ("ConnectionId", "vpclink-1", "VPC link integrations are not supported"),
        ]
    ],
    pytest.param(
        dict(
            extra="""
  RouteParams:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Http
      RouteKey: GET /p
      Target: !Sub integrations/${HttpFn}
      RequestParameters: {route.request.querystring.q: {Required: true}}  # <-
""",
            http=True,
        ),
        "Resources.RouteParams.Properties.RequestParameters",
        "route request parameters belong to WebSocket APIs",
        id="http-route-request-parameters",
    ),
    *[
        pytest.param(
            dict(extra=f"  Thing:  # <-\n    Type: {rtype}\n    Properties: {{}}\n"),
            "Resources.Thing",
            why,
            id=f"type-{rtype.split('::', 1)[1].replace('::', '-').lower()}",
        )
        for rtype, why in [
            (
                "AWS::ApiGateway::DomainName",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGateway::DomainNameV2",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGateway::BasePathMapping",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGateway::BasePathMappingV2",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGatewayV2::DomainName",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGatewayV2::ApiMapping",
                "custom domains are not served: the API is served at its invoke URL",
            ),
            (
                "AWS::ApiGatewayV2::RouteResponse",
                "route responses belong to WebSocket APIs, which are not supported",
            ),
            (
                "AWS::ApiGatewayV2::IntegrationResponse",
                "integration responses belong to WebSocket APIs, which are not supported",
            ),
            ("AWS::ApiGatewayV2::Model", "models belong to WebSocket APIs, which are not supported"),
            ("AWS::ApiGatewayV2::RoutingRule", "routing rules of custom domains are not served"),
            (
                "AWS::Lambda::Url",
                "function URLs are not served: only API Gateway routes reach functions locally",
            ),
            (
                "AWS::WAFv2::WebACLAssociation",
                "a web ACL would filter requests; Gatehold does not run WAF rules",
            ),
            (
                "AWS::WAFRegional::WebACLAssociation",
                "a web ACL would filter requests; Gatehold does not run WAF rules",
            ),
            (
                "AWS::CloudFormation::Stack",
                "nested stacks are not deployed: import the nested template itself"
                " (imports: in a gatehold.yaml)",
            ),
            ("AWS::AppSync::GraphQLApi", "AppSync GraphQL APIs are not served"),
        ]
    ],
]


@pytest.mark.parametrize(("setup", "key", "message"), REFUSALS)
def test_refusals(tmp_path: Path, setup: dict[str, Any], key: str, message: str) -> None:
    for name, content in setup.get("files", {}).items():
        write(tmp_path, name, content)
    path, line = template(
        tmp_path, setup.get("extra", ""), http=setup.get("http", False), head=setup.get("head", "")
    )
    assert line, "the template marks the refused line with # <-"
    assert problems(path) == [refusal(path, line, key, message)]


def test_a_refusal_named_in_the_ignore_list_is_listed_instead(tmp_path: Path) -> None:
    path, line = template(tmp_path, fn_with("Layers: [arn:aws:lambda:us-east-1:123456789012:layer:deps:3]"))
    loaded = load(path, ignore=("Resources.*.Properties.Layers",))
    assert f"{path}:{line}: Resources.Other.Properties.Layers: layers are not built or mounted" in "\n".join(
        str(f) for f in loaded.ignored
    )
    assert "Other" in loaded.config.functions


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        pytest.param(
            "  NoStage:  # <-\n    Type: AWS::ApiGateway::RestApi\n    Properties: {Name: x}\n",
            "Resources.NoStage",
            "RestApi NoStage has no stage (no AWS::ApiGateway::Stage, nor a Deployment with StageName): API"
            " Gateway would not serve it; to serve it on a stage as sam local start-api does, pass"
            " --stage NAME",
            id="rest-api-without-stage",
        ),
        pytest.param(
            "  NoStage:  # <-\n    Type: AWS::ApiGatewayV2::Api\n"
            "    Properties: {Name: x, ProtocolType: HTTP}\n",
            "Resources.NoStage",
            "HTTP API NoStage has no stage (no AWS::ApiGatewayV2::Stage): API Gateway would not serve it; to"
            " serve it on a stage as sam local start-api does, pass --stage NAME",
            id="http-api-without-stage",
        ),
        pytest.param(
            method("Integration: {Type: AWS_PROXY, Uri: 'https://not-a-lambda'}  # <-"),
            "Resources.Extra.Properties.Integration.Uri",
            "'https://not-a-lambda' is not a Lambda function invocation URI",
            id="lambda-uri",
        ),
        pytest.param(
            method(
                MOCK_OK,
                resource="abc123  # <-",
            ),
            "Resources.Extra.Properties.ResourceId",
            "'abc123' is not a resource of RestApi Api",
            id="unknown-resource-id",
        ),
        pytest.param(
            method(MOCK_OK).replace("RestApiId: !Ref Api", "RestApiId: abcdef  # <-"),
            "Resources.Extra.Properties.RestApiId",
            "RestApiId 'abcdef' is not one of this template's resources",
            id="unknown-rest-api-id",
        ),
        pytest.param(
            """
  NoVersion:  # <-
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Http, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn}
  R:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Http, RouteKey: GET /x, Target: !Sub "integrations/${NoVersion}"}
""",
            "Resources.NoVersion",
            "a Lambda integration needs PayloadFormatVersion (1.0 or 2.0)",
            id="http-integration-without-payload-version",
        ),
        pytest.param(
            "  Bad:\n    Type: AWS::ApiGateway::Method\n    Properties: {RestApiId: !Ref Api,"
            " ResourceId: !GetAtt Api.RootResourceId, HttpMethod: FETCH, Integration: {Type: MOCK}}  # <-\n",
            "Resources.Bad.Properties.HttpMethod",
            "HttpMethod 'FETCH' is not an HTTP method or ANY",
            id="http-method",
        ),
    ],
)
def test_errors(tmp_path: Path, extra: str, key: str, message: str) -> None:
    path, line = template(tmp_path, extra, http=True)
    assert problems(path) == [f"{path}:{line}: {key}: {message}"]


def test_bodies_go_through_the_openapi_importer(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        f"""
  Defined:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Body:
        openapi: 3.0.1
        info: {{title: defined, version: "1"}}
        paths:
          /things:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: {URI}
  DefinedStage:
    Type: AWS::ApiGateway::Stage
    Properties: {{RestApiId: !Ref Defined, StageName: v1}}
  DefinedHttp:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Body:
        openapi: 3.0.1
        info: {{title: http, version: "1"}}
        paths:
          /things:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                payloadFormatVersion: "2.0"
                uri: !GetAtt Fn.Arn
  DefinedHttpStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {{ApiId: !Ref DefinedHttp, StageName: $default}}
""",
    )
    apis = load(path).config.apis
    assert (apis["Defined"].type, list(apis["Defined"].stages), list(apis["Defined"].routes)) == (
        "REST",
        ["v1"],
        ["GET /things"],
    )
    assert (apis["DefinedHttp"].type, list(apis["DefinedHttp"].routes)) == ("HTTP", ["GET /things"])
    assert apis["DefinedHttp"].routes["GET /things"].integration.model_dump()["function"] == "Fn"


def test_an_ignored_property_that_cannot_be_resolved_is_no_problem(tmp_path: Path) -> None:
    path, _ = template(
        tmp_path,
        """
  Imported:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Role: !ImportValue shared-role
      Code: {ZipFile: "x"}
""",
    )
    assert "Imported" in load(path).config.functions


@pytest.mark.parametrize(
    ("extra", "ignore", "http"),
    [
        pytest.param(
            method("AuthorizationType: AWS_IAM\n" + MOCK_OK).replace(
                "      AuthorizationType: NONE\n", "", 1
            ),
            "Resources.Extra.Properties.AuthorizationType",
            False,
            id="rest-iam",
        ),
        pytest.param(
            method("AuthorizationType: CUSTOM\nAuthorizerId: !Ref Pool\n" + MOCK_OK).replace(
                "      AuthorizationType: NONE\n", "", 1
            )
            + "  Pool:\n    Type: AWS::ApiGateway::Authorizer\n"
            "    Properties: {RestApiId: !Ref Api, Type: COGNITO_USER_POOLS, ProviderARNs: [arn]}\n",
            "Resources.Pool.Properties.Type",
            False,
            id="rest-cognito-authorizer",
        ),
        pytest.param(
            "  Iam:\n    Type: AWS::ApiGatewayV2::Route\n    Properties: {ApiId: !Ref Http, RouteKey: POST /,"
            " AuthorizationType: AWS_IAM, Target: !Sub 'integrations/${HttpFn}'}\n",
            "Resources.Iam.Properties.AuthorizationType",
            True,
            id="http-iam",
        ),
    ],
)
def test_routes_with_refused_authorization_are_never_served_open(
    tmp_path: Path, extra: str, ignore: str, http: bool
) -> None:
    path, _ = template(tmp_path, extra, http=http)
    loaded = load(path, ignore=(ignore,))
    routes = [key for api in loaded.config.apis.values() for key in api.routes]
    assert "POST /" not in routes
    assert any("route POST / of" in str(f) and "never served open" in str(f) for f in loaded.ignored)


def test_logical_ids_are_alphanumeric(tmp_path: Path) -> None:
    """CloudFormation refuses other logical IDs; one naming a path must not become a directory."""
    template = write(
        tmp_path,
        "template.yaml",
        "Resources:\n"
        "  ../../Escape:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties: {Handler: index.handler, Runtime: python3.12, Code: {ZipFile: 'x = 1'}}\n",
    )
    assert problems(template) == [
        f"{template}:2: Resources['../../Escape']: a logical ID must be alphanumeric (A-Za-z0-9)"
    ]


def test_unknown_api_gateway_types_are_refused_not_ignored(tmp_path: Path) -> None:
    """A resource of an API or function family that Gatehold does not read could change what is
    served: refused, never listed as 'not created locally'."""
    template = write(
        tmp_path,
        "template.yaml",
        "Resources:\n  Part:\n    Type: AWS::ApiGateway::SomethingNew\n    Properties: {}\n",
    )
    assert problems(template) == [
        f"{template}:2: Resources.Part: AWS::ApiGateway::SomethingNew is not supported; to run without it,"
        " pass --ignore 'Resources.Part'"
    ]


def test_content_handling_of_a_cors_mock(tmp_path: Path) -> None:
    """The console (and cdk) write ContentHandling: CONVERT_TO_TEXT on CORS preflight mocks: their
    request template does not read the body, so the conversion changes nothing (listed as ignored)."""
    path, line = template(
        tmp_path,
        method(
            """
            Integration:
              Type: MOCK
              ContentHandling: CONVERT_TO_TEXT  # <-
              RequestTemplates: {application/json: '{"statusCode": 204}'}
              IntegrationResponses:
                - StatusCode: 204
                  ResponseParameters: {method.response.header.Access-Control-Allow-Origin: "'*'"}
            """,
            verb="OPTIONS",
        ),
    )
    loaded = load(path)
    assert loaded.config.apis["Api"].routes["OPTIONS /"].integration.type == "mock"
    [finding] = [f for f in loaded.ignored if f.ref.path.endswith("ContentHandling")]
    assert (finding.ref.line, finding.ref.path) == (
        line,
        "Resources.Extra.Properties.Integration.ContentHandling",
    )
    assert finding.message.endswith(
        "it converts the request body for the mock's request template, which does not read the body"
    )


def test_an_api_no_stage_deploys_is_served_on_the_stage_given(tmp_path: Path) -> None:
    """sam local start-api serves a RestApi that no stage deploys (AWS would not): --stage serves it."""
    path, line = template(
        tmp_path,
        """
  Bare:  # <-
    Type: AWS::ApiGateway::RestApi
    Properties:
      Body:
        swagger: '2.0'
        info: {title: bare}
        paths:
          /b:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: URI
""".replace("URI", URI),
    )
    loaded = load(path, stage="local")
    api = loaded.config.apis["Bare"]
    assert (list(api.stages), list(api.routes)) == (["local"], ["GET /b"])
    assert [str(n) for n in loaded.notes if n.ref.path == "Resources.Bare"] == [
        f"{path}:{line}: Resources.Bare: RestApi Bare has no stage (no AWS::ApiGateway::Stage, nor a"
        " Deployment with StageName): served on stage 'local' (--stage); AWS serves it only once a stage"
        " deploys it"
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("'code/'", None, id="a-directory"),
        pytest.param(
            "s3://bucket/code.zip  # <-",
            "the code is in S3 (s3://bucket/code.zip): Gatehold runs code from a local directory"
            " (Code: ./src)",
            id="s3",
        ),
        pytest.param(
            "code.zip  # <-",
            "Code code.zip is a file: Gatehold runs code from a directory; unpack it",
            id="a-zip-file",
        ),
    ],
)
def test_code_as_a_local_path(tmp_path: Path, code: str, expected: str | None) -> None:
    """``Code: ./dir`` is what ``aws cloudformation package`` uploads and ``sam local`` runs (SAM CLI's
    own start-api templates are written so): the directory, relative to the template."""
    write(tmp_path, "code/app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    write(tmp_path, "code.zip", "PK")
    path, line = template(
        tmp_path,
        "  Other:\n    Type: AWS::Lambda::Function\n    Properties:\n      Handler: app.handler\n"
        f"      Runtime: python3.12\n      Code: {code}\n",
    )
    if expected is None:
        assert load(path).config.functions["Other"].code_path == str(tmp_path / "code")
    else:
        assert problems(path) == [refusal(path, line, "Resources.Other.Properties.Code", expected)]


def test_a_cdk_v1_asset_runs_from_its_directory_whatever_its_parameters(tmp_path: Path) -> None:
    """cdk v1 writes an asset's S3 location as parameters without Default (AssetParameters…); the
    asset's directory (Metadata aws:asset:path) is what runs, so they need no value."""
    write(tmp_path, "asset/app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    path, _ = template(
        tmp_path,
        """
  Asset:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Code:
        S3Bucket: !Ref AssetParametersS3Bucket
        S3Key: !Join ["", [!Select [0, !Split ["||", !Ref AssetParametersS3VersionKey]]]]
    Metadata:
      aws:asset:path: asset
      aws:asset:property: Code
""",
        head="Parameters:\n  AssetParametersS3Bucket: {Type: String}\n"
        "  AssetParametersS3VersionKey: {Type: String}\n",
    )
    assert load(path).config.functions["Asset"].code_path == str(tmp_path / "asset")


def test_a_missing_rest_api_id_is_said_missing(tmp_path: Path) -> None:
    path, line = template(
        tmp_path,
        "  Orphan:\n    Type: AWS::ApiGateway::Resource\n"
        "    Properties: {ParentId: !GetAtt Api.RootResourceId, PathPart: orphan}  # <-\n",
    )
    assert problems(path) == [
        f"{path}:{line}: Resources.Orphan.Properties.RestApiId: RestApiId is missing: it names a resource of"
        " this template (!Ref)"
    ]


def test_metadata_expects_of_an_authorizer_function(tmp_path: Path) -> None:
    """``Metadata: {Gatehold: {expects}}`` on an AWS::Lambda::Function (``cfn_function.add_metadata``
    in the CDK): set on the REST and HTTP Lambda authorizers it backs, not on a JWT authorizer."""
    extra = f"""
  Tokens:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Api
      Type: TOKEN
      IdentitySource: method.request.header.Authorization
      AuthorizerUri: {URI}
  Requests:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      AuthorizerType: REQUEST
      IdentitySource: [$request.header.Authorization]
      AuthorizerUri: {URI}
      AuthorizerPayloadFormatVersion: "2.0"
  Jwt:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Http
      AuthorizerType: JWT
      IdentitySource: [$request.header.Authorization]
      JwtConfiguration: {{Issuer: https://tenant.us.auth0.com/, Audience: [https://api]}}
"""
    path, _ = template(tmp_path, extra, http=True)
    text = path.read_text().replace(
        "  Fn:\n    Type: AWS::Lambda::Function\n",
        "  Fn:\n    Type: AWS::Lambda::Function\n    Metadata:\n      Gatehold:\n"
        "        expects:  # <-\n          audience: !Sub https://${AWS::Region}.api\n"
        "          algorithm: HS256\n          secret_env: SECRET\n",
    )
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "# <-" in t)
    loaded = load(path)
    declared = {"audience": "https://us-east-1.api", "algorithm": "HS256", "secret_env": "SECRET"}
    for api, name in (("Api", "Tokens"), ("Http", "Requests")):
        expects = loaded.config.apis[api].authorizers[name].expects
        assert expects is not None
        assert expects.model_dump(exclude_defaults=True) == declared
        assert str(loaded.where("apis", api, "authorizers", name, "expects")) == (
            f"{path}:{line}: Resources.Fn.Metadata.Gatehold.expects"
        )
    assert loaded.config.apis["Http"].authorizers["Jwt"].expects is None
