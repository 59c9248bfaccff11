"""Export the effective model as a SAM template: functions, APIs and tables, deployable as it is.

* each function → ``AWS::Serverless::Function`` (``Handler``, ``CodeUri`` relative to the template,
  ``Runtime``, ``Timeout``, ``MemorySize``, ``Environment``; ``FunctionName`` keeps the model's name
  when it is not a valid logical id);
* each API → ``AWS::Serverless::Api`` (REST) or ``AWS::Serverless::HttpApi`` with ``StageName``,
  stage ``Variables``, throttling ``MethodSettings`` / ``DefaultRouteSettings``, ``AccessLogSetting``
  and its OpenAPI ``DefinitionBody`` (:mod:`gatehold.exporters.openapi`) whose Lambda URIs are
  ``Fn::Sub`` of the functions' ``Arn``, as SAM writes them;
* each table → ``AWS::DynamoDB::Table`` with its ``TableName``, keys, indexes, ``BillingMode`` and
  ``TimeToLiveSpecification`` (the ``CreateTable`` request :mod:`gatehold.dynamodb.tables` makes:
  its keys are CloudFormation's);
* REST JWT authorizers (issuers) and several stages of one API have no SAM form: a
  :class:`ValueError` names them.

Logical ids are the model's names in CamelCase (``get-unicorn`` → ``GetUnicorn``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from gatehold.config.loader import LoadedConfig
from gatehold.config.models import ApiConfig, StageConfig
from gatehold.dynamodb.tables import create_table_request
from gatehold.exporters.openapi import export_openapi, lambda_uri

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def logical_id(name: str, taken: set[str]) -> str:
    """A CloudFormation logical id (alphanumeric) for ``name``, unique among ``taken``."""
    parts = re.findall(r"[A-Za-z0-9]+", name)
    base = "".join(p[:1].upper() + p[1:] for p in parts) or "Resource"
    if base[0].isdigit():
        base = "R" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    taken.add(candidate)
    return candidate


def _runtime(runtime: str) -> str:
    """``python`` (whatever Gatehold runs on) is written as the Lambda runtime of this Python."""
    if runtime == "python":
        return f"python{sys.version_info.major}.{sys.version_info.minor}"
    return runtime


def export_sam(loaded: LoadedConfig, out_dir: Path | None = None) -> dict[str, Any]:
    """The SAM template of ``loaded``; ``CodeUri`` paths are relative to ``out_dir`` when given."""
    config = loaded.config
    settings = config.gateway
    taken: set[str] = set()
    fn_ids = {name: logical_id(name, taken) for name in config.functions}
    api_ids = {name: logical_id(name, taken) for name in config.apis}
    resources: dict[str, Any] = {}
    for name, table in config.tables.items():
        table_props = create_table_request(name, table)
        if table.time_to_live:
            table_props["TimeToLiveSpecification"] = {"AttributeName": table.time_to_live, "Enabled": True}
        resources[logical_id(name, taken)] = {"Type": "AWS::DynamoDB::Table", "Properties": table_props}
    for name, fn in config.functions.items():
        props: dict[str, Any] = {"Handler": fn.handler, "Runtime": _runtime(fn.runtime)}
        code = (loaded.base_dir / fn.code_path).resolve() if fn.code_path else loaded.base_dir
        props["CodeUri"] = os.path.relpath(code, out_dir) if out_dir is not None else str(code)
        if fn_ids[name] != name:
            props["FunctionName"] = name
        if fn.timeout != 3.0:
            props["Timeout"] = int(fn.timeout) if float(fn.timeout).is_integer() else fn.timeout
        if fn.memory_size != 128:
            props["MemorySize"] = fn.memory_size
        if fn.environment:
            props["Environment"] = {"Variables": dict(fn.environment)}
        if fn.reserved_concurrency is not None:
            props["ReservedConcurrentExecutions"] = fn.reserved_concurrency
        resources[fn_ids[name]] = {"Type": "AWS::Serverless::Function", "Properties": props}
    arns = {lambda_uri(name, settings): fn_ids[name] for name in config.functions}
    for name, api in config.apis.items():
        stage_name, stage, sam_stage = _sam_stage(name, api)
        body = _sub_function_arns(export_openapi(name, api, settings, stage=stage_name), arns)
        props = {"DefinitionBody": body}
        if api.type == "REST":
            kind = "AWS::Serverless::Api"
            props["StageName"] = stage_name
            if not sam_stage:
                props["OpenApiVersion"] = "3.0.1"  # SAM adds a stage named "Stage" without it
        else:
            kind = "AWS::Serverless::HttpApi"
            if stage_name != "$default":
                props["StageName"] = stage_name
        if stage.variables:
            props["Variables" if api.type == "REST" else "StageVariables"] = dict(stage.variables)
        if stage.throttling is not None:
            limits = {
                "ThrottlingRateLimit": stage.throttling.rate_limit,
                "ThrottlingBurstLimit": stage.throttling.burst_limit,
            }
            if api.type == "REST":
                props["MethodSettings"] = [{"ResourcePath": "/*", "HttpMethod": "*", **limits}]
            else:
                props["DefaultRouteSettings"] = limits
        if stage.access_log is not None:
            props["AccessLogSetting" if api.type == "REST" else "AccessLogSettings"] = {
                "DestinationArn": stage.access_log.destination,
                "Format": stage.access_log.format,
            }
        if api.description:
            props["Description"] = api.description
        resources[api_ids[name]] = {"Type": kind, "Properties": props}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": SAM_TRANSFORM,
        "Description": f"Exported by gatehold from {loaded.path.name if loaded.path else 'a configuration'}",
        "Resources": resources,
    }


def _sam_stage(name: str, api: ApiConfig) -> tuple[str, StageConfig, bool]:
    """The one stage a SAM API has, and whether it also has SAM's own ``Stage`` stage (which SAM
    adds to a REST API when ``OpenApiVersion`` is not set)."""
    stages = dict(api.stages)
    extra = stages.get("Stage")
    sam_stage = api.type == "REST" and len(stages) == 2 and extra == StageConfig()
    if sam_stage:
        del stages["Stage"]
    if len(stages) > 1:
        raise ValueError(f"API {name!r} has {len(stages)} stages; a SAM API has one StageName")
    stage_name, stage = next(iter(stages.items()))
    return stage_name, stage, sam_stage


def _sub_function_arns(value: Any, arns: dict[str, str]) -> Any:
    """Integration URIs of this template's functions as SAM writes them: ``Fn::Sub`` of ``Fn.Arn``."""
    if isinstance(value, dict):
        return {k: _sub_function_arns(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub_function_arns(v, arns) for v in value]
    if isinstance(value, str) and value in arns:
        return {
            "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            f"${{{arns[value]}.Arn}}/invocations"
        }
    return value
