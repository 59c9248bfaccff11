"""``tables:`` entries: validated at load (file:line: key), turned into CreateTable requests, and an
existing table's description compared with its entry (:mod:`gatehold.dynamodb.tables`)."""

from __future__ import annotations

import textwrap

import pytest

from gatehold.config import ConfigError
from gatehold.config.loader import parse_config
from gatehold.config.models import TableConfig
from gatehold.dynamodb.tables import create_table_request, differences

ORDERS = """\
tables:
  Orders:
    partition_key: customer
    sort_key: {name: placed, type: N}
    billing_mode: PROVISIONED
    global_secondary_indexes:
      byStatus:
        partition_key: status
        projection: [total, items]
    local_secondary_indexes:
      byTotal:
        sort_key: {name: total, type: N}
        projection: KEYS_ONLY
"""


def orders() -> TableConfig:
    return parse_config(ORDERS, file="gatehold.yaml")[0].tables["Orders"]


def test_a_table_becomes_dynamodb_s_create_table_request() -> None:
    assert create_table_request("Orders", orders()) == {
        "TableName": "Orders",
        "AttributeDefinitions": [
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "placed", "KeyType": "RANGE"},
        ],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "byStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total", "items"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "byTotal",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "total", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }


def test_an_on_demand_table_has_no_throughput() -> None:
    request = create_table_request("Items", TableConfig(partition_key="id"))  # type: ignore[arg-type]
    assert request == {
        "TableName": "Items",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_a_table_described_as_declared_has_no_differences() -> None:
    description = create_table_request("Orders", orders())  # DescribeTable's Table has these keys too
    assert differences("Orders", orders(), description) == []
    other_key = {**description, "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}]}
    assert differences("Orders", orders(), other_key) == [
        "its key is (customer HASH S), the configuration's (customer HASH S, placed RANGE N)"
    ]
    no_index = {k: v for k, v in description.items() if k != "GlobalSecondaryIndexes"}
    assert differences("Orders", orders(), no_index) == [
        "its global secondary indexes are none with their keys, the configuration's ['byStatus']"
    ]


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        pytest.param(
            "tables:\n  ab:\n    partition_key: id\n",
            "<config>:1: tables: table name 'ab' must be 3-255 characters",
            id="short-table-name",
        ),
        pytest.param(
            "tables:\n  Items:\n    partition_key: {name: id, type: BOOL}\n",
            "<config>:3: tables.Items.partition_key.type: Input should be 'S', 'N' or 'B'",
            id="key-type",
        ),
        pytest.param(
            "tables:\n  Items:\n    partition_key: id\n    local_secondary_indexes:\n"
            "      byX: {sort_key: x}\n",
            "<config>:2: tables.Items: local secondary indexes need a table with a sort_key",
            id="local-index-without-sort-key",
        ),
        pytest.param(
            "tables:\n  Items:\n    partition_key: id\n    global_secondary_indexes:\n"
            "      byId: {partition_key: {name: id, type: N}}\n",
            "<config>:2: tables.Items: attribute 'id' is a key of type S and of type N",
            id="one-attribute-two-types",
        ),
        pytest.param(
            "tables:\n  Items:\n    partition_key: id\n    global_secondary_indexes:\n"
            "      byX: {partition_key: x, projection: SOME}\n",
            "<config>:5: tables.Items.global_secondary_indexes.byX.projection: projection is ALL,"
            " KEYS_ONLY or a list of non-key attributes (INCLUDE)",
            id="projection",
        ),
        pytest.param(
            "tables:\n  Items:\n    partition_key: id\n    stream: NEW_IMAGE\n",
            "<config>:4: tables.Items.stream: unknown key",
            id="unknown-key",
        ),
    ],
)
def test_a_table_that_cannot_be_is_an_error_at_its_line(yaml: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(yaml))
    printed = [str(p) for p in info.value.problems]
    assert any(line.startswith(problem) for line in printed), printed
