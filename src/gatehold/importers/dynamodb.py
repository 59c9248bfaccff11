"""DynamoDB tables of SAM and CloudFormation templates, read into ``tables:`` (docs/dynamodb.md).

``AWS::DynamoDB::Table`` (CloudFormation resource reference) and ``AWS::Serverless::SimpleTable``
(SAM specification: ``PrimaryKey`` ``Name`` / ``Type``, default ``id`` of type ``String``). The
table's name is what ``Ref`` gives: ``TableName`` resolved, else the logical id (where
CloudFormation would generate ``<stack>-<LogicalId>-<random>``), so a function's
``Environment: {TABLE: !Ref Table}`` names the table served. Each property is honoured, ignored
(listed by ``gatehold check``) or refused, as for the other resources (:mod:`.cloudformation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatehold.config.problems import KeyPath, SourceRef
    from gatehold.importers.cloudformation import TemplateImport
    from gatehold.importers.intrinsics import Resource

_NO_CAPACITY = "capacity is not provisioned locally: nothing is throttled"
_NO_STREAMS = (
    "streams are not emulated locally: the table is served, but nothing consumes its changes"
    " (event source mappings are ignored too)"
)
TABLE_HONOURED = {
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "TimeToLiveSpecification",
}
TABLE_IGNORED = {
    "ProvisionedThroughput": _NO_CAPACITY,
    "OnDemandThroughput": _NO_CAPACITY,
    "WarmThroughput": _NO_CAPACITY,
    "StreamSpecification": _NO_STREAMS,
    "KinesisStreamSpecification": _NO_STREAMS,
    "SSESpecification": "items are not encrypted locally",
    "PointInTimeRecoverySpecification": "backups are not kept locally (the data directory is the copy)",
    "ContributorInsightsSpecification": "CloudWatch Contributor Insights is not recorded locally",
    "DeletionProtectionEnabled": "the local table is never deleted by Gatehold",
    "TableClass": "storage classes have no local effect",
    "ResourcePolicy": "IAM has no local meaning: every function may use the table",
    "Tags": "tags have no local effect",
}
TABLE_REFUSED = {
    "ImportSourceSpecification": "a table imported from S3 would start with items the local table cannot"
    " have: create it empty, or load its items yourself",
}
_INDEX_IGNORED = {
    "ProvisionedThroughput": _NO_CAPACITY,
    "OnDemandThroughput": _NO_CAPACITY,
    "WarmThroughput": _NO_CAPACITY,
    "ContributorInsightsSpecification": "CloudWatch Contributor Insights is not recorded locally",
}
SIMPLE_TABLE_HONOURED = {"TableName", "PrimaryKey"}
SIMPLE_TABLE_IGNORED = {
    "ProvisionedThroughput": _NO_CAPACITY,
    "SSESpecification": "items are not encrypted locally",
    "PointInTimeRecoverySpecification": "backups are not kept locally (the data directory is the copy)",
    "Tags": "tags have no local effect",
}
#: SAM's PrimaryKey types → DynamoDB's attribute types
_SAM_TYPES = {"String": "S", "Number": "N", "Binary": "B"}


def dynamodb_table(importer: TemplateImport, resource: Resource) -> None:
    """``AWS::DynamoDB::Table`` → ``tables.<name>``."""
    props = importer.properties(resource)
    importer.classify(resource, props, TABLE_HONOURED, TABLE_IGNORED, TABLE_REFUSED)
    name = importer.resolver.name_of(resource.logical_id)
    ctx = importer.ctx
    types = _attribute_types(importer, resource, props.get("AttributeDefinitions"))
    out: dict[str, Any] = {}
    keys = _key_schema(importer, resource, props.get("KeySchema"), ("KeySchema",), types)
    if keys is None:
        return
    out.update(keys)
    if "BillingMode" in props:
        out["billing_mode"] = props["BillingMode"]
    ttl = props.get("TimeToLiveSpecification")
    if isinstance(ttl, Mapping) and ttl.get("Enabled") in (True, "true", "True") and ttl.get("AttributeName"):
        out["time_to_live"] = str(ttl["AttributeName"])
    for prop, kind in (("GlobalSecondaryIndexes", "global"), ("LocalSecondaryIndexes", "local")):
        raw = props.get(prop)
        if raw is None:
            continue
        if not isinstance(raw, list):
            ctx.error(importer.ref(resource, prop), f"{prop} must be a list")
            continue
        indexes: dict[str, Any] = {}
        for i, index in enumerate(raw):
            entry = _index(importer, resource, index, (prop, i), types, kind, keys["partition_key"]["name"])
            if entry is not None:
                indexes[entry[0]] = entry[1]
        out[f"{kind}_secondary_indexes"] = indexes
    _put(importer, resource, name, out)


def simple_table(
    importer: TemplateImport,
    resource: Resource,
    props: Mapping[str, Any],
    refs: Mapping[str, SourceRef] | None = None,
) -> None:
    """``AWS::Serverless::SimpleTable`` (``props``: with SAM's Globals merged, ``refs`` where each
    came from) → ``tables.<name>``: a table keyed by ``PrimaryKey`` (default ``id``, ``String``)."""
    importer.classify(resource, props, SIMPLE_TABLE_HONOURED, SIMPLE_TABLE_IGNORED, refs=refs)
    name = importer.resolver.name_of(resource.logical_id)
    primary = props.get("PrimaryKey", {"Name": "id", "Type": "String"})
    src = importer.ref(resource, "PrimaryKey")
    if not isinstance(primary, Mapping) or not isinstance(primary.get("Name"), str):
        importer.ctx.error(src, "PrimaryKey needs a Name (and a Type: String, Number or Binary)")
        return
    sam_type = primary.get("Type", "String")
    if sam_type not in _SAM_TYPES:
        importer.ctx.error(src, f"PrimaryKey Type {sam_type!r} must be String, Number or Binary")
        return
    billing = "PROVISIONED" if "ProvisionedThroughput" in props else "PAY_PER_REQUEST"
    key = {"name": primary["Name"], "type": _SAM_TYPES[sam_type]}
    _put(importer, resource, name, {"partition_key": key, "billing_mode": billing})


def _put(importer: TemplateImport, resource: Resource, name: str, out: dict[str, Any]) -> None:
    ctx = importer.ctx
    if name in ctx.data.get("tables", {}):
        ctx.error(importer.at(resource), f"two tables are named {name!r}")
        return
    ctx.put(("tables", name), out, importer.at(resource))
    for key, prop in (
        ("partition_key", "KeySchema"),
        ("sort_key", "KeySchema"),
        ("billing_mode", "BillingMode"),
        ("time_to_live", "TimeToLiveSpecification"),
        ("global_secondary_indexes", "GlobalSecondaryIndexes"),
        ("local_secondary_indexes", "LocalSecondaryIndexes"),
    ):
        if key in out and prop in resource.properties:
            ctx.at(("tables", name, key), importer.ref(resource, prop))


def _attribute_types(importer: TemplateImport, resource: Resource, raw: Any) -> dict[str, str]:
    types: dict[str, str] = {}
    if not isinstance(raw, list):
        importer.ctx.error(
            importer.ref(resource, "AttributeDefinitions") if raw is not None else importer.at(resource),
            "a table needs AttributeDefinitions: the name and type (S, N or B) of each key attribute",
        )
        return types
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or entry.get("AttributeType") not in ("S", "N", "B"):
            importer.ctx.error(
                importer.ref(resource, "AttributeDefinitions", i),
                "an attribute definition is {AttributeName, AttributeType: S, N or B}",
            )
            continue
        types[str(entry.get("AttributeName"))] = str(entry["AttributeType"])
    return types


def _key_schema(
    importer: TemplateImport, resource: Resource, raw: Any, path: KeyPath, types: Mapping[str, str]
) -> dict[str, Any] | None:
    """``KeySchema`` → ``{partition_key, sort_key}``; None (reported) when it is not one."""
    src: SourceRef = importer.ref(resource, *path)
    if not isinstance(raw, list) or not raw:
        importer.ctx.error(src, "KeySchema must list a HASH key (and optionally a RANGE key)")
        return None
    out: dict[str, Any] = {}
    for i, key in enumerate(raw):
        kind = key.get("KeyType") if isinstance(key, Mapping) else None
        field = {"HASH": "partition_key", "RANGE": "sort_key"}.get(str(kind))
        if field is None or field in out or not isinstance(key.get("AttributeName"), str):
            importer.ctx.error(
                importer.ref(resource, *path, i),
                "a key is {AttributeName, KeyType: HASH or RANGE}, each once",
            )
            return None
        attribute = key["AttributeName"]
        if attribute not in types:
            importer.ctx.error(
                importer.ref(resource, *path, i),
                f"key attribute {attribute!r} has no AttributeDefinitions entry (DynamoDB needs its type)",
            )
            return None
        out[field] = {"name": attribute, "type": types[attribute]}
    if "partition_key" not in out:
        importer.ctx.error(src, "KeySchema needs a HASH key")
        return None
    return out


def _index(
    importer: TemplateImport,
    resource: Resource,
    raw: Any,
    path: KeyPath,
    types: Mapping[str, str],
    kind: str,
    table_hash: str,
) -> tuple[str, dict[str, Any]] | None:
    src = importer.ref(resource, *path)
    if not isinstance(raw, Mapping) or not isinstance(raw.get("IndexName"), str):
        importer.ctx.error(src, "an index needs an IndexName, a KeySchema and a Projection")
        return None
    for prop in raw:
        if prop in ("IndexName", "KeySchema", "Projection"):
            continue
        if kind == "global" and prop in _INDEX_IGNORED:
            importer.ignore_property_of(
                resource.type, resource.logical_id, f"{path[0]}.{prop}", importer.ref(resource, *path, prop),
                _INDEX_IGNORED[prop],
            )  # fmt: skip
        else:
            importer.ctx.refuse(
                importer.ref(resource, *path, prop), f"{prop} is not a property of a {kind} secondary index"
            )
    keys = _key_schema(importer, resource, raw.get("KeySchema"), (*path, "KeySchema"), types)
    if keys is None:
        return None
    entry: dict[str, Any] = dict(keys) if kind == "global" else {}
    if kind == "local":
        if "sort_key" not in keys or keys["partition_key"]["name"] != table_hash:
            importer.ctx.error(
                src, f"a local secondary index has the table's HASH key ({table_hash}) and a RANGE key"
            )
            return None
        entry["sort_key"] = keys["sort_key"]
    projection = raw.get("Projection")
    ptype = projection.get("ProjectionType", "ALL") if isinstance(projection, Mapping) else None
    if ptype == "INCLUDE":
        entry["projection"] = list(projection.get("NonKeyAttributes") or [])  # type: ignore[union-attr]
    elif ptype in ("ALL", "KEYS_ONLY"):
        entry["projection"] = ptype
    else:
        importer.ctx.error(
            importer.ref(resource, *path, "Projection"),
            "Projection is {ProjectionType: ALL, KEYS_ONLY or INCLUDE (with NonKeyAttributes)}",
        )
        return None
    return raw["IndexName"], entry
