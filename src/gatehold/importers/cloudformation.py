"""CloudFormation templates, as ``cdk synth`` writes them: API Gateway REST and HTTP APIs and Lambda
functions read into the model ``gatehold.yaml`` loads into.

The engine here also reads the plain CloudFormation resources of SAM templates
(:mod:`gatehold.importers.sam` extends it with the ``AWS::Serverless::*`` types).

::

    phase  what                                                 resources
    1      functions                                            AWS::Lambda::Function
    2      APIs, their stages, their definitions (Body)         AWS::ApiGateway::RestApi / Stage /
                                                                Deployment, AWS::ApiGatewayV2::Api / Stage
    3      what hangs off an API                                Resource, Method, Authorizer, GatewayResponse,
                                                                Model, RequestValidator, Route, Integration
    4      stage throttling, usage plans and API keys           Stage MethodSettings / RouteSettings,
                                                                UsagePlan, ApiKey, UsagePlanKey
    5      DynamoDB tables (:mod:`gatehold.importers.dynamodb`)  AWS::DynamoDB::Table
           every other resource type: ignored (listed once per type) or refused

Each property of each resource is *honoured* (written into the model, with the template's line
kept for later problems), *ignored* (no local meaning: listed by ``gatehold check`` once per
resource type and property) or *refused* (an error naming the file, line and property path, unless
``--ignore`` names it). Semantics follow the CloudFormation resource reference
(``AWS::ApiGateway::*``, ``AWS::ApiGatewayV2::*``, ``AWS::Lambda::Function``) and
docs/aws-reference.md §4-§6 (docs/import-sam.md has the tables).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatehold.config.document import Document
from gatehold.config.models import NODE_RUNTIMES, PYTHON_RUNTIMES
from gatehold.config.problems import KeyPath, SourceRef
from gatehold.importers.base import ImportContext
from gatehold.importers.dynamodb import dynamodb_table
from gatehold.importers.intrinsics import (
    NO_VALUE,
    Deferred,
    Resolver,
    Resource,
    lambda_function_name,
    stable_id,
)
from gatehold.importers.openapi import MOCK_CONTENT_HANDLING, mock_reads_body

__all__ = ["TemplateImport", "import_cloudformation"]

_TOP_LEVEL = {
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Rules",
}
_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
_VTL = re.compile(r"#(set|if|foreach|else|end|define|macro)\b|\$input|\$util|\$method\.|\$elif")
_STATUS_IN_TEMPLATE = re.compile(r'"?statusCode"?\s*:\s*"?(\d{3})')
#: the account's default throttle (docs/aws-reference.md §4.5), filling a half-given setting
ACCOUNT_RATE, ACCOUNT_BURST = 10000.0, 5000

# -- resource types without local meaning (listed once per type) or refused -------------------------

_DOMAIN = "custom domains are not served: the API is served at its invoke URL"
_INVOKED_DIRECTLY = "IAM has no local meaning: the authorizer function is invoked directly"
_CANARY = "canary deployments: every request goes to the stage's deployment"
_NO_CACHE = "responses are not cached locally"
_NO_TAGS = "tags have no local effect"
_NO_TRACING = "X-Ray tracing is not recorded locally"
_CONSOLE_LOGS = "execution logs go to the console"


_IGNORED_TYPES: dict[str, str] = {
    "AWS::Lambda::Permission": "invoke permissions: locally API Gateway may always invoke the functions",
    "AWS::Lambda::EventSourceMapping": "event sources (queues, streams) do not reach functions locally;"
    " only API routes do",
    "AWS::Lambda::Version": "versions: an ARN with a version runs the function's current code",
    "AWS::Lambda::Alias": "aliases: an ARN with an alias runs the function's current code",
    "AWS::Lambda::LayerVersion": "layers are not built or mounted (a function that uses one is refused)",
    "AWS::Lambda::LayerVersionPermission": "layer permissions have no local meaning",
    "AWS::Lambda::EventInvokeConfig": "asynchronous invocation settings: API Gateway invokes synchronously",
    "AWS::ApiGateway::Account": "account settings (the CloudWatch role) have no local meaning",
    "AWS::ApiGateway::DocumentationPart": "documentation has no effect on requests",
    "AWS::ApiGateway::DocumentationVersion": "documentation has no effect on requests",
    "AWS::ApiGateway::ClientCertificate": "backend client certificates are not presented locally",
    "AWS::ApiGateway::VpcLink": "VPC links are not created (an integration that uses one is refused)",
    "AWS::ApiGatewayV2::VpcLink": "VPC links are not created (an integration that uses one is refused)",
    "AWS::ApiGatewayV2::Deployment": "deployments: the current definition is always served",
    "AWS::CDK::Metadata": "CDK's own bookkeeping",
}
_IGNORED_PREFIXES: dict[str, str] = {
    "AWS::IAM::": "IAM has no local meaning: functions may do what their code does",
    "AWS::Logs::": "log groups and filters are not created: logs go to the console",
    "AWS::CloudWatch::": "alarms and dashboards are not created",
    "Custom::": "custom resources run at deploy time; they are not run locally",
    "AWS::CloudFormation::CustomResource": "custom resources run at deploy time; they are not run locally",
    "AWS::CloudFormation::WaitCondition": "deployment orchestration",
}
#: resource families that shape what is served: a type of theirs not read is refused, not ignored
_API_FAMILIES = ("AWS::ApiGateway::", "AWS::ApiGatewayV2::", "AWS::Lambda::", "AWS::Serverless::")
_OTHER_TYPE_REASON = (
    "not created locally: a function that uses it reaches AWS, or whatever its name points at"
)
_REFUSED_TYPES: dict[str, str] = {
    "AWS::ApiGateway::DomainName": _DOMAIN,
    "AWS::ApiGateway::DomainNameV2": _DOMAIN,
    "AWS::ApiGateway::BasePathMapping": _DOMAIN,
    "AWS::ApiGateway::BasePathMappingV2": _DOMAIN,
    "AWS::ApiGatewayV2::DomainName": _DOMAIN,
    "AWS::ApiGatewayV2::ApiMapping": _DOMAIN,
    "AWS::ApiGatewayV2::RouteResponse": "route responses belong to WebSocket APIs, which are not supported",
    "AWS::ApiGatewayV2::IntegrationResponse": "integration responses belong to WebSocket APIs, which are not"
    " supported",
    "AWS::ApiGatewayV2::Model": "models belong to WebSocket APIs, which are not supported",
    "AWS::ApiGatewayV2::RoutingRule": "routing rules of custom domains are not served",
    "AWS::Lambda::Url": "function URLs are not served: only API Gateway routes reach functions locally",
    "AWS::WAFv2::WebACLAssociation": "a web ACL would filter requests; Gatehold does not run WAF rules",
    "AWS::WAFRegional::WebACLAssociation": "a web ACL would filter requests; Gatehold does not run WAF rules",
    "AWS::CloudFormation::Stack": "nested stacks are not deployed: import the nested template itself"
    " (imports: in a gatehold.yaml)",
    "AWS::AppSync::GraphQLApi": "AppSync GraphQL APIs are not served",
}
#: resource attributes CloudFormation uses while deploying: no local effect
_LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")
_DEPLOYMENT_ATTRIBUTES = {
    "DependsOn": "deployment ordering",
    "DeletionPolicy": "what happens when the stack is deleted",
    "UpdateReplacePolicy": "what happens when the resource is replaced",
    "UpdatePolicy": "how updates roll out",
    "CreationPolicy": "how creation is signalled",
    "Connectors": "SAM connectors grant IAM permissions between resources",
}
_RESOURCE_KEYS = {"Type", "Properties", "Condition", "Metadata", *_DEPLOYMENT_ATTRIBUTES}

# -- properties of the types read here ---------------------------------------------------------------
# (honoured, ignored: reason, refused: reason); anything else is refused as unknown

_LAMBDA_IGNORED = {
    "Architectures": "the function runs on this machine's architecture",
    "Description": "a description has no effect",
    "Role": "IAM has no local meaning: the function may do what its code does",
    "Tags": _NO_TAGS,
    "TracingConfig": _NO_TRACING,
    "KmsKeyArn": "environment variables are not encrypted locally",
    "DeadLetterConfig": "dead-letter queues serve asynchronous invocations (API Gateway's are synchronous)",
    "VpcConfig": "no VPC locally: the function reaches the networks this machine reaches",
    "EphemeralStorage": "scratch space is this machine's disk",
    "SnapStart": "SnapStart only changes cold-start time",
    "LoggingConfig": "logs go to the console",
    "RuntimeManagementConfig": "the runtime is the Python Gatehold runs on",
    "CodeSigningConfigArn": "code signing is not checked locally",
    "RecursiveLoop": "recursive-loop detection concerns asynchronous invocations",
    "TenancyConfig": "tenant isolation mode has no local effect",
    "DurableConfig": "durable execution settings have no local effect",
    "CapacityProviderConfig": "capacity providers have no local meaning",
    "FunctionScalingConfig": "scaling settings have no local meaning",
    "PublishToLatestPublished": "versions: the current code always runs",
}
_LAMBDA_REFUSED = {
    "Layers": "layers are not built or mounted: put the layer's code on the function's code path"
    " (or in the environment Gatehold runs in)",
    "FileSystemConfigs": "EFS file systems are not mounted locally",
    "ImageConfig": "container-image functions are not run",
}


@dataclass
class _RestParts:
    """What the template says about one REST API beyond the RestApi resource."""

    resources: dict[str, Resource] = field(default_factory=dict)
    stage_settings: list[tuple[str, dict[str, Any], Resource, tuple[str, ...]]] = field(default_factory=list)


def import_cloudformation(doc: Document, ctx: ImportContext) -> None:
    """A CloudFormation template (``cdk synth``'s ``cdk.out/<Stack>.template.json`` among them)."""
    TemplateImport(doc, ctx).run()


class TemplateImport:
    """One template being imported (see the module docstring for the order of work)."""

    #: the format's name in messages ("CloudFormation", "SAM")
    label = "CloudFormation"

    def __init__(self, doc: Document, ctx: ImportContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self.resolver = Resolver(
            doc,
            ctx,
            region=ctx.region,
            account_id=ctx.account_id,
            overrides=ctx.options.parameter_overrides,
            values=ctx.options.values,
            base_dir=ctx.base_dir,
            read=ctx.read,
        )
        self._properties: dict[str, dict[str, Any]] = {}
        self._ignored_types: dict[str, tuple[list[str], SourceRef, str]] = {}
        self._ignored_props: dict[tuple[str, str], tuple[list[str], SourceRef, str]] = {}
        self._ignored_attributes: dict[str, tuple[list[str], SourceRef]] = {}
        #: API logical id → model name (its logical id) for the APIs this template defines
        self.api_names: list[str] = []
        self._rest: dict[str, _RestParts] = {}
        self._paths: dict[str, str | None] = {}
        self._http_integrations: dict[str, dict[str, Any] | None] = {}
        self._usage_plan_keys: dict[str, list[tuple[str, Resource]]] = {}
        self._api_keys: dict[str, str | None] = {}
        self._validators: dict[str, dict[str, Any]] = {}
        self._models: dict[tuple[str, str], dict[str, Any]] = {}
        self._deferred: dict[tuple[str, str], Deferred] = {}
        #: (api, route key) whose authorization was refused, (api, authorizer) refused: when the user
        #: ignores the refusal they are not served rather than served open
        self.unguarded: set[tuple[str, str]] = set()
        self.refused_authorizers: set[tuple[str, str]] = set()
        #: every function of the template, by the model's function key
        self.declared_functions: dict[str, Resource] = {}

    # -- driving ----------------------------------------------------------------------------------

    def run(self) -> None:
        self.top_level()
        resources = self.resources_in_order()
        self.read_functions(resources)
        self.read_apis(resources)
        self.read_api_parts(resources)
        self.read_settings(resources)
        self.read_others(resources)
        self.finish()

    def top_level(self) -> None:
        data = self.doc.data
        for key in data:
            if key in self.top_level_keys():
                continue
            self.ctx.error(self.doc.ref((key,)), f"{key} is not a section of a {self.label} template")
        if "Resources" not in data or not isinstance(data.get("Resources"), dict):
            self.ctx.error(self.doc.ref(("Resources",)), "the template needs a Resources mapping")
        for section, why in (
            ("Outputs", "outputs are what a deployed stack reports; they are not evaluated locally"),
            (
                "Rules",
                "rules check parameters at deployment; Gatehold checks each parameter's own constraints",
            ),
            ("Metadata", "template metadata has no local effect"),
        ):
            if section in data:
                self.ctx.ignore(self.doc.ref((section,)), why)
        self.transforms(data.get("Transform"))

    def top_level_keys(self) -> set[str]:
        return _TOP_LEVEL

    def resource_keys(self) -> set[str]:
        return _RESOURCE_KEYS

    def transforms(self, transform: Any) -> None:
        names = transform if isinstance(transform, list) else [transform] if transform is not None else []
        for i, name in enumerate(names):
            at: KeyPath = ("Transform", i) if isinstance(transform, list) else ("Transform",)
            if name in self.known_transforms():
                continue
            self.ctx.refuse(
                self.doc.ref(at), f"the macro {name} runs in AWS (Transform); Gatehold cannot expand it"
            )

    def known_transforms(self) -> set[str]:
        return {"AWS::LanguageExtensions"}

    def resources_in_order(self) -> list[Resource]:
        """The template's resources that exist (conditions), each checked for its attributes."""
        out: list[Resource] = []
        section = self.doc.data.get("Resources")
        if not isinstance(section, dict):
            return out
        for logical_id, body in section.items():
            at: KeyPath = ("Resources", logical_id)
            if not _LOGICAL_ID.fullmatch(str(logical_id)):
                # CloudFormation: "The logical ID must be alphanumeric (A-Za-z0-9) and unique"
                self.ctx.error(self.doc.ref(at), "a logical ID must be alphanumeric (A-Za-z0-9)")
                continue
            if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
                self.ctx.error(self.doc.ref(at), "a resource needs a Type")
                continue
            for key in body:
                if key not in self.resource_keys():
                    self.ctx.error(self.doc.ref((*at, key)), f"{key} is not a resource attribute")
                elif key in _DEPLOYMENT_ATTRIBUTES:
                    self.ignore_attribute(logical_id, key, self.doc.ref((*at, key)))
            if "Properties" in body and not isinstance(body["Properties"], dict):
                self.ctx.error(self.doc.ref((*at, "Properties")), "Properties must be a mapping")
                continue
            resource = self.resolver.resources.get(logical_id)
            if resource is None:
                continue
            if not self.resolver.exists(logical_id):
                if resource.condition is not None:
                    self.ctx.note(
                        self.doc.ref((*at, "Condition")),
                        f"{logical_id} is not created: its condition {resource.condition} is false",
                    )
                continue
            out.append(resource)
        return out

    def finish(self) -> None:
        for deferred in self._deferred.values():  # properties no handler classified: reported
            deferred.replay(self.ctx)
        self._deferred.clear()
        self.function_expects()
        self.prune_unrun()
        # several resources may take a refused value from one line (SAM Globals): say it once
        self.ctx.problems[:] = list(dict.fromkeys(self.ctx.problems))
        self.ctx.ignored[:] = list(dict.fromkeys(self.ctx.ignored))
        for rtype, (ids, src, why) in self._ignored_types.items():
            self.ctx.ignore(src, f"{rtype} ({_names(ids)}): {why}")
        for attribute, (ids, src) in self._ignored_attributes.items():
            why = _DEPLOYMENT_ATTRIBUTES[attribute]
            self.ctx.ignore(src, f"{attribute} ({_names(ids)}): {why}, no local effect")
        for (rtype, prop), (ids, src, why) in self._ignored_props.items():
            self.ctx.ignore(src, f"{prop} of {rtype} ({_names(ids)}): {why}")

    def function_expects(self) -> None:
        """``Metadata: {Gatehold: {expects: …}}`` of a Lambda function (AWS ignores a resource's
        Metadata): what the function checks as an authorizer, set on every Lambda authorizer it backs
        that does not declare its own (``x-gatehold-expects`` in a definition), for ``gatehold token
        --route``. Intrinsics resolve; an aliased issuer becomes the local one, as in the function's
        environment."""
        backed: dict[str, list[tuple[str, str]]] = {}
        for api_name, api in self.ctx.data.get("apis", {}).items():
            for auth_name, auth in api.get("authorizers", {}).items():
                if auth.get("type") != "JWT" and auth.get("function"):
                    backed.setdefault(auth["function"], []).append((api_name, auth_name))
        for key, resource in self.declared_functions.items():
            block = resource.metadata.get("Gatehold")
            if block is None:
                continue
            at: KeyPath = (*resource.path, "Metadata", "Gatehold")
            src = (resource.doc or self.doc).ref(at)
            if not isinstance(block, dict):
                self.ctx.error(src, "Metadata.Gatehold must be a mapping (expects: …)")
                continue
            for extra in block:
                if extra != "expects":
                    self.ctx.error(
                        (resource.doc or self.doc).ref((*at, extra)),
                        f"{extra} is not a Gatehold setting of a function's Metadata (expects is)",
                    )
            if "expects" not in block:
                continue
            where = (resource.doc or self.doc).ref((*at, "expects"))
            expects = self.resolver.resolve(block["expects"], (*at, "expects"), resource.doc)
            if not isinstance(expects, dict):
                if expects is not NO_VALUE:
                    self.ctx.error(where, "expects must be a mapping (issuer, audience, scopes …)")
                continue
            if isinstance(expects.get("issuer"), str):
                expects = {**expects, "issuer": self.ctx.alias_issuer(expects["issuer"], where)}
            if not backed.get(key):
                self.ctx.note(
                    where, f"{resource.logical_id} backs no Lambda authorizer: its expects is not used"
                )
            for api_name, auth_name in backed.get(key, ()):
                auth = self.ctx.data["apis"][api_name]["authorizers"][auth_name]
                if "expects" not in auth:
                    auth["expects"] = dict(expects)
                    self.ctx.at(("apis", api_name, "authorizers", auth_name, "expects"), where)

    def prune_unrun(self) -> None:
        """What was refused and named in the ignore list is not run, and never served open: a
        refused function's routes are not served, nor the routes behind an authorizer it runs, nor
        routes whose authorization was refused (Cognito, IAM)."""
        if self.ctx.problems:
            return
        written = self.ctx.data.get("functions", {})
        unrun = {key for key in self.declared_functions if key not in written}
        for name, api in self.ctx.data.get("apis", {}).items():
            authorizers = api.get("authorizers", {})
            dead = {a for a, cfg in authorizers.items() if cfg.get("function") in unrun}
            dead |= {a for (api_name, a) in self.refused_authorizers if api_name == name}
            for auth in sorted(dead):
                if authorizers.pop(auth, None) is not None:
                    self.ctx.ignore(
                        self.ctx.refs.get(("apis", name, "authorizers", auth), self.doc.ref(())),
                        f"authorizer {auth} of {name} does not run here: the routes it guards are not"
                        " served (rather than served open)",
                    )
            routes = api.get("routes", {})
            for key in list(routes):
                route = routes[key]
                function = route.get("integration", {}).get("function")
                if function in unrun or route.get("authorizer") in dead or (name, key) in self.unguarded:
                    del routes[key]
                    self.ctx.ignore(
                        self.ctx.refs.get(("apis", name, "routes", key), self.doc.ref(())),
                        f"route {key} of {name} is not served: its function or its authorization is not"
                        " supported here (refused above; never served open)",
                    )

    # -- helpers ----------------------------------------------------------------------------------

    def ref(self, resource: Resource, *path: str | int) -> SourceRef:
        """Where property ``path`` of ``resource`` was written."""
        return (resource.doc or self.doc).ref((*resource.path, "Properties", *path))

    def at(self, resource: Resource) -> SourceRef:
        return (resource.doc or self.doc).ref(resource.path)

    def properties(self, resource: Resource) -> dict[str, Any]:
        """The resource's properties with their intrinsics resolved (once). What resolving a property
        reports waits for :meth:`classify`: reported if the property is honoured, dropped if it is
        ignored or refused (an unresolvable ``Role`` does not matter locally)."""
        props = self._properties.get(resource.logical_id)
        if props is None:
            props = {}
            base: KeyPath = (*resource.path, "Properties")
            for key, raw in resource.properties.items():
                value, deferred = self.resolver.resolve_deferred(raw, (*base, key), resource.doc)
                self.defer(resource.logical_id, key, deferred)
                if value is not NO_VALUE:
                    props[key] = value
            self._properties[resource.logical_id] = props
        return props

    def defer(self, logical_id: str, key: str, deferred: Deferred) -> None:
        if deferred.problems:
            self._deferred[(logical_id, key)] = deferred

    def settle(self, logical_id: str, key: str, *, used: bool) -> None:
        """Report (``used``) or drop what resolving property ``key`` reported."""
        deferred = self._deferred.pop((logical_id, key), None)
        if deferred is not None and used:
            deferred.replay(self.ctx)

    def stageless(self, resource: Resource, what: str, fallback: str) -> dict[str, Any]:
        """The stages of an API the template deploys nowhere: AWS would not serve it (an error), but
        ``sam local start-api`` serves it, so ``--stage NAME`` serves it on that stage (noted)."""
        stage = self.ctx.options.stage
        if stage:
            self.ctx.note(
                self.at(resource),
                f"{what}: served on stage {stage!r} (--stage); AWS serves it only once a stage deploys it",
            )
            return {stage: {}}
        self.ctx.error(
            self.at(resource),
            f"{what}: API Gateway would not serve it; to serve it on a stage as sam local start-api does,"
            " pass --stage NAME",
        )
        return {fallback: {}}

    def classify(
        self,
        resource: Resource,
        props: Mapping[str, Any],
        honoured: set[str],
        ignored: Mapping[str, str] | None = None,
        refused: Mapping[str, str] | None = None,
        *,
        prefix: tuple[str, ...] = (),
        what: str | None = None,
        refs: Mapping[str, SourceRef] | None = None,
    ) -> None:
        """Each property: honoured (nothing to say), ignored (listed) or refused (an error).
        ``refs``: where each property was written when not in the resource itself (SAM Globals)."""
        ignored = ignored or {}
        refused = refused or {}
        keys = list(props)
        if not prefix:  # properties whose value could not be resolved are not in props
            keys += [k for (lid, k) in self._deferred if lid == resource.logical_id and k not in props]
        for key in keys:
            if not prefix:
                self.settle(resource.logical_id, key, used=key in honoured)
            if key in honoured:
                continue
            src = (refs or {}).get(key) or self.ref(resource, *prefix, key)
            if key in ignored:
                self.ignore_property_of(
                    resource.type, resource.logical_id, ".".join((*prefix, key)), src, ignored[key]
                )
            elif key in refused:
                self.ctx.refuse(src, refused[key])
            else:
                self.ctx.refuse(
                    src, f"{key} is not a property of {what or resource.type} that Gatehold knows"
                )

    def ignore_property_of(self, rtype: str, logical_id: str, prop: str, src: SourceRef, why: str) -> None:
        key = (rtype, prop)
        entry = self._ignored_props.get(key)
        if entry is None:
            self._ignored_props[key] = ([logical_id], src, why)
        elif logical_id not in entry[0]:
            entry[0].append(logical_id)

    def ignore_attribute(self, logical_id: str, attribute: str, src: SourceRef) -> None:
        entry = self._ignored_attributes.get(attribute)
        if entry is None:
            self._ignored_attributes[attribute] = ([logical_id], src)
        else:
            entry[0].append(logical_id)

    def ignore_type(self, resource: Resource, why: str) -> None:
        entry = self._ignored_types.get(resource.type)
        if entry is None:
            self._ignored_types[resource.type] = ([resource.logical_id], self.at(resource), why)
        else:
            entry[0].append(resource.logical_id)

    def logical_of(self, value: Any, kinds: tuple[str, ...], src: SourceRef, what: str) -> str | None:
        """The logical id of the resource a resolved id (or a logical id written as is) names."""
        found = self.resolver.what(value)
        if found is not None and found[0] in kinds:
            return found[1]
        if isinstance(value, str) and value in self.resolver.resources:
            return value
        if value is None:
            self.ctx.error(src, f"{what} is missing: it names a resource of this template (!Ref)")
            return None
        self.ctx.error(src, f"{what} {value!r} is not one of this template's resources")
        return None

    def api_count(self) -> int:
        return len(self.api_names)

    # -- phase 1: functions -----------------------------------------------------------------------

    def read_functions(self, resources: list[Resource]) -> None:
        for resource in resources:
            if resource.type in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
                self.declared_functions[self.function_key(resource)] = resource
        for resource in resources:
            if resource.type == "AWS::Lambda::Function":
                self.lambda_function(resource)

    def lambda_function(self, resource: Resource) -> None:
        props = self.properties(resource)
        raw_code = resource.properties.get("Code")
        asset = isinstance(raw_code, dict) and "ZipFile" not in raw_code and "ImageUri" not in raw_code
        if asset and isinstance(resource.metadata.get("aws:asset:path"), str):
            # a cdk asset runs from its local directory: where cdk (v1: asset parameters) would upload
            # it need not resolve
            self.settle(resource.logical_id, "Code", used=False)
            props = {**props, "Code": raw_code}
        self.classify(
            resource,
            props,
            {
                "FunctionName",
                "Handler",
                "Runtime",
                "Code",
                "Environment",
                "Timeout",
                "MemorySize",
                "ReservedConcurrentExecutions",
                "PackageType",
            },
            _LAMBDA_IGNORED,
            _LAMBDA_REFUSED,
        )
        if props.get("PackageType") == "Image" or (
            isinstance(props.get("Code"), dict) and "ImageUri" in props["Code"]
        ):
            self.ctx.refuse(
                self.ref(resource, "PackageType" if "PackageType" in props else "Code"),
                "container-image functions are not run: Gatehold runs Python handlers from local code",
            )
            return
        code = props.get("Code")
        code_path: Path | None = None
        if isinstance(code, dict) and "ZipFile" in code:
            code_path = self.inline_code(
                resource, code["ZipFile"], props.get("Runtime"), self.ref(resource, "Code", "ZipFile")
            )
        elif isinstance(code, dict):
            code_path = self.asset_path(resource, code)
        elif isinstance(code, str):
            # a local path, as `aws cloudformation package` uploads it and `sam local` runs it
            code_path = self.local_code_dir("Code", code, self.ref(resource, "Code"))
        else:
            self.ctx.error(self.ref(resource, "Code"), "a Lambda function needs Code")
        if code_path is None:
            return
        self.put_function(resource, props, code_path, code_ref=self.ref(resource, "Code"))

    def local_code_dir(self, prop: str, uri: str, src: SourceRef) -> Path | None:
        """A code location written as a path (SAM's ``CodeUri``, a ``Code`` string that ``aws
        cloudformation package`` uploads): the directory it names, relative to the template."""
        if uri.startswith("s3://"):
            self.ctx.refuse(
                src, f"the code is in S3 ({uri}): Gatehold runs code from a local directory ({prop}: ./src)"
            )
            return None
        path = (self.ctx.base_dir / uri).resolve()
        if path.is_file():
            self.ctx.refuse(src, f"{prop} {uri} is a file: Gatehold runs code from a directory; unpack it")
            return None
        if not path.is_dir():
            self.ctx.error(src, f"{prop} {uri} is not a directory: {path}")
            return None
        return path

    def asset_path(self, resource: Resource, code: Mapping[str, Any]) -> Path | None:
        """``Code: {S3Bucket, S3Key}`` of a CDK asset: the local directory its metadata names
        (``aws:asset:path``, relative to the template's directory, as ``cdk.out`` lays it out)."""
        asset = resource.metadata.get("aws:asset:path")
        src = self.ref(resource, "Code")
        if not isinstance(asset, str):
            where = "/".join(str(code.get(k, "")) for k in ("S3Bucket", "S3Key") if k in code)
            self.ctx.refuse(
                src,
                f"the code is in S3 ({where}): Gatehold runs code from a local directory; a SAM CodeUri or a"
                " cdk asset (Metadata aws:asset:path) names one",
            )
            return None
        path = (self.ctx.base_dir / asset).resolve()
        if path.is_file():
            self.ctx.refuse(
                src, f"the asset {asset} is a file: Gatehold runs code from a directory; unpack it"
            )
            return None
        if not path.is_dir():
            self.ctx.error(src, f"the asset {asset} (Metadata aws:asset:path) is not a directory: {path}")
            return None
        return path

    def inline_code(self, resource: Resource, text: Any, runtime: Any, src: SourceRef) -> Path | None:
        """Inline code (``ZipFile`` / SAM ``InlineCode``) written where Lambda puts it: ``index.py``
        (``index.js`` for Node.js) in a directory of its own under the data directory."""
        if not isinstance(text, str):
            self.ctx.error(src, "inline code must be text")
            return None
        base = Path(self.ctx.variables.get("data_dir") or self.ctx.base_dir / ".gatehold")
        digest = hashlib.sha256(str(self.ctx.path).encode()).hexdigest()[:10]
        folder = base / "inline-code" / f"{self.ctx.path.stem}-{digest}" / resource.logical_id
        name = "index.js" if isinstance(runtime, str) and runtime.startswith("nodejs") else "index.py"
        target = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.ctx.error(src, f"cannot write the inline code to {target}: {exc.strerror}")
            return None
        self.ctx.note(src, f"inline code of {resource.logical_id} runs from {target}")
        return folder

    def function_key(self, resource: Resource) -> str:
        """The model's function key: the Lambda function name (``FunctionName``, else the logical id)."""
        try:
            return self.resolver.name_of(resource.logical_id)
        except Exception:  # a problem with FunctionName was reported when its property was resolved
            return resource.logical_id

    def put_function(
        self,
        resource: Resource,
        props: Mapping[str, Any],
        code_path: Path,
        *,
        code_ref: SourceRef,
        refs: Mapping[str, SourceRef] | None = None,
    ) -> None:
        """Write a function; ``refs`` say where each property came from (SAM Globals), else the
        resource's own properties."""
        key = self.function_key(resource)
        refs = refs or {}

        def where(prop: str, *sub: str | int) -> SourceRef:
            return refs.get(prop) or self.ref(resource, prop, *sub)

        handler = props.get("Handler")
        if not isinstance(handler, str):
            self.ctx.error(
                where("Handler") if "Handler" in props else self.at(resource), "a function needs a Handler"
            )
            return
        runtime = self.runtime(
            props.get("Runtime"), where("Runtime") if "Runtime" in props else self.at(resource)
        )
        if runtime is None:
            return
        out: dict[str, Any] = {"handler": handler, "code_path": str(code_path), "runtime": runtime}
        fn_path: KeyPath = ("functions", key)
        if key in self.ctx.data.get("functions", {}):
            self.ctx.error(self.at(resource), f"two functions are named {key!r}")
            return
        self.ctx.put(fn_path, out, self.at(resource))
        self.ctx.at((*fn_path, "handler"), where("Handler"))
        self.ctx.at((*fn_path, "runtime"), where("Runtime"))
        self.ctx.at((*fn_path, "code_path"), code_ref)
        if "Timeout" in props:
            out["timeout"] = _number(props["Timeout"])
            self.ctx.at((*fn_path, "timeout"), where("Timeout"))
        if "MemorySize" in props:
            out["memory_size"] = _number(props["MemorySize"])
            self.ctx.at((*fn_path, "memory_size"), where("MemorySize"))
        reserved = props.get("ReservedConcurrentExecutions")
        if reserved is not None:
            if _number(reserved) == 0:
                self.ctx.refuse(
                    where("ReservedConcurrentExecutions"),
                    "ReservedConcurrentExecutions 0 throttles every invocation; Gatehold runs a function"
                    " with at least 1",
                )
            else:
                out["reserved_concurrency"] = _number(reserved)
                self.ctx.at((*fn_path, "reserved_concurrency"), where("ReservedConcurrentExecutions"))
        environment = props.get("Environment")
        if isinstance(environment, dict):
            for sub in environment:
                if sub != "Variables":
                    self.ctx.refuse(
                        where("Environment", sub),
                        f"{sub} is not a property of Environment that Gatehold knows",
                    )
            variables = environment.get("Variables")
            if isinstance(variables, dict):
                env: dict[str, str] = {}
                for name, value in variables.items():
                    text = _text(value)
                    src = refs.get(f"Environment.Variables.{name}") or where("Environment", "Variables", name)
                    aliased = self.ctx.alias_url(text)
                    if aliased != text:
                        self.ctx.note(
                            src, f"{name} {text} is served by the local identity provider: {aliased}"
                        )
                        text = aliased
                    env[str(name)] = text
                    self.ctx.at((*fn_path, "environment", str(name)), src)
                out["environment"] = env
                self.local_authorizer_audiences(key, env, variables, where("Environment", "Variables"))
            elif variables is not None:
                self.ctx.error(where("Environment", "Variables"), "Environment.Variables must be a mapping")
        elif environment is not None:
            self.ctx.error(where("Environment"), "Environment must be a mapping")
        self.ctx.lambda_names[key] = key

    def local_authorizer_audiences(
        self, key: str, env: Mapping[str, str], written: Mapping[str, Any], src: SourceRef
    ) -> None:
        """A function whose environment points at an aliased issuer (a JWKS URI, a token issuer)
        checks tokens of the local identity provider: its ``*AUDIENCE*`` variables become APIs of
        the local tenant, so ``gatehold token`` mints tokens it accepts (docs/import-sam.md)."""
        if not any(env.get(name) != _text(value) for name, value in written.items()):
            return
        for name, value in env.items():
            if "AUDIENCE" not in name.upper():
                continue
            for audience in (a.strip() for a in value.split(",")):
                if audience and audience not in self.ctx.local_audiences:
                    self.ctx.local_audiences[audience] = (set(), self.ctx.refs.get(("functions", key), src))

    def runtime(self, value: Any, src: SourceRef) -> str | None:
        """Lambda's ``Runtime`` as the model writes it (Python and Node.js; others refused)."""
        if not isinstance(value, str):
            self.ctx.error(src, "a function needs a Runtime (python3.x, nodejs20.x …)")
            return None
        if value in PYTHON_RUNTIMES or value in NODE_RUNTIMES or value.startswith("nodejs"):
            return value
        if re.fullmatch(r"python3\.\d+", value):
            self.ctx.note(src, f"{value} runs on the Python Gatehold runs on")
            return "python"
        self.ctx.refuse(src, f"Runtime {value}: Gatehold runs Python and Node.js handlers")
        return None

    # -- phase 2: APIs ----------------------------------------------------------------------------

    def read_apis(self, resources: list[Resource]) -> None:
        rest = [r for r in resources if r.type == "AWS::ApiGateway::RestApi"]
        http = [r for r in resources if r.type == "AWS::ApiGatewayV2::Api"]
        self.api_names.extend(r.logical_id for r in (*rest, *http))
        self.api_names.extend(self.other_api_names(resources))
        stages = self.read_stages(resources)
        for resource in rest:
            self.rest_api(resource, stages.get(resource.logical_id, {}))
        for resource in http:
            self.http_api(resource, stages.get(resource.logical_id, {}))

    def other_api_names(self, resources: list[Resource]) -> list[str]:
        """APIs a subclass adds (SAM's), counted for where each API is served."""
        return []

    def skeleton(
        self, name: str, api_type: str, resource: Resource, stages: dict[str, Any]
    ) -> dict[str, Any]:
        api: dict[str, Any] = {
            "type": api_type,
            "api_id": self.resolver.generated_id(resource.logical_id, resource.type),
            "base_path": self.ctx.base_path(name, self.api_count()),
            "stages": stages,
            "routes": {},
        }
        self.ctx.put(("apis", name), api, self.at(resource))
        return api

    def read_stages(self, resources: list[Resource]) -> dict[str, dict[str, Any]]:
        """Each API's stages (names, variables, access logs), from Stage and Deployment resources;
        their throttling is read once the routes are known (phase 4)."""
        out: dict[str, dict[str, Any]] = {}
        for resource in resources:
            if resource.type == "AWS::ApiGateway::Stage":
                props = self.properties(resource)
                self.classify(
                    resource,
                    props,
                    {
                        "RestApiId",
                        "StageName",
                        "DeploymentId",
                        "Variables",
                        "MethodSettings",
                        "AccessLogSetting",
                        "Description",
                    },
                    {
                        "TracingEnabled": _NO_TRACING,
                        "CacheClusterEnabled": _NO_CACHE,
                        "CacheClusterSize": _NO_CACHE,
                        "CanarySetting": _CANARY,
                        "ClientCertificateId": "backend client certificates are not presented locally",
                        "DocumentationVersion": "documentation has no effect on requests",
                        "Tags": _NO_TAGS,
                    },
                )
                api = self.logical_of(
                    props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId"
                )
                name = props.get("StageName")
                if api is None or not isinstance(name, str):
                    if api is not None:
                        self.ctx.error(self.ref(resource, "StageName"), "a stage needs a StageName")
                    continue
                stage = self.rest_stage(resource, props, ())
                out.setdefault(api, {})[name] = stage
                self._rest.setdefault(api, _RestParts()).stage_settings.append((name, props, resource, ()))
            elif resource.type == "AWS::ApiGateway::Deployment":
                props = self.properties(resource)
                self.classify(
                    resource,
                    props,
                    {"RestApiId", "StageName", "StageDescription", "Description"},
                    {"DeploymentCanarySettings": _CANARY},
                )
                api = self.logical_of(
                    props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId"
                )
                name = props.get("StageName")
                if api is None or not isinstance(name, str):
                    continue
                description = props.get("StageDescription")
                settings = description if isinstance(description, dict) else {}
                stage = self.rest_stage(resource, settings, ("StageDescription",))
                out.setdefault(api, {})[name] = stage
                self._rest.setdefault(api, _RestParts()).stage_settings.append(
                    (name, settings, resource, ("StageDescription",))
                )
            elif resource.type == "AWS::ApiGatewayV2::Stage":
                props = self.properties(resource)
                self.classify(
                    resource,
                    props,
                    {
                        "ApiId",
                        "StageName",
                        "AutoDeploy",
                        "DeploymentId",
                        "StageVariables",
                        "DefaultRouteSettings",
                        "RouteSettings",
                        "AccessLogSettings",
                        "Description",
                    },
                    {
                        "ClientCertificateId": "client certificates are not presented locally",
                        "Tags": _NO_TAGS,
                        "AccessPolicyId": "access policies are not evaluated locally",
                    },
                )
                api = self.logical_of(props.get("ApiId"), ("api",), self.ref(resource, "ApiId"), "ApiId")
                name = props.get("StageName")
                if api is None or not isinstance(name, str):
                    continue
                stage = {}
                variables = props.get("StageVariables")
                if isinstance(variables, dict):
                    stage["variables"] = {str(k): _text(v) for k, v in variables.items()}
                log = self.access_log(resource, props.get("AccessLogSettings"), ("AccessLogSettings",))
                if log is not None:
                    stage["access_log"] = log
                if isinstance(props.get("Description"), str):
                    stage["description"] = props["Description"]
                if props.get("AutoDeploy") is False:
                    self.ctx.note(
                        self.ref(resource, "AutoDeploy"),
                        "AutoDeploy false: Gatehold serves the template's current routes on this stage",
                    )
                out.setdefault(api, {})[name] = stage
                self._rest.setdefault(api, _RestParts()).stage_settings.append((name, props, resource, ()))
        return out

    def rest_stage(
        self, resource: Resource, settings: Mapping[str, Any], prefix: tuple[str, ...]
    ) -> dict[str, Any]:
        stage: dict[str, Any] = {}
        if prefix:
            self.classify(
                resource,
                settings,
                {
                    "Variables",
                    "MethodSettings",
                    "AccessLogSetting",
                    "Description",
                    "ThrottlingBurstLimit",
                    "ThrottlingRateLimit",
                    "LoggingLevel",
                    "MetricsEnabled",
                    "DataTraceEnabled",
                    "CachingEnabled",
                    "CacheTtlInSeconds",
                    "CacheDataEncrypted",
                    "CacheClusterEnabled",
                    "CacheClusterSize",
                    "TracingEnabled",
                    "ClientCertificateId",
                    "DocumentationVersion",
                    "Tags",
                    "CanarySetting",
                },
                prefix=prefix,
                what="StageDescription",
            )
            for key, why in (
                ("LoggingLevel", _CONSOLE_LOGS),
                ("MetricsEnabled", "metrics are served at /metrics"),
                ("DataTraceEnabled", _CONSOLE_LOGS),
                ("CachingEnabled", _NO_CACHE),
                ("CacheTtlInSeconds", _NO_CACHE),
                ("CacheDataEncrypted", _NO_CACHE),
                ("CacheClusterEnabled", _NO_CACHE),
                ("CacheClusterSize", _NO_CACHE),
                ("TracingEnabled", _NO_TRACING),
                ("ClientCertificateId", "backend client certificates are not presented locally"),
                ("DocumentationVersion", "documentation has no effect on requests"),
                ("Tags", _NO_TAGS),
                ("CanarySetting", _CANARY),
            ):
                if key in settings:
                    self.ignore_property_of(
                        resource.type,
                        resource.logical_id,
                        f"StageDescription.{key}",
                        self.ref(resource, *prefix, key),
                        why,
                    )
        variables = settings.get("Variables")
        if isinstance(variables, dict):
            stage["variables"] = {str(k): _text(v) for k, v in variables.items()}
        elif variables is not None:
            self.ctx.error(self.ref(resource, *prefix, "Variables"), "Variables must be a mapping")
        log = self.access_log(resource, settings.get("AccessLogSetting"), (*prefix, "AccessLogSetting"))
        if log is not None:
            stage["access_log"] = log
        if isinstance(settings.get("Description"), str):
            stage["description"] = settings["Description"]
        return stage

    def access_log(self, resource: Resource, raw: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
        """``AccessLogSetting(s)``: the ``Format`` is honoured; the log goes to the console."""
        if raw is None:
            return None
        if not isinstance(raw, dict):
            self.ctx.error(self.ref(resource, *path), "access log settings must be a mapping")
            return None
        out: dict[str, Any] = {"destination": "stdout"}
        if isinstance(raw.get("Format"), str):
            out["format"] = raw["Format"]
        if "DestinationArn" in raw:
            self.ctx.note(
                self.ref(resource, *path, "DestinationArn"), "the access log is written to the console"
            )
        for key in raw:
            if key not in ("Format", "DestinationArn"):
                self.ctx.refuse(
                    self.ref(resource, *path, key), f"{key} is not an access log setting Gatehold knows"
                )
        return out

    def rest_api(self, resource: Resource, stages: dict[str, Any]) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "Name",
                "Description",
                "Body",
                "BinaryMediaTypes",
                "ApiKeySourceType",
                "DisableExecuteApiEndpoint",
            },
            {
                "EndpointConfiguration": "the endpoint type (EDGE, REGIONAL, PRIVATE) has no local meaning",
                "FailOnWarnings": "import warnings are reported by Gatehold itself",
                "Mode": "the import mode has no local meaning",
                "Parameters": "import parameters have no local meaning",
                "MinimumCompressionSize": "responses are not compressed locally",
                "Tags": _NO_TAGS,
                "SecurityPolicy": "TLS policies have no local meaning",
                "EndpointAccessMode": "the endpoint access mode has no local meaning",
            },
            {
                "BodyS3Location": "the definition is in S3: put it in Body (or import the OpenAPI file with a"
                " gatehold.yaml)",
                "CloneFrom": "an API cloned from another API Gateway API cannot be read",
                "Policy": "resource policies (IP, VPC, account conditions) are not evaluated locally",
            },
        )
        name = resource.logical_id
        if not stages:
            stages = self.stageless(
                resource,
                f"RestApi {name} has no stage (no AWS::ApiGateway::Stage, nor a Deployment with StageName)",
                "prod",
            )
        api = self.skeleton(name, "REST", resource, stages)
        if isinstance(props.get("Description"), str):
            api["description"] = props["Description"]
            self.ctx.at(("apis", name, "description"), self.ref(resource, "Description"))
        if "BinaryMediaTypes" in props:
            api["binary_media_types"] = [str(t).replace("~1", "/") for t in props["BinaryMediaTypes"]]
            self.ctx.at(("apis", name, "binary_media_types"), self.ref(resource, "BinaryMediaTypes"))
        if "ApiKeySourceType" in props:
            api["api_key_source"] = props["ApiKeySourceType"]
            self.ctx.at(("apis", name, "api_key_source"), self.ref(resource, "ApiKeySourceType"))
        if "DisableExecuteApiEndpoint" in props:
            api["disable_execute_api_endpoint"] = props["DisableExecuteApiEndpoint"]
            self.ctx.at(
                ("apis", name, "disable_execute_api_endpoint"),
                self.ref(resource, "DisableExecuteApiEndpoint"),
            )
        self._rest.setdefault(name, _RestParts())
        body = props.get("Body")
        if isinstance(body, dict):
            self.definition(name, "REST", body, resource, (*resource.path, "Properties", "Body"))

    def definition(
        self,
        name: str,
        api_type: str,
        body: Mapping[str, Any],
        resource: Resource,
        at: KeyPath,
        doc: Document | None = None,
        original: Any = None,
    ) -> None:
        """An OpenAPI definition (``Body``, SAM ``DefinitionBody`` / ``DefinitionUri``), read by the
        OpenAPI importer into the API written already (stages, ids and base path kept). A definition
        an ``AWS::Include`` read is reported at its own file's lines."""
        included = self.resolver.source_of(original if original is not None else body)
        if included is not None:
            doc, at = included, ()
        from gatehold.importers.openapi import import_api_definition

        import_api_definition(
            self.ctx,
            body,
            doc=doc or resource.doc or self.doc,
            at=at,
            api_name=name,
            api_type="HTTP" if api_type == "HTTP" else "REST",
        )

    def http_api(self, resource: Resource, stages: dict[str, Any]) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "Name",
                "Description",
                "ProtocolType",
                "Body",
                "CorsConfiguration",
                "Target",
                "RouteKey",
                "DisableExecuteApiEndpoint",
                "CredentialsArn",
            },
            {
                "FailOnWarnings": "import warnings are reported by Gatehold itself",
                "Version": "a version label has no effect",
                "Tags": _NO_TAGS,
                "BasePath": "the import base path has no local meaning",
                "DisableSchemaValidation": "WebSocket schema validation does not apply to HTTP APIs",
                "RouteSelectionExpression": "route selection expressions belong to WebSocket APIs",
                "ApiKeySelectionExpression": "HTTP APIs have no API keys",
                "IpAddressType": "the IP address type has no local meaning",
            },
            {"BodyS3Location": "the definition is in S3: put it in Body"},
        )
        name = resource.logical_id
        protocol = props.get("ProtocolType", "HTTP" if "Body" in props else None)
        if protocol == "WEBSOCKET":
            self.ctx.refuse(
                self.ref(resource, "ProtocolType"), "ProtocolType WEBSOCKET: WebSocket APIs are not supported"
            )
            return
        if protocol != "HTTP":
            self.ctx.error(
                self.ref(resource, "ProtocolType") if "ProtocolType" in props else self.at(resource),
                f"ProtocolType {protocol!r} is not HTTP or WEBSOCKET"
                if protocol
                else "an API needs a ProtocolType",
            )
            return
        quick = "Target" in props
        if quick and "$default" not in stages:
            stages = {"$default": {}, **stages}
        if not stages:
            stages = self.stageless(
                resource, f"HTTP API {name} has no stage (no AWS::ApiGatewayV2::Stage)", "$default"
            )
        api = self.skeleton(name, "HTTP", resource, stages)
        if isinstance(props.get("Description"), str):
            api["description"] = props["Description"]
        if "DisableExecuteApiEndpoint" in props:
            api["disable_execute_api_endpoint"] = props["DisableExecuteApiEndpoint"]
            self.ctx.at(
                ("apis", name, "disable_execute_api_endpoint"),
                self.ref(resource, "DisableExecuteApiEndpoint"),
            )
        if "CredentialsArn" in props:
            self.ignore_property_of(
                resource.type,
                name,
                "CredentialsArn",
                self.ref(resource, "CredentialsArn"),
                "IAM has no local meaning",
            )
        cors = props.get("CorsConfiguration")
        if isinstance(cors, dict):
            self.put_cors(name, cors, resource, ("CorsConfiguration",))
        if quick:
            self.quick_create(name, props, resource)
        body = props.get("Body")
        if isinstance(body, dict):
            self.definition(name, "HTTP", body, resource, (*resource.path, "Properties", "Body"))

    def put_cors(self, name: str, cors: Mapping[str, Any], resource: Resource, path: tuple[str, ...]) -> None:
        """``CorsConfiguration`` of an HTTP API (CloudFormation's and SAM's names)."""
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
                self.ctx.refuse(self.ref(resource, *path, key), f"{key} is not a CORS setting Gatehold knows")
                continue
            if model_key == "max_age":
                out[model_key] = _number(value)
            elif model_key == "allow_credentials":
                out[model_key] = value
            else:
                out[model_key] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            self.ctx.at(("apis", name, "cors", model_key), self.ref(resource, *path, key))
        self.ctx.put(("apis", name, "cors"), out, self.ref(resource, *path))

    def quick_create(self, name: str, props: Mapping[str, Any], resource: Resource) -> None:
        """``Target`` (+ ``RouteKey``): API Gateway's quick create, a route to a Lambda function or an
        HTTP URL on an auto-deployed ``$default`` stage (Lambda: payload format 2.0)."""
        target = props["Target"]
        route_key = props.get("RouteKey", "$default")
        src = self.ref(resource, "Target")
        integration: dict[str, Any] | None
        parsed = lambda_function_name(str(target))
        if parsed is not None:
            integration = {
                "type": "aws_proxy",
                "function": self.ctx.function_key(parsed[0]),
                "payload_format_version": "2.0",
            }
        elif isinstance(target, str) and re.match(r"https?://", target):
            integration = {"type": "http_proxy", "uri": target}
        else:
            self.ctx.error(src, f"Target {target!r} is neither a Lambda function ARN nor an http(s) URL")
            return
        self.put_route(
            name,
            str(route_key),
            {"integration": integration},
            self.ref(resource, "RouteKey") if "RouteKey" in props else src,
        )
        self.ctx.at(("apis", name, "routes", str(route_key), "integration"), src)

    def put_route(self, api: str, key: str, route: dict[str, Any], src: SourceRef) -> bool:
        routes = self.ctx.data["apis"][api].setdefault("routes", {})
        if key in routes:
            self.ctx.error(src, f"route {key} of API {api} is defined twice")
            return False
        self.ctx.put(("apis", api, "routes", key), route, src)
        return True

    # -- phase 3: what hangs off an API -----------------------------------------------------------

    def read_api_parts(self, resources: list[Resource]) -> None:
        by_type: dict[str, list[Resource]] = {}
        for resource in resources:
            by_type.setdefault(resource.type, []).append(resource)
        for resource in by_type.get("AWS::ApiGateway::Resource", ()):
            props = self.properties(resource)
            self.classify(resource, props, {"RestApiId", "ParentId", "PathPart"})
            api = self.logical_of(
                props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId"
            )
            if api is not None:
                self._rest.setdefault(api, _RestParts()).resources[resource.logical_id] = resource
        for resource in by_type.get("AWS::ApiGateway::Model", ()):
            self.rest_model(resource)
        for resource in by_type.get("AWS::ApiGateway::RequestValidator", ()):
            props = self.properties(resource)
            self.classify(
                resource, props, {"RestApiId", "Name", "ValidateRequestBody", "ValidateRequestParameters"}
            )
            self._validators[resource.logical_id] = props
        for resource in by_type.get("AWS::ApiGateway::Authorizer", ()):
            self.rest_authorizer(resource)
        for resource in by_type.get("AWS::ApiGateway::Method", ()):
            self.rest_method(resource)
        for resource in by_type.get("AWS::ApiGateway::GatewayResponse", ()):
            self.gateway_response(resource)
        for resource in by_type.get("AWS::ApiGatewayV2::Authorizer", ()):
            self.http_authorizer(resource)
        for resource in by_type.get("AWS::ApiGatewayV2::Integration", ()):
            self._http_integrations[resource.logical_id] = self.http_integration(resource)
        for resource in by_type.get("AWS::ApiGatewayV2::Route", ()):
            self.http_route(resource)

    def resource_path(self, api: str, value: Any, src: SourceRef) -> str | None:
        """The path of a REST resource id (``Ref`` of a Resource, or the root's ``RootResourceId``)."""
        found = self.resolver.what(value)
        if found is not None and found[0] == "root":
            if found[1] != api:
                self.ctx.error(src, f"the root resource of {found[1]} is not a resource of {api}")
                return None
            return "/"
        logical = found[1] if found is not None and found[0] == "resource" else None
        if logical is None:
            self.ctx.error(src, f"{value!r} is not a resource of RestApi {api}")
            return None
        if logical in self._paths:
            path = self._paths[logical]
            if path is None:
                self.ctx.error(src, f"the resource tree of {api} loops through {logical}")
            return path
        self._paths[logical] = None  # being computed: a loop lands here
        resource = self.resolver.resources[logical]
        props = self.properties(resource)
        parent = self.resource_path(api, props.get("ParentId"), self.ref(resource, "ParentId"))
        part = props.get("PathPart")
        if parent is None or not isinstance(part, str) or not part:
            if not isinstance(part, str) or not part:
                self.ctx.error(self.ref(resource, "PathPart"), "a resource needs a PathPart")
            return None
        path = parent.rstrip("/") + "/" + part
        self._paths[logical] = path
        return path

    def rest_authorizer(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "RestApiId",
                "Type",
                "AuthorizerUri",
                "IdentitySource",
                "IdentityValidationExpression",
                "AuthorizerResultTtlInSeconds",
                "Name",
                "AuthType",
                "ProviderARNs",  # with Type COGNITO_USER_POOLS, refused below
            },
            {"AuthorizerCredentials": _INVOKED_DIRECTLY},
        )
        api = self.logical_of(props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId")
        if api is None:
            return
        kind = str(props.get("Type", "")).upper()
        if kind == "COGNITO_USER_POOLS":
            self.ctx.refuse(self.ref(resource, "Type"), "Cognito user-pool authorizers are not supported")
            self.refused_authorizers.add((api, resource.logical_id))
            return
        if kind not in ("TOKEN", "REQUEST"):
            self.ctx.error(
                self.ref(resource, "Type"),
                f"authorizer Type {props.get('Type')!r} is not TOKEN, REQUEST or COGNITO_USER_POOLS",
            )
            return
        function = self.authorizer_function(props.get("AuthorizerUri"), self.ref(resource, "AuthorizerUri"))
        if function is None:
            return
        auth: dict[str, Any] = {"type": kind, "function": function}
        name = resource.logical_id
        at: KeyPath = ("apis", api, "authorizers", name)
        self.ctx.put(at, auth, self.at(resource))
        self.ctx.at((*at, "function"), self.ref(resource, "AuthorizerUri"))
        source = props.get("IdentitySource")
        if source is not None:
            auth["identity_source"] = [s.strip() for s in str(source).split(",") if s.strip()]
            self.ctx.at((*at, "identity_source"), self.ref(resource, "IdentitySource"))
        elif kind == "TOKEN":
            self.ctx.error(self.at(resource), "a TOKEN authorizer needs an IdentitySource (a header)")
        else:
            auth["identity_source"] = []
        if "IdentityValidationExpression" in props:
            auth["identity_validation_expression"] = str(props["IdentityValidationExpression"])
            self.ctx.at(
                (*at, "identity_validation_expression"), self.ref(resource, "IdentityValidationExpression")
            )
        if "AuthorizerResultTtlInSeconds" in props:
            auth["result_ttl"] = _number(props["AuthorizerResultTtlInSeconds"])
            self.ctx.at((*at, "result_ttl"), self.ref(resource, "AuthorizerResultTtlInSeconds"))

    def authorizer_function(self, uri: Any, src: SourceRef) -> str | None:
        parsed = lambda_function_name(str(uri)) if isinstance(uri, str) else None
        if parsed is None:
            self.ctx.error(src, f"{uri!r} is not a Lambda function invocation URI")
            return None
        return self.ctx.function_key(parsed[0])

    def rest_method(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "RestApiId",
                "ResourceId",
                "HttpMethod",
                "AuthorizationType",
                "AuthorizerId",
                "AuthorizationScopes",
                "ApiKeyRequired",
                "Integration",
                "RequestParameters",
                "RequestModels",
                "RequestValidatorId",
            },
            {
                "MethodResponses": "method responses document the response; they have no local effect",
                "OperationName": "an operation name has no effect on requests",
            },
        )
        api = self.logical_of(props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId")
        if api is None or api not in self.ctx.data.get("apis", {}):
            return
        path = self.resource_path(api, props.get("ResourceId"), self.ref(resource, "ResourceId"))
        method = str(props.get("HttpMethod", "")).upper()
        if method not in _HTTP_METHODS:
            self.ctx.error(
                self.ref(resource, "HttpMethod"),
                f"HttpMethod {props.get('HttpMethod')!r} is not an HTTP method or ANY",
            )
            return
        if path is None:
            return
        key = f"{method} {path}"
        route: dict[str, Any] = {}
        integration = props.get("Integration")
        if not isinstance(integration, dict):
            self.ctx.error(self.at(resource), "a method needs an Integration")
            return
        model = self.rest_integration(resource, integration, api)
        if model is None:
            return
        route["integration"] = model
        if not self.put_route(api, key, route, self.at(resource)):
            return
        r: KeyPath = ("apis", api, "routes", key)
        self.ctx.at((*r, "integration"), self.ref(resource, "Integration"))
        auth_type = str(props.get("AuthorizationType", "NONE")).upper()
        if auth_type == "CUSTOM":
            authorizer = self.logical_of(
                props.get("AuthorizerId"), ("authorizer",), self.ref(resource, "AuthorizerId"), "AuthorizerId"
            )
            if authorizer is not None:
                route["authorizer"] = authorizer
                self.ctx.at((*r, "authorizer"), self.ref(resource, "AuthorizerId"))
            if props.get("AuthorizationScopes"):
                self.ignore_property_of(
                    resource.type,
                    resource.logical_id,
                    "AuthorizationScopes",
                    self.ref(resource, "AuthorizationScopes"),
                    "API Gateway checks method scopes with Cognito authorizers only",
                )
        elif auth_type == "COGNITO_USER_POOLS":
            self.ctx.refuse(
                self.ref(resource, "AuthorizationType"), "Cognito user-pool authorizers are not supported"
            )
            self.unguarded.add((api, key))
        elif auth_type == "AWS_IAM":
            self.ctx.refuse(
                self.ref(resource, "AuthorizationType"), "IAM (SigV4) authorization is not supported"
            )
            self.unguarded.add((api, key))
        elif auth_type != "NONE":
            self.ctx.error(
                self.ref(resource, "AuthorizationType"),
                f"AuthorizationType {auth_type} is not NONE, CUSTOM, COGNITO_USER_POOLS or AWS_IAM",
            )
        if props.get("ApiKeyRequired") is True:
            route["api_key_required"] = True
            self.ctx.at((*r, "api_key_required"), self.ref(resource, "ApiKeyRequired"))
        self.request_validation(resource, props, api, r)

    def request_validation(self, resource: Resource, props: Mapping[str, Any], api: str, r: KeyPath) -> None:
        """``RequestValidatorId`` with the method's required ``RequestParameters`` and its
        ``RequestModels`` schemas (AWS::ApiGateway::Model); without a validator they only
        document the method."""
        validator_id = props.get("RequestValidatorId")
        params = props.get("RequestParameters")
        models = props.get("RequestModels")
        if validator_id is None:
            for key in ("RequestParameters", "RequestModels"):
                if props.get(key):
                    self.ignore_property_of(
                        resource.type,
                        resource.logical_id,
                        key,
                        self.ref(resource, key),
                        "without a RequestValidatorId API Gateway does not check it",
                    )
            return
        logical = self.logical_of(
            validator_id, ("validator",), self.ref(resource, "RequestValidatorId"), "RequestValidatorId"
        )
        if logical is None:
            return
        validator = self._validators.get(logical, {})
        validation: dict[str, Any] = {}
        if validator.get("ValidateRequestParameters") is True and isinstance(params, dict):
            required = [str(k) for k, v in params.items() if v is True or str(v).lower() == "true"]
            if required:
                validation["required_parameters"] = required
        if validator.get("ValidateRequestBody") is True and isinstance(models, dict):
            schemas: dict[str, Any] = {}
            for content_type, model_name in models.items():
                schema = self._models.get((api, str(model_name)))
                if schema is None:
                    self.ctx.error(
                        self.ref(resource, "RequestModels", content_type),
                        f"model {model_name!r} is not an AWS::ApiGateway::Model of this API",
                    )
                    continue
                schemas[str(content_type)] = schema
            if schemas:
                validation["body_schemas"] = schemas
        if validation:
            self.ctx.put((*r, "request_validation"), validation, self.ref(resource, "RequestValidatorId"))

    def rest_model(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(resource, props, {"RestApiId", "Name", "Schema", "ContentType", "Description"})
        api = self.logical_of(props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId")
        schema = props.get("Schema")
        if isinstance(schema, str):
            try:
                schema = json.loads(schema)
            except ValueError:
                self.ctx.error(self.ref(resource, "Schema"), "Schema is not JSON")
                return
        if api is None or not isinstance(schema, dict):
            return
        name = props.get("Name", resource.logical_id)
        self._models[(api, str(name))] = schema
        self._models[(api, resource.logical_id)] = schema
        self._models[(api, self.resolver.name_of(resource.logical_id))] = schema

    def rest_integration(
        self, resource: Resource, integ: Mapping[str, Any], api: str
    ) -> dict[str, Any] | None:
        """``Integration`` of a method (AWS_PROXY, HTTP_PROXY, HTTP, MOCK; AWS refused)."""
        kind = str(integ.get("Type", "")).upper()
        base = ("Integration",)
        src = self.ref(resource, "Integration", "Type")
        if integ.get("ConnectionType") == "VPC_LINK":
            self.ctx.refuse(
                self.ref(resource, *base, "ConnectionType"), "VPC link integrations are not supported"
            )
            return None
        common_ignored = {
            "Credentials": "IAM has no local meaning",
            "CacheKeyParameters": _NO_CACHE,
            "CacheNamespace": _NO_CACHE,
            "ConnectionType": "the connection goes over the internet",
            "ConnectionId": "VPC links are not used",
            "Description": "a description has no effect",
            "TlsConfig": "the backend's certificate is checked as usual",
            "IntegrationTarget": "VPC link targets are not used",
        }
        if kind == "AWS_PROXY":
            self.classify(
                resource,
                integ,
                {
                    "Type",
                    "Uri",
                    "IntegrationHttpMethod",
                    "TimeoutInMillis",
                    "PassthroughBehavior",
                    "ContentHandling",
                    "RequestParameters",
                    "RequestTemplates",
                    "IntegrationResponses",
                },
                common_ignored,
                prefix=base,
                what="Integration",
            )
            function = self.integration_function(integ.get("Uri"), self.ref(resource, *base, "Uri"), api)
            if function is None:
                return None
            out: dict[str, Any] = {"type": "aws_proxy", "function": function}
            if "TimeoutInMillis" in integ:
                out["timeout_ms"] = _number(integ["TimeoutInMillis"])
            return out
        if kind == "HTTP_PROXY":
            self.classify(
                resource,
                integ,
                {
                    "Type",
                    "Uri",
                    "IntegrationHttpMethod",
                    "TimeoutInMillis",
                    "RequestParameters",
                    "PassthroughBehavior",
                    "IntegrationResponses",
                },
                common_ignored,
                prefix=base,
                what="Integration",
            )
            out = {"type": "http_proxy", "uri": str(integ.get("Uri", ""))}
            if "IntegrationHttpMethod" in integ:
                out["method"] = str(integ["IntegrationHttpMethod"]).upper()
            if isinstance(integ.get("RequestParameters"), dict):
                out["request_parameters"] = {str(k): str(v) for k, v in integ["RequestParameters"].items()}
            if "TimeoutInMillis" in integ:
                out["timeout_ms"] = _number(integ["TimeoutInMillis"])
            return out
        if kind == "HTTP":
            self.classify(
                resource,
                integ,
                {
                    "Type",
                    "Uri",
                    "IntegrationHttpMethod",
                    "TimeoutInMillis",
                    "RequestParameters",
                    "PassthroughBehavior",
                    "IntegrationResponses",
                    "RequestTemplates",
                },
                common_ignored,
                {"ContentHandling": "binary conversions are not supported"},
                prefix=base,
                what="Integration",
            )
            if integ.get("RequestTemplates"):
                self.ctx.refuse(
                    self.ref(resource, *base, "RequestTemplates"),
                    "request mapping templates (VTL) are not run: the body passes through",
                )
            out = {
                "type": "http",
                "uri": str(integ.get("Uri", "")),
                "method": str(integ.get("IntegrationHttpMethod", "GET")).upper(),
            }
            if isinstance(integ.get("RequestParameters"), dict):
                out["request_parameters"] = {str(k): str(v) for k, v in integ["RequestParameters"].items()}
            if "PassthroughBehavior" in integ:
                out["passthrough_behavior"] = str(integ["PassthroughBehavior"]).lower()
            if "TimeoutInMillis" in integ:
                out["timeout_ms"] = _number(integ["TimeoutInMillis"])
            responses = self.http_responses(resource, integ.get("IntegrationResponses"))
            if responses:
                out["responses"] = responses
            return out
        if kind == "MOCK":
            reads_body = mock_reads_body(integ.get("RequestTemplates"))
            self.classify(
                resource,
                integ,
                {"Type", "RequestTemplates", "IntegrationResponses", "PassthroughBehavior"},
                {**common_ignored, **({} if reads_body else {"ContentHandling": MOCK_CONTENT_HANDLING})},
                {"ContentHandling": "binary conversions are not supported"},
                prefix=base,
                what="Integration",
            )
            return self.mock(resource, integ)
        if kind == "AWS":
            self.ctx.refuse(
                src,
                "AWS service integrations (Type AWS) call AWS services; Gatehold runs Lambda"
                " proxy, HTTP, HTTP proxy and mock integrations",
            )
            return None
        self.ctx.error(
            src, f"integration Type {integ.get('Type')!r} is not AWS_PROXY, HTTP_PROXY, HTTP, MOCK or AWS"
        )
        return None

    def integration_function(self, uri: Any, src: SourceRef, api: str) -> str | None:
        """The model function a Lambda integration URI names (``${stageVariables.x}`` as the function
        name is resolved when the API's stages agree on its value)."""
        text = str(uri) if uri is not None else ""
        match = re.search(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}", text)
        if match:
            values = {
                (stage.get("variables") or {}).get(match.group(1))
                for stage in self.ctx.data["apis"][api].get("stages", {}).values()
            }
            if len(values) != 1 or None in values:
                self.ctx.refuse(
                    src,
                    f"the function is chosen by stage variable {match.group(1)}, which the"
                    " stages do not set to one value",
                )
                return None
            value = values.pop()
            text = text.replace(match.group(0), str(value))
            self.ctx.note(src, f"stage variable {match.group(1)} names function {value}")
        parsed = lambda_function_name(text)
        if parsed is None:
            self.ctx.error(src, f"{text!r} is not a Lambda function invocation URI")
            return None
        if parsed[1] is not None:
            self.ctx.note(src, f"qualifier {parsed[1]} of {parsed[0]}: the function's current code runs")
        return self.ctx.function_key(parsed[0])

    def http_responses(self, resource: Resource, raw: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not isinstance(raw, list):
            return out
        for i, response in enumerate(raw):
            if not isinstance(response, dict):
                continue
            at = ("Integration", "IntegrationResponses", i)
            for key in response:
                if key == "ResponseTemplates":
                    if any(str(t).strip() for t in (response[key] or {}).values()):
                        self.ctx.refuse(
                            self.ref(resource, *at, key),
                            "response mapping templates (VTL) are not run: the body passes through",
                        )
                elif key not in ("StatusCode", "SelectionPattern", "ResponseParameters"):
                    self.ctx.refuse(
                        self.ref(resource, *at, key),
                        f"{key} is not an integration response setting Gatehold knows",
                    )
            pattern = str(response.get("SelectionPattern") or "default")
            headers = {
                str(k).removeprefix("method.response.header."): str(v)
                for k, v in (response.get("ResponseParameters") or {}).items()
                if str(k).startswith("method.response.header.")
            }
            entry: dict[str, Any] = {"status_code": _number(response.get("StatusCode", 200))}
            if headers:
                entry["headers"] = headers
            out[pattern] = entry
        return out

    def mock(self, resource: Resource, integ: Mapping[str, Any]) -> dict[str, Any] | None:
        """A MOCK integration: the request template's ``statusCode`` picks the integration response
        (by ``SelectionPattern``, else the default one); its static headers and template are the
        response."""
        base = ("Integration",)
        templates = integ.get("RequestTemplates") or {}
        request = templates.get("application/json") if isinstance(templates, dict) else None
        if request is None and isinstance(templates, dict) and templates:
            request = next(iter(templates.values()))
        if request is None:
            self.ctx.refuse(
                self.ref(resource, *base),
                'a mock integration without a RequestTemplates {"statusCode": N} answers 500 on API Gateway',
            )
            return None
        status = 200
        if isinstance(request, str):
            m = _STATUS_IN_TEMPLATE.search(request)
            if m:
                status = int(m.group(1))
            if _VTL.search(request):
                self.ctx.refuse(
                    self.ref(resource, *base, "RequestTemplates"),
                    "request mapping templates (VTL) are not run; a mock reads only its statusCode",
                )
        responses = integ.get("IntegrationResponses") or []
        chosen: tuple[int, Mapping[str, Any]] | None = None
        for i, response in enumerate(responses if isinstance(responses, list) else []):
            if not isinstance(response, dict):
                continue
            pattern = response.get("SelectionPattern")
            if pattern and re.fullmatch(str(pattern), str(status)):
                chosen = (i, response)
                break
            if not pattern and chosen is None:
                chosen = (i, response)
        out: dict[str, Any] = {"type": "mock", "status_code": status}
        if chosen is None:
            self.ctx.refuse(
                self.ref(resource, *base, "IntegrationResponses")
                if "IntegrationResponses" in integ
                else self.ref(resource, *base),
                f"no integration response for the mock's status {status}: API Gateway answers 500",
            )
            return None
        i, response = chosen
        at = (*base, "IntegrationResponses", i)
        out["status_code"] = _number(response.get("StatusCode", status))
        headers: dict[str, str] = {}
        for name, value in (response.get("ResponseParameters") or {}).items():
            header = str(name).removeprefix("method.response.header.")
            text = str(value)
            if header == str(name) or not (len(text) >= 2 and text.startswith("'") and text.endswith("'")):
                self.ctx.refuse(
                    self.ref(resource, *at, "ResponseParameters", name),
                    "a mock response sets headers from 'static' values only",
                )
                continue
            headers[header] = text[1:-1]
        templates_out = response.get("ResponseTemplates") or {}
        if isinstance(templates_out, dict) and templates_out:
            content_type, body = next(iter(templates_out.items()))
            if "application/json" in templates_out:
                content_type, body = "application/json", templates_out["application/json"]
            body = str(body or "")
            if _VTL.search(body):
                self.ctx.refuse(
                    self.ref(resource, *at, "ResponseTemplates"),
                    "response mapping templates (VTL) other than $context and $stageVariables"
                    " substitutions are not run",
                )
            else:
                out["body"] = body
                if content_type != "application/json" and not any(
                    h.lower() == "content-type" for h in headers
                ):
                    headers["Content-Type"] = str(content_type)
        if headers:
            out["headers"] = headers
        return out

    def gateway_response(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {"RestApiId", "ResponseType", "StatusCode", "ResponseParameters", "ResponseTemplates"},
        )
        api = self.logical_of(props.get("RestApiId"), ("api",), self.ref(resource, "RestApiId"), "RestApiId")
        kind = props.get("ResponseType")
        if api is None or not isinstance(kind, str):
            return
        out = self.gateway_response_config(
            resource,
            props.get("StatusCode"),
            props.get("ResponseParameters"),
            props.get("ResponseTemplates"),
            (),
        )
        self.ctx.put(("apis", api, "gateway_responses", kind), out, self.at(resource))

    def gateway_response_config(
        self,
        resource: Resource,
        status: Any,
        params: Any,
        templates: Any,
        prefix: tuple[str, ...],
        *,
        sam: bool = False,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if status is not None:
            out["status_code"] = _number(status)
        headers: dict[str, str] = {}
        if isinstance(params, dict):
            for name, value in params.items():
                if sam:  # SAM: ResponseParameters: {Headers: {X: "'v'"}}
                    if name != "Headers":
                        self.ctx.refuse(
                            self.ref(resource, *prefix, "ResponseParameters", name),
                            "gateway responses set headers only (Paths and QueryStrings are not read)",
                        )
                        continue
                    for header, header_value in (value or {}).items():
                        headers[str(header)] = str(header_value)
                    continue
                if not str(name).startswith("gatewayresponse.header."):
                    self.ctx.refuse(
                        self.ref(resource, *prefix, "ResponseParameters", name),
                        "gateway responses set headers only",
                    )
                    continue
                headers[str(name).removeprefix("gatewayresponse.header.")] = str(value)
        if headers:
            out["headers"] = headers
        if isinstance(templates, dict) and templates:
            out["template"] = str(templates.get("application/json", next(iter(templates.values()))))
        return out

    def http_authorizer(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "ApiId",
                "AuthorizerType",
                "IdentitySource",
                "JwtConfiguration",
                "Name",
                "AuthorizerUri",
                "AuthorizerPayloadFormatVersion",
                "EnableSimpleResponses",
                "AuthorizerResultTtlInSeconds",
            },
            {"AuthorizerCredentialsArn": _INVOKED_DIRECTLY},
            {"IdentityValidationExpression": "identity validation expressions belong to WebSocket APIs"},
        )
        api = self.logical_of(props.get("ApiId"), ("api",), self.ref(resource, "ApiId"), "ApiId")
        if api is None:
            return
        kind = str(props.get("AuthorizerType", "")).upper()
        name = resource.logical_id
        at: KeyPath = ("apis", api, "authorizers", name)
        sources = props.get("IdentitySource")
        identity = (
            [str(s) for s in sources]
            if isinstance(sources, list)
            else ([s.strip() for s in str(sources).split(",") if s.strip()] if sources else [])
        )
        if kind == "JWT":
            jwt = props.get("JwtConfiguration")
            if not isinstance(jwt, dict) or not jwt.get("Issuer"):
                self.ctx.error(
                    self.ref(resource, "JwtConfiguration"), "a JWT authorizer needs JwtConfiguration.Issuer"
                )
                return
            audience = jwt.get("Audience") or []
            issuer = self.ctx.alias_issuer(
                str(jwt["Issuer"]), self.ref(resource, "JwtConfiguration", "Issuer")
            )
            auth: dict[str, Any] = {
                "type": "JWT",
                "identity_source": identity or ["$request.header.Authorization"],
                "jwt_configuration": {
                    "issuer": issuer,
                    "audience": [str(a) for a in (audience if isinstance(audience, list) else [audience])],
                },
            }
            self.ctx.put(at, auth, self.at(resource))
            self.ctx.at((*at, "jwt_configuration"), self.ref(resource, "JwtConfiguration"))
            self.ctx.at(
                (*at, "jwt_configuration", "audience"), self.ref(resource, "JwtConfiguration", "Audience")
            )
        elif kind == "REQUEST":
            function = self.authorizer_function(
                props.get("AuthorizerUri"), self.ref(resource, "AuthorizerUri")
            )
            if function is None:
                return
            version = props.get("AuthorizerPayloadFormatVersion")
            if version is None:
                self.ctx.error(
                    self.at(resource), "an HTTP API Lambda authorizer needs AuthorizerPayloadFormatVersion"
                )
                return
            auth = {
                "type": "REQUEST",
                "function": function,
                "identity_source": identity,
                "payload_format_version": version_text(version),
            }
            if props.get("EnableSimpleResponses") is True:
                auth["enable_simple_responses"] = True
            if "AuthorizerResultTtlInSeconds" in props:
                auth["result_ttl"] = _number(props["AuthorizerResultTtlInSeconds"])
            self.ctx.put(at, auth, self.at(resource))
            self.ctx.at((*at, "function"), self.ref(resource, "AuthorizerUri"))
            self.ctx.at((*at, "payload_format_version"), self.ref(resource, "AuthorizerPayloadFormatVersion"))
        else:
            self.ctx.error(
                self.ref(resource, "AuthorizerType"),
                f"AuthorizerType {props.get('AuthorizerType')!r} is not JWT or REQUEST",
            )
            return
        if "IdentitySource" in props:
            self.ctx.at((*at, "identity_source"), self.ref(resource, "IdentitySource"))

    def http_integration(self, resource: Resource) -> dict[str, Any] | None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {
                "ApiId",
                "IntegrationType",
                "IntegrationUri",
                "IntegrationMethod",
                "PayloadFormatVersion",
                "TimeoutInMillis",
                "ConnectionType",
                "Description",
            },
            {
                "CredentialsArn": "IAM has no local meaning",
                "TlsConfig": "the backend's certificate is checked as usual",
                "PassthroughBehavior": "WebSocket setting",
                "ContentHandlingStrategy": "WebSocket setting",
                "TemplateSelectionExpression": "WebSocket setting",
            },
            {
                "RequestParameters": "parameter mapping is not supported",
                "ResponseParameters": "parameter mapping is not supported",
                "IntegrationSubtype": "AWS service integrations are not supported",
                "RequestTemplates": "mapping templates belong to WebSocket APIs",
                "ConnectionId": "VPC link integrations are not supported",
            },
        )
        api = self.logical_of(props.get("ApiId"), ("api",), self.ref(resource, "ApiId"), "ApiId")
        if api is None:
            return None
        kind = str(props.get("IntegrationType", "")).upper()
        if props.get("ConnectionType") == "VPC_LINK":
            self.ctx.refuse(self.ref(resource, "ConnectionType"), "VPC link integrations are not supported")
            return None
        if "IntegrationSubtype" in props:
            return None
        if kind == "AWS_PROXY":
            function = self.integration_function(
                props.get("IntegrationUri"), self.ref(resource, "IntegrationUri"), api
            )
            if function is None:
                return None
            version = props.get("PayloadFormatVersion")
            if version is None:
                self.ctx.error(
                    self.at(resource), "a Lambda integration needs PayloadFormatVersion (1.0 or 2.0)"
                )
                return None
            out: dict[str, Any] = {
                "type": "aws_proxy",
                "function": function,
                "payload_format_version": version_text(version),
            }
        elif kind == "HTTP_PROXY":
            out = {"type": "http_proxy", "uri": str(props.get("IntegrationUri", ""))}
            if "IntegrationMethod" in props:
                out["method"] = str(props["IntegrationMethod"]).upper()
        elif kind in ("AWS", "MOCK", "HTTP"):
            self.ctx.refuse(
                self.ref(resource, "IntegrationType"), f"IntegrationType {kind} belongs to WebSocket APIs"
            )
            return None
        else:
            self.ctx.error(
                self.ref(resource, "IntegrationType"),
                f"IntegrationType {props.get('IntegrationType')!r} is not AWS_PROXY or HTTP_PROXY",
            )
            return None
        if "TimeoutInMillis" in props:
            out["timeout_ms"] = _number(props["TimeoutInMillis"])
        return out

    def http_route(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {"ApiId", "RouteKey", "Target", "AuthorizationType", "AuthorizerId", "AuthorizationScopes"},
            {
                "OperationName": "an operation name has no effect on requests",
                "ApiKeyRequired": "HTTP APIs have no API keys",
                "ModelSelectionExpression": "WebSocket setting",
                "RouteResponseSelectionExpression": "WebSocket setting",
                "RequestModels": "WebSocket setting",
            },
            {"RequestParameters": "route request parameters belong to WebSocket APIs"},
        )
        api = self.logical_of(props.get("ApiId"), ("api",), self.ref(resource, "ApiId"), "ApiId")
        key = props.get("RouteKey")
        if api is None or api not in self.ctx.data.get("apis", {}) or not isinstance(key, str):
            return
        target = props.get("Target")
        if target is None:
            self.ctx.note(self.at(resource), f"route {key} has no Target (integration): it is not served")
            return
        integration_id = str(target).removeprefix("integrations/")
        logical = self.logical_of(integration_id, ("integration",), self.ref(resource, "Target"), "Target")
        if logical is None:
            return
        integration = self._http_integrations.get(logical)
        if integration is None:
            return
        route: dict[str, Any] = {"integration": dict(integration)}
        if not self.put_route(api, key, route, self.at(resource)):
            return
        r: KeyPath = ("apis", api, "routes", key)
        self.ctx.at((*r, "integration"), self.at(self.resolver.resources[logical]))
        auth_type = str(props.get("AuthorizationType", "NONE")).upper()
        if auth_type in ("JWT", "CUSTOM"):
            authorizer = self.logical_of(
                props.get("AuthorizerId"), ("authorizer",), self.ref(resource, "AuthorizerId"), "AuthorizerId"
            )
            if authorizer is not None:
                route["authorizer"] = authorizer
                self.ctx.at((*r, "authorizer"), self.ref(resource, "AuthorizerId"))
            scopes = props.get("AuthorizationScopes")
            if scopes:
                route["authorization_scopes"] = [str(s) for s in scopes]
                self.ctx.at((*r, "authorization_scopes"), self.ref(resource, "AuthorizationScopes"))
        elif auth_type == "AWS_IAM":
            self.ctx.refuse(
                self.ref(resource, "AuthorizationType"), "IAM (SigV4) authorization is not supported"
            )
            self.unguarded.add((api, key))
        elif auth_type != "NONE":
            self.ctx.error(
                self.ref(resource, "AuthorizationType"),
                f"AuthorizationType {auth_type} is not NONE, JWT, CUSTOM or AWS_IAM",
            )

    # -- phase 4: settings that need the routes ---------------------------------------------------

    def read_settings(self, resources: list[Resource]) -> None:
        for api, parts in self._rest.items():
            if api not in self.ctx.data.get("apis", {}):
                continue
            for stage, settings, resource, prefix in parts.stage_settings:
                if resource.type == "AWS::ApiGatewayV2::Stage":
                    self.http_stage_throttling(api, stage, settings, resource)
                else:
                    self.rest_stage_throttling(api, stage, settings, resource, prefix)
        self.usage_plans(resources)

    def throttle(self, rate: Any, burst: Any, src: SourceRef) -> dict[str, Any] | None:
        if rate is None and burst is None:
            return None
        rate_value = float(_number(rate)) if rate is not None else ACCOUNT_RATE
        burst_value = int(_number(burst)) if burst is not None else ACCOUNT_BURST
        if rate_value < 0 or burst_value < 0:
            return None
        if rate is None or burst is None:
            self.ctx.note(
                src,
                "throttling gives one limit: the other is the account's default"
                f" ({ACCOUNT_RATE:g} requests/s, burst {ACCOUNT_BURST})",
            )
        return {"rate_limit": rate_value, "burst_limit": burst_value}

    def rest_stage_throttling(
        self, api: str, stage: str, settings: Mapping[str, Any], resource: Resource, prefix: tuple[str, ...]
    ) -> None:
        at: KeyPath = ("apis", api, "stages", stage)
        model = self.ctx.data["apis"][api]["stages"].setdefault(stage, {})
        stage_throttle = self.throttle(
            settings.get("ThrottlingRateLimit"),
            settings.get("ThrottlingBurstLimit"),
            self.ref(resource, *prefix),
        )
        if stage_throttle is not None:
            model["throttling"] = stage_throttle
            self.ctx.at((*at, "throttling"), self.ref(resource, *prefix))
        self.method_settings(
            api, stage, settings.get("MethodSettings"), resource, (*prefix, "MethodSettings")
        )

    def method_settings(
        self, api: str, stage: str, raw: Any, resource: Resource, path: tuple[str, ...]
    ) -> None:
        """``MethodSettings``: ``/*`` ``*`` throttles the stage, others their methods
        (``ResourcePath`` with ``~1`` for ``/``); logging, metrics and caching are ignored."""
        if not isinstance(raw, list):
            return
        at: KeyPath = ("apis", api, "stages", stage)
        model = self.ctx.data["apis"][api]["stages"].setdefault(stage, {})
        routes = self.ctx.data["apis"][api].get("routes", {})
        for i, setting in enumerate(raw):
            if not isinstance(setting, dict):
                continue
            src = self.ref(resource, *path, i)
            for key in setting:
                if key in ("ResourcePath", "HttpMethod", "ThrottlingBurstLimit", "ThrottlingRateLimit"):
                    continue
                why = {
                    "LoggingLevel": _CONSOLE_LOGS,
                    "MetricsEnabled": "metrics are served at /metrics",
                    "DataTraceEnabled": _CONSOLE_LOGS,
                    "CachingEnabled": _NO_CACHE,
                    "CacheTtlInSeconds": _NO_CACHE,
                    "CacheDataEncrypted": _NO_CACHE,
                }.get(key)
                if why is None:
                    self.ctx.refuse(
                        self.ref(resource, *path, i, key), f"{key} is not a method setting Gatehold knows"
                    )
                else:
                    self.ignore_property_of(
                        resource.type,
                        resource.logical_id,
                        f"MethodSettings.{key}",
                        self.ref(resource, *path, i, key),
                        why,
                    )
            throttle = self.throttle(
                setting.get("ThrottlingRateLimit"), setting.get("ThrottlingBurstLimit"), src
            )
            if throttle is None:
                continue
            resource_path = str(setting.get("ResourcePath", "/*")).replace("~1", "/")
            method = str(setting.get("HttpMethod", "*")).upper()
            if resource_path in ("/*", "*") and method == "*":
                model["throttling"] = throttle
                self.ctx.at((*at, "throttling"), src)
                continue
            if resource_path.startswith("//"):
                resource_path = resource_path[1:]
            matched = [
                key
                for key in routes
                if key != "$default"
                and (method == "*" or key.split(" ", 1)[0] in (method, "ANY"))
                and (resource_path in ("/*", "*") or key.split(" ", 1)[1] == resource_path)
            ]
            if not matched:
                self.ctx.error(
                    src, f"method setting for {method} {resource_path} names no method of API {api}"
                )
                continue
            for key in matched:
                model.setdefault("route_throttling", {})[key] = throttle
                self.ctx.at((*at, "route_throttling", key), src)

    def http_stage_throttling(
        self, api: str, stage: str, props: Mapping[str, Any], resource: Resource
    ) -> None:
        at: KeyPath = ("apis", api, "stages", stage)
        model = self.ctx.data["apis"][api]["stages"].setdefault(stage, {})
        routes = self.ctx.data["apis"][api].get("routes", {})
        for prop, route_key in (
            ("DefaultRouteSettings", None),
            *(("RouteSettings", k) for k in (props.get("RouteSettings") or {})),
        ):
            raw = props.get(prop) if route_key is None else props["RouteSettings"][route_key]
            if not isinstance(raw, dict):
                continue
            path = (prop,) if route_key is None else (prop, route_key)
            for key in raw:
                if key in ("ThrottlingBurstLimit", "ThrottlingRateLimit"):
                    continue
                if key in ("DetailedMetricsEnabled", "LoggingLevel", "DataTraceEnabled"):
                    self.ignore_property_of(
                        resource.type,
                        resource.logical_id,
                        f"{prop}.{key}",
                        self.ref(resource, *path, key),
                        "logs and metrics are the gateway's own",
                    )
                else:
                    self.ctx.refuse(
                        self.ref(resource, *path, key), f"{key} is not a route setting Gatehold knows"
                    )
            throttle = self.throttle(
                raw.get("ThrottlingRateLimit"), raw.get("ThrottlingBurstLimit"), self.ref(resource, *path)
            )
            if throttle is None:
                continue
            if route_key is None:
                model["throttling"] = throttle
                self.ctx.at((*at, "throttling"), self.ref(resource, *path))
            elif route_key not in routes:
                self.ctx.error(
                    self.ref(resource, *path),
                    f"route settings name route {route_key!r}, which API {api} does not have",
                )
            else:
                model.setdefault("route_throttling", {})[route_key] = throttle
                self.ctx.at((*at, "route_throttling", route_key), self.ref(resource, *path))

    def usage_plans(self, resources: list[Resource]) -> None:
        """UsagePlan + ApiKey + UsagePlanKey → ``gateway.usage_plans``. A key without ``Value`` gets
        a generated one (stable for the template), listed by ``gatehold check``."""
        for resource in resources:
            if resource.type == "AWS::ApiGateway::ApiKey":
                props = self.properties(resource)
                self.classify(
                    resource,
                    props,
                    {"Value", "Enabled", "Name", "StageKeys", "Description"},
                    {
                        "CustomerId": "customer ids are for AWS Marketplace",
                        "GenerateDistinctId": "the key id is derived from the key",
                        "Tags": _NO_TAGS,
                    },
                )
                if props.get("Enabled") is False:
                    self.ctx.note(
                        self.ref(resource, "Enabled"),
                        f"API key {resource.logical_id} is disabled: it opens nothing",
                    )
                    self._api_keys[resource.logical_id] = None
                    continue
                self._api_keys[resource.logical_id] = self.api_key_value(resource, props.get("Value"))
        for resource in resources:
            if resource.type == "AWS::ApiGateway::UsagePlanKey":
                props = self.properties(resource)
                self.classify(resource, props, {"KeyId", "KeyType", "UsagePlanId"})
                key = self.logical_of(props.get("KeyId"), ("apikey",), self.ref(resource, "KeyId"), "KeyId")
                plan = self.logical_of(
                    props.get("UsagePlanId"), ("usageplan",), self.ref(resource, "UsagePlanId"), "UsagePlanId"
                )
                if key is not None and plan is not None:
                    self._usage_plan_keys.setdefault(plan, []).append((key, resource))
        for resource in resources:
            if resource.type == "AWS::ApiGateway::UsagePlan":
                self.usage_plan(resource)

    def api_key_value(self, resource: Resource, value: Any) -> str:
        if isinstance(value, str) and value:
            return value
        return self.generated_key(resource.logical_id, self.at(resource))

    def generated_key(self, name: str, src: SourceRef) -> str:
        """An API key AWS would generate: ``--value 'ApiKey:NAME=…'``, else a stable value derived
        from the key's name, listed by ``gatehold check``."""
        given = self.ctx.options.values.get(f"ApiKey:{name}")
        if given:
            return given
        value = stable_id("apikey-value", name, 40)
        self.ctx.note(
            src,
            f"API key {name} has no value in the template: it is {value} here (send it as x-api-key;"
            f" choose another with --value 'ApiKey:{name}=…')",
        )
        return value

    def usage_plan(self, resource: Resource) -> None:
        props = self.properties(resource)
        self.classify(
            resource,
            props,
            {"ApiStages", "Quota", "Throttle", "UsagePlanName", "Description"},
            {"Tags": _NO_TAGS},
        )
        name = resource.logical_id
        plan: dict[str, Any] = {"api_stages": [], "api_keys": []}
        for i, entry in enumerate(props.get("ApiStages") or []):
            if not isinstance(entry, dict):
                continue
            api = self.logical_of(
                entry.get("ApiId"), ("api",), self.ref(resource, "ApiStages", i, "ApiId"), "ApiId"
            )
            if api is None:
                continue
            plan["api_stages"].append(f"{api}/{entry.get('Stage')}")
            if "Throttle" in entry:
                self.ctx.refuse(
                    self.ref(resource, "ApiStages", i, "Throttle"),
                    "per-method usage-plan throttling is not supported (the plan's Throttle is)",
                )
        for key_logical, _ in self._usage_plan_keys.get(name, []):
            value = self._api_keys.get(key_logical)
            if value is not None:
                plan["api_keys"].append(value)
        self.put_plan(name, plan, props.get("Throttle"), props.get("Quota"), resource, ())

    def put_plan(
        self,
        name: str,
        plan: dict[str, Any],
        throttle: Any,
        quota: Any,
        resource: Resource,
        prefix: tuple[str, ...],
    ) -> None:
        at: KeyPath = ("gateway", "usage_plans", name)
        if isinstance(throttle, dict):
            value = self.throttle(
                throttle.get("RateLimit"), throttle.get("BurstLimit"), self.ref(resource, *prefix, "Throttle")
            )
            if value is not None:
                plan["throttling"] = value
        if isinstance(quota, dict):
            plan["quota"] = {
                "limit": _number(quota.get("Limit", 0)),
                "period": str(quota.get("Period", "DAY")),
                "offset": _number(quota.get("Offset", 0)),
            }
        self.ctx.put(at, plan, self.ref(resource, *prefix) if prefix else self.at(resource))
        if "throttling" in plan:
            self.ctx.at((*at, "throttling"), self.ref(resource, *prefix, "Throttle"))
        if "quota" in plan:
            self.ctx.at((*at, "quota"), self.ref(resource, *prefix, "Quota"))

    # -- phase 5: everything else -----------------------------------------------------------------

    def handled_types(self) -> set[str]:
        return {
            "AWS::Lambda::Function",
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGateway::Stage",
            "AWS::ApiGateway::Deployment",
            "AWS::ApiGateway::Resource",
            "AWS::ApiGateway::Method",
            "AWS::ApiGateway::Authorizer",
            "AWS::ApiGateway::GatewayResponse",
            "AWS::ApiGateway::Model",
            "AWS::ApiGateway::RequestValidator",
            "AWS::ApiGateway::UsagePlan",
            "AWS::ApiGateway::ApiKey",
            "AWS::ApiGateway::UsagePlanKey",
            "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Stage",
            "AWS::ApiGatewayV2::Route",
            "AWS::ApiGatewayV2::Integration",
            "AWS::ApiGatewayV2::Authorizer",
        }

    def read_others(self, resources: list[Resource]) -> None:
        handled = self.handled_types()
        for resource in resources:
            rtype = resource.type
            if rtype in handled:
                continue
            if rtype == "AWS::DynamoDB::Table":  # served by the local DynamoDB endpoint
                dynamodb_table(self, resource)
                continue
            if rtype in _REFUSED_TYPES:
                self.ctx.refuse(self.at(resource), _REFUSED_TYPES[rtype])
                continue
            why = _IGNORED_TYPES.get(rtype)
            if why is None and rtype.startswith(_API_FAMILIES):
                # a piece of an API or a function Gatehold does not know: never served without it
                self.ctx.refuse(self.at(resource), f"{rtype} is not supported")
                continue
            if why is None:
                why = next(
                    (r for p, r in _IGNORED_PREFIXES.items() if rtype.startswith(p)), _OTHER_TYPE_REASON
                )
            self.ignore_type(resource, why)


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def _names(ids: list[str]) -> str:
    shown = ", ".join(ids[:5])
    return shown + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def version_text(value: Any) -> str:
    """A payload format version as written: YAML reads ``2.0`` as a number."""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _number(value: Any) -> Any:
    """``"30"`` → 30, ``"2.5"`` → 2.5; anything else as it is (the schema reports it)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


def resolved(value: Any) -> bool:
    return value is not NO_VALUE
