"""Importers: SAM and CloudFormation templates, OpenAPI / Swagger documents and serverless.yml, read
into the same typed model ``gatehold.yaml`` loads into.

::

    format          module                                    reads
    sam             :mod:`gatehold.importers.sam`              Transform: AWS::Serverless-2016-10-31
    cloudformation  :mod:`gatehold.importers.cloudformation`   AWS::ApiGateway*, AWS::Lambda::Function
    openapi         :mod:`gatehold.importers.openapi`          openapi: 3.0.x / swagger: "2.0"
    serverless      :mod:`gatehold.importers.serverless`       service: / provider: / functions:

Each is a pure function from a :class:`~gatehold.config.document.Document` (lines kept) and an
:class:`ImportContext` to model data, plus the list of what it ignored or refused; the loader
(:func:`gatehold.config.loader.load_config`) validates the result like any ``gatehold.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gatehold.config.document import Document, read_document
from gatehold.config.problems import ConfigError, ConfigProblem, Finding, KeyPath, SourceRef
from gatehold.importers.base import (
    LOCAL_M2M_CLIENT,
    LOCAL_M2M_SECRET,
    ImportContext,
    ImportOptions,
    ImportResult,
    expects_target,
)

__all__ = [
    "FORMATS",
    "LOCAL_M2M_CLIENT",
    "LOCAL_M2M_SECRET",
    "ImportContext",
    "ImportOptions",
    "ImportResult",
    "detect_format",
    "import_document",
    "merge_imports",
]

FORMATS = ("sam", "cloudformation", "openapi", "serverless")
_GATEHOLD_SECTIONS = {"functions", "apis", "tenant", "gateway", "spa", "imports", "tables"}
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def detect_format(doc: Document) -> str:
    """``gatehold``, ``sam``, ``cloudformation``, ``openapi`` or ``serverless``, from the document's
    own markers (``Transform``, ``Resources``, ``openapi`` / ``swagger``, ``service``)."""
    data = doc.data
    if not isinstance(data, dict):
        return "gatehold"
    transform = data.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    if SAM_TRANSFORM in transforms or _has_serverless_resources(data):
        return "sam"
    if "Resources" in data or "AWSTemplateFormatVersion" in data:
        return "cloudformation"
    if "openapi" in data or "swagger" in data:
        return "openapi"
    if "service" in data and ("provider" in data or "functions" in data):
        return "serverless"
    return "gatehold"


def _has_serverless_resources(data: dict[str, Any]) -> bool:
    """SAM resources without the ``Transform`` line (CloudFormation would refuse the template; SAM's
    own test templates are written so): read as SAM, which says so."""
    resources = data.get("Resources")
    return isinstance(resources, dict) and any(
        isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Serverless::")
        for r in resources.values()
    )


def _importer(fmt: str) -> Callable[[Document, ImportContext], None]:
    if fmt == "sam":
        from gatehold.importers.sam import import_sam

        return import_sam
    if fmt == "cloudformation":
        from gatehold.importers.cloudformation import import_cloudformation

        return import_cloudformation
    if fmt == "openapi":
        from gatehold.importers.openapi import import_openapi

        return import_openapi
    if fmt == "serverless":
        from gatehold.importers.serverless import import_serverless

        return import_serverless
    raise ValueError(f"unknown format {fmt!r}")


def import_document(
    doc: Document,
    fmt: str,
    path: Path,
    variables: Mapping[str, str],
    options: ImportOptions | None = None,
    *,
    gateway: Mapping[str, Any] | None = None,
    standalone: bool = True,
) -> ImportResult:
    """Import one document; :class:`ConfigError` lists every problem (file, line, property path)."""
    if doc.data is None:
        raise ConfigError([ConfigProblem(doc.file, 1, "", "the file is empty")])
    if not isinstance(doc.data, dict):
        raise ConfigError([ConfigProblem(doc.file, 1, "", f"a {fmt} document must be a mapping")])
    settings = gateway or {}
    ctx = ImportContext(
        doc,
        path,
        options or ImportOptions(),
        variables,
        region=str(settings.get("region", "us-east-1")),
        account_id=str(settings.get("account_id", "123456789012")),
    )
    ctx.standalone = standalone
    _importer(fmt)(doc, ctx)
    return ctx.finish()


def merge_imports(
    path: Path,
    doc: Document,
    data: dict[str, Any],
    variables: Mapping[str, str],
    options: ImportOptions | None,
) -> tuple[dict[str, Any], dict[KeyPath, SourceRef], list[Finding], list[Finding], list[Path]]:
    """A ``gatehold.yaml`` with ``imports:``: each document imported, its functions, APIs and tables
    joined to the file's own (a name defined twice is an error), its tenant APIs added where not
    defined. The entry's ``expects`` (by authorizer name) is set on the imported Lambda authorizers,
    over what the document itself declared (``x-gatehold-expects``, a function's ``Metadata``)."""
    from gatehold.config.models import ImportConfig

    merged = dict(data)
    merged["functions"] = dict(data.get("functions") or {})
    merged["apis"] = dict(data.get("apis") or {})
    merged["tables"] = dict(data.get("tables") or {})
    tenant = dict(data.get("tenant") or {})
    refs: dict[KeyPath, SourceRef] = {}
    ignored: list[Finding] = []
    notes: list[Finding] = []
    files: list[Path] = []
    problems: list[ConfigProblem] = []
    entries = data.get("imports")
    if not isinstance(entries, list):
        raise ConfigError([ConfigProblem.at(doc.ref(("imports",)), "imports must be a list")])
    for i, entry in enumerate(entries):
        at: KeyPath = ("imports", i)
        try:
            spec = ImportConfig.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                loc = (*at, *err["loc"])
                message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(ConfigProblem.at(doc.ref(loc), message))
            continue
        target = (path.parent / spec.path).resolve()
        try:
            sub = read_document(target)
            fmt = spec.format if spec.format != "auto" else detect_format(sub)
            if fmt == "gatehold":
                problems.append(
                    ConfigProblem.at(
                        doc.ref((*at, "path")),
                        f"{spec.path} is not a SAM or CloudFormation template, an OpenAPI document or a"
                        " serverless.yml (say which with 'format:')",
                    )
                )
                continue
            opts = (options or ImportOptions()).combined(spec.model_dump(exclude_defaults=True))
            result = import_document(
                sub, fmt, target, variables, opts, gateway=data.get("gateway"), standalone=False
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        for declared in spec.expects:
            named = expects_target(result.data.get("apis", {}), declared)
            where = doc.ref((*at, "expects", declared))
            if isinstance(named, str):
                problems.append(ConfigProblem.at(where, f"{named} in {spec.path}"))
                continue
            api_name, auth_name = named
            result.data["apis"][api_name]["authorizers"][auth_name]["expects"] = entry["expects"][declared]
            result.refs[("apis", api_name, "authorizers", auth_name, "expects")] = where
        for section in ("functions", "apis", "tables"):
            for name, value in result.data.get(section, {}).items():
                if name in merged[section]:
                    problems.append(
                        ConfigProblem.at(
                            doc.ref((*at, "path")),
                            f"{section[:-1]} {name!r} is defined both in this file and in {spec.path}",
                        )
                    )
                    continue
                merged[section][name] = value
        plans = (result.data.get("gateway") or {}).get("usage_plans") or {}
        if plans:
            gateway = merged["gateway"] = dict(merged.get("gateway") or {})
            merged_plans = gateway["usage_plans"] = dict(gateway.get("usage_plans") or {})
            for name, plan in plans.items():
                if name in merged_plans:
                    problems.append(
                        ConfigProblem.at(
                            doc.ref((*at, "path")),
                            f"usage plan {name!r} is defined both in this file and in {spec.path}",
                        )
                    )
                    continue
                merged_plans[name] = plan
        for key, ref in result.refs.items():
            if key and (key[0] in ("functions", "apis", "tables") or key[:2] == ("gateway", "usage_plans")):
                refs[key] = ref
        _merge_tenant(tenant, result.data.get("tenant", {}))
        ignored.extend(result.ignored)
        notes.extend(result.notes)
        files.extend(result.files)
    if problems:
        raise ConfigError(problems)
    if tenant:
        merged["tenant"] = tenant
    return merged, refs, ignored, notes, files


def _merge_tenant(tenant: dict[str, Any], imported: Mapping[str, Any]) -> None:
    apis = tenant.setdefault("apis", []) if imported.get("apis") else tenant.get("apis", [])
    known = {a.get("identifier") for a in apis if isinstance(a, Mapping)}
    for api in imported.get("apis", ()):
        if api["identifier"] not in known:
            apis.append(api)
            known.add(api["identifier"])
    if imported.get("applications"):
        apps = tenant.setdefault("applications", {})
        for name, app in imported["applications"].items():
            apps.setdefault(name, app)
    if imported.get("client_grants"):
        grants = tenant.setdefault("client_grants", [])
        have = {(g.get("client_id"), g.get("audience")) for g in grants if isinstance(g, Mapping)}
        for grant in imported["client_grants"]:
            if (grant["client_id"], grant["audience"]) not in have:
                grants.append(grant)
