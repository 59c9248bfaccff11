"""DynamoDB tables of SAM and CloudFormation templates (:mod:`gatehold.importers.dynamodb`): what each
property becomes in ``tables:``, what is listed as having no local effect, what is refused, and
what ``Ref`` / ``Fn::GetAtt`` of a table give a function's environment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gatehold.config.models import GlobalIndexConfig, KeyAttributeConfig, LocalIndexConfig, TableConfig
from gatehold.importers.base import shell_quoted
from tests.importers.support import load, problems, write

SAM_HEAD = 'AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\nResources:\n'
CFN_HEAD = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n'
FUNCTION = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      Environment:
        Variables:
          TABLE: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
"""
ORDERS = """\
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-orders"
      AttributeDefinitions:
        - {AttributeName: customer, AttributeType: S}
        - {AttributeName: placed, AttributeType: N}
        - {AttributeName: status, AttributeType: S}
        - {AttributeName: total, AttributeType: N}
      KeySchema:
        - {AttributeName: customer, KeyType: HASH}
        - {AttributeName: placed, KeyType: RANGE}
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      GlobalSecondaryIndexes:
        - IndexName: byStatus
          KeySchema:
            - {AttributeName: status, KeyType: HASH}
            - {AttributeName: placed, KeyType: RANGE}
          Projection: {ProjectionType: INCLUDE, NonKeyAttributes: [total]}
          ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      LocalSecondaryIndexes:
        - IndexName: byTotal
          KeySchema:
            - {AttributeName: customer, KeyType: HASH}
            - {AttributeName: total, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      SSESpecification: {SSEEnabled: true}
"""


def template(tmp_path: Path, head: str, body: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    return write(tmp_path, "template.yaml", head + body)


@pytest.mark.parametrize("head", [SAM_HEAD, CFN_HEAD], ids=["sam", "cfn"])
def test_a_dynamodb_table_with_its_keys_and_indexes(tmp_path: Path, head: str) -> None:
    function = FUNCTION if head == SAM_HEAD else ""
    loaded = load(template(tmp_path, head, ORDERS + function))
    assert loaded.config.tables == {
        "local-orders": TableConfig(
            partition_key=KeyAttributeConfig(name="customer", type="S"),
            sort_key=KeyAttributeConfig(name="placed", type="N"),
            billing_mode="PROVISIONED",
            time_to_live="expires",
            global_secondary_indexes={
                "byStatus": GlobalIndexConfig(
                    partition_key=KeyAttributeConfig(name="status"),
                    sort_key=KeyAttributeConfig(name="placed", type="N"),
                    projection=["total"],
                )
            },
            local_secondary_indexes={
                "byTotal": LocalIndexConfig(
                    sort_key=KeyAttributeConfig(name="total", type="N"), projection="KEYS_ONLY"
                )
            },
        )
    }
    ignored = "\n".join(str(f) for f in loaded.ignored)
    for prop in ("ProvisionedThroughput", "StreamSpecification", "SSESpecification"):
        assert f"{prop} of AWS::DynamoDB::Table (Table)" in ignored
    assert "streams are not emulated locally" in ignored
    if function:
        assert loaded.config.functions["Fn"].environment == {
            "TABLE": "local-orders",
            "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/local-orders",
        }


@pytest.mark.parametrize(
    ("properties", "name", "key"),
    [
        pytest.param("", "Table", KeyAttributeConfig(name="id", type="S"), id="default-id-string"),
        pytest.param(
            "    Properties:\n      TableName: notes\n      PrimaryKey: {Name: noteId, Type: Number}\n",
            "notes",
            KeyAttributeConfig(name="noteId", type="N"),
            id="primary-key-number",
        ),
    ],
)
def test_a_simple_table(tmp_path: Path, properties: str, name: str, key: KeyAttributeConfig) -> None:
    body = "  Table:\n    Type: AWS::Serverless::SimpleTable\n" + properties + FUNCTION
    loaded = load(template(tmp_path, SAM_HEAD, body))
    assert loaded.config.tables == {name: TableConfig(partition_key=key)}
    assert loaded.config.functions["Fn"].environment == {
        "TABLE": name,
        "TABLE_ARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}",
    }


def _line(path: Path, marker: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


def test_an_import_from_s3_is_refused(tmp_path: Path) -> None:
    body = ORDERS + "      ImportSourceSpecification: {InputFormat: CSV}  # <-\n"
    path = template(tmp_path, CFN_HEAD, body)
    key = "Resources.Table.Properties.ImportSourceSpecification"
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:{_line(path, '# <-')}: {key}: a table imported from S3")
    assert found[0].endswith(f"pass --ignore {shell_quoted(key)}")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            """\
              Table:
                Type: AWS::DynamoDB::Table
                Properties:
                  AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                  KeySchema:
                    - {AttributeName: sk, KeyType: RANGE}  # <-
                    - {AttributeName: id, KeyType: HASH}
            """,
            "Resources.Table.Properties.KeySchema[0]: key attribute 'sk' has no AttributeDefinitions entry",
            id="key-without-definition",
        ),
        pytest.param(
            """\
              Table:  # <-
                Type: AWS::DynamoDB::Table
                Properties:
                  AttributeDefinitions:
                    - {AttributeName: id, AttributeType: S}
                    - {AttributeName: x, AttributeType: S}
                  KeySchema: [{AttributeName: id, KeyType: HASH}]
                  LocalSecondaryIndexes:
                    - IndexName: byX
                      KeySchema: [{AttributeName: id, KeyType: HASH}, {AttributeName: x, KeyType: RANGE}]
                      Projection: {ProjectionType: ALL}
            """,
            "Resources.Table: local secondary indexes need a table with a sort_key",
            id="local-index-on-a-hash-only-table",
        ),
        pytest.param(
            """\
              Table:
                Type: AWS::Serverless::SimpleTable
                Properties:
                  PrimaryKey: {Name: id, Type: Boolean}  # <-
            """,
            "Resources.Table.Properties.PrimaryKey: PrimaryKey Type 'Boolean' must be String, Number or"
            " Binary",
            id="simple-table-type",
        ),
    ],
)
def test_a_table_that_cannot_be_is_an_error_at_its_line(tmp_path: Path, body: str, message: str) -> None:
    path = template(tmp_path, SAM_HEAD, textwrap.indent(textwrap.dedent(body), "  "))
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:{_line(path, '# <-')}: ")
    assert message in found[0]
