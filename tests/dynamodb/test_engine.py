"""What handlers rely on from the engine, checked with boto3 (docs/dynamodb.md, "Engine"): DynamoDB's
error types and statuses, expressions, indexes; what it does not emulate is refused loudly (an error
naming the operation), never silently done otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dynamodb.conftest import Engine


def error_of(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_errors_are_dynamodb_s(engine: Engine) -> None:
    c = engine.client()
    c.put_item(TableName="Items", Item={"id": {"S": "a"}})
    put_again = {
        "TableName": "Items",
        "Item": {"id": {"S": "a"}},
        "ConditionExpression": "attribute_not_exists(id)",
    }
    assert error_of(c.put_item, **put_again) == ("ConditionalCheckFailedException", 400)
    assert error_of(c.get_item, TableName="Nope", Key={"id": {"S": "a"}}) == (
        "ResourceNotFoundException",
        400,
    )
    assert error_of(c.get_item, TableName="Items", Key={"id": {"N": "1"}}) == ("ValidationException", 400)
    assert error_of(c.put_item, TableName="Items", Item={"name": {"S": "no key"}}) == (
        "ValidationException",
        400,
    )


def test_expressions_and_indexes(engine: Engine) -> None:
    c = engine.client()
    for n in range(3):
        c.put_item(TableName="Items", Item={"id": {"S": f"i{n}"}, "owner": {"S": "ann"}, "n": {"N": str(n)}})
    updated = c.update_item(
        TableName="Items",
        Key={"id": {"S": "i0"}},
        UpdateExpression="SET n = n + :one, tags = list_append(if_not_exists(tags, :none), :t) REMOVE #o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":none": {"L": []}, ":t": {"L": [{"S": "x"}]}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert updated == {"id": {"S": "i0"}, "n": {"N": "1"}, "tags": {"L": [{"S": "x"}]}}
    found = c.query(
        TableName="Items",
        IndexName="byOwner",
        KeyConditionExpression="#o = :o",
        FilterExpression="n > :z",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "ann"}, ":z": {"N": "1"}},
    )
    assert [i["id"]["S"] for i in found["Items"]] == ["i2"]


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        pytest.param(
            "transact_write_items",
            {"TransactItems": [{"Put": {"TableName": "Items", "Item": {"id": {"S": "t"}}}}]},
            id="TransactWriteItems",
        ),
        pytest.param(
            "transact_get_items",
            {"TransactItems": [{"Get": {"TableName": "Items", "Key": {"id": {"S": "t"}}}}]},
            id="TransactGetItems",
        ),
        pytest.param("execute_statement", {"Statement": "SELECT * FROM Items"}, id="PartiQL"),
        pytest.param(
            "update_time_to_live",
            {"TableName": "Items", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "exp"}},
            id="UpdateTimeToLive",
        ),
    ],
)
def test_what_is_not_emulated_is_refused_loudly(
    engine: Engine, operation: str, kwargs: dict[str, Any]
) -> None:
    c = engine.client()
    assert error_of(getattr(c, operation), **kwargs) == ("UnknownOperationException", 400)
    assert "Item" not in c.get_item(TableName="Items", Key={"id": {"S": "t"}})  # nothing was written
