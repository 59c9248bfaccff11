"""SAM templates (``Transform: AWS::Serverless-2016-10-31``) read into the model ``gatehold.yaml``
loads into, as SAM's translator would turn them into API Gateway and Lambda resources.

The plain CloudFormation resources of the template are read by
:class:`~gatehold.importers.cloudformation.TemplateImport`, which this extends with:

* ``Globals`` (``Function``, ``Api``, ``HttpApi`` …) merged into each resource as SAM merges them
  (``samtranslator/plugins/globals/globals.py``): maps merged key by key, lists concatenated
  (``Architectures`` replaced), the resource's own value winning; an intrinsic function counts as
  one value. Problems name the line the value came from, in ``Globals`` or in the resource.
* ``AWS::Serverless::Function``: the function, and its ``Api`` / ``HttpApi`` events as routes of
  the API they name (``RestApiId`` / ``ApiId``), or of the implicit ``ServerlessRestApi`` (REST,
  stage ``Prod``) / ``ServerlessHttpApi`` (HTTP, ``$default``) SAM creates for the others.
* ``AWS::Serverless::Api`` / ``AWS::Serverless::HttpApi``: stages, CORS (for REST APIs, the
  ``OPTIONS`` mock methods SAM generates, ``swagger.py`` ``add_cors``), authorizers, the default
  authorizer and API key (``set_path_default_authorizer``, ``set_path_default_apikey_required``,
  OPTIONS included unless ``AddDefaultAuthorizerToCorsPreflight`` / ``AddApiKeyRequiredToCorsPreflight``
  is false), usage plans, gateway responses, models and validators, throttling, access logs.
  ``DefinitionBody`` / ``DefinitionUri`` go through the OpenAPI importer first; SAM's own
  properties and the events are then applied over what it read, as SAM edits the definition.

docs/import-sam.md has every property with what Gatehold does with it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gatehold.config.document import Document
from gatehold.config.problems import KeyPath, SourceRef
from gatehold.importers.base import ImportContext
from gatehold.importers.cloudformation import (
    _LAMBDA_IGNORED,
    _LAMBDA_REFUSED,
    _NO_CACHE,
    _NO_TAGS,
    _NO_TRACING,
    _TOP_LEVEL,
    TemplateImport,
    _number,
    _text,
    version_text,
)
from gatehold.importers.dynamodb import simple_table
from gatehold.importers.intrinsics import NO_VALUE, Deferred, Resource, is_intrinsic, lambda_function_name

__all__ = ["SAM_TRANSFORM", "import_sam"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
IMPLICIT_REST = "ServerlessRestApi"
IMPLICIT_HTTP = "ServerlessHttpApi"
_MISSING: Any = object()

#: what each Globals section may hold (samtranslator/plugins/globals/globals.py)
_GLOBALS: dict[str, set[str]] = {
    "Function": {
        "Handler",
        "Runtime",
        "CodeUri",
        "DeadLetterQueue",
        "Description",
        "MemorySize",
        "Timeout",
        "VpcConfig",
        "Environment",
        "Tags",
        "PropagateTags",
        "Tracing",
        "KmsKeyArn",
        "AutoPublishAlias",
        "AutoPublishAliasAllProperties",
        "Layers",
        "DeploymentPreference",
        "RolePath",
        "PermissionsBoundary",
        "ReservedConcurrentExecutions",
        "ProvisionedConcurrencyConfig",
        "AssumeRolePolicyDocument",
        "EventInvokeConfig",
        "FileSystemConfigs",
        "CodeSigningConfigArn",
        "Architectures",
        "SnapStart",
        "EphemeralStorage",
        "FunctionUrlConfig",
        "RuntimeManagementConfig",
        "LoggingConfig",
        "RecursiveLoop",
        "SourceKMSKeyArn",
        "TenancyConfig",
        "DurableConfig",
        "CapacityProviderConfig",
        "FunctionScalingConfig",
        "PublishToLatestPublished",
        "VersionDeletionPolicy",
    },
    "Api": {
        "Auth",
        "Name",
        "DefinitionUri",
        "CacheClusterEnabled",
        "CacheClusterSize",
        "MergeDefinitions",
        "Variables",
        "EndpointConfiguration",
        "MethodSettings",
        "BinaryMediaTypes",
        "MinimumCompressionSize",
        "Cors",
        "GatewayResponses",
        "AccessLogSetting",
        "CanarySetting",
        "TracingEnabled",
        "OpenApiVersion",
        "Domain",
        "AlwaysDeploy",
        "PropagateTags",
        "SecurityPolicy",
        "EndpointAccessMode",
    },
    "HttpApi": {
        "Auth",
        "AccessLogSettings",
        "StageVariables",
        "Tags",
        "CorsConfiguration",
        "DefaultRouteSettings",
        "Domain",
        "RouteSettings",
        "FailOnWarnings",
        "PropagateTags",
    },
    "SimpleTable": {"SSESpecification"},
    "StateMachine": {"PropagateTags"},
    "LayerVersion": {"PublishLambdaVersion"},
    "CapacityProvider": {
        "VpcConfig",
        "OperatorRole",
        "Tags",
        "InstanceRequirements",
        "ScalingConfig",
        "KmsKeyArn",
        "PropagateTags",
        "ManagedResourceTags",
    },
    "WebSocketApi": {
        "AccessLogSettings",
        "ApiKeySelectionExpression",
        "DefaultRouteSettings",
        "DisableExecuteApiEndpoint",
        "DisableSchemaValidation",
        "Domain",
        "FailOnWarnings",
        "IpAddressType",
        "PropagateTags",
        "RouteSelectionExpression",
        "RouteSettings",
        "StageVariables",
        "Tags",
    },
}

_FUNCTION_IGNORED = {
    **_LAMBDA_IGNORED,
    "Policies": "IAM has no local meaning: the function may do what its code does",
    "PermissionsBoundary": "IAM has no local meaning",
    "RolePath": "IAM has no local meaning",
    "AssumeRolePolicyDocument": "IAM has no local meaning",
    "Tracing": _NO_TRACING,
    "PropagateTags": _NO_TAGS,
    "DeadLetterQueue": "dead-letter queues serve asynchronous invocations (API Gateway's are synchronous)",
    "DeploymentPreference": "gradual deployments: the current code always runs",
    "AutoPublishAlias": "versions and aliases: an alias ARN runs the function's current code",
    "AutoPublishAliasAllProperties": "versions and aliases: the current code always runs",
    "AutoPublishCodeSha256": "versions and aliases: the current code always runs",
    "VersionDescription": "versions: the current code always runs",
    "VersionDeletionPolicy": "versions: the current code always runs",
    "ProvisionedConcurrencyConfig": "provisioned concurrency only changes cold-start time",
    "EventInvokeConfig": "asynchronous invocation settings: API Gateway invokes synchronously",
    "SourceKMSKeyArn": "the code is not encrypted locally",
}
_FUNCTION_REFUSED = {
    **_LAMBDA_REFUSED,
    "ImageUri": "container-image functions are not run: Gatehold runs Python handlers from local code",
    "FunctionUrlConfig": "function URLs are not served: only API Gateway routes reach functions locally",
}
_API_IGNORED = {
    "Name": "the API's name has no local effect (it is served under its logical id)",
    "EndpointConfiguration": "the endpoint type (EDGE, REGIONAL, PRIVATE) has no local meaning",
    "TracingEnabled": _NO_TRACING,
    "CacheClusterEnabled": _NO_CACHE,
    "CacheClusterSize": _NO_CACHE,
    "MinimumCompressionSize": "responses are not compressed locally",
    "Tags": _NO_TAGS,
    "PropagateTags": _NO_TAGS,
    "CanarySetting": "canary deployments: every request goes to the stage's deployment",
    "AlwaysDeploy": "the current definition is always served",
    "FailOnWarnings": "import warnings are reported by Gatehold itself",
    "Mode": "the import mode has no local meaning",
    "SecurityPolicy": "TLS policies have no local meaning",
    "EndpointAccessMode": "the endpoint access mode has no local meaning",
}
#: what ``Identity`` of a REST Lambda authorizer may hold (samtranslator/model/apigateway.py)
_IDENTITY_KEYS = {"Header", "ValidationExpression", "Headers", "QueryStrings", "StageVariables", "Context"}
_DOMAIN_REFUSED = {
    "Domain": "custom domains are not served: the API is served at its invoke URL",
}
_EVENT_TYPES_IGNORED = {
    "S3",
    "SNS",
    "SQS",
    "Kinesis",
    "DynamoDB",
    "Schedule",
    "ScheduleV2",
    "CloudWatchEvent",
    "EventBridgeRule",
    "CloudWatchLogs",
    "IoTRule",
    "AlexaSkill",
    "Cognito",
    "MSK",
    "MQ",
    "SelfManagedKafka",
    "DocumentDB",
}


class _Origins(Mapping[str, SourceRef]):
    """Where each merged property came from (``Globals`` or the resource): ``get("Environment.
    Variables.TABLE")`` is the line of that key, below the deepest property the merge recorded."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.paths: dict[str, KeyPath] = {}

    def path(self, label: str) -> KeyPath | None:
        parts = label.split(".")
        for n in range(len(parts), 0, -1):
            base = self.paths.get(".".join(parts[:n]))
            if base is not None:
                return (*base, *parts[n:])
        return None

    def __getitem__(self, label: str) -> SourceRef:
        path = self.path(label)
        if path is None:
            raise KeyError(label)
        return self.doc.ref(path)

    def __iter__(self) -> Iterator[str]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and self.path(label) is not None


@dataclass
class _Event:
    """An ``Api`` or ``HttpApi`` event of a function: a route of an API."""

    function: Resource
    function_key: str
    name: str
    kind: Literal["Api", "HttpApi"]
    props: dict[str, Any]
    path: KeyPath
    api: str
    route_key: str

    def ref(self, importer: TemplateImport, *keys: str | int) -> SourceRef:
        return (self.function.doc or importer.doc).ref(
            (*self.path, "Properties", *keys) if keys else self.path
        )


@dataclass
class _SamApi:
    """An ``AWS::Serverless::Api`` / ``HttpApi``, written or implicit, with its merged properties."""

    logical_id: str
    kind: Literal["REST", "HTTP"]
    resource: Resource
    props: dict[str, Any]
    refs: _Origins
    implicit: bool
    events: list[_Event] = field(default_factory=list)


def import_sam(doc: Document, ctx: ImportContext) -> None:
    """A SAM template (``gatehold up -c template.yaml``)."""
    SamImport(doc, ctx).run()


class SamImport(TemplateImport):
    label = "SAM"

    def __init__(self, doc: Document, ctx: ImportContext) -> None:
        super().__init__(doc, ctx)
        self.globals: dict[str, dict[str, Any]] = {}
        self.sam_apis: dict[str, _SamApi] = {}
        self.events: list[_Event] = []
        self._implicit: list[str] = []
        #: route key → (authorizer, scopes) taken out of a definition's security (SAM adds its own)
        self._definition_auth: dict[str, tuple[str, list[str]]] = {}
        #: events already reported (not to be reported twice)
        self._reported: set[int] = set()

    # -- driving ----------------------------------------------------------------------------------

    def run(self) -> None:
        transform = self.doc.data.get("Transform")
        if SAM_TRANSFORM not in (transform if isinstance(transform, list) else [transform]):
            self.ctx.note(
                self.doc.ref(("Resources",)),
                "read as SAM (it has AWS::Serverless resources); CloudFormation needs"
                f" 'Transform: {SAM_TRANSFORM}'",
            )
        self.top_level()
        self.read_globals()
        resources = self.resources_in_order()
        self.declare_implicit_apis(resources)
        self.declare_generated_resources(resources)
        self.read_functions(resources)
        self.read_apis(resources)
        self.read_api_parts(resources)
        self.build_sam_apis()
        self.read_settings(resources)
        self.read_others(resources)
        self.finish()

    def top_level_keys(self) -> set[str]:
        return {*_TOP_LEVEL, "Globals"}

    def known_transforms(self) -> set[str]:
        return {SAM_TRANSFORM, "AWS::LanguageExtensions"}

    def resource_keys(self) -> set[str]:
        return {*super().resource_keys(), "IgnoreGlobals"}

    def read_globals(self) -> None:
        section = self.doc.data.get("Globals")
        if section is None:
            return
        if not isinstance(section, dict):
            self.ctx.error(self.doc.ref(("Globals",)), "Globals must be a mapping")
            return
        for name, props in section.items():
            at: KeyPath = ("Globals", name)
            allowed = _GLOBALS.get(name)
            if allowed is None:
                self.ctx.error(
                    self.doc.ref(at),
                    f"'{name}' is not a Globals section; it must be one of {', '.join(sorted(_GLOBALS))}",
                )
                continue
            if not isinstance(props, dict):
                self.ctx.error(self.doc.ref(at), f"Globals.{name} must be a mapping")
                continue
            for key in props:
                if key not in allowed:
                    self.ctx.error(
                        self.doc.ref((*at, key)), f"'{key}' is not a property SAM takes in Globals.{name}"
                    )
            self.globals[name] = {k: v for k, v in props.items() if k in allowed}

    # -- Globals ----------------------------------------------------------------------------------

    def merged(self, resource: Resource | None, section: str) -> tuple[dict[str, Any], _Origins]:
        """The resource's properties with ``Globals.<section>`` merged in, resolved, and where each
        came from (keys ``Prop`` and ``Prop.Sub.Key`` for merged maps)."""
        global_props = dict(self.globals.get(section, {}))
        local: Mapping[str, Any] = (
            resource.properties if resource is not None and not resource.generated else {}
        )
        if resource is not None and not resource.generated:
            ignore = self.ignore_globals(resource)
            if ignore == "*":
                global_props = {}
            else:
                for key in ignore:
                    global_props.pop(key, None)
        out: dict[str, Any] = {}
        refs = _Origins(self.doc)
        base: KeyPath = (*resource.path, "Properties") if resource is not None else ()
        owner = resource.logical_id if resource is not None else section
        for key in [*global_props, *(k for k in local if k not in global_props)]:
            # what resolving reports waits for classify (an unresolvable ignored property is no problem)
            saved, deferred = self.resolver.report, Deferred()
            self.resolver.report = deferred
            try:
                value = self._merge(
                    global_props.get(key, _MISSING),
                    local.get(key, _MISSING),
                    ("Globals", section, key),
                    (*base, key),
                    key,
                    refs,
                )
            finally:
                self.resolver.report = saved
            self.defer(owner, key, deferred)
            if value is not NO_VALUE:
                out[key] = value
        return out, refs

    def ignore_globals(self, resource: Resource) -> str | list[str]:
        raw = self.doc.get((*resource.path, "IgnoreGlobals"))
        if raw is None:
            return []
        if raw == "*":
            return "*"
        if isinstance(raw, list):
            return [str(k) for k in raw]
        self.ctx.error(
            self.doc.ref((*resource.path, "IgnoreGlobals")), "IgnoreGlobals is '*' or a list of properties"
        )
        return []

    def _merge(self, g: Any, local: Any, gpath: KeyPath, lpath: KeyPath, label: str, refs: _Origins) -> Any:
        if g is _MISSING:
            refs.paths[label] = lpath
            return self.resolver.resolve(local, lpath)
        if local is _MISSING:
            refs.paths[label] = gpath
            return self.resolver.resolve(g, gpath)
        kind_g, kind_l = _token(g), _token(local)
        refs.paths[label] = lpath
        if kind_g != kind_l or kind_g == "primitive":
            return self.resolver.resolve(local, lpath)
        if kind_g == "dict":
            out: dict[str, Any] = {}
            for key in [*g, *(k for k in local if k not in g)]:
                value = self._merge(
                    g.get(key, _MISSING),
                    local.get(key, _MISSING),
                    (*gpath, key),
                    (*lpath, key),
                    f"{label}.{key}",
                    refs,
                )
                if value is not NO_VALUE:
                    out[key] = value
            return out
        if label == "Architectures":
            return self.resolver.resolve(local, lpath)
        first = self.resolver.resolve(g, gpath)
        second = self.resolver.resolve(local, lpath)
        return [*(first if isinstance(first, list) else []), *(second if isinstance(second, list) else [])]

    # -- implicit APIs ----------------------------------------------------------------------------

    def declare_implicit_apis(self, resources: list[Resource]) -> None:
        """``ServerlessRestApi`` / ``ServerlessHttpApi`` exist when an ``Api`` / ``HttpApi`` event
        names no API (SAM's implicit API plugins)."""
        first: dict[str, KeyPath] = {}
        for resource in resources:
            if resource.type != "AWS::Serverless::Function":
                continue
            events = resource.properties.get("Events")
            if not isinstance(events, dict):
                continue
            for name, event in events.items():
                if not isinstance(event, dict):
                    continue
                props = _mapping(event.get("Properties"))
                at: KeyPath = (*resource.path, "Properties", "Events", name)
                if event.get("Type") == "Api" and "RestApiId" not in props:
                    first.setdefault(IMPLICIT_REST, at)
                elif event.get("Type") == "HttpApi" and "ApiId" not in props:
                    first.setdefault(IMPLICIT_HTTP, at)
        for logical_id, at in first.items():
            if logical_id in self.resolver.resources:
                self.ctx.error(
                    self.doc.ref(("Resources", logical_id)),
                    f"{logical_id} is the API SAM creates for events without an API: rename this resource",
                )
                continue
            rtype = "AWS::Serverless::Api" if logical_id == IMPLICIT_REST else "AWS::Serverless::HttpApi"
            properties = {"StageName": "Prod"} if logical_id == IMPLICIT_REST else {}
            self.resolver.add_resource(
                Resource(
                    logical_id=logical_id,
                    type=rtype,
                    properties=properties,
                    path=at,
                    doc=self.doc,
                    generated=True,
                )
            )
            self._implicit.append(logical_id)

    def declare_generated_resources(self, resources: list[Resource]) -> None:
        """Resources SAM generates that a template may reference (SAM's "Generated AWS CloudFormation
        resources"): ``<Function>Role`` for a function without ``Role``, ``<Api><Stage>Stage`` for a
        REST API, ``<HttpApi>ApiGatewayDefaultStage``. Referenced (an output, an invoke role), they
        resolve like the template's own resources; none of them does anything locally."""
        generated: list[tuple[str, str, dict[str, Any], KeyPath]] = []
        for resource in [*resources, *(self.resolver.resources[i] for i in self._implicit)]:
            props = resource.properties if isinstance(resource.properties, dict) else {}
            if resource.type == "AWS::Serverless::Function" and "Role" not in props:
                generated.append((f"{resource.logical_id}Role", "AWS::IAM::Role", {}, resource.path))
            elif resource.type == "AWS::Serverless::Api":
                stage = props.get("StageName", "Prod")
                if isinstance(stage, str):
                    name = f"{resource.logical_id}{stage}Stage"
                    generated.append((name, "AWS::ApiGateway::Stage", {"StageName": stage}, resource.path))
            elif resource.type == "AWS::Serverless::HttpApi":
                name = f"{resource.logical_id}ApiGatewayDefaultStage"
                generated.append((name, "AWS::ApiGatewayV2::Stage", {"StageName": "$default"}, resource.path))
        for logical_id, rtype, properties, path in generated:
            if logical_id not in self.resolver.resources:
                self.resolver.add_resource(
                    Resource(
                        logical_id=logical_id,
                        type=rtype,
                        properties=properties,
                        path=path,
                        doc=self.doc,
                        generated=True,
                    )
                )

    def other_api_names(self, resources: list[Resource]) -> list[str]:
        explicit = [
            r.logical_id for r in resources if r.type in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi")
        ]
        return [*explicit, *self._implicit]

    # -- functions and their events ---------------------------------------------------------------

    def read_functions(self, resources: list[Resource]) -> None:
        super().read_functions(resources)
        for resource in resources:
            if resource.type == "AWS::Serverless::Function":
                self.sam_function(resource)

    def sam_function(self, resource: Resource) -> None:
        props, refs = self.merged(resource, "Function")
        self.classify(
            resource,
            props,
            {
                "Handler",
                "Runtime",
                "CodeUri",
                "InlineCode",
                "FunctionName",
                "Environment",
                "Timeout",
                "MemorySize",
                "Events",
                "ReservedConcurrentExecutions",
                "PackageType",
            },
            _FUNCTION_IGNORED,
            _FUNCTION_REFUSED,
            refs=refs,
        )
        key = self.function_key(resource)
        if props.get("PackageType") == "Image" or "ImageUri" in props:
            if props.get("PackageType") == "Image":
                self.ctx.refuse(
                    refs.get("PackageType") or self.at(resource),
                    "container-image functions are not run: Gatehold runs Python handlers from local code",
                )
            return
        code_path = self.code_path(resource, props, refs)
        if code_path is not None:
            code_ref = refs.get("CodeUri") or refs.get("InlineCode") or self.at(resource)
            self.put_function(resource, props, code_path, code_ref=code_ref, refs=refs)
        events = resource.properties.get("Events")
        if isinstance(events, dict):
            for name, event in events.items():
                self.event(resource, key, str(name), event)
        elif events is not None:
            self.ctx.error(self.ref(resource, "Events"), "Events must be a mapping")

    def code_path(
        self, resource: Resource, props: Mapping[str, Any], refs: Mapping[str, SourceRef]
    ) -> Path | None:
        """``CodeUri`` as a local directory (relative to the template), ``InlineCode`` written to a
        file; S3 locations are refused; no ``CodeUri`` is the template's directory, as
        ``sam local`` reads it."""
        if "InlineCode" in props:
            return self.inline_code(
                resource,
                props["InlineCode"],
                props.get("Runtime"),
                refs.get("InlineCode") or self.at(resource),
            )
        uri = props.get("CodeUri")
        src = refs.get("CodeUri") or self.at(resource)
        if uri is None:
            return self.ctx.base_dir
        if isinstance(uri, dict):
            where = "/".join(str(uri.get(k, "")) for k in ("Bucket", "Key"))
            self.ctx.refuse(
                src,
                f"the code is in S3 ({where}): Gatehold runs code from a local directory (CodeUri: ./src)",
            )
            return None
        if not isinstance(uri, str):
            self.ctx.error(src, "CodeUri must be a directory")
            return None
        return self.local_code_dir("CodeUri", uri, src)

    def event(self, function: Resource, key: str, name: str, raw: Any) -> None:
        at: KeyPath = (*function.path, "Properties", "Events", name)
        if not isinstance(raw, dict) or not isinstance(raw.get("Type"), str):
            self.ctx.error(self.doc.ref(at), "an event needs a Type")
            return
        kind = raw["Type"]
        if kind in _EVENT_TYPES_IGNORED:
            self.ignore_property_of(
                function.type,
                function.logical_id,
                f"Events of type {kind}",
                self.doc.ref(at),
                "no HTTP request reaches it: locally the function runs through API routes only",
            )
            return
        if kind not in ("Api", "HttpApi"):
            self.ctx.refuse(self.doc.ref((*at, "Type")), f"events of type {kind} are not supported")
            return
        raw_props = _mapping(raw.get("Properties"))
        props = self.resolver.resolve_properties(raw_props, (*at, "Properties"))
        for extra in raw:
            if extra not in ("Type", "Properties"):
                self.ctx.refuse(self.doc.ref((*at, extra)), f"{extra} is not part of an event Gatehold knows")
        if kind == "Api":
            allowed = {
                "Path",
                "Method",
                "RestApiId",
                "Auth",
                "RequestModel",
                "RequestParameters",
                "TimeoutInMillis",
            }
            api = self.api_of(props, raw_props, "RestApiId", IMPLICIT_REST, at, ("AWS::Serverless::Api",))
        else:
            allowed = {
                "Path",
                "Method",
                "ApiId",
                "Auth",
                "PayloadFormatVersion",
                "RouteSettings",
                "TimeoutInMillis",
            }
            api = self.api_of(props, raw_props, "ApiId", IMPLICIT_HTTP, at, ("AWS::Serverless::HttpApi",))
        for prop in props:
            if prop not in allowed:
                self.ctx.refuse(
                    self.doc.ref((*at, "Properties", prop)),
                    f"{prop} is not a property of a {kind} event that Gatehold knows",
                )
        if api is None:
            return
        route_key = self.event_route_key(kind, props, at)
        if route_key is None:
            return
        self.events.append(
            _Event(function, key, name, "Api" if kind == "Api" else "HttpApi", props, at, api, route_key)
        )

    def api_of(
        self,
        props: Mapping[str, Any],
        raw: Mapping[str, Any],
        prop: str,
        implicit: str,
        at: KeyPath,
        types: tuple[str, ...],
    ) -> str | None:
        if prop not in raw:
            return implicit
        value = props.get(prop)
        src = self.doc.ref((*at, "Properties", prop))
        found = self.resolver.what(value)
        logical = (
            found[1] if found is not None and found[0] == "api" else value if isinstance(value, str) else None
        )
        resource = self.resolver.resources.get(logical) if isinstance(logical, str) else None
        if resource is not None and resource.type not in types:
            self.ctx.error(src, f"{prop} names {logical}, an {resource.type}: it must name an {types[0]}")
            return None
        if resource is None:
            self.ctx.error(src, f"{prop} must name an {types[0]} of this template (with !Ref)")
            return None
        return logical

    def event_route_key(self, kind: str, props: Mapping[str, Any], at: KeyPath) -> str | None:
        path, method = props.get("Path"), props.get("Method")
        if kind == "HttpApi" and path is None and method is None:
            return "$default"
        if not isinstance(path, str) or not path.startswith("/"):
            self.ctx.error(self.doc.ref((*at, "Properties", "Path")), "an event's Path must start with '/'")
            return None
        if not isinstance(method, str):
            if kind == "HttpApi":
                method = "ANY"
            else:
                self.ctx.error(self.doc.ref((*at, "Properties")), "an Api event needs a Method")
                return None
        verb = method.upper()
        if verb not in ("ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
            self.ctx.error(
                self.doc.ref((*at, "Properties", "Method")), f"Method {method!r} is not an HTTP method or any"
            )
            return None
        return f"{verb} {path}"

    # -- the SAM APIs -----------------------------------------------------------------------------

    def build_sam_apis(self) -> None:
        for logical_id, resource in self.resolver.resources.items():
            if resource.type not in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi"):
                continue
            if not resource.generated and not self.resolver.exists(logical_id):
                continue
            kind: Literal["REST", "HTTP"] = "REST" if resource.type == "AWS::Serverless::Api" else "HTTP"
            props, refs = self.merged(resource, "Api" if kind == "REST" else "HttpApi")
            if resource.generated and kind == "REST":
                props.setdefault("StageName", "Prod")
            api = _SamApi(logical_id, kind, resource, props, refs, resource.generated)
            self.sam_apis[logical_id] = api
        for section, kind, rtype in (
            ("Api", "REST", "AWS::Serverless::Api"),
            ("HttpApi", "HTTP", "AWS::Serverless::HttpApi"),
        ):
            if self.globals.get(section) and not any(a.kind == kind for a in self.sam_apis.values()):
                self.ctx.ignore(
                    self.doc.ref(("Globals", section)),
                    f"Globals.{section} applies to {rtype} resources (and the implicit API of"
                    f" {'Api' if kind == 'REST' else 'HttpApi'} events); the template has none",
                )
        for event in self.events:
            sam_api = self.sam_apis.get(event.api)
            if sam_api is not None:
                sam_api.events.append(event)
        for sam_api in self.sam_apis.values():
            self.sam_api(sam_api)

    def src(self, api: _SamApi, *keys: str | int) -> SourceRef:
        """Where property ``keys`` of a SAM API was written (its own properties or Globals)."""
        return api.refs.get(".".join(str(k) for k in keys)) or self.at(api.resource)

    def sam_api(self, api: _SamApi) -> None:
        props = api.props
        name = api.logical_id
        resource = api.resource
        if api.kind == "REST":
            honoured = {
                "StageName",
                "Variables",
                "Cors",
                "DefinitionBody",
                "DefinitionUri",
                "BinaryMediaTypes",
                "GatewayResponses",
                "MethodSettings",
                "Auth",
                "AccessLogSetting",
                "Models",
                "Description",
                "DisableExecuteApiEndpoint",
                "ApiKeySourceType",
                "OpenApiVersion",
                "MergeDefinitions",
            }
        else:
            honoured = {
                "StageName",
                "StageVariables",
                "CorsConfiguration",
                "DefinitionBody",
                "DefinitionUri",
                "Auth",
                "AccessLogSettings",
                "DefaultRouteSettings",
                "RouteSettings",
                "Description",
                "DisableExecuteApiEndpoint",
                "Name",
            }
        self.classify(resource, props, honoured, _API_IGNORED, _DOMAIN_REFUSED, refs=api.refs)
        stages = self.sam_stages(api)
        skeleton = self.skeleton(name, api.kind, resource, stages)
        if api.implicit:
            self.ctx.at(("apis", name), api.events[0].ref(self) if api.events else self.at(resource))
        if isinstance(props.get("Description"), str):
            skeleton["description"] = props["Description"]
            self.ctx.at(("apis", name, "description"), self.src(api, "Description"))
        if "DisableExecuteApiEndpoint" in props:
            skeleton["disable_execute_api_endpoint"] = props["DisableExecuteApiEndpoint"]
            self.ctx.at(
                ("apis", name, "disable_execute_api_endpoint"), self.src(api, "DisableExecuteApiEndpoint")
            )
        if "ApiKeySourceType" in props:
            skeleton["api_key_source"] = props["ApiKeySourceType"]
        if props.get("BinaryMediaTypes"):
            skeleton["binary_media_types"] = [str(t).replace("~1", "/") for t in props["BinaryMediaTypes"]]
            self.ctx.at(("apis", name, "binary_media_types"), self.src(api, "BinaryMediaTypes"))
        auth = _mapping(props.get("Auth"))
        authorizer_names = self.sam_authorizers(api, auth)
        written = {*resource.properties, *self.globals.get("Api" if api.kind == "REST" else "HttpApi", {})}
        if not api.events and not {"DefinitionBody", "DefinitionUri"} & (set(props) | written):
            kind = "Api" if api.kind == "REST" else "HttpApi"
            self.ctx.error(
                self.at(resource),
                f"'DefinitionUri' or 'DefinitionBody' are required properties of an '{resource.type}'."
                f" Add a value for one of these properties or add a '{kind}' event to an"
                " 'AWS::Serverless::Function' (SAM)",
            )
        in_definition = self.sam_definition(api, set(authorizer_names))
        self.sam_events(api, in_definition, authorizer_names)
        if api.kind == "REST":
            self.sam_rest_cors(api)
        else:
            self.sam_http_cors(api)
        self.sam_defaults(api, auth, authorizer_names)
        self.sam_gateway_responses(api)
        self.sam_usage_plan(api, auth)
        self.sam_throttling(api)

    def sam_stages(self, api: _SamApi) -> dict[str, Any]:
        props = api.props
        stage: dict[str, Any] = {}
        if api.kind == "REST":
            name = props.get("StageName")
            unresolved = "StageName" not in props and "StageName" in api.resource.properties
            if unresolved:  # the resolver said why
                name = "Prod"
            elif not isinstance(name, str) or not name:
                self.ctx.error(
                    self.src(api, "StageName") if "StageName" in props else self.at(api.resource),
                    "an AWS::Serverless::Api needs a StageName",
                )
                name = "Prod"
            variables = props.get("Variables")
            log = self.access_log(api.resource, props.get("AccessLogSetting"), ("AccessLogSetting",))
        else:
            name = props.get("StageName", "$default")
            variables = props.get("StageVariables")
            log = self.access_log(api.resource, props.get("AccessLogSettings"), ("AccessLogSettings",))
        if isinstance(variables, dict):
            stage["variables"] = {str(k): _text(v) for k, v in variables.items()}
        if log is not None:
            stage["access_log"] = log
        stages: dict[str, Any] = {str(name): stage}
        if api.kind == "REST" and "OpenApiVersion" not in props and name != "Stage":
            stages["Stage"] = {}
            self.ctx.note(
                self.at(api.resource)
                if not api.implicit
                else (api.events[0].ref(self) if api.events else self.at(api.resource)),
                f"{api.logical_id} is also served on stage 'Stage', which SAM creates when OpenApiVersion"
                " is not set (set OpenApiVersion to drop it)",
            )
        return stages

    # authorizers -------------------------------------------------------------------------------

    def sam_authorizers(self, api: _SamApi, auth: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
        """``Auth.Authorizers`` into the model; ``None`` for the ones refused. Returns every name."""
        names: dict[str, dict[str, Any] | None] = {}
        allowed = (
            {
                "Authorizers",
                "DefaultAuthorizer",
                "AddDefaultAuthorizerToCorsPreflight",
                "ApiKeyRequired",
                "UsagePlan",
                "AddApiKeyRequiredToCorsPreflight",
                "InvokeRole",
                "ResourcePolicy",
            }
            if api.kind == "REST"
            else {"Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"}
        )
        for key in auth:
            if key not in allowed:
                self.ctx.refuse(
                    self.src(api, "Auth", key),
                    f"{key} is not an Auth setting of {api.resource.type} Gatehold knows",
                )
        if "ResourcePolicy" in auth:
            self.ctx.refuse(
                self.src(api, "Auth", "ResourcePolicy"),
                "resource policies (IP, VPC, account conditions) are not evaluated locally",
            )
        if "InvokeRole" in auth:
            self.ignore_property_of(
                api.resource.type,
                api.logical_id,
                "Auth.InvokeRole",
                self.src(api, "Auth", "InvokeRole"),
                "IAM has no local meaning",
            )
        if auth.get("EnableIamAuthorizer") is True:
            names["AWS_IAM"] = None
        authorizers = auth.get("Authorizers") or {}
        if not isinstance(authorizers, dict):
            self.ctx.error(self.src(api, "Auth", "Authorizers"), "Authorizers must be a mapping")
            return names
        for auth_name, config in authorizers.items():
            src = self.src(api, "Auth", "Authorizers", auth_name)
            if auth_name == "AWS_IAM":
                names["AWS_IAM"] = None
                continue
            if not isinstance(config, dict):
                self.ctx.error(src, f"authorizer {auth_name} must be a mapping")
                continue
            model = (
                self.rest_authorizer_config(api, auth_name, config, src)
                if api.kind == "REST"
                else self.http_authorizer_config(api, auth_name, config, src)
            )
            names[str(auth_name)] = model
            if model is not None:
                self.ctx.put(("apis", api.logical_id, "authorizers", str(auth_name)), model, src)
        return names

    def rest_authorizer_config(
        self, api: _SamApi, name: str, config: Mapping[str, Any], src: SourceRef
    ) -> dict[str, Any] | None:
        def at(*keys: str) -> SourceRef:
            return self.src(api, "Auth", "Authorizers", name, *keys)

        if "UserPoolArn" in config:
            self.ctx.refuse(src, "Cognito user-pool authorizers are not supported")
            return None
        for key in config:
            if key in (
                "FunctionArn",
                "FunctionPayloadType",
                "Identity",
                "FunctionInvokeRole",
                "AuthorizationScopes",
                "DisableFunctionDefaultPermissions",
                "AuthorizerPayloadFormatVersion",
                "EnableSimpleResponses",
                "EnableFunctionDefaultPermissions",
            ):
                continue
            self.ctx.refuse(at(key), f"{key} is not a property of a Lambda authorizer Gatehold knows")
        for key in (
            "AuthorizerPayloadFormatVersion",
            "EnableSimpleResponses",
            "EnableFunctionDefaultPermissions",
        ):
            if key in config:
                self.ignore_property_of(
                    "Lambda authorizer",
                    f"{api.logical_id}.{name}",
                    key,
                    at(key),
                    "SAM reads it for HTTP APIs only: it has no effect on a REST API's authorizer",
                )
        if "FunctionInvokeRole" in config:
            self.ignore_property_of(
                "Lambda authorizer",
                f"{api.logical_id}.{name}",
                "FunctionInvokeRole",
                at("FunctionInvokeRole"),
                "IAM has no local meaning",
            )
        if config.get("AuthorizationScopes"):
            self.ignore_property_of(
                "Lambda authorizer",
                f"{api.logical_id}.{name}",
                "AuthorizationScopes",
                at("AuthorizationScopes"),
                "API Gateway checks method scopes with Cognito authorizers only",
            )
        if "FunctionArn" not in config:
            self.ctx.error(src, f"{name} Lambda Authorizer must define 'FunctionArn' (SAM)")
            return None
        function = self.authorizer_function_arn(config.get("FunctionArn"), at("FunctionArn"))
        if function is None:
            return None
        kind = str(config.get("FunctionPayloadType", "TOKEN")).upper()
        if kind not in ("TOKEN", "REQUEST"):
            self.ctx.error(at("FunctionPayloadType"), f"FunctionPayloadType {kind!r} is not TOKEN or REQUEST")
            return None
        identity = config.get("Identity") or {}
        if not isinstance(identity, dict):
            self.ctx.error(at("Identity"), "Identity must be a mapping")
            return None
        out: dict[str, Any] = {"type": kind, "function": function}
        allowed = (
            {"Header", "ValidationExpression", "ReauthorizeEvery"}
            if kind == "TOKEN"
            else {"Headers", "QueryStrings", "StageVariables", "Context", "ReauthorizeEvery"}
        )
        for key in identity:
            if key in allowed:
                continue
            if key in _IDENTITY_KEYS:  # SAM reads them for the other payload type only
                read = "Header" if kind == "TOKEN" else "Headers, QueryStrings, StageVariables and Context"
                self.ignore_property_of(
                    "Lambda authorizer",
                    f"{api.logical_id}.{name}",
                    f"Identity.{key}",
                    at("Identity", key),
                    f"SAM reads Identity.{read} of a {kind} authorizer: {key} has no effect",
                )
                continue
            self.ctx.refuse(at("Identity", key), f"{key} is not part of a {kind} authorizer's Identity")
        if kind == "TOKEN":
            out["identity_source"] = [f"method.request.header.{identity.get('Header') or 'Authorization'}"]
            if identity.get("ValidationExpression"):
                out["identity_validation_expression"] = str(identity["ValidationExpression"])
        else:
            sources: list[str] = []
            for key, prefix in (
                ("Headers", "method.request.header."),
                ("QueryStrings", "method.request.querystring."),
                ("StageVariables", "stageVariables."),
                ("Context", "context."),
            ):
                sources.extend(prefix + str(v) for v in identity.get(key) or [])
            ttl = identity.get("ReauthorizeEvery")
            if not sources and (ttl is None or int(_number(ttl)) > 0):
                self.ctx.error(
                    at("Identity") if "Identity" in config else src,
                    f"{name} Authorizer must specify Identity with at least one of Headers, QueryStrings,"
                    " StageVariables, or Context (SAM)",
                )
                return None
            out["identity_source"] = sources
        if identity.get("ReauthorizeEvery") is not None:
            out["result_ttl"] = _number(identity["ReauthorizeEvery"])
        return out

    def http_authorizer_config(
        self, api: _SamApi, name: str, config: Mapping[str, Any], src: SourceRef
    ) -> dict[str, Any] | None:
        def at(*keys: str) -> SourceRef:
            return self.src(api, "Auth", "Authorizers", name, *keys)

        known = {
            "JwtConfiguration",
            "IdentitySource",
            "AuthorizationScopes",
            "FunctionArn",
            "FunctionInvokeRole",
            "Identity",
            "AuthorizerPayloadFormatVersion",
            "EnableSimpleResponses",
            "EnableFunctionDefaultPermissions",
        }
        for key in config:
            if key == "OpenIdConnectUrl":
                self.ctx.refuse(
                    at(key), "OpenIdConnectUrl: give JwtConfiguration.issuer (the issuer is not discovered)"
                )
            elif key not in known:
                self.ctx.refuse(at(key), f"{key} is not a property of an HTTP API authorizer Gatehold knows")
        for key, why in (
            ("FunctionInvokeRole", "IAM has no local meaning"),
            ("EnableFunctionDefaultPermissions", "invoke permissions: locally API Gateway may always invoke"),
        ):
            if key in config:
                self.ignore_property_of("HTTP API authorizer", f"{api.logical_id}.{name}", key, at(key), why)
        jwt = config.get("JwtConfiguration")
        if jwt is not None:
            if not isinstance(jwt, dict):
                self.ctx.error(at("JwtConfiguration"), "JwtConfiguration must be a mapping")
                return None
            lowered = {str(k).lower(): v for k, v in jwt.items()}
            issuer = lowered.get("issuer")
            if not isinstance(issuer, str):
                self.ctx.error(at("JwtConfiguration"), f"{name} JWT authorizer needs JwtConfiguration.issuer")
                return None
            source = config.get("IdentitySource")
            if not isinstance(source, str):
                self.ctx.error(src, f"{name} OAuth2 Authorizer must define 'IdentitySource' (SAM)")
                return None
            audience = lowered.get("audience") or []
            return {
                "type": "JWT",
                "identity_source": [s.strip() for s in source.split(",") if s.strip()],
                "jwt_configuration": {
                    "issuer": self.ctx.alias_issuer(issuer, at("JwtConfiguration")),
                    "audience": [str(a) for a in (audience if isinstance(audience, list) else [audience])],
                },
            }
        if "FunctionArn" not in config:
            self.ctx.error(
                src, f"{name} is neither a JWT authorizer (JwtConfiguration) nor a Lambda one (FunctionArn)"
            )
            return None
        function = self.authorizer_function_arn(config.get("FunctionArn"), at("FunctionArn"))
        if function is None:
            return None
        version = config.get("AuthorizerPayloadFormatVersion")
        if version is None:
            self.ctx.error(
                src, f"{name} Lambda Authorizer must define 'AuthorizerPayloadFormatVersion' (SAM)"
            )
            return None
        out: dict[str, Any] = {
            "type": "REQUEST",
            "function": function,
            "payload_format_version": version_text(version),
        }
        if config.get("EnableSimpleResponses") is True:
            out["enable_simple_responses"] = True
        identity = config.get("Identity") or {}
        sources: list[str] = []
        if isinstance(identity, dict):
            for key in identity:
                if key not in ("Headers", "QueryStrings", "StageVariables", "Context", "ReauthorizeEvery"):
                    self.ctx.refuse(
                        at("Identity", key), f"{key} is not part of a Lambda authorizer's Identity"
                    )
            for key, prefix in (
                ("Headers", "$request.header."),
                ("QueryStrings", "$request.querystring."),
                ("StageVariables", "$stageVariables."),
                ("Context", "$context."),
            ):
                sources.extend(prefix + str(v) for v in identity.get(key) or [])
            if identity.get("ReauthorizeEvery") is not None:
                out["result_ttl"] = _number(identity["ReauthorizeEvery"])
        if not sources:
            # SAM writes no identitySource and no TTL: API Gateway calls the authorizer on every
            # request (nothing to cache on, nothing to answer 401 for before the call)
            if out.get("result_ttl", 0) > 0:
                self.ctx.error(
                    at("Identity", "ReauthorizeEvery"),
                    f"{name} caches its results (ReauthorizeEvery {out['result_ttl']}) but names no"
                    " Identity Headers, QueryStrings, StageVariables or Context to cache them on",
                )
                return None
            out["result_ttl"] = 0
        out["identity_source"] = sources
        return out

    def authorizer_function_arn(self, value: Any, src: SourceRef) -> str | None:
        parsed = lambda_function_name(str(value)) if isinstance(value, str) else None
        if parsed is None:
            self.ctx.error(src, f"FunctionArn {value!r} is not a Lambda function ARN")
            return None
        return self.ctx.function_key(parsed[0])

    # the definition ----------------------------------------------------------------------------

    def sam_definition(self, api: _SamApi, sam_authorizers: set[str]) -> dict[str, str]:
        """``DefinitionBody`` / ``DefinitionUri`` through the OpenAPI importer. Before: the events
        SAM applies to the definition get their operations' integrations, and security requirements
        naming SAM's authorizers are taken out (SAM adds those authorizers itself) and applied
        afterwards.

        Which events SAM applies (``samtranslator/model/eventsources/push.py``): ``HttpApi`` events
        always edit an inline ``DefinitionBody`` — an operation without an integration gets the
        event's, one with an integration keeps it (the event's ``Auth``, ``TimeoutInMillis`` and
        ``PayloadFormatVersion`` still apply). ``Api`` events edit a REST API's own ``DefinitionBody``
        only with ``MergeDefinitions: true`` (the event's operation wins over the definition's);
        without it SAM leaves the definition as written (``implicit_api_plugin``: "customers write
        their own Swagger and manage it"). Neither edits a ``DefinitionUri`` file.

        Returns, by route key of an event whose operation is in the definition: ``written`` (the
        event's integration), ``kept`` (the definition's, an HTTP API), ``unintegrated`` (a REST
        operation SAM leaves without integration)."""
        props = api.props
        if "DefinitionBody" in props and "DefinitionUri" in props:
            self.ctx.error(
                self.src(api, "DefinitionUri"),
                "Specify either 'DefinitionUri' or 'DefinitionBody' property and not both (SAM)",
            )
            return {}
        doc: Document | None = None
        at: KeyPath = ()
        if "DefinitionBody" in props:
            body = props["DefinitionBody"]
            at = (*api.resource.path, "Properties", "DefinitionBody")
            doc = self.doc
            if not isinstance(body, dict):
                self.ctx.error(self.src(api, "DefinitionBody"), "DefinitionBody must be an OpenAPI document")
                return {}
            inline = True
        elif "DefinitionUri" in props:
            uri = props["DefinitionUri"]
            src = self.src(api, "DefinitionUri")
            if isinstance(uri, dict) or (isinstance(uri, str) and uri.startswith("s3://")):
                self.ctx.refuse(
                    src,
                    "the definition is in S3: point DefinitionUri at the local file (or use DefinitionBody)",
                )
                return {}
            if not isinstance(uri, str):
                self.ctx.error(src, "DefinitionUri must be a file path")
                return {}
            doc = self.ctx.read(uri, src)
            if doc is None or not isinstance(doc.data, dict):
                return {}
            body = doc.data
            inline = False
            for key in ("Auth", "Cors", "CorsConfiguration", "GatewayResponses", "Models"):
                if key in props:
                    self.ctx.error(
                        self.src(api, key),
                        f"{key} works only with an inline definition in DefinitionBody"
                        " (SAM does not edit a DefinitionUri file)",
                    )
        else:
            return {}
        definition = copy.deepcopy(body)
        paths = _mapping(definition.get("paths"))
        self._definition_auth = self.strip_security(definition, sam_authorizers)
        merged = inline and (api.kind == "HTTP" or props.get("MergeDefinitions") is True)
        found: dict[str, str] = {}
        for event in api.events:
            if not inline:
                continue
            path, method = _operation(event.route_key)
            if event.route_key == "$default" and path not in paths and "$default" in paths:
                path = "$default"  # SAM's own spelling of the default route's path
            item = paths.get(path)
            if not isinstance(item, dict) or method not in item:
                continue
            operation = item[method]
            integrated = isinstance(operation, dict) and "x-amazon-apigateway-integration" in operation
            if not merged:
                if not integrated:
                    found[event.route_key] = "unintegrated"
                continue
            if integrated and api.kind == "HTTP":
                found[event.route_key] = "kept"
                continue
            if isinstance(operation, dict):
                r = self.resolver
                arn = f"arn:{r.partition}:lambda:{r.region}:{r.account_id}:function:{event.function_key}"
                integration: dict[str, Any] = {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": f"arn:{r.partition}:apigateway:{r.region}:lambda:path/2015-03-31/functions/{arn}"
                    "/invocations",
                }
                if api.kind == "HTTP":
                    integration["payloadFormatVersion"] = version_text(
                        event.props.get("PayloadFormatVersion", "2.0")
                    )
                if "TimeoutInMillis" in event.props:
                    integration["timeoutInMillis"] = event.props["TimeoutInMillis"]
                operation["x-amazon-apigateway-integration"] = integration
                found[event.route_key] = "written"
        self.definition(api.logical_id, api.kind, definition, api.resource, at, doc=doc, original=body)
        return found

    def strip_security(self, definition: dict[str, Any], names: set[str]) -> dict[str, tuple[str, list[str]]]:
        """Take out the security requirements naming SAM's authorizers (or SAM's ``NONE``) and the
        schemes of the same names (SAM's win); return, by route key, the authorizer and scopes
        each operation asked for (its own ``security``, else the root's)."""
        marker = {*names, "NONE"}

        def take(security: Any) -> tuple[tuple[str, list[str]] | None, Any]:
            if not isinstance(security, list):
                return None, security
            keep: list[Any] = []
            found: tuple[str, list[str]] | None = None
            for requirement in security:
                if isinstance(requirement, dict) and any(k in marker for k in requirement):
                    for k, v in requirement.items():
                        if k in marker:
                            found = (str(k), [str(x) for x in v] if isinstance(v, list) else [])
                    rest = {k: v for k, v in requirement.items() if k not in marker}
                    if rest:
                        keep.append(rest)
                else:
                    keep.append(requirement)
            return found, keep

        root, kept = take(definition.get("security"))
        if "security" in definition:
            definition["security"] = kept
        schemes = definition.get("securityDefinitions")
        components = definition.get("components")
        v3_schemes = components.get("securitySchemes") if isinstance(components, dict) else None
        for table in (schemes, v3_schemes):
            if isinstance(table, dict):
                for name in names:
                    table.pop(name, None)
        out: dict[str, tuple[str, list[str]]] = {}
        paths = definition.get("paths")
        for path, item in paths.items() if isinstance(paths, dict) else ():
            if not isinstance(item, dict):
                continue
            for method, operation in item.items():
                key = _route_key(str(path), str(method))
                if key is None or not isinstance(operation, dict):
                    continue
                if "security" in operation:
                    found, kept = take(operation["security"])
                    operation["security"] = kept
                else:
                    found = root
                if found is not None:
                    out[key] = found
        return out

    # events ------------------------------------------------------------------------------------

    def sam_events(
        self,
        api: _SamApi,
        in_definition: dict[str, str],
        authorizers: Mapping[str, dict[str, Any] | None],
    ) -> None:
        name = api.logical_id
        model = self.ctx.data.get("apis", {}).get(name)
        if model is None:
            return
        routes = model.setdefault("routes", {})
        uri_only = "DefinitionUri" in api.props
        unmanaged = (
            api.kind == "REST"
            and "DefinitionBody" in api.props
            and api.props.get("MergeDefinitions") is not True
        )
        # routes of the definition: the authorizers taken out of its security
        for key, (authorizer, scopes) in self._definition_auth.items():
            if key in routes:
                self.set_authorizer(
                    api, key, authorizer, scopes or None, authorizers, self.src(api, "DefinitionBody")
                )
        self._definition_auth = {}
        for event in api.events:
            key = event.route_key
            if id(event) in self._reported:
                continue
            status = in_definition.get(key)
            r: KeyPath = ("apis", name, "routes", key)
            if uri_only or unmanaged:
                self.unedited_definition_event(api, event, status, routes)
                continue
            if status == "written":
                self.ctx.at(r, event.ref(self))
                self.ctx.at((*r, "integration"), event.ref(self))
            elif status == "kept":
                self.ctx.at(r, event.ref(self))
                integration = routes[key]["integration"] if key in routes else {}
                if "TimeoutInMillis" in event.props:
                    integration["timeout_ms"] = _number(event.props["TimeoutInMillis"])
                    self.ctx.at((*r, "integration", "timeout_ms"), event.ref(self, "TimeoutInMillis"))
                if "PayloadFormatVersion" in event.props and integration.get("type") == "aws_proxy":
                    integration["payload_format_version"] = version_text(event.props["PayloadFormatVersion"])
                    self.ctx.at(
                        (*r, "integration", "payload_format_version"), event.ref(self, "PayloadFormatVersion")
                    )
            else:
                if key in routes:
                    self.ctx.error(
                        event.ref(self),
                        f"API method {key.split(' ')[0]!r} defined multiple times for"
                        f" path {key.split(' ', 1)[-1]!r} (SAM)",
                    )
                    continue
                integration = {"type": "aws_proxy", "function": event.function_key}
                if api.kind == "HTTP":
                    integration["payload_format_version"] = version_text(
                        event.props.get("PayloadFormatVersion", "2.0")
                    )
                if "TimeoutInMillis" in event.props:
                    integration["timeout_ms"] = _number(event.props["TimeoutInMillis"])
                self.put_route(name, key, {"integration": integration}, event.ref(self))
                self.ctx.at((*r, "integration"), event.ref(self))
            self.event_auth(api, event, authorizers)
            if api.kind == "REST":
                self.event_validation(api, event)
            elif "RouteSettings" in event.props:
                self.event_route_settings(api, event)

    def unedited_definition_event(
        self, api: _SamApi, event: _Event, status: str | None, routes: Mapping[str, Any]
    ) -> None:
        """An event on an API whose definition SAM does not edit (a ``DefinitionUri`` file; a REST
        API's own ``DefinitionBody`` without ``MergeDefinitions: true``): its route is whatever the
        definition says, and its settings apply nowhere."""
        key, name = event.route_key, api.logical_id
        where = "DefinitionUri file" if "DefinitionUri" in api.props else "DefinitionBody"
        how = (
            "which SAM does not edit"
            if "DefinitionUri" in api.props
            else "to which SAM adds Api events only with MergeDefinitions: true"
        )
        if status == "unintegrated":
            self.ctx.error(
                event.ref(self),
                f"{key} has no x-amazon-apigateway-integration in {name}'s {where}, {how}: API Gateway"
                " cannot deploy the method (add MergeDefinitions: true, or the integration)",
            )
            return
        if key not in routes:
            self.ctx.note(
                event.ref(self), f"{key} is not in {name}'s {where}, {how}: API Gateway would not serve it"
            )
            return
        for prop in ("Auth", "RequestModel", "RequestParameters", "TimeoutInMillis", "RouteSettings"):
            if prop in event.props:
                self.ignore_property_of(
                    f"{event.kind} event",
                    event.function.logical_id,
                    prop,
                    event.ref(self, prop),
                    f"{key} is served as {name}'s {where} has it, {how}",
                )

    def event_auth(
        self, api: _SamApi, event: _Event, authorizers: Mapping[str, dict[str, Any] | None]
    ) -> None:
        auth = event.props.get("Auth")
        if auth is None:
            return
        if not isinstance(auth, dict):
            self.ctx.error(event.ref(self, "Auth"), "Auth must be a mapping")
            return
        allowed = (
            {"Authorizer", "AuthorizationScopes", "ApiKeyRequired", "InvokeRole", "ResourcePolicy"}
            if api.kind == "REST"
            else {"Authorizer", "AuthorizationScopes"}
        )
        for key in auth:
            if key not in allowed:
                self.ctx.refuse(
                    event.ref(self, "Auth", key),
                    f"{key} is not an Auth setting of a {event.kind} event Gatehold knows",
                )
        if "ResourcePolicy" in auth:
            self.ctx.refuse(
                event.ref(self, "Auth", "ResourcePolicy"),
                "resource policies (IP, VPC, account conditions) are not evaluated locally",
            )
        if "InvokeRole" in auth:
            self.ignore_property_of(
                f"{event.kind} event",
                event.function.logical_id,
                "Auth.InvokeRole",
                event.ref(self, "Auth", "InvokeRole"),
                "IAM has no local meaning",
            )
        route = self.ctx.data["apis"][api.logical_id]["routes"].get(event.route_key)
        if route is None:
            return
        api_auth = _mapping(api.props.get("Auth"))
        if auth.get("Authorizer") == "NONE" and not api_auth.get("DefaultAuthorizer"):
            self.ctx.error(
                event.ref(self, "Auth", "Authorizer"),
                f"Unable to set Authorizer on API method [{event.route_key.split(' ')[0].lower()}] for path"
                f" [{event.route_key.split(' ', 1)[-1]}] because 'NONE' is only a valid value when a"
                " DefaultAuthorizer on the API is specified (SAM)",
            )
            return
        if (
            "AuthorizationScopes" in auth
            and "Authorizer" not in auth
            and not api_auth.get("DefaultAuthorizer")
        ):
            if api.kind == "HTTP":
                self.ctx.error(
                    event.ref(self, "Auth"),
                    "'Auth' section requires either an explicit 'Authorizer' set or a 'DefaultAuthorizer'"
                    " configured on the HttpApi (SAM)",
                )
                return
            self.ignore_property_of(
                f"{event.kind} event",
                event.function.logical_id,
                "Auth.AuthorizationScopes",
                event.ref(self, "Auth", "AuthorizationScopes"),
                "no authorizer applies to the method (no Auth.Authorizer, no DefaultAuthorizer): SAM"
                " writes no scopes",
            )
        if "Authorizer" in auth:
            scopes = auth.get("AuthorizationScopes")
            self.set_authorizer(
                api,
                event.route_key,
                str(auth["Authorizer"]),
                [str(s) for s in scopes] if isinstance(scopes, list) else None,
                authorizers,
                event.ref(self, "Auth", "Authorizer"),
            )
            route["_explicit_auth"] = True
        elif "AuthorizationScopes" in auth:
            route["_event_scopes"] = [str(s) for s in auth["AuthorizationScopes"] or []]
            self.ctx.at(
                ("apis", api.logical_id, "routes", event.route_key, "authorization_scopes"),
                event.ref(self, "Auth", "AuthorizationScopes"),
            )
        if "ApiKeyRequired" in auth:
            route["_explicit_api_key"] = bool(auth["ApiKeyRequired"])
            if auth["ApiKeyRequired"]:
                route["api_key_required"] = True
            else:
                route.pop("api_key_required", None)
            self.ctx.at(
                ("apis", api.logical_id, "routes", event.route_key, "api_key_required"),
                event.ref(self, "Auth", "ApiKeyRequired"),
            )

    def set_authorizer(
        self,
        api: _SamApi,
        key: str,
        name: str,
        scopes: list[str] | None,
        authorizers: Mapping[str, dict[str, Any] | None],
        src: SourceRef,
    ) -> None:
        """Route ``key`` uses authorizer ``name`` (``NONE``: none) with ``scopes`` (None: the
        authorizer's own ``AuthorizationScopes``, as SAM's ``_set_method_authorizer``)."""
        route = self.ctx.data["apis"][api.logical_id]["routes"][key]
        r: KeyPath = ("apis", api.logical_id, "routes", key)
        route["_explicit_auth"] = True
        if name == "NONE":
            route.pop("authorizer", None)
            route.pop("authorization_scopes", None)
            return
        if name == "AWS_IAM":
            self.ctx.refuse(src, "IAM (SigV4) authorization is not supported")
            self.unguarded.add((api.logical_id, key))
            return
        if name not in authorizers:
            self.ctx.error(src, f"authorizer {name!r} is not defined in {api.logical_id}'s Auth.Authorizers")
            return
        if authorizers[name] is None:  # refused (Cognito …): never served open
            self.unguarded.add((api.logical_id, key))
            return
        route["authorizer"] = name
        self.ctx.at((*r, "authorizer"), src)
        config = authorizers[name] or {}
        if scopes is None:
            default = self._authorizer_scopes(api, name)
            scopes = default
        if scopes and config.get("type") == "JWT":
            route["authorization_scopes"] = scopes
            self.ctx.at((*r, "authorization_scopes"), src)
        elif scopes:
            self.ignore_property_of(
                f"{api.kind} API route",
                api.logical_id,
                "AuthorizationScopes",
                src,
                "API Gateway checks scopes with JWT and Cognito authorizers only",
            )

    def _authorizer_scopes(self, api: _SamApi, name: str) -> list[str] | None:
        auth = api.props.get("Auth")
        config = (auth.get("Authorizers") or {}).get(name) if isinstance(auth, dict) else None
        scopes = config.get("AuthorizationScopes") if isinstance(config, dict) else None
        return [str(s) for s in scopes] if isinstance(scopes, list) else None

    def event_validation(self, api: _SamApi, event: _Event) -> None:
        """``RequestModel`` / ``RequestParameters``: validated when ``ValidateBody`` /
        ``ValidateParameters`` say so, as SAM adds a request validator only then."""
        model = event.props.get("RequestModel")
        params = event.props.get("RequestParameters")
        validate_body = validate_params = False
        if isinstance(model, dict):
            for key in model:
                if key not in ("Model", "Required", "ValidateBody", "ValidateParameters"):
                    self.ctx.refuse(
                        event.ref(self, "RequestModel", key), f"{key} is not part of RequestModel"
                    )
            if "ValidateBody" in model or "ValidateParameters" in model:
                validate_body = bool(model.get("ValidateBody", False))
                validate_params = bool(model.get("ValidateParameters", False))
        required: list[str] = []
        if isinstance(params, list):
            for entry in params:
                if isinstance(entry, str):
                    continue
                if isinstance(entry, dict):
                    for pname, spec in entry.items():
                        if isinstance(spec, dict) and spec.get("Required") is True:
                            required.append(str(pname))
        validation: dict[str, Any] = {}
        if validate_params and required:
            validation["required_parameters"] = required
        if validate_body and isinstance(model, dict):
            schema = (api.props.get("Models") or {}).get(model.get("Model"))
            if not isinstance(schema, dict):
                self.ctx.error(
                    event.ref(self, "RequestModel", "Model"),
                    f"model {model.get('Model')!r} is not in {api.logical_id}'s Models",
                )
            else:
                validation["body_schemas"] = {"application/json": schema}
        if validation:
            self.ctx.put(
                ("apis", api.logical_id, "routes", event.route_key, "request_validation"),
                validation,
                event.ref(self, "RequestModel")
                if model is not None
                else event.ref(self, "RequestParameters"),
            )
        elif model is not None or params:
            self.ignore_property_of(
                "Api event",
                event.function.logical_id,
                "RequestModel/RequestParameters",
                event.ref(self, "RequestModel" if model is not None else "RequestParameters"),
                "without ValidateBody / ValidateParameters SAM adds no validator: API Gateway"
                " does not check them",
            )

    def event_route_settings(self, api: _SamApi, event: _Event) -> None:
        raw = event.props.get("RouteSettings")
        if not isinstance(raw, dict):
            return
        for key in raw:
            if key not in (
                "ThrottlingBurstLimit",
                "ThrottlingRateLimit",
                "DetailedMetricsEnabled",
                "LoggingLevel",
                "DataTraceEnabled",
            ):
                self.ctx.refuse(
                    event.ref(self, "RouteSettings", key), f"{key} is not a route setting Gatehold knows"
                )
            elif not key.startswith("Throttling"):
                self.ignore_property_of(
                    "HttpApi event",
                    event.function.logical_id,
                    f"RouteSettings.{key}",
                    event.ref(self, "RouteSettings", key),
                    "logs and metrics are the gateway's own",
                )
        throttle = self.throttle(
            raw.get("ThrottlingRateLimit"), raw.get("ThrottlingBurstLimit"), event.ref(self, "RouteSettings")
        )
        if throttle is None:
            return
        for stage in self.ctx.data["apis"][api.logical_id]["stages"]:
            self.ctx.put(
                ("apis", api.logical_id, "stages", stage, "route_throttling", event.route_key),
                throttle,
                event.ref(self, "RouteSettings"),
            )

    # CORS --------------------------------------------------------------------------------------

    def sam_rest_cors(self, api: _SamApi) -> None:
        """``Cors`` of a REST API: an ``OPTIONS`` mock on every path without one, answering 200 with
        the configured headers (SAM's ``add_cors``; values are API Gateway's quoted literals)."""
        cors = api.props.get("Cors")
        if cors is None:
            return
        src = self.src(api, "Cors")
        if isinstance(cors, str):
            cors = {"AllowOrigin": cors}
        if not isinstance(cors, dict):
            self.ctx.error(src, "Cors is an origin (\"'*'\") or a mapping")
            return
        for key in cors:
            if key not in ("AllowOrigin", "AllowHeaders", "AllowMethods", "MaxAge", "AllowCredentials"):
                self.ctx.refuse(self.src(api, "Cors", key), f"{key} is not a Cors setting SAM knows")
        origin = cors.get("AllowOrigin")
        if not origin:
            self.ctx.error(src, "Cors needs AllowOrigin")
            return
        routes = self.ctx.data["apis"][api.logical_id]["routes"]
        by_path: dict[str, list[str]] = {}
        for key in routes:
            if key == "$default":
                continue
            method, path = key.split(" ", 1)
            by_path.setdefault(path, []).append(method)
        for path, methods in by_path.items():
            if "OPTIONS" in methods:
                continue
            if cors.get("AllowMethods"):
                allow_methods = _literal(cors["AllowMethods"])
            elif "ANY" in methods:
                allow_methods = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
            else:
                allow_methods = ",".join(sorted({*methods, "OPTIONS"}))
            headers = {"Access-Control-Allow-Origin": _literal(origin)}
            if cors.get("AllowHeaders"):
                headers["Access-Control-Allow-Headers"] = _literal(cors["AllowHeaders"])
            headers["Access-Control-Allow-Methods"] = allow_methods
            if cors.get("MaxAge") is not None:
                headers["Access-Control-Max-Age"] = _literal(cors["MaxAge"])
            if cors.get("AllowCredentials") is True:
                headers["Access-Control-Allow-Credentials"] = "true"
            route = {
                "integration": {"type": "mock", "status_code": 200, "headers": headers, "body": "{}\n"},
                "_cors": True,
            }
            self.ctx.put(("apis", api.logical_id, "routes", f"OPTIONS {path}"), route, src)

    def sam_http_cors(self, api: _SamApi) -> None:
        cors = api.props.get("CorsConfiguration")
        if isinstance(cors, str) and cors.lower() in ("true", "false"):
            cors = cors.lower() == "true"  # a parameter's value (!Ref EnableCors)
        if cors is None or cors is False:
            return
        if cors is True:
            cors = {"AllowOrigins": ["*"]}
        if not isinstance(cors, dict):
            self.ctx.error(self.src(api, "CorsConfiguration"), "CorsConfiguration is true or a mapping")
            return
        existing = self.ctx.data["apis"][api.logical_id].get("cors")
        self.put_cors_sam(api, cors)
        if isinstance(existing, dict):
            merged = {**existing, **self.ctx.data["apis"][api.logical_id]["cors"]}
            self.ctx.data["apis"][api.logical_id]["cors"] = merged

    def put_cors_sam(self, api: _SamApi, cors: Mapping[str, Any]) -> None:
        keys = {
            "AllowOrigins": "allow_origins",
            "AllowMethods": "allow_methods",
            "AllowHeaders": "allow_headers",
            "ExposeHeaders": "expose_headers",
            "MaxAge": "max_age",
            "AllowCredentials": "allow_credentials",
        }
        out: dict[str, Any] = {}
        for key, value in cors.items():
            model_key = keys.get(key)
            if model_key is None:
                self.ctx.refuse(
                    self.src(api, "CorsConfiguration", key), f"{key} is not a CORS setting Gatehold knows"
                )
                continue
            if model_key == "max_age":
                out[model_key] = _number(value)
            elif model_key == "allow_credentials":
                out[model_key] = value
            else:
                out[model_key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            self.ctx.at(("apis", api.logical_id, "cors", model_key), self.src(api, "CorsConfiguration", key))
        self.ctx.put(("apis", api.logical_id, "cors"), out, self.src(api, "CorsConfiguration"))

    # defaults ----------------------------------------------------------------------------------

    def sam_defaults(
        self, api: _SamApi, auth: Mapping[str, Any], authorizers: Mapping[str, dict[str, Any] | None]
    ) -> None:
        """``DefaultAuthorizer`` and ``ApiKeyRequired`` on every route that does not say otherwise
        (preflight OPTIONS included unless ``AddDefaultAuthorizerToCorsPreflight`` /
        ``AddApiKeyRequiredToCorsPreflight`` is false), then the markers are dropped."""
        routes = self.ctx.data["apis"].get(api.logical_id, {}).get("routes", {})
        default = auth.get("DefaultAuthorizer")
        default_src = self.src(api, "Auth", "DefaultAuthorizer")
        if default is not None and str(default) not in authorizers and default != "AWS_IAM":
            self.ctx.error(
                default_src,
                f"Unable to set DefaultAuthorizer because {default!r} was not defined in 'Authorizers' (SAM)",
            )
            default = None
        to_preflight = auth.get("AddDefaultAuthorizerToCorsPreflight", True) is not False
        key_default = auth.get("ApiKeyRequired") is True
        key_to_preflight = auth.get("AddApiKeyRequiredToCorsPreflight", True) is not False
        for key, route in routes.items():
            preflight = key.startswith("OPTIONS ")
            explicit = route.pop("_explicit_auth", False)
            event_scopes = route.pop("_event_scopes", None)
            explicit_key = route.pop("_explicit_api_key", None)
            route.pop("_cors", None)
            # SAM's OpenApiEditor.set_path_default_authorizer skips every OPTIONS method of an HTTP
            # API; SwaggerEditor (REST) skips them when AddDefaultAuthorizerToCorsPreflight is false
            if (
                default is not None
                and not explicit
                and "authorizer" not in route
                and (to_preflight or not preflight)
                and not (preflight and api.kind == "HTTP")
            ):
                self.set_authorizer(api, key, str(default), event_scopes, authorizers, default_src)
                route.pop("_explicit_auth", None)
            elif event_scopes and route.get("authorizer"):
                route["authorization_scopes"] = event_scopes
            if key_default and explicit_key is None and (key_to_preflight or not preflight):
                route["api_key_required"] = True
                self.ctx.at(
                    ("apis", api.logical_id, "routes", key, "api_key_required"),
                    self.src(api, "Auth", "ApiKeyRequired"),
                )

    def sam_gateway_responses(self, api: _SamApi) -> None:
        responses = api.props.get("GatewayResponses")
        if responses is None:
            return
        if not isinstance(responses, dict):
            self.ctx.error(self.src(api, "GatewayResponses"), "GatewayResponses must be a mapping")
            return
        for kind, response in responses.items():
            if not isinstance(response, dict):
                continue
            for key in response:
                if key not in ("StatusCode", "ResponseParameters", "ResponseTemplates"):
                    self.ctx.refuse(
                        self.src(api, "GatewayResponses", kind, key),
                        f"{key} is not part of a gateway response",
                    )
            out = self.gateway_response_config(
                api.resource,
                response.get("StatusCode"),
                response.get("ResponseParameters"),
                response.get("ResponseTemplates"),
                ("GatewayResponses", kind),
                sam=True,
            )
            self.ctx.put(
                ("apis", api.logical_id, "gateway_responses", str(kind)),
                out,
                self.src(api, "GatewayResponses", kind),
            )

    def sam_usage_plan(self, api: _SamApi, auth: Mapping[str, Any]) -> None:
        """``Auth.UsagePlan``: ``PER_API`` a plan and a key for this API, ``SHARED`` one plan and one
        key for every API that says so, ``NONE`` nothing. The key's value is generated (AWS
        generates it too): ``gatehold check`` lists it."""
        plan = auth.get("UsagePlan")
        if not isinstance(plan, dict):
            return
        src = self.src(api, "Auth", "UsagePlan")
        for key in plan:
            if key not in ("CreateUsagePlan", "Description", "Quota", "Throttle", "UsagePlanName", "Tags"):
                self.ctx.refuse(
                    self.src(api, "Auth", "UsagePlan", key), f"{key} is not part of a SAM usage plan"
                )
        mode = plan.get("CreateUsagePlan")
        if mode == "NONE":
            return
        if mode not in ("PER_API", "SHARED"):
            self.ctx.error(src, "CreateUsagePlan must be PER_API, SHARED or NONE")
            return
        # SAM's plan names the API's own stage (Ref Api.Stage), not the extra 'Stage' stage
        stages = [next(iter(self.ctx.data["apis"][api.logical_id]["stages"]))]
        if mode == "PER_API":
            plan_name, key_name = f"{api.logical_id}UsagePlan", f"{api.logical_id}ApiKey"
        else:
            plan_name, key_name = "ServerlessUsagePlan", "ServerlessApiKey"
        plans = self.ctx.data.setdefault("gateway", {}).setdefault("usage_plans", {})
        if plan_name in plans:
            plans[plan_name]["api_stages"].extend(f"{api.logical_id}/{s}" for s in stages)
            return
        value = self.generated_key(key_name, src)
        model: dict[str, Any] = {"api_stages": [f"{api.logical_id}/{s}" for s in stages], "api_keys": [value]}
        self.put_plan(plan_name, model, plan.get("Throttle"), plan.get("Quota"), api.resource, ())
        self.ctx.at(("gateway", "usage_plans", plan_name), src)

    def sam_throttling(self, api: _SamApi) -> None:
        props = api.props
        stage = next(iter(self.ctx.data["apis"][api.logical_id]["stages"]))
        if api.kind == "REST":
            if "MethodSettings" in props:
                self.method_settings(
                    api.logical_id, stage, props["MethodSettings"], api.resource, ("MethodSettings",)
                )
        else:
            settings: dict[str, Any] = {
                k: props[k] for k in ("DefaultRouteSettings", "RouteSettings") if k in props
            }
            if settings:
                self.http_stage_throttling(api.logical_id, stage, settings, api.resource)

    # -- everything else --------------------------------------------------------------------------

    def handled_types(self) -> set[str]:
        return {
            *super().handled_types(),
            "AWS::Serverless::Function",
            "AWS::Serverless::Api",
            "AWS::Serverless::HttpApi",
        }

    def read_others(self, resources: list[Resource]) -> None:
        rest: list[Resource] = []
        for resource in resources:
            rtype = resource.type
            if rtype in ("AWS::Serverless::Application",):
                self.ctx.refuse(
                    self.at(resource),
                    "nested applications are not deployed: import the application's"
                    " template itself (imports: in a gatehold.yaml)",
                )
            elif rtype in ("AWS::Serverless::GraphQLApi",):
                self.ctx.refuse(self.at(resource), "AppSync GraphQL APIs are not served")
            elif rtype in ("AWS::Serverless::WebSocketApi",):
                self.ctx.refuse(self.at(resource), "WebSocket APIs are not supported")
            elif rtype == "AWS::Serverless::StateMachine":
                self.state_machine(resource)
            elif rtype == "AWS::Serverless::SimpleTable":  # served by the local DynamoDB endpoint
                props, refs = self.merged(resource, "SimpleTable")
                simple_table(self, resource, props, refs)
            elif rtype in ("AWS::Serverless::LayerVersion",):
                self.ignore_type(
                    resource, "layers are not built or mounted (a function that uses one is refused)"
                )
            elif rtype in ("AWS::Serverless::Connector",):
                self.ignore_type(resource, "connectors grant IAM permissions, which have no local meaning")
            elif rtype in ("AWS::Serverless::CapacityProvider",):
                self.ignore_type(resource, "capacity providers have no local meaning")
            else:
                rest.append(resource)
        super().read_others(rest)

    def state_machine(self, resource: Resource) -> None:
        events = resource.properties.get("Events")
        for name, event in events.items() if isinstance(events, dict) else ():
            if isinstance(event, dict) and event.get("Type") == "Api":
                self.ctx.refuse(
                    self.doc.ref((*resource.path, "Properties", "Events", name)),
                    "Api events of state machines start Step Functions executions, which Gatehold does"
                    " not run",
                )
        self.ignore_type(resource, "Step Functions state machines are not run locally")


# --------------------------------------------------------------------------------------------------


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _token(value: Any) -> str:
    if isinstance(value, dict):
        return "primitive" if is_intrinsic(value) else "dict"
    if isinstance(value, list):
        return "list"
    return "primitive"


def _literal(value: Any) -> str:
    """A SAM Cors value: API Gateway's quoted literal (``"'*'"``) → ``*``."""
    text = _text(value)
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1]
    return text


def _operation(route_key: str) -> tuple[str, str]:
    """``GET /pets`` → ``("/pets", "get")``; ``ANY`` → API Gateway's any-method extension;
    ``$default`` → ``/$default``."""
    if route_key == "$default":
        return "/$default", "x-amazon-apigateway-any-method"
    method, path = route_key.split(" ", 1)
    return path, "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()


def _route_key(path: str, method: str) -> str | None:
    if method == "x-amazon-apigateway-any-method":
        return "$default" if path in ("/$default", "$default") else f"ANY {path}"
    if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        return f"{method.upper()} {path}"
    return None
