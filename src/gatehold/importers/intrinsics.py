"""CloudFormation's intrinsic functions, parameters, pseudo parameters and conditions, resolved locally.

Used by the SAM and CloudFormation importers (and usable by any importer that reads template
values). Pure: the template, the region, the account, the user's ``--parameter-overrides`` and
``--value`` entries in; plain values out. Every problem names the template's file, line and the key
path of the intrinsic at fault (``template.yaml:42: Resources.Fn.Properties.Environment.Variables.
TABLE['Fn::ImportValue']: …``), through a :class:`Reporter` (an
:class:`~gatehold.importers.base.ImportContext` is one).

What each function returns follows the CloudFormation template reference ("Intrinsic function
reference", "Pseudo parameters reference") and, where CloudFormation would ask AWS, what
``sam local`` answers (``samcli/lib/intrinsic_resolver/intrinsics_symbol_table.py``):

================================  ===============================================================
``Ref`` parameter                 its value: ``--parameter-overrides`` else ``Default``; ``Number``
                                  stays text (CloudFormation passes parameters as strings);
                                  ``CommaDelimitedList`` / ``List<…>`` → a list
``Ref`` pseudo parameter          ``AWS::Region`` / ``AWS::AccountId`` (gateway settings),
                                  ``AWS::StackName`` ``local``, ``AWS::StackId`` a fixed ARN,
                                  ``AWS::Partition`` from the region, ``AWS::URLSuffix``,
                                  ``AWS::NotificationARNs`` ``[]``, ``AWS::NoValue`` removes the
                                  property (or list item); each may be overridden like a parameter
``Ref`` Lambda function           its name: ``FunctionName``, else the logical id (as ``sam local``)
``Ref`` RestApi / HTTP API        a stable 10-character id derived from the logical id (the
                                  model's ``api_id``); ``Fn::GetAtt Api.RootResourceId`` likewise
``Ref`` other resources           the resource's own name property when it has one
                                  (``TableName``, ``QueueName``, ``BucketName``, ``RoleName`` …,
                                  or ``Name``), else the logical id; ids of API Gateway pieces
                                  (resources, authorizers, deployments, integrations) are stable
                                  ids; stages give their ``StageName``
``Fn::GetAtt``                    ``Arn`` of any resource: an ARN of the right service built from
                                  its name; documented attributes of API Gateway and Lambda
                                  resources; any other attribute: a stable placeholder
                                  ``local-<LogicalId>-<Attribute>``, noted
``Fn::ImportValue``               ``--value 'ImportValue:NAME=…'``, else refused
``{{resolve:ssm:…}}``             ``--value 'resolve:ssm:NAME=…'`` (any dynamic reference), else
                                  refused; ``AWS::SSM::Parameter::Value<…>`` parameters likewise
                                  with ``--value 'ssm:NAME=…'``
``Fn::Transform``                 ``AWS::Include`` with a local ``Location`` is read (relative to
                                  the template), as ``sam`` packages it; other transforms refused
================================  ===============================================================

``Fn::Sub`` (both forms, ``${!Literal}``), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``,
``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``, ``Fn::FindInMap`` (with
``DefaultValue``), ``Fn::Base64``, ``Fn::GetAZs``, ``Fn::Cidr``, ``Fn::Length`` and
``Fn::ToJsonString`` are evaluated as CloudFormation does.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gatehold.config.document import Document
from gatehold.config.problems import KeyPath, SourceRef

__all__ = [
    "NO_VALUE",
    "Deferred",
    "Reporter",
    "Resolver",
    "Resource",
    "is_intrinsic",
    "lambda_function_name",
    "stable_id",
]


class Reporter(Protocol):
    """Where the resolver reports (an :class:`~gatehold.importers.base.ImportContext` is one)."""

    def refuse(self, src: SourceRef, why: str) -> None: ...

    def error(self, src: SourceRef, message: str) -> None: ...

    def note(self, src: SourceRef, what: str) -> None: ...


@dataclass
class Deferred:
    """What resolving one value reported, held back until its importer knows the value is used."""

    problems: list[tuple[str, SourceRef, str]] = field(default_factory=list)

    def refuse(self, src: SourceRef, why: str) -> None:
        self.problems.append(("refuse", src, why))

    def error(self, src: SourceRef, message: str) -> None:
        self.problems.append(("error", src, message))

    def note(self, src: SourceRef, what: str) -> None:
        self.problems.append(("note", src, what))

    def replay(self, report: Reporter) -> None:
        for kind, src, message in self.problems:
            getattr(report, kind)(src, message)


class _NoValue:
    """``AWS::NoValue``: the property (or list item) that holds it is removed."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Any = _NoValue()

_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")
_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:([^}]*)\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_INTRINSIC_SEGMENT = re.compile(r"\.Ref(?=$|[.\[])|\['Fn::")
_LAMBDA_ARN = re.compile(
    r"^arn:[\w-]+:lambda:[\w-]*:[^:]*:function:(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[\w$-]+))?$"
)
_LAMBDA_INVOCATION_URI = re.compile(
    r"^arn:[\w-]+:apigateway:[\w-]*:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$"
)

#: resource types whose ``Ref`` is a generated id (API Gateway pieces): kind, GetAtt attribute names
_ID_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "AWS::ApiGateway::RestApi": ("api", ("RestApiId",)),
    "AWS::Serverless::Api": ("api", ("RestApiId",)),
    "AWS::ApiGatewayV2::Api": ("api", ("ApiId",)),
    "AWS::Serverless::HttpApi": ("api", ("ApiId",)),
    "AWS::ApiGateway::Resource": ("resource", ("ResourceId",)),
    "AWS::ApiGateway::Authorizer": ("authorizer", ("AuthorizerId",)),
    "AWS::ApiGatewayV2::Authorizer": ("authorizer", ("AuthorizerId",)),
    "AWS::ApiGateway::Deployment": ("deployment", ("DeploymentId",)),
    "AWS::ApiGatewayV2::Deployment": ("deployment", ("DeploymentId",)),
    "AWS::ApiGateway::Method": ("method", ()),
    "AWS::ApiGatewayV2::Integration": ("integration", ("IntegrationId",)),
    "AWS::ApiGatewayV2::Route": ("route", ("RouteId",)),
    "AWS::ApiGateway::UsagePlan": ("usageplan", ("Id",)),
    "AWS::ApiGateway::ApiKey": ("apikey", ("APIKeyId",)),
    "AWS::ApiGateway::RequestValidator": ("validator", ("RequestValidatorId",)),
    "AWS::ApiGateway::VpcLink": ("vpclink", ()),
    "AWS::ApiGatewayV2::VpcLink": ("vpclink", ("VpcLinkId",)),
}
_STAGE_TYPES = ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage")
_FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")

#: names CloudFormation's ``Ref`` returns, by resource type: the property holding it
_NAME_PROPERTIES: dict[str, str] = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Kinesis::Stream": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::ApiGateway::Model": "Name",
}


def stable_id(kind: str, logical_id: str, length: int = 10) -> str:
    """A stable, AWS-looking id (lowercase letters and digits) for a generated id of ``logical_id``."""
    digest = hashlib.sha512(f"{kind}:{logical_id}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:length])


def is_intrinsic(value: Any) -> bool:
    """A one-key mapping whose key is ``Ref`` or ``Fn::…`` (as CloudFormation and SAM read them)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def lambda_function_name(value: str) -> tuple[str, str | None] | None:
    """``(function name, qualifier)`` of a Lambda function ARN, or of an API Gateway Lambda
    invocation URI around one (``arn:aws:apigateway:…:lambda:path/2015-03-31/functions/ARN/
    invocations``); None for anything else."""
    m = _LAMBDA_INVOCATION_URI.match(value)
    arn = m.group("arn") if m else value
    m = _LAMBDA_ARN.match(arn)
    if m is None:
        return None
    return m.group("name"), m.group("qualifier")


@dataclass
class Resource:
    """A template resource as written (intrinsics unresolved) and where."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    path: KeyPath
    condition: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    doc: Document | None = None
    #: SAM's generated resources (ServerlessRestApi, <Function>Role …) are not in the document
    generated: bool = False


class _Problem(Exception):
    """Stops resolving one value; reported where it arose."""

    def __init__(self, src: SourceRef, message: str, *, refused: bool) -> None:
        super().__init__(message)
        self.src = src
        self.message = message
        self.refused = refused


@dataclass
class _Parameter:
    name: str
    type: str
    spec: Mapping[str, Any]
    path: KeyPath


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _text(value: Any) -> str:
    """A scalar as CloudFormation writes it into a string (``true``, ``3``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Resolver:
    """Resolves a template's intrinsic functions (see the module docstring for each one's value).

    ``resolve(value, path)`` returns plain data, with ``AWS::NoValue`` and the untaken ``Fn::If``
    branches removed, or :data:`NO_VALUE` when the value itself is removed or could not be resolved
    (the problem is then reported, at the line and key path of the intrinsic at fault).
    """

    def __init__(
        self,
        doc: Document,
        report: Reporter,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        overrides: Mapping[str, str] | None = None,
        values: Mapping[str, str] | None = None,
        base_dir: Path | None = None,
        read: Callable[[str, SourceRef], Document | None] | None = None,
    ) -> None:
        self.doc = doc
        self.report = report
        self.values = dict(values or {})
        self.base_dir = base_dir
        self._read = read
        data = doc.data if isinstance(doc.data, dict) else {}
        self.template: dict[str, Any] = data
        overrides = dict(overrides or {})
        region = overrides.get("AWS::Region", region)
        account_id = overrides.get("AWS::AccountId", account_id)
        stack = overrides.get("AWS::StackName", "local")
        self.region = region
        self.account_id = account_id
        self.partition = overrides.get("AWS::Partition", _partition(region))
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack,
            "AWS::StackId": overrides.get(
                "AWS::StackId",
                f"arn:{self.partition}:cloudformation:{region}:{account_id}:stack/{stack}/"
                "51af3dc0-da77-11e4-872e-1234567db123",
            ),
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": overrides.get(
                "AWS::URLSuffix", "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
            ),
            "AWS::NotificationARNs": [],
        }
        self.overrides = {k: v for k, v in overrides.items() if not k.startswith("AWS::")}
        self.parameters: dict[str, _Parameter] = {}
        self._parameter_values: dict[str, Any] = {}
        mappings = data.get("Mappings")
        self.mappings: Mapping[str, Any] = mappings if isinstance(mappings, dict) else {}
        conditions = data.get("Conditions")
        self._conditions: Mapping[str, Any] = conditions if isinstance(conditions, dict) else {}
        self._condition_values: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self.resources: dict[str, Resource] = {}
        #: generated id → (kind, logical id): which resource a resolved id names
        self.ids: dict[str, tuple[str, str]] = {}
        #: values read by AWS::Include, with the document they come from (its lines name problems)
        self.included: dict[int, tuple[Any, Document]] = {}
        self._names: dict[str, str] = {}
        self._resolving: set[str] = set()
        self._read_parameters(data.get("Parameters"))
        self._read_resources(data.get("Resources"))

    # -- the template's sections ------------------------------------------------------------------

    def _read_parameters(self, section: Any) -> None:
        if section is None:
            section = {}
        if not isinstance(section, dict):
            self.report.error(self.doc.ref(("Parameters",)), "Parameters must be a mapping")
            section = {}
        for name, spec in section.items():
            path: KeyPath = ("Parameters", name)
            if not isinstance(spec, dict) or not isinstance(spec.get("Type"), str):
                self.report.error(self.doc.ref(path), "a parameter needs a Type")
                continue
            self.parameters[name] = _Parameter(name, spec["Type"], spec, path)
        for name in self.overrides:
            if name not in self.parameters:
                declared = ", ".join(self.parameters) or "none"
                self.report.error(
                    self.doc.ref(("Parameters",)),
                    f"--parameter-overrides names {name!r}, which the template does not declare"
                    f" (declared: {declared})",
                )
        for name, param in self.parameters.items():
            try:
                self._parameter_values[name] = self._parameter_value(param)
            except _Problem as problem:
                self._raise(problem)

    def _parameter_value(self, param: _Parameter) -> Any:
        src = self.doc.ref(param.path)
        given = "--parameter-overrides"
        if param.name in self.overrides:
            raw: Any = self.overrides[param.name]
        elif "Default" in param.spec:
            raw = param.spec["Default"]
            given = "Default"
        else:
            return NO_VALUE  # an error where a value that matters refers to it (_parameter_ref)
        if isinstance(raw, list):
            raw = ",".join(_text(v) for v in raw)
        text = _text(raw)
        kind = param.type
        is_list = kind == "CommaDelimitedList" or (kind.startswith("List<") and kind.endswith(">"))
        items = [item.strip() if kind != "CommaDelimitedList" else item for item in text.split(",")]
        self._check_constraints(param, text, items if is_list else [text], given, src)
        if kind == "Number" or kind == "List<Number>":
            for item in items if is_list else [text]:
                try:
                    float(item)
                except ValueError:
                    raise _Problem(
                        src, f"{given} value {item!r} of {param.name} is not a Number", refused=False
                    ) from None
        return items if is_list else text

    def _check_constraints(
        self, param: _Parameter, text: str, items: list[str], given: str, src: SourceRef
    ) -> None:
        spec = param.spec
        allowed = spec.get("AllowedValues")
        pattern = spec.get("AllowedPattern")
        for item in items:
            if isinstance(allowed, list) and item not in [_text(a) for a in allowed]:
                listed = ", ".join(_text(a) for a in allowed)
                raise _Problem(
                    src,
                    f"{given} value {item!r} of {param.name} is not one of its AllowedValues ({listed})",
                    refused=False,
                )
            if isinstance(pattern, str) and not re.fullmatch(pattern, item):
                raise _Problem(
                    src,
                    f"{given} value {item!r} of {param.name} does not match its AllowedPattern {pattern}",
                    refused=False,
                )
        for key, longest in (("MinLength", False), ("MaxLength", True)):
            bound = spec.get(key)
            if bound is not None and ((len(text) > int(bound)) if longest else (len(text) < int(bound))):
                raise _Problem(
                    src,
                    f"{given} value {text!r} of {param.name} breaks its {key} {bound}",
                    refused=False,
                )
        for key, below in (("MinValue", True), ("MaxValue", False)):
            bound = spec.get(key)
            if bound is None:
                continue
            for item in items:
                try:
                    number = float(item)
                except ValueError:
                    continue
                if (number < float(bound)) if below else (number > float(bound)):
                    raise _Problem(
                        src,
                        f"{given} value {item!r} of {param.name} breaks its {key} {_text(bound)}",
                        refused=False,
                    )

    def _read_resources(self, section: Any) -> None:
        if not isinstance(section, dict):
            return
        for logical_id, body in section.items():
            if not isinstance(body, dict):
                continue
            rtype = body.get("Type")
            props = body.get("Properties")
            metadata = body.get("Metadata")
            self.add_resource(
                Resource(
                    logical_id=logical_id,
                    type=rtype if isinstance(rtype, str) else "",
                    properties=props if isinstance(props, dict) else {},
                    path=("Resources", logical_id),
                    condition=body.get("Condition") if isinstance(body.get("Condition"), str) else None,
                    metadata=metadata if isinstance(metadata, dict) else {},
                    doc=self.doc,
                )
            )

    def add_resource(self, resource: Resource) -> None:
        """Register a resource (SAM adds the ones its transform generates: ``ServerlessRestApi`` …)."""
        self.resources[resource.logical_id] = resource
        kind = _ID_TYPES.get(resource.type)
        if kind is not None:
            self.ids[self.generated_id(resource.logical_id, resource.type)] = (kind[0], resource.logical_id)
            if kind[0] == "api" and resource.type in ("AWS::ApiGateway::RestApi", "AWS::Serverless::Api"):
                self.ids[stable_id("root", resource.logical_id)] = ("root", resource.logical_id)

    def generated_id(self, logical_id: str, rtype: str) -> str:
        kind = _ID_TYPES.get(rtype, ("resource", ()))[0]
        return stable_id(kind, logical_id)

    def source_of(self, value: Any) -> Document | None:
        """The file an ``AWS::Include`` read ``value`` from (None: the template itself)."""
        entry = self.included.get(id(value))
        return entry[1] if entry is not None and entry[0] is value else None

    def what(self, value: Any) -> tuple[str, str] | None:
        """``(kind, logical id)`` when ``value`` is a generated id (``api``, ``root``, ``resource``,
        ``authorizer``, ``integration`` …), else None."""
        return self.ids.get(value) if isinstance(value, str) else None

    # -- conditions -------------------------------------------------------------------------------

    def condition(self, name: str, src: SourceRef) -> bool:
        """The value of condition ``name`` (an error, reported at ``src``, when it is not defined)."""
        try:
            return self._condition(name, src)
        except _Problem as problem:
            self._raise(problem)
            return False

    def _condition(self, name: str, src: SourceRef) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self._conditions:
            raise _Problem(src, f"condition {name!r} is not defined in Conditions", refused=False)
        if name in self._evaluating:
            raise _Problem(src, f"condition {name!r} refers to itself", refused=False)
        self._evaluating.add(name)
        try:
            value = self._evaluate(self._conditions[name], ("Conditions", name), self.doc)
        finally:
            self._evaluating.discard(name)
        self._condition_values[name] = value
        return value

    def _evaluate(self, node: Any, path: KeyPath, doc: Document) -> bool:
        src = doc.ref(path)
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if not isinstance(node, dict) or len(node) != 1:
            raise _Problem(
                src, "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition", refused=False
            )
        ((fn, args),) = node.items()
        at: KeyPath = (*path, fn)
        if fn == "Condition":
            if not isinstance(args, str):
                raise _Problem(src, "Condition takes a condition name", refused=False)
            return self._condition(args, doc.ref(at))
        if fn == "Fn::Equals":
            if not isinstance(args, list) or len(args) != 2:
                raise _Problem(src, "Fn::Equals takes two values", refused=False)
            left = self._value(args[0], (*at, 0), doc)
            right = self._value(args[1], (*at, 1), doc)
            return bool(self._comparable(left) == self._comparable(right))
        if fn == "Fn::Not":
            if not isinstance(args, list) or len(args) != 1:
                raise _Problem(src, "Fn::Not takes one condition", refused=False)
            return not self._evaluate(args[0], (*at, 0), doc)
        if fn in ("Fn::And", "Fn::Or"):
            if not isinstance(args, list) or not 2 <= len(args) <= 10:
                raise _Problem(src, f"{fn} takes 2 to 10 conditions", refused=False)
            results = (self._evaluate(a, (*at, i), doc) for i, a in enumerate(args))
            return all(results) if fn == "Fn::And" else any(results)
        if fn == "Fn::If" or fn == "Ref" or fn.startswith("Fn::"):
            value = self._value(node, path, doc)
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
        raise _Problem(src, f"{fn} is not a condition function", refused=False)

    @staticmethod
    def _comparable(value: Any) -> Any:
        if isinstance(value, list):
            return [_text(v) for v in value]
        return _text(value) if value is not NO_VALUE else None

    def exists(self, logical_id: str) -> bool:
        """Does the resource exist (no ``Condition``, or a true one)?"""
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        if resource.condition is None:
            return True
        doc = resource.doc or self.doc
        return self.condition(resource.condition, doc.ref((*resource.path, "Condition")))

    # -- values -----------------------------------------------------------------------------------

    def resolve(self, value: Any, path: KeyPath, doc: Document | None = None) -> Any:
        """``value`` (found at ``path`` of ``doc``, by default the template) with every intrinsic
        resolved; :data:`NO_VALUE` when it is removed or could not be resolved (reported)."""
        try:
            return self._value(value, path, doc or self.doc)
        except _Problem as problem:
            self._raise(problem)
            return NO_VALUE

    def resolve_properties(
        self, properties: Mapping[str, Any], path: KeyPath, doc: Document | None = None
    ) -> dict[str, Any]:
        """Each property resolved on its own, so one refused value does not hide the others."""
        out: dict[str, Any] = {}
        for key, value in properties.items():
            resolved = self.resolve(value, (*path, key), doc)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def resolve_deferred(
        self, value: Any, path: KeyPath, doc: Document | None = None
    ) -> tuple[Any, Deferred]:
        """:meth:`resolve`, keeping what it reports for the caller to replay (when the value turns
        out to matter: a property Gatehold honours) or drop (an ignored or refused property)."""
        saved = self.report
        deferred = Deferred()
        self.report = deferred
        try:
            return self.resolve(value, path, doc), deferred
        finally:
            self.report = saved

    def parameter(self, name: str) -> Any:
        return self._parameter_values.get(name, NO_VALUE)

    def _raise(self, problem: _Problem) -> None:
        if problem.refused:
            # refused at the property that holds the intrinsic (what --ignore names), on its line
            src = problem.src
            cut = _INTRINSIC_SEGMENT.search(src.path)
            if cut is not None and cut.start() > 0:
                src = SourceRef(src.file, src.line, src.path[: cut.start()])
            self.report.refuse(src, problem.message)
        else:
            self.report.error(problem.src, problem.message)

    def _value(self, value: Any, path: KeyPath, doc: Document) -> Any:
        if isinstance(value, str):
            return self._dynamic_references(value, path, doc) if "{{resolve:" in value else value
        if isinstance(value, list):
            items = (self._value(v, (*path, i), doc) for i, v in enumerate(value))
            return [v for v in items if v is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, args),) = value.items()
                if key == "Ref":
                    return self._ref(args, (*path, key), doc)
                if isinstance(key, str) and key.startswith("Fn::"):
                    return self._function(key, args, (*path, key), doc)
            out = {}
            for k, v in value.items():
                resolved = self._value(v, (*path, k), doc)
                if resolved is not NO_VALUE:
                    out[k] = resolved
            return out
        return value

    def _dynamic_references(self, text: str, path: KeyPath, doc: Document) -> str:
        def repl(m: re.Match[str]) -> str:
            key = "resolve:" + m.group(1)
            if key in self.values:
                return self.values[key]
            raise _Problem(
                doc.ref(path),
                f"the dynamic reference {{{{{key}}}}} is resolved by AWS; supply its value with"
                f" --value '{key}=…'",
                refused=True,
            )

        return _DYNAMIC_REFERENCE.sub(repl, text)

    def _function(self, fn: str, args: Any, path: KeyPath, doc: Document) -> Any:
        src = doc.ref(path)
        handler = _FUNCTIONS.get(fn)
        if handler is None:
            if fn in _CONDITION_FUNCTIONS:
                return self._evaluate({fn: args}, path[:-1], doc)
            raise _Problem(src, f"unknown intrinsic function {fn}", refused=False)
        return handler(self, args, path, doc)

    # Ref ---------------------------------------------------------------------------------------

    def _ref(self, name: Any, path: KeyPath, doc: Document) -> Any:
        src = doc.ref(path)
        if not isinstance(name, str):
            name = self._value(name, path, doc)
            if not isinstance(name, str):
                raise _Problem(src, "Ref takes a parameter or resource name", refused=False)
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            raise _Problem(src, f"{name} is not a pseudo parameter", refused=False)
        if name in self.parameters:
            return self._parameter_ref(name, src)
        return self.ref_resource(name, src)

    def _parameter_ref(self, name: str, src: SourceRef) -> Any:
        value = self._parameter_values.get(name, NO_VALUE)
        if value is NO_VALUE:
            # CloudFormation asks for every parameter; here only the ones a value Gatehold uses needs
            raise _Problem(
                src,
                f"parameter {name} has no Default: give it a value with --parameter-overrides {name}=VALUE",
                refused=False,
            )
        kind = self.parameters[name].type
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            names = value if isinstance(value, list) else [value]
            out = []
            for ssm_name in names:
                key = f"ssm:{ssm_name}"
                if key not in self.values:
                    raise _Problem(
                        src,
                        f"parameter {name} ({kind}) is read from SSM parameter {ssm_name} by AWS;"
                        f" supply its value with --value '{key}=…'",
                        refused=True,
                    )
                out.append(self.values[key])
            if "List<" in kind[len("AWS::SSM::Parameter::Value<") :]:
                return [item for v in out for item in v.split(",")]
            return out[0] if not isinstance(value, list) else out
        return value

    def ref_resource(self, logical_id: str, src: SourceRef) -> Any:
        """What ``Ref`` of a resource returns (see the module docstring)."""
        base, dot, suffix = logical_id.partition(".")
        if dot and self.is_sam_reference(base, suffix):
            return self._sam_reference(base, suffix, src)
        resource = self.resources.get(logical_id)
        if resource is None:
            raise _Problem(
                src, f"{logical_id} is not a parameter or a resource of this template", refused=False
            )
        if not self.exists(logical_id):
            raise _Problem(
                src,
                f"{logical_id} does not exist: its condition {resource.condition} is false",
                refused=False,
            )
        rtype = resource.type
        if rtype in _FUNCTION_TYPES:
            return self.name_of(logical_id)
        if rtype in _ID_TYPES:
            return self.generated_id(logical_id, rtype)
        if rtype in _STAGE_TYPES:
            return self._stage_name(resource)
        if rtype == "AWS::Lambda::Alias":
            return self._alias_arn(resource)
        if rtype == "AWS::Lambda::Version":
            return self._function_arn(self._target_function(resource)) + ":1"
        if rtype in ("AWS::SNS::Topic",):
            return self._arn(resource, "Arn")
        if rtype == "AWS::SQS::Queue":
            suffix = self.pseudo["AWS::URLSuffix"]
            return f"https://sqs.{self.region}.{suffix}/{self.account_id}/{self.name_of(logical_id)}"
        if rtype == "AWS::CloudFormation::Stack" or rtype == "AWS::Serverless::Application":
            where = f"{self.region}:{self.account_id}"
            return f"arn:{self.partition}:cloudformation:{where}:stack/{logical_id}/local"
        return self.name_of(logical_id)

    def is_sam_reference(self, base: str, suffix: str) -> bool:
        resource = self.resources.get(base)
        if resource is None:
            return False
        if resource.type == "AWS::Serverless::Function":
            return suffix in ("Alias", "Version")
        return resource.type in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and suffix in (
            "Stage",
            "Deployment",
        )

    def _sam_reference(self, base: str, suffix: str, src: SourceRef) -> Any:
        """SAM's referable generated resources: ``MyFunction.Alias``, ``MyFunction.Version``,
        ``MyApi.Stage``, ``MyApi.Deployment`` (SAM specification, "Referencing generated
        resources")."""
        resource = self.resources[base]
        if resource.type == "AWS::Serverless::Function" and suffix in ("Alias", "Version"):
            alias = resource.properties.get("AutoPublishAlias")
            if suffix == "Alias":
                name = self.resolve(alias, (*resource.path, "Properties", "AutoPublishAlias"))
                if not isinstance(name, str):
                    raise _Problem(src, f"{base}.Alias needs AutoPublishAlias on {base}", refused=False)
                return f"{self._function_arn(base)}:{name}"
            return f"{self._function_arn(base)}:1"
        if resource.type in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and suffix in (
            "Stage",
            "Deployment",
        ):
            if suffix == "Deployment":
                return stable_id("deployment", base)
            stage = resource.properties.get("StageName", "$default")
            return self.resolve(stage, (*resource.path, "Properties", "StageName"))
        raise _Problem(src, f"{base}.{suffix} is not a resource of this template", refused=False)

    def name_of(self, logical_id: str) -> str:
        """The resource's name: its name property (resolved) when it has one, else the logical id."""
        if logical_id in self._names:
            return self._names[logical_id]
        resource = self.resources.get(logical_id)
        name = logical_id
        prop = _NAME_PROPERTIES.get(resource.type if resource else "")
        if resource is not None and prop and prop in resource.properties:
            if logical_id in self._resolving:
                raise _Problem(
                    (resource.doc or self.doc).ref((*resource.path, "Properties", prop)),
                    f"{prop} of {logical_id} refers to itself",
                    refused=False,
                )
            self._resolving.add(logical_id)
            try:
                value = self._value(
                    resource.properties[prop],
                    (*resource.path, "Properties", prop),
                    resource.doc or self.doc,
                )
            finally:
                self._resolving.discard(logical_id)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                name = str(value)
        elif resource is not None and resource.type == "AWS::S3::Bucket":
            name = logical_id.lower()
        self._names[logical_id] = name
        return name

    def _stage_name(self, resource: Resource) -> Any:
        stage = resource.properties.get("StageName")
        if stage is None:
            return "$default" if resource.type == "AWS::ApiGatewayV2::Stage" else resource.logical_id
        return self._value(stage, (*resource.path, "Properties", "StageName"), resource.doc or self.doc)

    def _target_function(self, resource: Resource) -> str:
        """The function an alias or version points at: its ``FunctionName`` resolved (a name or an
        ARN), as a logical id when it is one of this template's functions, else the name."""
        raw = resource.properties.get("FunctionName")
        value = self._value(raw, (*resource.path, "Properties", "FunctionName"), resource.doc or self.doc)
        text = _text(value)
        parsed = lambda_function_name(text)
        name = parsed[0] if parsed else text
        for logical_id, other in self.resources.items():
            if other.type in _FUNCTION_TYPES and self.name_of(logical_id) == name:
                return logical_id
        return name

    def _function_arn(self, logical_or_name: str) -> str:
        name = self.name_of(logical_or_name) if logical_or_name in self.resources else logical_or_name
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"

    def _alias_arn(self, resource: Resource) -> str:
        target = self._target_function(resource)
        alias = self._value(
            resource.properties.get("Name", resource.logical_id),
            (*resource.path, "Properties", "Name"),
            resource.doc or self.doc,
        )
        return f"{self._function_arn(target)}:{_text(alias)}"

    # GetAtt ------------------------------------------------------------------------------------

    def get_att(self, logical_id: str, attribute: str, src: SourceRef) -> Any:
        """What ``Fn::GetAtt logical_id.attribute`` returns (see the module docstring)."""
        resource = self.resources.get(logical_id)
        if resource is None:
            raise _Problem(src, f"{logical_id} is not a resource of this template", refused=False)
        if not self.exists(logical_id):
            raise _Problem(
                src,
                f"{logical_id} does not exist: its condition {resource.condition} is false",
                refused=False,
            )
        rtype = resource.type
        kind = _ID_TYPES.get(rtype)
        if rtype in ("AWS::CloudFormation::Stack", "AWS::Serverless::Application"):
            key = f"{logical_id}.{attribute}"
            if key in self.values:
                return self.values[key]
            raise _Problem(
                src,
                f"{key} is an output of a nested stack, which Gatehold does not deploy; supply its value"
                f" with --value '{key}=…'",
                refused=True,
            )
        if rtype in _FUNCTION_TYPES and attribute == "Arn":
            return self._function_arn(logical_id)
        if rtype == "AWS::Lambda::Alias" and attribute in ("AliasArn", "Arn"):
            return self._alias_arn(resource)
        if rtype == "AWS::Lambda::Version" and attribute == "Version":
            return "1"
        if kind is not None and attribute in kind[1]:
            return self.generated_id(logical_id, rtype)
        if kind is not None and kind[0] == "api":
            if attribute == "RootResourceId":
                return stable_id("root", logical_id)
            if attribute == "ApiEndpoint":
                api_id = self.generated_id(logical_id, rtype)
                return f"https://{api_id}.execute-api.{self.region}.{self.pseudo['AWS::URLSuffix']}"
        if attribute == "Arn" or attribute.endswith("Arn"):
            return self._arn(resource, attribute)
        if attribute.endswith("Name") and not attribute.endswith("DomainName"):
            return self.name_of(logical_id)
        placeholder = f"local-{logical_id}-{attribute}"
        self.report.note(
            src,
            f"Fn::GetAtt {logical_id}.{attribute} ({rtype}) is only known once AWS creates the resource;"
            f" it stands for {placeholder!r} here",
        )
        return placeholder

    def _arn(self, resource: Resource, attribute: str) -> str:
        """An ARN of the resource's own service, built from its name (``arn:aws:sqs:…:NAME``)."""
        parts = resource.type.split("::")
        service = parts[1].lower() if len(parts) > 2 else "resource"
        kind = parts[2].lower() if len(parts) > 2 else "resource"
        name = self.name_of(resource.logical_id)
        region, account = self.region, self.account_id
        if resource.type == "AWS::Serverless::SimpleTable":  # a DynamoDB table
            service, kind = "dynamodb", "table"
        if service in ("iam",):
            return f"arn:{self.partition}:iam::{account}:{kind}/{name}"
        if service == "s3":
            return f"arn:{self.partition}:s3:::{name}"
        if service in ("sqs", "sns"):
            return f"arn:{self.partition}:{service}:{region}:{account}:{name}"
        if service == "dynamodb" and attribute == "StreamArn":
            table = f"arn:{self.partition}:dynamodb:{region}:{account}:table/{name}"
            return f"{table}/stream/1970-01-01T00:00:00.000"
        if service == "dynamodb":
            return f"arn:{self.partition}:dynamodb:{region}:{account}:table/{name}"
        if service == "logs":
            return f"arn:{self.partition}:logs:{region}:{account}:log-group:{name}:*"
        if service == "serverless" and kind == "statemachine":
            return f"arn:{self.partition}:states:{region}:{account}:stateMachine:{name}"
        return f"arn:{self.partition}:{service}:{region}:{account}:{kind}/{name}"


# --------------------------------------------------------------------------------------------------
# the functions
# --------------------------------------------------------------------------------------------------


def _list(
    resolver: Resolver, args: Any, path: KeyPath, doc: Document, fn: str, n: int | None = None
) -> list[Any]:
    if not isinstance(args, list) or (n is not None and len(args) != n):
        count = f"{n} arguments" if n is not None else "a list"
        raise _Problem(doc.ref(path), f"{fn} takes {count}", refused=False)
    return args


def _fn_get_att(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    src = doc.ref(path)
    if isinstance(args, str):
        logical_id, _, attribute = args.partition(".")
    elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str):
        logical_id = args[0]
        attribute = resolver._value(args[1], (*path, 1), doc)
    else:
        raise _Problem(src, "Fn::GetAtt takes [LogicalId, Attribute]", refused=False)
    if not isinstance(attribute, str) or not attribute:
        raise _Problem(src, "Fn::GetAtt takes [LogicalId, Attribute]", refused=False)
    return resolver.get_att(logical_id, attribute, src)


def _fn_sub(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    src = doc.ref(path)
    variables: dict[str, Any] = {}
    if isinstance(args, str):
        template = args
    elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
        template = args[0]
        for key, value in args[1].items():
            variables[key] = resolver._value(value, (*path, 1, key), doc)
    else:
        raise _Problem(src, "Fn::Sub takes a string, or [string, {variables}]", refused=False)
    sub_path = path if isinstance(args, str) else (*path, 0)
    sub_src = doc.ref(sub_path)

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            logical_id, _, attribute = name.partition(".")
            if resolver.is_sam_reference(logical_id, attribute):
                value = resolver._ref(name, sub_path, doc)
            else:
                value = resolver.get_att(logical_id, attribute, sub_src)
        else:
            value = resolver._ref(name, sub_path, doc)
        if isinstance(value, list):
            raise _Problem(sub_src, f"Fn::Sub variable ${{{name}}} is a list; use Fn::Join", refused=False)
        if value is NO_VALUE:
            raise _Problem(sub_src, f"Fn::Sub variable ${{{name}}} has no value", refused=False)
        return _text(value)

    out = _SUB_VARIABLE.sub(repl, template)
    return resolver._dynamic_references(out, sub_path, doc) if "{{resolve:" in out else out


def _fn_join(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    delimiter, items = _list(resolver, args, path, doc, "Fn::Join", 2)
    items = resolver._value(items, (*path, 1), doc)
    if not isinstance(delimiter, str) or not isinstance(items, list):
        raise _Problem(doc.ref(path), "Fn::Join takes [delimiter, [values]]", refused=False)
    for item in items:
        if isinstance(item, (dict, list)):
            raise _Problem(doc.ref(path), "Fn::Join joins strings, not lists or mappings", refused=False)
    return delimiter.join(_text(i) for i in items)


def _fn_select(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    index, items = _list(resolver, args, path, doc, "Fn::Select", 2)
    index = resolver._value(index, (*path, 0), doc)
    items = resolver._value(items, (*path, 1), doc)
    try:
        i = int(index)
    except (TypeError, ValueError):
        raise _Problem(doc.ref(path), f"Fn::Select index {index!r} is not a number", refused=False) from None
    if not isinstance(items, list) or not 0 <= i < len(items):
        raise _Problem(doc.ref(path), f"Fn::Select index {i} is out of range", refused=False)
    return items[i]


def _fn_split(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    delimiter, text = _list(resolver, args, path, doc, "Fn::Split", 2)
    text = resolver._value(text, (*path, 1), doc)
    if not isinstance(delimiter, str) or not delimiter or not isinstance(text, str):
        raise _Problem(doc.ref(path), "Fn::Split takes [delimiter, string]", refused=False)
    return text.split(delimiter)


def _fn_if(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    name, when_true, when_false = _list(resolver, args, path, doc, "Fn::If", 3)
    if not isinstance(name, str):
        raise _Problem(
            doc.ref(path), "Fn::If takes [ConditionName, value if true, value if false]", refused=False
        )
    if resolver._condition(name, doc.ref((*path, 0))):
        return resolver._value(when_true, (*path, 1), doc)
    return resolver._value(when_false, (*path, 2), doc)


def _fn_find_in_map(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    src = doc.ref(path)
    if not isinstance(args, list) or len(args) not in (3, 4):
        raise _Problem(src, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]", refused=False)
    keys = [resolver._value(a, (*path, i), doc) for i, a in enumerate(args[:3])]
    default: Any = NO_VALUE
    if len(args) == 4:
        option = args[3]
        if not isinstance(option, dict) or "DefaultValue" not in option:
            raise _Problem(src, "the fourth argument of Fn::FindInMap is {DefaultValue: …}", refused=False)
        default = resolver._value(option["DefaultValue"], (*path, 3, "DefaultValue"), doc)
    node: Any = resolver.mappings
    for depth, key in enumerate(keys):
        key_text = _text(key)
        if not isinstance(node, dict) or key_text not in node:
            if default is not NO_VALUE:
                return default
            where = "Mappings" if depth == 0 else f"Mappings.{'.'.join(_text(k) for k in keys[:depth])}"
            raise _Problem(src, f"Fn::FindInMap: {key_text!r} is not a key of {where}", refused=False)
        node = node[key_text]
    return resolver._value(node, ("Mappings", *(_text(k) for k in keys)), resolver.doc)


def _fn_base64(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    text = resolver._value(args, path, doc)
    if not isinstance(text, str):
        raise _Problem(doc.ref(path), "Fn::Base64 encodes a string", refused=False)
    return base64.b64encode(text.encode()).decode()


def _fn_get_azs(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    region = resolver._value(args, path, doc) or resolver.region
    return [f"{region}{suffix}" for suffix in "abc"]


def _fn_cidr(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    block, count, bits = (
        resolver._value(a, (*path, i), doc)
        for i, a in enumerate(_list(resolver, args, path, doc, "Fn::Cidr", 3))
    )
    try:
        network = ipaddress.ip_network(str(block), strict=False)
        prefix = network.max_prefixlen - int(bits)
        subnets = network.subnets(new_prefix=prefix)
        return [str(next(subnets)) for _ in range(int(count))]
    except (ValueError, StopIteration) as exc:
        raise _Problem(doc.ref(path), f"Fn::Cidr: {exc}", refused=False) from None


def _fn_length(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    items = resolver._value(args, path, doc)
    if not isinstance(items, list):
        raise _Problem(doc.ref(path), "Fn::Length takes a list", refused=False)
    return len(items)


def _fn_to_json_string(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    return json.dumps(resolver._value(args, path, doc), separators=(",", ":"))


def _fn_import_value(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    name = resolver._value(args, path, doc)
    key = f"ImportValue:{_text(name)}"
    if key in resolver.values:
        return resolver.values[key]
    raise _Problem(
        doc.ref(path),
        f"Fn::ImportValue {_text(name)} is an export of another stack, which Gatehold does not deploy;"
        f" supply its value with --value '{key}=…'",
        refused=True,
    )


def _fn_transform(resolver: Resolver, args: Any, path: KeyPath, doc: Document) -> Any:
    src = doc.ref(path)
    if not isinstance(args, dict) or not isinstance(args.get("Name"), str):
        raise _Problem(src, "Fn::Transform takes {Name, Parameters}", refused=False)
    name = args["Name"]
    if name != "AWS::Include":
        raise _Problem(
            src, f"the macro {name} runs in AWS (Fn::Transform); Gatehold cannot expand it", refused=True
        )
    params = args.get("Parameters")
    location = resolver._value(
        params.get("Location") if isinstance(params, dict) else None, (*path, "Parameters", "Location"), doc
    )
    if not isinstance(location, str) or not location:
        raise _Problem(src, "AWS::Include needs Parameters.Location", refused=False)
    if location.startswith("s3://") or location.startswith("https://"):
        raise _Problem(
            src,
            f"AWS::Include of {location}: Gatehold reads included snippets from local files only;"
            " point Location at the file next to the template",
            refused=True,
        )
    if resolver._read is None:
        raise _Problem(src, "AWS::Include cannot read files here", refused=False)
    included = resolver._read(location, src)
    if included is None:
        return NO_VALUE
    value = resolver._value(included.data, (), included)
    resolver.included[id(value)] = (value, included)
    return value


_FUNCTIONS: dict[str, Callable[[Resolver, Any, KeyPath, Document], Any]] = {
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::Join": _fn_join,
    "Fn::Select": _fn_select,
    "Fn::Split": _fn_split,
    "Fn::If": _fn_if,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Base64": _fn_base64,
    "Fn::GetAZs": _fn_get_azs,
    "Fn::Cidr": _fn_cidr,
    "Fn::Length": _fn_length,
    "Fn::ToJsonString": _fn_to_json_string,
    "Fn::ImportValue": _fn_import_value,
    "Fn::Transform": _fn_transform,
}


def walk_strings(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, str]]:
    """Every string in ``value`` with its key path (for checks over resolved data)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk_strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_strings(v, (*path, i))
