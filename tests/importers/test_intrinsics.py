"""The intrinsic-function resolver: each function's value as CloudFormation computes it, and every
problem at the file, line and key path of the intrinsic at fault."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from gatehold.config.document import parse_document
from gatehold.importers.base import ImportContext, ImportOptions
from gatehold.importers.intrinsics import NO_VALUE, Resolver, lambda_function_name, stable_id

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Size:
    Type: Number
    Default: 3
    MinValue: 1
    MaxValue: 10
  Names:
    Type: CommaDelimitedList
    Default: "a,b,c"
  Ports:
    Type: List<Number>
    Default: "80, 443"
  Secret:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /app/secret
  Prefix:
    Type: String
    Default: app
    AllowedPattern: "[a-z]+"
    MaxLength: 8
Mappings:
  Regions:
    us-east-1: {Ami: ami-east, Zone: "1"}
    eu-west-1: {Ami: ami-west}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsDev, !Equals [!Ref "AWS::Region", us-east-1]]
  Either: !Or [!Condition IsProd, !Equals [!Ref Size, "3"]]
  Loop: !Not [!Condition Loop]
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${Prefix}-fn-${Stage}"
  Plain:
    Type: AWS::Serverless::Function
    Properties: {}
  Api:
    Type: AWS::ApiGateway::RestApi
  Http:
    Type: AWS::ApiGatewayV2::Api
  Res:
    Type: AWS::ApiGateway::Resource
  StageRes:
    Type: AWS::ApiGateway::Stage
    Properties: {StageName: !Ref Stage}
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {TableName: !Sub "${Prefix}-table"}
  Queue:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
  Live:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Fn, Name: live}
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Nested:
    Type: AWS::CloudFormation::Stack
  Probe:
    Type: Custom::Probe
    Properties:
      Value: PLACEHOLDER
"""


def resolver_for(tmp_path: Path, expr: str, **options: Any) -> tuple[Resolver, ImportContext, Any]:
    text = TEMPLATE.replace("PLACEHOLDER", expr)
    path = tmp_path / "template.yaml"
    path.write_text(text)
    doc = parse_document(text, str(path))
    opts = ImportOptions(**options)
    ctx = ImportContext(doc, path, opts, {})
    resolver = Resolver(
        doc,
        ctx,
        overrides=opts.parameter_overrides,
        values=opts.values,
        base_dir=tmp_path,
        read=ctx.read,
    )
    value = resolver.resolve(
        doc.get(("Resources", "Probe", "Properties", "Value")), ("Resources", "Probe", "Properties", "Value")
    )
    return resolver, ctx, value


def problems(ctx: ImportContext) -> list[str]:
    return [str(p) for p in ctx.problems]


API = stable_id("api", "Api")
HTTP = stable_id("api", "Http")
ROOT = stable_id("root", "Api")
RES = stable_id("resource", "Res")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param("!Ref Stage", "dev", id="ref-parameter-default"),
        pytest.param("!Ref Size", "3", id="ref-number-parameter-is-text"),
        pytest.param("!Ref Names", ["a", "b", "c"], id="ref-comma-delimited-list"),
        pytest.param("!Ref Ports", ["80", "443"], id="ref-list-of-numbers"),
        pytest.param("!Ref AWS::Region", "us-east-1", id="pseudo-region"),
        pytest.param("!Ref AWS::AccountId", "123456789012", id="pseudo-account"),
        pytest.param("!Ref AWS::StackName", "local", id="pseudo-stack-name"),
        pytest.param("!Ref AWS::Partition", "aws", id="pseudo-partition"),
        pytest.param("!Ref AWS::URLSuffix", "amazonaws.com", id="pseudo-url-suffix"),
        pytest.param("!Ref AWS::NotificationARNs", [], id="pseudo-notification-arns"),
        pytest.param(
            "!Ref AWS::StackId",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/local/51af3dc0-da77-11e4-872e-1234567db123",
            id="pseudo-stack-id",
        ),
        pytest.param("!Ref Fn", "app-fn-dev", id="ref-function-is-its-name"),
        pytest.param("!Ref Plain", "Plain", id="ref-function-without-name-is-logical-id"),
        pytest.param("!GetAtt Fn.Arn", ARN + "app-fn-dev", id="getatt-function-arn"),
        pytest.param("!GetAtt Plain.Arn", ARN + "Plain", id="getatt-sam-function-arn"),
        pytest.param("!Ref Api", API, id="ref-rest-api-id"),
        pytest.param("!GetAtt Api.RootResourceId", ROOT, id="getatt-root-resource-id"),
        pytest.param(
            "!GetAtt Http.ApiEndpoint",
            f"https://{HTTP}.execute-api.us-east-1.amazonaws.com",
            id="getatt-api-endpoint",
        ),
        pytest.param("!Ref Res", RES, id="ref-resource-id"),
        pytest.param("!Ref StageRes", "dev", id="ref-stage-is-its-name"),
        pytest.param("!Ref Table", "app-table", id="ref-table-name-property"),
        pytest.param(
            "!GetAtt Table.Arn",
            "arn:aws:dynamodb:us-east-1:123456789012:table/app-table",
            id="getatt-table-arn",
        ),
        pytest.param(
            "!Ref Queue", "https://sqs.us-east-1.amazonaws.com/123456789012/Queue", id="ref-queue-url"
        ),
        pytest.param("!GetAtt Queue.Arn", "arn:aws:sqs:us-east-1:123456789012:Queue", id="getatt-queue-arn"),
        pytest.param("!Ref Bucket", "bucket", id="ref-bucket-lowercase-logical-id"),
        pytest.param("!GetAtt Role.Arn", "arn:aws:iam::123456789012:role/Role", id="getatt-role-arn"),
        pytest.param("!Ref Live", ARN + "app-fn-dev:live", id="ref-alias-arn"),
        pytest.param('!Sub "${AWS::Region}-${Stage}"', "us-east-1-dev", id="sub-string"),
        pytest.param('!Sub "${Fn.Arn}/invocations"', ARN + "app-fn-dev/invocations", id="sub-getatt"),
        pytest.param('!Sub "${!Literal}-${Stage}"', "${Literal}-dev", id="sub-escaped-literal"),
        pytest.param('!Sub ["${A}-${B}", {A: x, B: !Ref Stage}]', "x-dev", id="sub-with-variables"),
        pytest.param(
            "!Sub arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            "${Fn.Arn}/invocations",
            f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}app-fn-dev/invocations",
            id="sub-invocation-uri",
        ),
        pytest.param('!Join ["-", [a, !Ref Stage, 3]]', "a-dev-3", id="join"),
        pytest.param('!Join [",", !Ref Names]', "a,b,c", id="join-list-parameter"),
        pytest.param("!Select [1, !Ref Names]", "b", id="select"),
        pytest.param('!Select ["0", [x, y]]', "x", id="select-index-as-text"),
        pytest.param('!Split [",", "a,b"]', ["a", "b"], id="split"),
        pytest.param("!If [IsProd, big, small]", "small", id="if-false"),
        pytest.param("!If [IsDev, big, small]", "big", id="if-true"),
        pytest.param("!If [Both, one, two]", "one", id="if-and-condition"),
        pytest.param("!If [Either, one, two]", "one", id="if-or-condition"),
        pytest.param("[a, !If [IsProd, b, !Ref AWS::NoValue], c]", ["a", "c"], id="novalue-drops-list-item"),
        pytest.param("{Keep: 1, Drop: !Ref AWS::NoValue}", {"Keep": 1}, id="novalue-drops-key"),
        pytest.param("!FindInMap [Regions, !Ref AWS::Region, Ami]", "ami-east", id="find-in-map"),
        pytest.param(
            "!FindInMap [Regions, eu-west-1, Zone, {DefaultValue: z}]", "z", id="find-in-map-default"
        ),
        pytest.param("!Base64 hello", "aGVsbG8=", id="base64"),
        pytest.param('!GetAZs ""', ["us-east-1a", "us-east-1b", "us-east-1c"], id="get-azs"),
        pytest.param('!Cidr ["10.0.0.0/16", 2, 8]', ["10.0.0.0/24", "10.0.1.0/24"], id="cidr"),
        pytest.param("{'Fn::Length': [a, b]}", 2, id="length"),
        pytest.param("{'Fn::ToJsonString': {a: 1}}", '{"a":1}', id="to-json-string"),
        pytest.param('{"Fn::GetAtt": "Fn.Arn"}', ARN + "app-fn-dev", id="getatt-long-form-dotted"),
    ],
)
def test_values(tmp_path: Path, expr: str, expected: Any) -> None:
    _, ctx, value = resolver_for(tmp_path, expr)
    assert problems(ctx) == []
    assert value == expected


@pytest.mark.parametrize(
    ("expr", "options", "expected"),
    [
        pytest.param("!Ref Stage", {"parameter_overrides": {"Stage": "prod"}}, "prod", id="override"),
        pytest.param(
            "!If [IsProd, big, small]",
            {"parameter_overrides": {"Stage": "prod"}},
            "big",
            id="override-flips-condition",
        ),
        pytest.param(
            "!Ref ProdOnly",
            {"parameter_overrides": {"Stage": "prod"}},
            "https://sqs.us-east-1.amazonaws.com/123456789012/ProdOnly",
            id="conditional-resource-exists",
        ),
        pytest.param(
            "!Ref AWS::Region",
            {"parameter_overrides": {"AWS::Region": "eu-west-1"}},
            "eu-west-1",
            id="pseudo-override",
        ),
        pytest.param(
            "!FindInMap [Regions, !Ref AWS::Region, Ami]",
            {"parameter_overrides": {"AWS::Region": "eu-west-1"}},
            "ami-west",
            id="pseudo-override-in-map",
        ),
        pytest.param(
            "!Ref Secret", {"values": {"ssm:/app/secret": "s3cr3t"}}, "s3cr3t", id="ssm-parameter-value"
        ),
        pytest.param(
            "!ImportValue shared-vpc",
            {"values": {"ImportValue:shared-vpc": "vpc-1"}},
            "vpc-1",
            id="import-value",
        ),
        pytest.param(
            "!GetAtt Nested.Outputs.Url",
            {"values": {"Nested.Outputs.Url": "https://x"}},
            "https://x",
            id="nested-stack-output",
        ),
        pytest.param(
            '"{{resolve:ssm:/app/key}}-x"',
            {"values": {"resolve:ssm:/app/key": "k"}},
            "k-x",
            id="dynamic-reference",
        ),
    ],
)
def test_values_with_options(tmp_path: Path, expr: str, options: dict[str, Any], expected: Any) -> None:
    _, ctx, value = resolver_for(tmp_path, expr, **options)
    assert problems(ctx) == []
    assert value == expected


def test_include_reads_a_local_snippet(tmp_path: Path) -> None:
    (tmp_path / "snippet.yaml").write_text("Greeting: !Sub 'hello ${Stage}'\n")
    _, ctx, value = resolver_for(
        tmp_path, "{'Fn::Transform': {Name: 'AWS::Include', Parameters: {Location: snippet.yaml}}}"
    )
    assert problems(ctx) == []
    assert value == {"Greeting": "hello dev"}


def test_unknown_attribute_is_a_stable_placeholder_and_noted(tmp_path: Path) -> None:
    _, ctx, value = resolver_for(tmp_path, "!GetAtt Table.StreamLabel")
    assert value == "local-Table-StreamLabel"
    assert [str(n) for n in ctx.notes] == [
        f"{tmp_path}/template.yaml:73: Resources.Probe.Properties.Value['Fn::GetAtt']: Fn::GetAtt"
        " Table.StreamLabel (AWS::DynamoDB::Table) is only known once AWS creates the resource; it stands"
        " for 'local-Table-StreamLabel' here"
    ]


REFUSE = "; to run without it, pass --ignore 'Resources.Probe.Properties.Value'"


@pytest.mark.parametrize(
    ("expr", "options", "message"),
    [
        pytest.param(
            "!ImportValue shared-vpc",
            {},
            "Resources.Probe.Properties.Value: Fn::ImportValue shared-vpc is an export of"
            " another stack, which Gatehold does not deploy; supply its value with --value"
            " 'ImportValue:shared-vpc=…'" + REFUSE,
            id="import-value",
        ),
        pytest.param(
            "!Ref Secret",
            {},
            "Resources.Probe.Properties.Value: parameter Secret (AWS::SSM::Parameter::Value<String>) is"
            " read from SSM parameter /app/secret by AWS; supply its value with --value 'ssm:/app/secret=…'"
            + REFUSE,
            id="ssm-parameter",
        ),
        pytest.param(
            '"{{resolve:secretsmanager:db:SecretString:password}}"',
            {},
            "Resources.Probe.Properties.Value: the dynamic reference"
            " {{resolve:secretsmanager:db:SecretString:password}} is resolved by AWS; supply its value with"
            " --value 'resolve:secretsmanager:db:SecretString:password=…'" + REFUSE,
            id="dynamic-reference",
        ),
        pytest.param(
            "!GetAtt Nested.Outputs.Url",
            {},
            "Resources.Probe.Properties.Value: Nested.Outputs.Url is an output of a nested"
            " stack, which Gatehold does not deploy; supply its value with --value 'Nested.Outputs.Url=…'"
            + REFUSE,
            id="nested-stack-output",
        ),
        pytest.param(
            "{'Fn::Transform': {Name: 'AWS::Include', Parameters: {Location: 's3://bucket/snippet.yaml'}}}",
            {},
            "Resources.Probe.Properties.Value: AWS::Include of s3://bucket/snippet.yaml:"
            " Gatehold reads included snippets from local files only; point Location at the file next to"
            " the template" + REFUSE,
            id="include-from-s3",
        ),
        pytest.param(
            "{'Fn::Transform': {Name: MyMacro, Parameters: {}}}",
            {},
            "Resources.Probe.Properties.Value: the macro MyMacro runs in AWS"
            " (Fn::Transform); Gatehold cannot expand it" + REFUSE,
            id="macro",
        ),
    ],
)
def test_refusals(tmp_path: Path, expr: str, options: dict[str, Any], message: str) -> None:
    _, ctx, value = resolver_for(tmp_path, expr, **options)
    assert value is NO_VALUE
    assert problems(ctx) == [f"{tmp_path}/template.yaml:73: {message}"]


def test_a_refusal_named_in_the_ignore_list_drops_the_value(tmp_path: Path) -> None:
    _, ctx, value = resolver_for(
        tmp_path, "!ImportValue shared-vpc", ignore=("Resources.Probe.Properties.Value",)
    )
    assert value is NO_VALUE
    assert problems(ctx) == []
    assert "(ignored: --ignore Resources.Probe.Properties.Value)" in str(ctx.ignored[0])


@pytest.mark.parametrize(
    ("expr", "options", "line", "message"),
    [
        pytest.param(
            "!Ref Nope",
            {},
            73,
            "Resources.Probe.Properties.Value.Ref: Nope is not a parameter or a resource of this template",
            id="unknown-ref",
        ),
        pytest.param(
            "!Ref AWS::Nope",
            {},
            73,
            "Resources.Probe.Properties.Value.Ref: AWS::Nope is not a pseudo parameter",
            id="unknown-pseudo",
        ),
        pytest.param(
            "!GetAtt Nope.Arn",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::GetAtt']: Nope is not a resource of this template",
            id="unknown-getatt",
        ),
        pytest.param(
            "!Ref ProdOnly",
            {},
            73,
            "Resources.Probe.Properties.Value.Ref: ProdOnly does not exist: its condition IsProd is false",
            id="ref-absent-resource",
        ),
        pytest.param(
            "!If [Nope, a, b]",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::If'][0]: condition 'Nope' is not defined in Conditions",
            id="unknown-condition",
        ),
        pytest.param(
            "!If [Loop, a, b]",
            {},
            35,
            "Conditions.Loop['Fn::Not'][0].Condition: condition 'Loop' refers to itself",
            id="condition-cycle",
        ),
        pytest.param(
            "!Select [5, [a]]",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::Select']: Fn::Select index 5 is out of range",
            id="select-out-of-range",
        ),
        pytest.param(
            "!FindInMap [Regions, ap-south-1, Ami]",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::FindInMap']: Fn::FindInMap: 'ap-south-1' is not a key"
            " of Mappings.Regions",
            id="find-in-map-missing",
        ),
        pytest.param(
            "!Sub '${Names}'",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::Sub']: Fn::Sub variable ${Names} is a list; use Fn::Join",
            id="sub-list",
        ),
        pytest.param(
            "{'Fn::Nope': 1}",
            {},
            73,
            "Resources.Probe.Properties.Value['Fn::Nope']: unknown intrinsic function Fn::Nope",
            id="unknown-function",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Stage": "qa"}},
            3,
            "Parameters.Stage: --parameter-overrides value 'qa' of Stage is not one of its AllowedValues"
            " (dev, prod)",
            id="override-not-allowed",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Size": "11"}},
            7,
            "Parameters.Size: --parameter-overrides value '11' of Size breaks its MaxValue 10",
            id="override-above-max",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Size": "big"}},
            7,
            "Parameters.Size: --parameter-overrides value 'big' of Size is not a Number",
            id="override-not-a-number",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Prefix": "App"}},
            21,
            "Parameters.Prefix: --parameter-overrides value 'App' of Prefix does not match its"
            " AllowedPattern [a-z]+",
            id="override-pattern",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Prefix": "abcdefghi"}},
            21,
            "Parameters.Prefix: --parameter-overrides value 'abcdefghi' of Prefix breaks its MaxLength 8",
            id="override-too-long",
        ),
        pytest.param(
            "x",
            {"parameter_overrides": {"Nope": "1"}},
            2,
            "Parameters: --parameter-overrides names 'Nope', which the template does not declare"
            " (declared: Stage, Size, Names, Ports, Secret, Prefix)",
            id="override-undeclared",
        ),
    ],
)
def test_errors(tmp_path: Path, expr: str, options: dict[str, Any], line: int, message: str) -> None:
    _, ctx, _ = resolver_for(tmp_path, expr, **options)
    assert problems(ctx) == [f"{tmp_path}/template.yaml:{line}: {message}"]


def test_a_parameter_without_default_or_override_is_an_error_where_a_value_uses_it(tmp_path: Path) -> None:
    text = "Parameters:\n  Token:\n    Type: String\n  Unused:\n    Type: String\nResources: {}\n"
    doc = parse_document(text, "t.yaml")
    ctx = ImportContext(doc, tmp_path / "t.yaml", ImportOptions(), {})
    resolver = Resolver(doc, ctx)
    assert problems(ctx) == []  # CloudFormation asks for both; locally only a used one matters
    assert resolver.resolve({"Ref": "Token"}, ("Resources", "X", "Properties", "V")) is NO_VALUE
    assert problems(ctx) == [
        "t.yaml:6: Resources.X.Properties.V.Ref: parameter Token has no Default: give it a value with"
        " --parameter-overrides Token=VALUE"
    ]


def test_ids_name_their_resources(tmp_path: Path) -> None:
    resolver, _, _ = resolver_for(tmp_path, "x")
    assert resolver.what(API) == ("api", "Api")
    assert resolver.what(ROOT) == ("root", "Api")
    assert resolver.what(RES) == ("resource", "Res")
    assert resolver.what("something-else") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(ARN + "fn", ("fn", None), id="function-arn"),
        pytest.param(ARN + "fn:live", ("fn", "live"), id="alias-arn"),
        pytest.param(
            f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}fn/invocations",
            ("fn", None),
            id="invocation-uri",
        ),
        pytest.param("https://example.com", None, id="not-lambda"),
    ],
)
def test_lambda_function_name(text: str, expected: tuple[str, str | None] | None) -> None:
    assert lambda_function_name(text) == expected


def test_probe_line_is_where_the_template_says() -> None:
    # the tables above expect the Probe value on line 73 of TEMPLATE
    lines = textwrap.dedent(TEMPLATE).splitlines()
    assert lines[72].strip() == "Value: PLACEHOLDER"
