"""``tables:`` entries as DynamoDB's ``CreateTable`` requests, and an existing table checked against its
entry. Pure: a :class:`~gatehold.config.models.TableConfig` in, the JSON DynamoDB takes out.

>>> from gatehold.config.models import TableConfig
>>> create_table_request("WishList", TableConfig(partition_key="id"))["KeySchema"]
[{'AttributeName': 'id', 'KeyType': 'HASH'}]
"""

from __future__ import annotations

from typing import Any

from gatehold.config.models import KeyAttributeConfig, Projection, TableConfig

#: what a PROVISIONED table (and each of its global indexes) is created with: throughput is not
#: enforced locally, but DynamoDB's API needs numbers
LOCAL_THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}


def key_schema(partition: KeyAttributeConfig, sort: KeyAttributeConfig | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def projection(value: Projection) -> dict[str, Any]:
    if isinstance(value, list):
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(value)}
    return {"ProjectionType": value}


def create_table_request(name: str, table: TableConfig) -> dict[str, Any]:
    """The ``CreateTable`` request for ``tables.<name>``."""
    definitions: dict[str, str] = {}
    for key in table.key_attributes():
        definitions.setdefault(key.name, key.type)
    provisioned = table.billing_mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
        "KeySchema": key_schema(table.partition_key, table.sort_key),
        "BillingMode": table.billing_mode,
    }
    if provisioned:
        request["ProvisionedThroughput"] = dict(LOCAL_THROUGHPUT)
    if table.global_secondary_indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index_name,
                "KeySchema": key_schema(gsi.partition_key, gsi.sort_key),
                "Projection": projection(gsi.projection),
                **({"ProvisionedThroughput": dict(LOCAL_THROUGHPUT)} if provisioned else {}),
            }
            for index_name, gsi in table.global_secondary_indexes.items()
        ]
    if table.local_secondary_indexes:
        request["LocalSecondaryIndexes"] = [
            {
                "IndexName": index_name,
                "KeySchema": key_schema(table.partition_key, lsi.sort_key),
                "Projection": projection(lsi.projection),
            }
            for index_name, lsi in table.local_secondary_indexes.items()
        ]
    return request


def _keys(description: dict[str, Any], key_schema_: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions", [])}
    return [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?")) for k in key_schema_]


def _shape(description: dict[str, Any]) -> dict[str, Any]:
    """What of a table description the configuration decides: its keys and its indexes' keys."""
    return {
        "keys": _keys(description, description.get("KeySchema", [])),
        "global": {
            i["IndexName"]: _keys(description, i["KeySchema"])
            for i in description.get("GlobalSecondaryIndexes", [])
        },
        "local": {
            i["IndexName"]: _keys(description, i["KeySchema"])
            for i in description.get("LocalSecondaryIndexes", [])
        },
    }


def _written(keys: list[tuple[str, str, str]]) -> str:
    return ", ".join(f"{name} {kind} {type_}" for name, kind, type_ in keys)


def differences(name: str, table: TableConfig, description: dict[str, Any]) -> list[str]:
    """How the existing table ``description`` (``DescribeTable``'s ``Table``) differs from its entry:
    its key schema or its indexes (an empty list: it is the table the configuration declares)."""
    want, have = _shape(create_table_request(name, table)), _shape(description)
    found = []
    if want["keys"] != have["keys"]:
        found.append(f"its key is ({_written(have['keys'])}), the configuration's ({_written(want['keys'])})")
    for kind in ("global", "local"):
        if want[kind] != have[kind]:
            found.append(
                f"its {kind} secondary indexes are {sorted(have[kind]) or 'none'}"
                f" with their keys, the configuration's {sorted(want[kind]) or 'none'}"
                if set(want[kind]) != set(have[kind])
                else f"the keys of its {kind} secondary indexes differ from the configuration's"
            )
    return found
