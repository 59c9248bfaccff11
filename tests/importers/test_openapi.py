"""The OpenAPI / Swagger importer: what each document becomes, and every problem it can report —
one case per message, each asserting the file, the line, the key path and the message."""

# ruff: noqa: E501 - the table's documents are YAML, one short document per case, easier to read unwrapped

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatehold.config.document import read_document
from gatehold.importers import ImportContext, ImportOptions
from gatehold.importers.openapi import import_api_definition
from tests.importers.support import VARIABLES, load, problems, write

FIXTURES = Path(__file__).parent / "fixtures" / "openapi"

HEAD3 = 'openapi: "3.0.1"\ninfo: {title: t}\n'
HEAD2 = 'swagger: "2.0"\ninfo: {title: t}\n'
HTTP_MARK = 'x-amazon-apigateway-importexport-version: "1.0"\n'
MOCK = """\
x-amazon-apigateway-integration:
  type: mock
  requestTemplates: {application/json: '{"statusCode": 200}'}
  responses: {default: {statusCode: "200"}}
"""
PROXY = "x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://b.example/x', payloadFormatVersion: '1.0'}\n"
LAMBDA_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations"
)
OP = "paths['/a'].get"
INT = f"{OP}.x-amazon-apigateway-integration"
SCHEMES = "components.securitySchemes"


def doc(op: str = MOCK, *, head: str = HEAD3, root: str = "", after: str = "") -> str:
    """A document with one operation, ``GET /a``, whose body is ``op``."""
    return head + root + "paths:\n  /a:\n    get:\n" + textwrap.indent(op, "      ") + after


def http(op: str = PROXY, *, root: str = "", after: str = "") -> str:
    return doc(op, root=HTTP_MARK + root, after=after)


def components(text: str) -> str:
    return "components:\n" + textwrap.indent(textwrap.dedent(text), "  ")


def scheme(name: str, body: str) -> str:
    return components(f"securitySchemes:\n  {name}:\n" + textwrap.indent(textwrap.dedent(body), "    "))


def token_authorizer(extra: str = "") -> str:
    """Scheme ``auth``: a token authorizer; ``extra`` lines go inside its x-amazon-apigateway-authorizer."""
    body = (
        "type: apiKey\nname: Authorization\nin: header\nx-amazon-apigateway-authorizer:\n  type: token\n"
        f'  authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n'
    )
    return scheme("auth", body + extra)


def secured(requirement: str, op: str = MOCK) -> str:
    return f"security: {requirement}\n" + op


def line_of(text: str, marker: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"marker {marker!r} not in the document")


# (document, line marker, key path, message); refusals end "; to run without it, pass --ignore …"
CASES: list[Any] = [
    # -- the document ----------------------------------------------------------------------------
    pytest.param(
        "info: {title: t}\npaths: {}\n",
        "info",
        "",
        "not an OpenAPI document: it has neither 'openapi: 3.0.x' nor 'swagger: \"2.0\"'",
        id="not-openapi",
    ),
    pytest.param(
        'swagger: "1.2"\npaths: {}\n',
        "swagger",
        "swagger",
        "swagger '1.2': API Gateway imports Swagger 2.0",
        id="swagger-1.2",
    ),
    pytest.param(
        "openapi: 3.1.0\npaths: {}\n",
        "openapi",
        "openapi",
        "openapi 3.1.0: API Gateway imports OpenAPI 3.0.x and Swagger 2.0 documents",
        id="openapi-3.1",
    ),
    pytest.param(HEAD3, "openapi", "", "the document has no paths", id="no-paths"),
    pytest.param(HEAD3 + "paths: []\n", "paths", "paths", "paths must be an object", id="paths-not-object"),
    pytest.param(
        HEAD3 + "paths:\n  a: {}\n", "  a:", "paths.a", "path 'a' must start with '/'", id="path-no-slash"
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a: 5\n",
        "/a",
        "paths['/a']",
        "a path item must be an object",
        id="path-item-not-object",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a: {get: 5}\n",
        "/a",
        OP,
        "an operation must be an object",
        id="operation-not-object",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a:\n    trace: {}\n",
        "trace",
        "paths['/a'].trace",
        "API Gateway has no TRACE methods",
        id="trace",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a:\n    x-amazon-apigateway-thing: {}\n",
        "thing",
        "paths['/a'].x-amazon-apigateway-thing",
        "x-amazon-apigateway-thing is not an API Gateway extension Gatehold reads on a path",
        id="unknown-path-extension",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a:\n    gett: {}\n",
        "gett",
        "paths['/a'].gett",
        "'gett' is not an OpenAPI path item key",
        id="unknown-path-key",
    ),
    pytest.param(
        doc(MOCK + "paramters: []\n"),
        "paramters",
        f"{OP}.paramters",
        "'paramters' is not an OpenAPI operation key",
        id="unknown-operation-key",
    ),
    pytest.param(
        doc(MOCK + "x-amazon-apigateway-thing: 1\n"),
        "thing",
        f"{OP}.x-amazon-apigateway-thing",
        "x-amazon-apigateway-thing is not an API Gateway extension Gatehold reads on an operation",
        id="unknown-operation-extension",
    ),
    pytest.param(
        doc("summary: nothing\n"),
        "get:",
        OP,
        "GET /a has no x-amazon-apigateway-integration: API Gateway cannot deploy a method without one",
        id="no-integration",
    ),
    pytest.param(
        http(
            after="  /$default:\n    x-amazon-apigateway-any-method:\n      isDefaultRoute: true\n      "
            + PROXY
            + "  /b:\n    x-amazon-apigateway-any-method:  # second\n      isDefaultRoute: true\n      "
            + PROXY
        ),
        "# second",
        "paths['/b'].x-amazon-apigateway-any-method",
        "route '$default' is defined twice",
        id="route-twice",
    ),
    pytest.param(
        HEAD2 + "paths:\n  /$default:\n    get:\n" + textwrap.indent(MOCK, "      "),
        "get:",
        "paths['/$default'].get",
        "the $default route exists in HTTP APIs only",
        id="default-route-in-rest",
    ),
    # -- references -------------------------------------------------------------------------------
    pytest.param(
        HEAD3 + "paths:\n  /a:\n    get: {$ref: 'other.yaml#/ops/get'}\n",
        "get:",
        f"{OP}.$ref",
        "reference 'other.yaml#/ops/get' points outside this document: only '#/…' references are read"
        " (bundle the document first, for example with 'redocly bundle')",
        id="remote-ref",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a: {$ref: '#/paths/~1a'}\n",
        "/a",
        "paths['/a'].$ref",
        "reference '#/paths/~1a' refers to itself",
        id="ref-to-itself",
    ),
    pytest.param(
        HEAD3 + "paths:\n  /a:\n    get: {$ref: '#/components/nothing'}\n",
        "get:",
        f"{OP}.$ref",
        "reference '#/components/nothing' names nothing in this document",
        id="ref-to-nothing",
    ),
    # -- root extensions --------------------------------------------------------------------------
    pytest.param(
        doc(head=HEAD2, root="x-amazon-apigateway-cors: {allowOrigins: ['*']}\n"),
        "cors",
        "x-amazon-apigateway-cors",
        "x-amazon-apigateway-cors configures HTTP APIs only: REST APIs answer CORS with OPTIONS methods"
        " (mock integrations)",
        id="cors-in-rest",
    ),
    pytest.param(
        http(root="x-amazon-apigateway-cors: 5\n"),
        "cors",
        "x-amazon-apigateway-cors",
        "x-amazon-apigateway-cors must be an object",
        id="cors-not-object",
    ),
    pytest.param(
        http(root="x-amazon-apigateway-cors:\n  allowOrigin: ['*']\n"),
        "allowOrigin",
        "x-amazon-apigateway-cors.allowOrigin",
        "unknown x-amazon-apigateway-cors property 'allowOrigin'",
        id="cors-unknown-property",
    ),
    pytest.param(
        http(root="x-amazon-apigateway-gateway-responses: {}\n"),
        "gateway-responses",
        "x-amazon-apigateway-gateway-responses",
        "gateway responses are customised in REST APIs only",
        id="gateway-responses-in-http",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-gateway-responses: []\n"),
        "gateway-responses",
        "x-amazon-apigateway-gateway-responses",
        "x-amazon-apigateway-gateway-responses must be an object",
        id="gateway-responses-not-object",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX: 5\n"),
        "DEFAULT_4XX",
        "x-amazon-apigateway-gateway-responses.DEFAULT_4XX",
        "a gateway response must be an object",
        id="gateway-response-not-object",
    ),
    pytest.param(
        doc(
            root="x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    responseParameters:\n"
            "      gatewayresponse.querystring.a: \"'x'\"\n"
        ),
        "querystring",
        "x-amazon-apigateway-gateway-responses.DEFAULT_4XX.responseParameters['gatewayresponse.querystring.a']",
        "gatewayresponse.querystring.a: gateway responses map headers only (gatewayresponse.header.NAME)",
        id="gateway-response-not-header",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    status: 400\n"),
        "status:",
        "x-amazon-apigateway-gateway-responses.DEFAULT_4XX.status",
        "unknown gateway response property 'status'",
        id="gateway-response-unknown-property",
    ),
    pytest.param(
        doc(
            root="x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    responseTemplates:\n"
            '      application/json: \'#set($x = 1){"message": "$x"}\'\n'
        ),
        "#set",
        "x-amazon-apigateway-gateway-responses.DEFAULT_4XX.responseTemplates['application/json']",
        "template 'application/json' uses VTL directives (#set, #if, #foreach, $!…): real VTL is not run by Gatehold",
        id="template-vtl-directive",
    ),
    pytest.param(
        doc(
            root="x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    responseTemplates:\n"
            "      application/json: '{\"body\": $input.body}'\n"
        ),
        "input",
        "x-amazon-apigateway-gateway-responses.DEFAULT_4XX.responseTemplates['application/json']",
        "template 'application/json' uses $input (only $context.* and $stageVariables.* are substituted):"
        " real VTL is not run by Gatehold",
        id="template-vtl-reference",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-policy: {Version: '2012-10-17'}\n"),
        "policy",
        "x-amazon-apigateway-policy",
        "resource policies (source IPs, VPC endpoints, accounts) are not evaluated by Gatehold",
        id="resource-policy",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-endpoint-configuration:\n  vpcEndpointIds: [vpce-1]\n"),
        "vpcEndpointIds",
        "x-amazon-apigateway-endpoint-configuration.vpcEndpointIds",
        "private APIs (VPC endpoints) are not served by Gatehold",
        id="private-api",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-thing: 1\n"),
        "thing",
        "x-amazon-apigateway-thing",
        "x-amazon-apigateway-thing is not an API Gateway extension Gatehold reads on the document root",
        id="unknown-root-extension",
    ),
    # -- security schemes -------------------------------------------------------------------------
    pytest.param(
        doc(after="components:\n  securitySchemes: []\n"),
        "securitySchemes",
        SCHEMES,
        "security schemes must be an object",
        id="schemes-not-object",
    ),
    pytest.param(
        doc(after="components:\n  securitySchemes:\n    s: 5\n"),
        "s: 5",
        f"{SCHEMES}.s",
        "a security scheme must be an object",
        id="scheme-not-object",
    ),
    pytest.param(
        doc(
            secured("[{sigv4: []}]"),
            after=scheme(
                "sigv4",
                "type: apiKey\nname: Authorization\nin: header\nx-amazon-apigateway-authtype: awsSigv4\n",
            ),
        ),
        "sigv4: []",
        f"{OP}.security[0].sigv4",
        "x-amazon-apigateway-authtype awsSigv4: IAM (SigV4) authorization is not supported",
        id="iam-scheme",
    ),
    pytest.param(
        doc(
            secured("[{pool: []}]"),
            after=scheme(
                "pool",
                "type: apiKey\nname: Authorization\nin: header\nx-amazon-apigateway-authtype: cognito_user_pools\n",
            ),
        ),
        "pool: []",
        f"{OP}.security[0].pool",
        "Cognito user pool authorizers are not supported",
        id="cognito-scheme",
    ),
    pytest.param(
        doc(secured("[{oauth: []}]"), after=scheme("oauth", "type: oauth2\nflows: {}\n")),
        "oauth: []",
        f"{OP}.security[0].oauth",
        "security scheme 'oauth' (oauth2) has no x-amazon-apigateway-authorizer: API Gateway does not act"
        " on it and leaves the method open; pass --ignore to run the method open",
        id="scheme-without-authorizer",
    ),
    pytest.param(
        doc(after=scheme("auth", "type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer: 5\n")),
        "authorizer: 5",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer",
        "x-amazon-apigateway-authorizer must be an object",
        id="authorizer-not-object",
    ),
    pytest.param(
        doc(after=token_authorizer("  authorizerTtl: 5\n")),
        "authorizerTtl",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.authorizerTtl",
        "unknown x-amazon-apigateway-authorizer property 'authorizerTtl'",
        id="authorizer-unknown-property",
    ),
    pytest.param(
        doc(
            after=scheme(
                "auth", "type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer: {type: saml}\n"
            )
        ),
        "saml",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.type",
        "authorizer type 'saml' is not token, request, jwt",
        id="authorizer-unknown-type",
    ),
    pytest.param(
        doc(
            head=HEAD2,
            after="securityDefinitions:\n  jwt:\n    type: oauth2\n    x-amazon-apigateway-authorizer:\n"
            "      type: jwt\n      jwtConfiguration: {issuer: 'https://i/', audience: [a]}\n",
        ),
        "type: jwt",
        "securityDefinitions.jwt.x-amazon-apigateway-authorizer.type",
        "jwt authorizers in OpenAPI are for HTTP APIs only",
        id="jwt-in-rest",
    ),
    pytest.param(
        http(
            after=scheme(
                "jwt",
                "type: oauth2\nx-amazon-apigateway-authorizer:\n  type: jwt\n  jwtConfiguration: {audience: [a]}\n",
            )
        ),
        "jwt:",
        f"{SCHEMES}.jwt",
        "a jwt authorizer needs jwtConfiguration.issuer (or an openIdConnect scheme whose openIdConnectUrl ends"
        " in /.well-known/openid-configuration)",
        id="jwt-without-issuer",
    ),
    pytest.param(
        doc(
            after=scheme(
                "auth", "type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer:\n  type: token\n"
            )
        ),
        "x-amazon-apigateway-authorizer:",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.authorizerUri",
        "a token authorizer needs authorizerUri (its Lambda function)",
        id="authorizer-without-uri",
    ),
    pytest.param(
        http(after=token_authorizer()),
        "type: token",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.type",
        "HTTP APIs have no token authorizers (use request)",
        id="token-in-http",
    ),
    pytest.param(
        doc(
            after=scheme(
                "auth",
                f'type: apiKey\nname: token\nin: query\nx-amazon-apigateway-authorizer:\n  type: token\n  authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n',
            )
        ),
        "auth:",
        f"{SCHEMES}.auth",
        "a token authorizer's scheme is type apiKey, in header, with the token header as name",
        id="token-scheme-shape",
    ),
    pytest.param(
        doc(
            after=scheme(
                "auth",
                f'type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer:\n  type: request\n  authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n',
            )
        ),
        "x-amazon-apigateway-authorizer:",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.identitySource",
        "a request authorizer with caching (authorizerResultTtlInSeconds, default 300) needs identitySource",
        id="request-without-identity-source",
    ),
    pytest.param(
        http(
            after=scheme(
                "auth",
                f'type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer:\n  type: request\n  identitySource: $request.header.A\n  authorizerPayloadFormatVersion: "2.0"\n  identityValidationExpression: "^x$"\n  authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n',
            )
        ),
        "identityValidationExpression",
        f"{SCHEMES}.auth.x-amazon-apigateway-authorizer.identityValidationExpression",
        "identityValidationExpression is REST-only",
        id="validation-expression-in-http",
    ),
    pytest.param(
        doc(
            head=HEAD2,
            after="securityDefinitions:\n  auth:\n    type: apiKey\n    name: A\n    in: header\n"
            "    x-amazon-apigateway-authorizer:\n      type: request\n      identitySource: method.request.header.A\n"
            f'      enableSimpleResponses: true\n      authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n',
        ),
        "enableSimpleResponses",
        "securityDefinitions.auth.x-amazon-apigateway-authorizer.enableSimpleResponses",
        "enableSimpleResponses applies to HTTP API authorizers only",
        id="http-authorizer-setting-in-rest",
    ),
    # -- security requirements --------------------------------------------------------------------
    pytest.param(
        doc(secured("{auth: []}")),
        "security",
        f"{OP}.security",
        "security must be a list of requirement objects",
        id="security-not-list",
    ),
    pytest.param(
        http(secured("[{a: []}, {b: []}]", PROXY)),
        "security",
        f"{OP}.security",
        "HTTP APIs allow one security requirement per operation",
        id="http-two-requirements",
    ),
    pytest.param(
        doc(secured("[auth]")),
        "security",
        f"{OP}.security[0]",
        "a security requirement must be an object",
        id="requirement-not-object",
    ),
    pytest.param(
        doc(secured("[{nobody: []}]")),
        "security",
        f"{OP}.security[0].nobody",
        "names security scheme 'nobody', which is not defined",
        id="unknown-scheme",
    ),
    pytest.param(
        http(secured("[{api_key: []}]", PROXY)),
        "security",
        f"{OP}.security[0].api_key",
        "API keys exist in REST APIs only",
        id="api-key-in-http",
    ),
    pytest.param(
        doc(
            secured("[{auth: [], auth2: []}]"),
            after=token_authorizer()
            + f'    auth2:\n      type: apiKey\n      name: B\n      in: header\n      x-amazon-apigateway-authorizer: {{type: token, authorizerUri: "{LAMBDA_URI.format(name="auth")}"}}\n',
        ),
        "security",
        f"{OP}.security[0].auth2",
        "a method has one authorizer: it already uses 'auth'",
        id="two-authorizers",
    ),
    pytest.param(
        http(
            secured("[{auth: [read]}]", PROXY),
            after=scheme(
                "auth",
                f'type: apiKey\nname: A\nin: header\nx-amazon-apigateway-authorizer:\n  type: request\n  identitySource: $request.header.A\n  authorizerPayloadFormatVersion: "2.0"\n  authorizerUri: "{LAMBDA_URI.format(name="auth")}"\n',
            ),
        ),
        "security",
        f"{OP}.security[0].auth",
        "authorization scopes need a JWT authorizer",
        id="scopes-on-lambda-authorizer-in-http",
    ),
    pytest.param(
        doc(MOCK + "x-amazon-apigateway-auth: {type: AWS_IAM}\n"),
        "x-amazon-apigateway-auth",
        f"{OP}.x-amazon-apigateway-auth",
        "IAM (SigV4) authorization is not supported",
        id="auth-extension-iam",
    ),
    pytest.param(
        doc(MOCK + "x-amazon-apigateway-auth: {type: COGNITO_USER_POOLS}\n"),
        "x-amazon-apigateway-auth",
        f"{OP}.x-amazon-apigateway-auth",
        "authorization type 'COGNITO_USER_POOLS' is not supported",
        id="auth-extension-other",
    ),
    pytest.param(
        http(
            secured("[{jwt: []}]", PROXY),
            after=scheme(
                "jwt",
                "type: oauth2\nx-amazon-apigateway-authorizer:\n  type: jwt\n"
                "  jwtConfiguration: {issuer: 'https://i/', audience: [a]}\n"
                "x-gatehold-expects: {audience: a}\n",
            ),
        ),
        "x-gatehold-expects",
        f"{SCHEMES}.jwt.x-gatehold-expects",
        "x-gatehold-expects is for Lambda authorizers (a JWT authorizer's is its own)",
        id="expects-on-jwt-authorizer",
    ),
    # -- request validators -----------------------------------------------------------------------
    pytest.param(
        doc(root="x-amazon-apigateway-request-validator: all\n"),
        "request-validator",
        "x-amazon-apigateway-request-validator",
        "names a validator, but the document has no x-amazon-apigateway-request-validators",
        id="validator-without-validators",
    ),
    pytest.param(
        http(root="x-amazon-apigateway-request-validators: {all: {validateRequestBody: true}}\n"),
        "request-validators",
        "x-amazon-apigateway-request-validators",
        "request validation exists in REST APIs only",
        id="validators-in-http",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-request-validators: []\n"),
        "request-validators",
        "x-amazon-apigateway-request-validators",
        "x-amazon-apigateway-request-validators must be an object",
        id="validators-not-object",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-request-validators:\n  all: 5\n"),
        "all: 5",
        "x-amazon-apigateway-request-validators.all",
        "a request validator must be an object",
        id="validator-not-object",
    ),
    pytest.param(
        doc(root="x-amazon-apigateway-request-validators:\n  all: {validateBody: true}\n"),
        "validateBody",
        "x-amazon-apigateway-request-validators.all.validateBody",
        "unknown request validator property 'validateBody'",
        id="validator-unknown-property",
    ),
    pytest.param(
        doc(
            MOCK + "x-amazon-apigateway-request-validator: strict\n",
            root="x-amazon-apigateway-request-validators: {all: {validateRequestBody: true}}\n",
        ),
        "strict",
        f"{OP}.x-amazon-apigateway-request-validator",
        "names request validator 'strict', which x-amazon-apigateway-request-validators does not define",
        id="unknown-validator",
    ),
    # -- integrations -----------------------------------------------------------------------------
    pytest.param(
        doc("x-amazon-apigateway-integration: 5\n"),
        "integration",
        INT,
        "x-amazon-apigateway-integration must be an object",
        id="integration-not-object",
    ),
    pytest.param(
        doc(MOCK + "  timeout: 5\n"),
        "timeout",
        f"{INT}.timeout",
        "unknown x-amazon-apigateway-integration property 'timeout'",
        id="integration-unknown-property",
    ),
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws, httpMethod: POST, uri: "{LAMBDA_URI.format(name="f")}"}}\n'
        ),
        "integration",
        f"{INT}.type",
        "non-proxy Lambda integrations (type aws, with mapping templates) are not supported; use aws_proxy",
        id="aws-lambda-non-proxy",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration: {type: AWS, httpMethod: POST, uri: 'arn:aws:apigateway:us-east-1:sqs:path/1/q'}\n"
        ),
        "integration",
        f"{INT}.type",
        "AWS service integrations (type aws) are not supported; use aws_proxy",
        id="aws-service",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: lambda}\n"),
        "integration",
        f"{INT}.type",
        "integration type 'lambda' is not aws_proxy, http_proxy, http or mock",
        id="unknown-integration-type",
    ),
    pytest.param(
        http(MOCK),
        "type: mock",
        f"{INT}.type",
        "HTTP APIs support aws_proxy and http_proxy integrations only, not mock",
        id="mock-in-http",
    ),
    pytest.param(
        doc(MOCK + "  connectionType: VPC_LINK\n"),
        "VPC_LINK",
        f"{INT}.connectionType",
        "VPC links (private integrations) are not supported",
        id="vpc-link",
    ),
    pytest.param(
        doc(MOCK + "  tlsConfig: {insecureSkipVerification: true}\n"),
        "tlsConfig",
        f"{INT}.tlsConfig",
        "tlsConfig (backend certificate checks) is not supported",
        id="tls-config",
    ),
    pytest.param(
        doc(MOCK + "  integrationSubtype: SQS-SendMessage\n"),
        "integrationSubtype",
        f"{INT}.integrationSubtype",
        "AWS service integrations (integrationSubtype) are not supported",
        id="integration-subtype",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration: {type: http, httpMethod: GET, uri: 'http://b.example/',"
            " responses: {default: {statusCode: '200'}},\n  contentHandling: CONVERT_TO_BINARY}\n"
        ),
        "contentHandling",
        f"{INT}.contentHandling",
        "contentHandling CONVERT_TO_BINARY (binary conversion) is not supported",
        id="content-handling",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: aws_proxy}\n"),
        "integration",
        f"{INT}.uri",
        "a Lambda proxy integration needs uri (the function's invocation ARN)",
        id="lambda-without-uri",
    ),
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws_proxy, httpMethod: GET, uri: "{LAMBDA_URI.format(name="f")}"}}\n'
        ),
        "integration",
        f"{INT}.httpMethod",
        "Lambda is invoked with POST, not GET (API Gateway fails the call)",
        id="lambda-not-post",
    ),
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws_proxy, httpMethod: POST, payloadFormatVersion: "2.0", uri: "{LAMBDA_URI.format(name="f")}"}}\n',
            head=HEAD2,
        ),
        "integration",
        f"{INT}.payloadFormatVersion",
        "REST Lambda proxy integrations use payload format 1.0",
        id="rest-payload-2",
    ),
    pytest.param(
        http(
            "x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://b/', requestParameters: {'overwrite:path': '$request.path'}}\n"
        ),
        "integration",
        f"{INT}.requestParameters",
        "HTTP API parameter mapping is not supported",
        id="http-api-parameter-mapping",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration: {type: aws_proxy, uri: 'arn:aws:lambda:us-east-1:1:function:f'}\n"
        ),
        "integration",
        f"{INT}.uri",
        "'arn:aws:lambda:us-east-1:1:function:f' is not a Lambda function's invocation URI (arn:aws:apigateway:REGION:"
        "lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations)",
        id="bad-function-uri",
    ),
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{LAMBDA_URI.format(name="${FunctionName}")}"}}\n'
        ),
        "integration",
        f"{INT}.uri",
        "function name '${FunctionName}' has a placeholder that cannot be resolved here",
        id="unresolved-placeholder",
    ),
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{LAMBDA_URI.format(name="${stageVariables.fn}")}"}}\n'
        ),
        "integration",
        f"{INT}.uri",
        "function name '${stageVariables.fn}' uses stage variables no stage defines: fn (stage test)",
        id="stage-variable-undefined",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: http_proxy}\n"),
        "integration",
        f"{INT}.uri",
        "an HTTP proxy integration needs uri (the backend URL)",
        id="http-proxy-without-uri",
    ),
    pytest.param(
        http(
            "x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://b/', payloadFormatVersion: '2.0'}\n"
        ),
        "integration",
        f"{INT}.payloadFormatVersion",
        "HTTP proxy integrations use payload format 1.0",
        id="http-proxy-payload-2",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: http, httpMethod: GET}\n"),
        "integration",
        f"{INT}.uri",
        "an HTTP integration needs uri (the backend URL)",
        id="http-without-uri",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: http, uri: 'http://b/'}\n"),
        "integration",
        f"{INT}.httpMethod",
        "an HTTP integration needs httpMethod",
        id="http-without-method",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: http\n  uri: 'http://b/'\n  httpMethod: GET\n  requestTemplates:\n    application/json: '{\"q\": $input.body}'\n"
        ),
        "application/json",
        f"{INT}.requestTemplates['application/json']",
        "request mapping template 'application/json' transforms the body: only passthrough ($input.body,"
        " $input.json('$')) is supported",
        id="request-template",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: http\n  uri: 'http://b/'\n  httpMethod: GET\n  responses:\n    default: 5\n"
        ),
        "default: 5",
        f"{INT}.responses.default",
        "an integration response must be an object",
        id="integration-response-not-object",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: http\n  uri: 'http://b/'\n  httpMethod: GET\n  responses:\n    '2\\d(': {statusCode: 200}\n"
        ),
        "statusCode",
        f"{INT}.responses['2\\\\d(']",
        "'2\\\\d(' is not a regular expression: missing ), unterminated subpattern at position 3",
        id="bad-selection-pattern",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: http\n  uri: 'http://b/'\n  httpMethod: GET\n  responses:\n    default:\n      statusCode: 200\n      responseParameters: {method.response.body.x: integration.response.body}\n"
        ),
        "responseParameters",
        f"{INT}.responses.default.responseParameters['method.response.body.x']",
        "method.response.body.x: only method response headers (method.response.header.NAME) are mapped",
        id="response-parameter-not-header",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: http\n  uri: 'http://b/'\n  httpMethod: GET\n  responses:\n    default:\n      statusCode: 200\n      responseParameters: {method.response.header.X: integration.response.body.id}\n"
        ),
        "responseParameters",
        f"{INT}.responses.default.responseParameters['method.response.header.X']",
        "'integration.response.body.id': a response header is mapped from a 'static' value or"
        " integration.response.header.NAME only",
        id="response-header-source",
    ),
    pytest.param(
        doc("x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: '200'}}}\n"),
        "integration",
        f"{INT}.requestTemplates",
        'a mock integration without a requestTemplates {"statusCode": N} answers 500 on API Gateway',
        id="mock-without-request-template",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: mock\n  requestTemplates:\n    application/json: '{\"statusCode\": $input.body}'\n"
        ),
        "application/json",
        f"{INT}.requestTemplates['application/json']",
        "mock request template 'application/json' is not a static {\"statusCode\": N} (no VTL)",
        id="mock-dynamic-status",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: mock\n  requestTemplates:\n    application/json: '{\"statusCode\": 200}'\n    text/plain: '{\"statusCode\": 400}'\n"
        ),
        "requestTemplates",
        f"{INT}.requestTemplates",
        "mock request templates choose different status codes by content type",
        id="mock-several-statuses",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: mock\n  requestTemplates: {application/json: '{\"statusCode\": 200}'}\n  responses: {'4\\d{2}': {statusCode: '400'}}\n"
        ),
        "responses",
        f"{INT}.responses",
        "no integration response for the mock's status 200: API Gateway answers 500",
        id="mock-no-response",
    ),
    pytest.param(
        doc(
            "x-amazon-apigateway-integration:\n  type: mock\n  requestTemplates: {application/json: '{\"statusCode\": 200}'}\n  responses:\n    default:\n      statusCode: '200'\n      responseParameters: {method.response.header.X: context.requestId}\n"
        ),
        "responseParameters",
        f"{INT}.responses.default.responseParameters['method.response.header.X']",
        "'context.requestId': a mock response header is a 'static' value",
        id="mock-header-not-static",
    ),
    # -- what an OpenAPI document cannot say on its own ---------------------------------------------
    pytest.param(
        doc(
            f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{LAMBDA_URI.format(name="get-pets")}"}}\n'
        ),
        "integration",
        f"{INT}.uri",
        "Lambda function 'get-pets' has no handler here: an OpenAPI document names functions by ARN only;"
        " define it under 'functions:' in a gatehold.yaml that imports this document (docs/import-openapi.md)",
        id="function-not-defined",
    ),
]


def _expected(path: Path, text: str, marker: str, key_path: str, message: str) -> str:
    line = line_of(text, marker)
    return f"{path}:{line}: {key_path}: {message}" if key_path else f"{path}:{line}: {message}"


@pytest.mark.parametrize(("text", "marker", "key_path", "message"), CASES)
def test_every_problem_names_file_line_and_path(
    tmp_path: Path, text: str, marker: str, key_path: str, message: str
) -> None:
    path = write(tmp_path, "api.yaml", text)
    found = problems(path, format="openapi")
    expected = _expected(path, text, marker, key_path, message)
    messages = [p.split("; to run without it, pass --ignore ")[0] for p in found]
    assert expected in messages, "\n".join(found)


# --------------------------------------------------------------------------------------------------
# what API Gateway's import would make of a document
# --------------------------------------------------------------------------------------------------


def imported(tmp_path: Path, text: str, **options: Any) -> Any:
    return load(write(tmp_path, "api.yaml", text), format="openapi", **options)


@pytest.mark.parametrize(
    ("text", "api_type"),
    [
        pytest.param(doc(head=HEAD2), "REST", id="swagger-2.0"),
        pytest.param(doc(), "REST", id="openapi-3-plain"),
        pytest.param(http(), "HTTP", id="importexport-version"),
        pytest.param(doc(PROXY, root="x-amazon-apigateway-cors: {allowOrigins: ['*']}\n"), "HTTP", id="cors"),
        pytest.param(doc(PROXY), "HTTP", id="payloadFormatVersion"),
        pytest.param(
            HEAD3 + "paths:\n  /$default:\n    x-amazon-apigateway-any-method:\n      isDefaultRoute: true\n"
            "      x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://b/'}\n",
            "HTTP",
            id="default-route",
        ),
        pytest.param(
            HEAD3 + "paths:\n  $default:\n    x-amazon-apigateway-any-method:\n      isDefaultRoute: true\n"
            "      x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://b/'}\n",
            "HTTP",
            id="default-route-as-sam-writes-it",
        ),
    ],
)
def test_api_type_from_the_document(tmp_path: Path, text: str, api_type: str) -> None:
    api = imported(tmp_path, text).config.apis["t"]
    assert api.type == api_type
    if "$default" in text:
        assert list(api.routes) == ["$default"]


@pytest.mark.parametrize(
    ("text", "options", "stages"),
    [
        pytest.param(doc(), {}, ["test"], id="rest-default"),
        pytest.param(doc(head=HEAD2 + "basePath: /v1\n"), {}, ["v1"], id="swagger-basePath"),
        pytest.param(
            doc(head=HEAD2 + "basePath: /api/v1\n"), {}, ["test"], id="swagger-long-basePath-ignored"
        ),
        pytest.param(
            doc(
                root="servers:\n  - url: 'https://x.execute-api.us-east-1.amazonaws.com/{basePath}'\n    variables: {basePath: {default: /prod}}\n"
            ),
            {},
            ["prod"],
            id="export-servers",
        ),
        pytest.param(doc(), {"stage": "dev"}, ["dev"], id="--stage"),
        pytest.param(http(), {}, ["$default"], id="http-default"),
    ],
)
def test_stage(tmp_path: Path, text: str, options: dict[str, Any], stages: list[str]) -> None:
    api = imported(tmp_path, text, **options).config.apis["t"]
    assert list(api.stages) == stages
    assert api.base_path == "/"


def test_ignore_runs_without_a_refused_setting(tmp_path: Path) -> None:
    text = doc(MOCK + "  tlsConfig: {insecureSkipVerification: true}\n")
    path = f"{INT}.tlsConfig"
    loaded = imported(tmp_path, text, ignore=(path,))
    assert "GET /a" in loaded.config.apis["t"].routes
    [finding] = [f for f in loaded.ignored if f.ref.path == path]
    assert (
        finding.message
        == f"tlsConfig (backend certificate checks) is not supported (ignored: --ignore {path})"
    )


@pytest.mark.parametrize(
    ("template", "ignored"),
    [
        pytest.param("'{\"statusCode\": 200}'", True, id="static-template"),
        pytest.param('\'{"statusCode": $input.json("$.code")}\'', False, id="template-reads-the-body"),
    ],
)
def test_content_handling_of_a_mock(tmp_path: Path, template: str, ignored: bool) -> None:
    """The console's CORS mocks carry contentHandling: CONVERT_TO_TEXT; a mock whose request template
    does not read the body answers the same whatever the conversion, so the setting is listed as
    ignored; one that reads it is refused, as on other non-proxy integrations."""
    text = doc(
        "x-amazon-apigateway-integration:\n  type: mock\n  contentHandling: CONVERT_TO_TEXT\n"
        f"  requestTemplates: {{application/json: {template}}}\n  responses: {{default: {{statusCode: '200'}}}}\n"
    )
    path = write(tmp_path, "api.yaml", text)
    key = f"{INT}.contentHandling"
    if ignored:
        [finding] = [f for f in imported(tmp_path, text).ignored if f.ref.path == key]
        assert (finding.ref.line, finding.message) == (
            line_of(text, "contentHandling"),
            "it converts the request body for the mock's request template, which does not read the body",
        )
    else:
        expected = (
            f"{path}:{line_of(text, 'contentHandling')}: {key}: contentHandling CONVERT_TO_TEXT (binary"
            " conversion) is not supported"
        )
        found = [p.split("; to run without")[0] for p in problems(path, format="openapi")]
        assert expected in found, found


def test_security_authorizers_api_keys_and_scopes(tmp_path: Path) -> None:
    functions = "functions:\n  auth: {handler: a.handler}\n  f: {handler: a.handler}\n"
    definition = doc(
        secured(
            "[{auth: []}, {api_key: []}]",
            f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{LAMBDA_URI.format(name="f:live")}"}}\n',
        ),
        after=token_authorizer(
            '  identityValidationExpression: "^Bearer .+$"\n  authorizerResultTtlInSeconds: "60"\n'
        )
        + "    api_key: {type: apiKey, name: x-api-key, in: header}\n",
    )
    write(tmp_path, "api.yaml", definition)
    config = write(tmp_path, "gatehold.yaml", functions + "imports: [{path: api.yaml}]\n")
    loaded = load(config)
    api = loaded.config.apis["t"]
    route = api.routes["GET /a"]
    assert (route.authorizer, route.api_key_required, route.integration.function) == ("auth", True, "f")  # type: ignore[union-attr]
    auth = api.authorizers["auth"]
    assert (auth.type, auth.function, auth.identity_source, auth.result_ttl) == (
        "TOKEN",
        "auth",
        ["method.request.header.Authorization"],
        60,
    )
    assert auth.identity_validation_expression == "^Bearer .+$"
    assert any("qualifier :live read" in n.message for n in loaded.notes)


def test_jwt_authorizer_from_openid_connect_url_with_issuer_alias(tmp_path: Path) -> None:
    functions = "functions:\n  f: {handler: a.handler}\n"
    definition = http(
        secured(
            "[{oidc: [read:x]}]",
            f'x-amazon-apigateway-integration: {{type: aws_proxy, payloadFormatVersion: "2.0", uri: "{LAMBDA_URI.format(name="f")}"}}\n',
        ),
        after=scheme(
            "oidc",
            "type: openIdConnect\nopenIdConnectUrl: https://tenant.example.auth0.com/.well-known/openid-configuration\n"
            "x-amazon-apigateway-authorizer: {type: jwt, jwtConfiguration: {audience: https://x-api}}\n",
        ),
    )
    write(tmp_path, "api.yaml", definition)
    config = write(tmp_path, "gatehold.yaml", functions + "imports: [{path: api.yaml}]\n")
    loaded = load(config, issuer_aliases=("https://tenant.example.auth0.com",))
    api = loaded.config.apis["t"]
    jwt = api.authorizers["oidc"]
    assert jwt.jwt_configuration is not None
    assert (jwt.jwt_configuration.issuer, jwt.jwt_configuration.audience) == (
        VARIABLES["issuer"],
        ["https://x-api"],
    )
    assert api.routes["GET /a"].authorization_scopes == ["read:x"]
    assert [a.identifier for a in loaded.config.tenant.apis] == ["https://x-api"]


def test_request_validation_from_swagger_and_openapi(tmp_path: Path) -> None:
    validators = "x-amazon-apigateway-request-validators: {all: {validateRequestBody: true, validateRequestParameters: true}}\nx-amazon-apigateway-request-validator: all\n"
    swagger = doc(
        "parameters:\n  - {name: q, in: query, required: true, type: string}\n  - {name: X-Id, in: header, required: true, type: string}\n"
        "  - {name: o, in: query, type: string}\n  - {name: body, in: body, schema: {$ref: '#/definitions/Pet'}}\nconsumes: [application/json, application/x-pet]\n"
        + MOCK,
        head=HEAD2 + validators,
        after="definitions:\n  Pet: {type: object, required: [name], properties: {name: {type: string}, kind: {$ref: '#/definitions/Kind'}}}\n  Kind: {enum: [dog, cat]}\n",
    )
    route = imported(tmp_path, swagger).config.apis["t"].routes["GET /a"]
    assert route.request_validation is not None
    assert route.request_validation.required_parameters == [
        "method.request.header.X-Id",
        "method.request.querystring.q",
    ]
    pet = route.request_validation.body_schemas["application/x-pet"]
    assert pet["$ref"] == "#/definitions/Pet"
    assert pet["definitions"]["Kind"] == {"enum": ["dog", "cat"]}
    assert pet["definitions"]["Pet"]["properties"]["kind"] == {"$ref": "#/definitions/Kind"}

    openapi = doc(
        "requestBody: {$ref: '#/components/requestBodies/Pet'}\n" + MOCK,
        root=validators,
        after=components(
            "requestBodies:\n  Pet: {content: {application/json: {schema: {$ref: '#/components/schemas/Pet'}}}}\nschemas:\n  Pet: {type: object}\n"
        ),
    )
    route = imported(tmp_path, openapi).config.apis["t"].routes["GET /a"]
    assert route.request_validation is not None
    assert route.request_validation.body_schemas == {
        "application/json": {"$ref": "#/definitions/Pet", "definitions": {"Pet": {"type": "object"}}}
    }


def test_gateway_responses_binary_media_types_and_api_key_source(tmp_path: Path) -> None:
    text = doc(
        root="x-amazon-apigateway-binary-media-types: [image/png]\nx-amazon-apigateway-api-key-source: AUTHORIZER\n"
        "x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    statusCode: '400'\n"
        "    responseParameters: {gatewayresponse.header.Access-Control-Allow-Origin: \"'*'\"}\n"
        "    responseTemplates: {application/json: '{\"error\": $context.error.messageString}'}\n"
    )
    api = imported(tmp_path, text).config.apis["t"]
    assert api.binary_media_types == ["image/png"]
    assert api.api_key_source == "AUTHORIZER"
    response = api.gateway_responses["DEFAULT_4XX"]
    assert (response.status_code, response.headers, response.template) == (
        400,
        {"Access-Control-Allow-Origin": "'*'"},
        '{"error": $context.error.messageString}',
    )


# --------------------------------------------------------------------------------------------------
# definitions inside templates (the SAM / CloudFormation importers call import_api_definition)
# --------------------------------------------------------------------------------------------------


def definition_problems(
    tmp_path: Path, text: str, *, api_type: Any = None, stages: Any = None
) -> tuple[ImportContext, Path]:
    path = write(tmp_path, "template.yaml", text)
    document = read_document(path)
    ctx = ImportContext(document, path, ImportOptions(), VARIABLES)
    if stages is not None:
        ctx.data["apis"]["Api"] = {"type": "REST", "stages": stages}
    import_api_definition(ctx, document.data, doc=document, at=(), api_name="Api", api_type=api_type)
    return ctx, path


def test_definition_keeps_what_the_caller_wrote_and_resolves_stage_variables(tmp_path: Path) -> None:
    uri = LAMBDA_URI.format(name="${stageVariables.fn}")
    text = doc(f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{uri}"}}\n')
    ctx, _ = definition_problems(tmp_path, text, stages={"prod": {"variables": {"fn": "orders"}}})
    assert ctx.problems == []
    api = ctx.data["apis"]["Api"]
    assert api["stages"] == {"prod": {"variables": {"fn": "orders"}}}
    assert api["routes"]["GET /a"]["integration"]["function"] == "orders"


def test_definition_stage_variables_naming_different_functions(tmp_path: Path) -> None:
    uri = LAMBDA_URI.format(name="${stageVariables.fn}")
    text = doc(f'x-amazon-apigateway-integration: {{type: aws_proxy, uri: "{uri}"}}\n')
    ctx, path = definition_problems(
        tmp_path, text, stages={"dev": {"variables": {"fn": "a"}}, "prod": {"variables": {"fn": "b"}}}
    )
    [problem] = ctx.problems
    assert str(problem).split("; to run without it")[0] == (
        f"{path}:{line_of(text, 'integration')}: {INT}.uri: function name '${{stageVariables.fn}}' names a"
        " different function on each stage (a, b): Gatehold routes a method to one function"
    )


def test_definition_http_api_from_swagger(tmp_path: Path) -> None:
    text = doc(head=HEAD2)
    ctx, path = definition_problems(tmp_path, text, api_type="HTTP")
    assert str(ctx.problems[0]) == (
        f"{path}:1: swagger: HTTP APIs import OpenAPI 3.0 only: this is a Swagger 2.0 document"
    )


# --------------------------------------------------------------------------------------------------
# documents in the shapes of API Gateway's exports (tests/importers/fixtures/openapi/SOURCES.md)
# --------------------------------------------------------------------------------------------------


def _with_functions(tmp_path: Path, fixture: str, functions: list[str], extra: str = "") -> Path:
    lines = "".join(f"  {name}: {{handler: app.handler}}\n" for name in functions)
    return write(
        tmp_path, "gatehold.yaml", f"functions:\n{lines}imports:\n  - path: {FIXTURES / fixture}\n{extra}"
    )


def test_fixture_http_api_export(tmp_path: Path) -> None:
    loaded = load(_with_functions(tmp_path, "http-api-export.json", ["shipments-api", "AccountSessions"]))
    api = loaded.config.apis["shipments-api"]
    assert (api.type, list(api.stages), api.base_path) == ("HTTP", ["$default"], "/shipments-api")
    assert {k: r.integration.function for k, r in api.routes.items()} == {  # type: ignore[union-attr]
        "ANY /shipments": "shipments-api",
        "OPTIONS /account/{proxy+}": "AccountSessions",
        "GET /account/session": "AccountSessions",
        "POST /account/session": "AccountSessions",
        "POST /account/signup": "AccountSessions",
        "GET /health": "shipments-api",
    }
    assert {r.integration.payload_format_version for r in api.routes.values()} == {"2.0"}  # type: ignore[union-attr]


def test_fixture_rest_oas30_export(tmp_path: Path) -> None:
    loaded = load(_with_functions(tmp_path, "rest-oas30-export-token-and-api-key.json", ["check_session"]))
    api = loaded.config.apis["inventory-proxy"]  # info.title "Inventory proxy+"
    assert (api.type, list(api.stages)) == ("REST", ["staging"])
    proxy = api.routes["ANY /{proxy+}"]
    assert (proxy.authorizer, proxy.api_key_required) == ("session-check", True)
    assert proxy.integration.model_dump(exclude_defaults=True) == {
        "type": "http_proxy",
        "uri": "http://inventory.internal.example:8080/v2/{proxy}",
        "request_parameters": {"integration.request.path.proxy": "method.request.path.proxy"},
    }
    cors = api.routes["OPTIONS /{proxy+}"].integration
    assert cors.model_dump() == {
        "type": "mock",
        "status_code": 200,
        "headers": {
            "Access-Control-Allow-Origin": "https://shop.example.com",
            "Access-Control-Allow-Methods": "GET,OPTIONS,POST,PUT",
            "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Api-Key",
        },
        "body": "",
    }
    authorizer = api.authorizers["session-check"]
    assert (authorizer.function, authorizer.result_ttl) == ("check_session", 120)
    assert authorizer.identity_validation_expression == "^Bearer [-0-9A-Za-z._~+/]+=*$"
    ignored = sorted(f.ref.path.rsplit(".", 1)[-1] for f in loaded.ignored)
    assert ignored == ["authorizerCredentials", "cacheKeyParameters", "cacheNamespace"]


def test_fixture_swagger_request_validators(tmp_path: Path) -> None:
    loaded = load(FIXTURES / "swagger-request-validators.json")
    api = loaded.config.apis["order-intake"]
    default = api.routes["GET /orders"].integration.responses["default"]  # type: ignore[union-attr]
    assert (default.status_code, default.headers, default.body) == (
        422,
        {"x-order-trace": "'backend refused'"},
        '{"error": "the order backend refused the request"}',
    )
    assert sum("several templates: 'application/json' is used" in n.message for n in loaded.notes) == 2
    assert list(api.stages) == ["v2"]
    post, get = api.routes["POST /orders"], api.routes["GET /orders"]
    assert post.api_key_required
    assert get.api_key_required
    assert get.request_validation is not None
    assert post.request_validation is not None
    assert get.request_validation.required_parameters == ["method.request.querystring.status"]
    assert get.request_validation.body_schemas == {}
    assert post.request_validation.required_parameters == ["method.request.header.x-channel"]
    assert post.request_validation.body_schemas["application/json"]["definitions"]["NewOrder"][
        "required"
    ] == [
        "sku",
        "quantity",
        "customer",
    ]
