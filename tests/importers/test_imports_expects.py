"""``expects`` for imported Lambda authorizers: by name on a gatehold.yaml's ``imports:`` entry (a
name defined twice is an error, so the file cannot add the block to an imported API), and the hint
``gatehold token --route`` gives for an authorizer without one, in the words of the format that
defines it. Each problem at the gatehold.yaml's file, line and key path."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gatehold.testing.tokens import TokenRequestError, route_check
from tests.importers.support import LOCAL_ISSUER, REPO, load, problems, write

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: s
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens: {FunctionArn: !GetAtt Auth.Arn}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens:
            FunctionArn: !GetAtt Auth.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            Identity: {Headers: [Authorization]}
          Oidc:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: https://tenant.us.auth0.com/, audience: [https://api]}
  Auth:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src/}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Events:
        A: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /a, Method: GET}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /b, Method: GET}}
        C:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /c, Method: GET, Auth: {Authorizer: Oidc}}
"""


def project(tmp_path: Path, gatehold_yaml: str, template: str = TEMPLATE) -> tuple[Path, Path]:
    """A gatehold.yaml beside sam/template.yaml (and its code)."""
    write(tmp_path, "sam/src/app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    sam = write(tmp_path, "sam/template.yaml", template)
    return write(tmp_path, "gatehold.yaml", textwrap.dedent(gatehold_yaml)), sam


def gatehold(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatehold", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def line(path: Path, marker: str) -> int:
    return next(i for i, text in enumerate(path.read_text().splitlines(), 1) if marker in text)


def test_an_imports_entry_declares_expects_by_name(tmp_path: Path) -> None:
    config, _ = project(
        tmp_path,
        """\
        imports:
          - path: sam/template.yaml
            expects:
              Rest.Tokens:
                issuer: ${issuer}
                audience: https://rest-api
              Http.Tokens: {audience: https://http-api, scopes: [read:b], invalid_token: 403}
        """,
    )
    loaded = load(config)
    rest = loaded.config.apis["Rest"].authorizers["Tokens"].expects
    http = loaded.config.apis["Http"].authorizers["Tokens"].expects
    assert rest is not None
    assert http is not None
    assert (rest.issuer, rest.audience) == (LOCAL_ISSUER, "https://rest-api")
    assert (http.audience, http.scopes, http.invalid_token) == (
        "https://http-api",
        ["read:b"],
        403,
    )
    assert str(loaded.where("apis", "Http", "authorizers", "Tokens", "expects", "scopes")) == (
        f"{config}:{line(config, 'Http.Tokens:')}: imports[0].expects['Http.Tokens']"
    )
    # the imported routes mint from it
    check = route_check(loaded, "Http", "GET /b", LOCAL_ISSUER)
    assert (check.kind, check.audience, check.scopes, check.invalid_token) == (
        "lambda",
        "https://http-api",
        ("read:b",),
        403,
    )


def test_the_entry_wins_over_the_template_s_metadata(tmp_path: Path) -> None:
    template = TEMPLATE.replace(
        "  Auth:\n    Type: AWS::Serverless::Function\n",
        "  Auth:\n    Type: AWS::Serverless::Function\n"
        "    Metadata: {Gatehold: {expects: {audience: https://from-metadata}}}\n",
    )
    config, _ = project(
        tmp_path,
        """\
        imports:
          - path: sam/template.yaml
            expects:
              Rest.Tokens: {audience: https://from-the-entry}
        """,
        template,
    )
    apis = load(config).config.apis
    assert [
        (a, e.audience) for a in ("Rest", "Http") if (e := apis[a].authorizers["Tokens"].expects) is not None
    ] == [("Rest", "https://from-the-entry"), ("Http", "https://from-metadata")]


@pytest.mark.parametrize(
    ("name", "key", "message"),
    [
        pytest.param(
            "Tokens",
            "imports[0].expects.Tokens",
            "authorizer Tokens is in several APIs; name one: Rest.Tokens, Http.Tokens in sam/template.yaml",
            id="ambiguous",
        ),
        pytest.param(
            "Nope",
            "imports[0].expects.Nope",
            "no authorizer Nope here (authorizers: Rest.Tokens, Http.Tokens, Http.Oidc) in sam/template.yaml",
            id="unknown",
        ),
        pytest.param(
            "Rest.Oidc",
            "imports[0].expects['Rest.Oidc']",
            "no authorizer Rest.Oidc here (authorizers: Rest.Tokens, Http.Tokens, Http.Oidc) in"
            " sam/template.yaml",
            id="wrong-api",
        ),
        pytest.param(
            "Oidc",
            "imports[0].expects.Oidc",
            "Http.Oidc is a JWT authorizer: its checks are its own (expects applies to Lambda authorizers)"
            " in sam/template.yaml",
            id="jwt",
        ),
    ],
)
def test_an_entry_naming_no_single_lambda_authorizer(
    tmp_path: Path, name: str, key: str, message: str
) -> None:
    config, _ = project(
        tmp_path,
        f"""\
        imports:
          - path: sam/template.yaml
            expects:
              {name}: {{audience: https://api}}
        """,
    )
    assert problems(config) == [f"{config}:4: {key}: {message}"]


def test_an_entry_s_expects_is_validated_where_it_is_written(tmp_path: Path) -> None:
    config, _ = project(
        tmp_path,
        """\
        imports:
          - path: sam/template.yaml
            expects:
              Rest.Tokens:
                audience: https://api
                algorithm: HS256
        """,
    )
    assert problems(config) == [
        f"{config}:4: imports[0].expects['Rest.Tokens']: Value error, algorithm HS256 needs secret_env"
        " (where the function reads the secret)"
    ]


# --------------------------------------------------------------------------------------------------
# where gatehold token --route says to declare it
# --------------------------------------------------------------------------------------------------

OPENAPI = """\
openapi: 3.0.1
info: {title: pets, version: "1"}
paths:
  /pets:
    get:
      security: [{Tokens: []}]
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
components:
  securitySchemes:
    Tokens:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/FUNCTION/invocations
""".replace("FUNCTION", "arn:aws:lambda:us-east-1:123456789012:function:auth")

SERVERLESS = """\
service: shop
provider: {name: aws, runtime: python3.12}
functions:
  auth: {handler: app.handler}
  orders:
    handler: app.handler
    events:
      - http: {path: orders, method: get, authorizer: auth}
"""


def hint(loaded_path: Path, api: str, route: str) -> str:
    with pytest.raises(TokenRequestError) as info:
        route_check(load(loaded_path), api, route, LOCAL_ISSUER)
    return str(info.value)


def test_the_hint_names_the_ways_of_the_format(tmp_path: Path) -> None:
    config, sam = project(tmp_path, "imports:\n  - path: sam/template.yaml\n")
    imported = hint(config, "Rest", "GET /a")
    assert f"declare it in the imports: entry of {sam} (expects: {{Tokens: …}}), or in the Metadata of" in (
        imported
    )
    assert "function Auth's resource (Metadata: {Gatehold: {expects: …}}) there" in imported
    assert (
        "Metadata of function Auth's resource (Metadata: {Gatehold: {expects: …}}), or import the file"
        in (hint(sam, "Rest", "GET /a"))
    )
    own = write(
        tmp_path,
        "own/gatehold.yaml",
        """\
functions:
  auth: {handler: app.handler, code_path: ., runtime: python3.12}
apis:
  shop:
    type: REST
    stages: {prod: {}}
    authorizers:
      tokens: {type: TOKEN, function: auth}
    routes:
      GET /x: {integration: {type: mock}, authorizer: tokens}
""",
    )
    assert "declare it under apis.shop.authorizers.tokens.expects (issuer" in hint(own, "shop", "GET /x")
    openapi = write(tmp_path, "openapi/pets.yaml", OPENAPI)
    with_openapi = write(
        tmp_path,
        "openapi/gatehold.yaml",
        "functions:\n  auth: {handler: app.handler, code_path: ., runtime: python3.12}\n"
        "imports:\n  - {path: pets.yaml, stage: prod}\n",
    )
    assert f"in the imports: entry of {openapi} (expects: {{Tokens: …}}), or as x-gatehold-expects on" in (
        hint(with_openapi, "pets", "GET /pets")
    )
    write(tmp_path, "sls/app.py", "def handler(event, context):\n    return {}\n")
    serverless = write(tmp_path, "sls/serverless.yml", SERVERLESS)
    assert "under custom.gatehold.expects.auth, or import the file" in (
        hint(serverless, "dev-shop", "GET /orders")
    )


def test_the_cli_on_an_imported_template(tmp_path: Path) -> None:
    """``gatehold token -c template.yaml --route``: the hint for a template without expects, and the
    commands ``--fail list`` prints keep the import options (they run as printed)."""
    _, template = project(tmp_path, "")
    data = ["--data-dir", str(tmp_path / "data")]
    refused = gatehold("token", *data, "-c", str(template), "--route", "GET /a", "--api", "Rest")
    assert refused.returncode == 1
    assert (
        "in the Metadata of function Auth's resource (Metadata: {Gatehold: {expects: …}})" in refused.stderr
    )
    example = REPO / "examples" / "sam-rest-token" / "template.yaml"
    alias = "https://gatehold-example.us.auth0.com/"
    listed = gatehold(
        "token", *data, "-c", str(example), "--issuer-alias", alias, "--route", "GET /pets", "--fail", "list"
    )
    assert listed.returncode == 0, listed.stderr
    expired = next(
        line.strip() for line in listed.stdout.splitlines() if line.strip().endswith("--fail expired")
    )
    assert f"--issuer-alias {alias}" in expired
    words = shlex.split(expired)
    ran = gatehold(*words[words.index("token") :])
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count(".") == 2  # a JWT
    assert 'expired: expect 401 {"message":"Unauthorized"}' in ran.stderr


def test_an_openapi_schemes_expects_issuer_follows_issuer_alias(tmp_path: Path) -> None:
    """``x-gatehold-expects`` on an OpenAPI security scheme: an Auth0 issuer the function checks is the
    local identity provider's under ``--issuer-alias``, as the function's own environment is."""
    import shutil

    example = tmp_path / "orders"
    shutil.copytree(REPO / "examples" / "openapi-rest-token", example)
    document = example / "openapi.yaml"
    marker = "      x-amazon-apigateway-authtype: custom\n"
    text = document.read_text()
    assert marker in text
    document.write_text(
        text.replace(
            marker,
            marker
            + "      x-gatehold-expects: {issuer: 'https://shop.eu.auth0.com/', audience: https://orders-api}\n",
            1,
        )
    )
    aliased = load(example / "gatehold.yaml", issuer_aliases=("https://*.auth0.com/",))
    (api,) = aliased.config.apis.values()
    expects = api.authorizers["orders-authorizer"].expects
    assert expects is not None
    assert (expects.issuer, expects.audience) == (LOCAL_ISSUER, "https://orders-api")
    plain = load(example / "gatehold.yaml")
    (api,) = plain.config.apis.values()
    assert api.authorizers["orders-authorizer"].expects.issuer == "https://shop.eu.auth0.com/"  # type: ignore[union-attr]
