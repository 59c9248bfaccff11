"""``serverless.yml`` (Serverless Framework v3 and v4), read into the model ``gatehold.yaml`` loads into.

The framework compiles ``serverless.yml`` to a CloudFormation template; this importer writes what that
template would deploy, read from the framework's own compiler (serverless/serverless, paths below
``lib/``) and the AWS provider documentation (``docs/providers/aws/guide/serverless.yml.md``,
``events/apigateway.md``, ``events/http-api.md``, ``guide/variables.md``)::

    serverless.yml                                   Gatehold model
    functions.<key>                                  functions.<service>-<stage>-<key> (or name:)
      handler / runtime / timeout / memorySize       handler, runtime, timeout (6 s), memory_size (1024)
      environment (+ provider.environment)           environment
    functions.<key>.events[].http                    apis.<stage>-<service> (REST, stage <stage>)
      path + method (any → ANY)                      routes['METHOD /path']
      cors                                           routes['OPTIONS /path']: the MOCK the framework adds
      authorizer (function, ARN, token / request)    authorizers.<name> (TOKEN / REQUEST)
      private                                        api_key_required (+ provider.apiGateway.apiKeys,
                                                     usagePlan → gateway.usage_plans)
      integration lambda-proxy / http / http-proxy / mock
      request.parameters (required), request.schemas request_validation (the framework's validator)
    functions.<key>.events[].httpApi                 apis.<stage>-<service> (HTTP, $default stage)
      'METHOD /path' / '*' / {method, path}          routes['METHOD /path'] / routes['$default']
      authorizer {name, scopes}                      authorizer, authorization_scopes
    provider.httpApi.authorizers (JWT, request)      authorizers (JWT / REQUEST)
    provider.httpApi.cors                            cors
    provider.logs.restApi / httpApi                  stages.<stage>.access_log (stdout)
    resources.Resources AWS::ApiGateway::GatewayResponse   apis.<rest>.gateway_responses

Names follow ``lib/plugins/aws/lib/naming.js``: the REST API is ``<stage>-<service>`` (or
``<service>-<stage>`` with ``apiGateway.shouldStartNameWithService``, or ``provider.apiName``), the
HTTP API ``<stage>-<service>`` (or ``provider.httpApi.name``); when both exist with one name, the HTTP
API is ``<name>-httpapi``. Lambda functions are ``<service>-<stage>-<key>`` unless ``name:`` says
otherwise. Where each API is served: :meth:`ImportContext.base_path` (``/`` for a file with one API,
so the URLs below the host are those of the invoke URL: ``/<stage>/<path>`` for REST, ``/<path>`` for
HTTP APIs, as serverless-offline serves them).

Variables (``lib/configuration/variables``): ``${self:…}``, ``${opt:…}`` (``--stage``, ``--value
'opt:name=…'``), ``${env:…}``, ``${sls:stage|instanceId}``, ``${aws:region|accountId}``,
``${file(…):…}``, ``${strToBool(…)}``, ``${param:…}`` (``params:`` / v4 ``stages:``), fallbacks,
nesting and interpolation, resolved lazily: only the values Gatehold uses are resolved, so an
``${ssm:…}`` in an IAM statement costs nothing. What cannot be resolved here (``ssm``, ``cf``, ``s3``,
other ``aws:`` and ``sls:`` addresses, JavaScript files …) is an error naming the line, the key path
and the ``--value 'KEY=VALUE'`` that supplies it; with a fallback, the fallback is used and noted.
CloudFormation values where Gatehold needs them (``!Ref OrdersTable`` in an environment variable)
are evaluated by :mod:`gatehold.importers.intrinsics` against the template the framework would
deploy (:meth:`_Service.intrinsics`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from gatehold.config.document import Document, read_document
from gatehold.config.models import PYTHON_RUNTIMES
from gatehold.config.problems import ConfigError, KeyPath, SourceRef, dotted
from gatehold.importers.base import ImportContext, expects_target, shell_quoted
from gatehold.importers.intrinsics import NO_VALUE, Resolver

__all__ = ["import_serverless"]

# --------------------------------------------------------------------------------------------------
# what each section may hold
# --------------------------------------------------------------------------------------------------

#: top-level keys with no local meaning (listed by ``gatehold check``)
_TOP_IGNORED = {
    "frameworkVersion": "the framework version constraint",
    "app": "Serverless Dashboard app",
    "org": "Serverless Dashboard org",
    "tenant": "Serverless Dashboard tenant",
    "console": "Serverless Console",
    "dashboard": "Serverless Dashboard",
    "configValidationMode": "the framework's schema validation mode",
    "deprecationNotificationMode": "the framework's deprecation messages",
    "disabledDeprecations": "the framework's deprecation messages",
    "variablesResolutionMode": "the framework's v2 resolver switch",
    "unresolvedVariablesNotificationMode": "the framework's v2 resolver switch",
    "enableLocalInstallationFallback": "the framework's installation",
    "useDotenv": "read (.env files are loaded)",
    "package": "deployment packaging (Gatehold runs the handlers from the service directory)",
    "layers": "Lambda layers this service publishes (deployment only)",
    "outputs": "Serverless Compose outputs",
    "build": "the v4 build step (esbuild) for Node.js handlers",
    "license": "the v4 license key",
    "description": "a description",
    "custom": "read through ${self:custom.…}",
    "params": "read through ${param:…}",
    "stages": "read through ${param:…} (v4 stage parameters)",
}
_TOP_USED = {"service", "provider", "functions", "resources", "plugins"}

#: provider keys with no local meaning
_PROVIDER_IGNORED = {
    "profile": "AWS credentials",
    "stackName": "the CloudFormation stack name",
    "websocketsApiName": "WebSocket APIs are not served",
    "websocketsApiRouteSelectionExpression": "WebSocket APIs are not served",
    "websocketsDescription": "WebSocket APIs are not served",
    "websocket": "WebSocket APIs are not served",
    "logRetentionInDays": "CloudWatch log retention",
    "logDataProtectionPolicy": "CloudWatch log data protection",
    "kmsKeyArn": "environment encryption at rest",
    "deploymentBucket": "deployment",
    "deploymentPrefix": "deployment",
    "deploymentMethod": "deployment",
    "disableRollback": "deployment",
    "lambdaHashingVersion": "deployment",
    "ecr": "container images (functions with image (are refused))",
    "cloudFront": "CloudFront cache policies",
    "versionFunctions": "Lambda versions",
    "alb": "Application Load Balancer authorizers (alb events are not served)",
    "stackTags": "tags",
    "tags": "tags",
    "iam": "IAM (every function runs with your local permissions)",
    "iamRoleStatements": "IAM (every function runs with your local permissions)",
    "iamManagedPolicies": "IAM (every function runs with your local permissions)",
    "role": "IAM (every function runs with your local permissions)",
    "cfnRole": "IAM (every function runs with your local permissions)",
    "rolePermissionsBoundary": "IAM (every function runs with your local permissions)",
    "stackPolicy": "CloudFormation stack policy",
    "vpc": "VPC placement (functions reach the network your machine reaches)",
    "notificationArns": "CloudFormation notifications",
    "stackParameters": "CloudFormation parameters",
    "rollbackConfiguration": "CloudFormation rollback",
    "tracing": "X-Ray tracing",
    "eventBridge": "EventBridge settings (eventBridge events are not served)",
    "architecture": "the instruction set (handlers run on this machine's)",
    "runtimeManagement": "Lambda runtime updates",
    "s3": "S3 buckets for s3 events (not served)",
    "kinesis": "Kinesis settings (stream events are not served)",
    "sns": "SNS settings (sns events are not served)",
    "ephemeralStorage": "Lambda /tmp size",
    "disableDefaultOutputExportNames": "CloudFormation outputs",
}
_PROVIDER_USED = {
    "name",
    "runtime",
    "stage",
    "region",
    "environment",
    "timeout",
    "memorySize",
    "apiName",
    "apiGateway",
    "httpApi",
    "logs",
    "endpointType",
    "apiKeys",
    "usagePlan",
    "resourcePolicy",
    "vpcEndpointIds",
    "layers",
}

_FUNCTION_IGNORED = {
    "description": "a description",
    "provisionedConcurrency": "provisioned concurrency (warm instances on AWS)",
    "role": "IAM (every function runs with your local permissions)",
    "onError": "dead-letter queue for asynchronous invocations",
    "kmsKeyArn": "environment encryption at rest",
    "disableLogs": "CloudWatch log group",
    "logRetentionInDays": "CloudWatch log retention",
    "logDataProtectionPolicy": "CloudWatch log data protection",
    "tags": "tags",
    "vpc": "VPC placement (functions reach the network your machine reaches)",
    "package": "deployment packaging (Gatehold runs the handler from the service directory)",
    "tracing": "X-Ray tracing",
    "dependsOn": "CloudFormation ordering",
    "destinations": "asynchronous invocation destinations",
    "architecture": "the instruction set (handlers run on this machine's)",
    "ephemeralStorage": "Lambda /tmp size",
    "snapStart": "SnapStart (Java)",
    "maximumEventAge": "asynchronous invocation settings",
    "maximumRetryAttempts": "asynchronous invocation settings",
    "runtimeManagement": "Lambda runtime updates",
    "versionFunction": "Lambda versions",
    "iamRoleStatements": "IAM (serverless-iam-roles-per-function)",
    "iamRoleStatementsName": "IAM (serverless-iam-roles-per-function)",
    "iamRoleStatementsInherit": "IAM (serverless-iam-roles-per-function)",
    "warmup": "serverless-plugin-warmup (instances stay warm locally anyway)",
    "alarms": "serverless-plugin-aws-alerts",
    "logSubscription": "log subscriptions",
}
_FUNCTION_USED = {
    "handler",
    "name",
    "runtime",
    "timeout",
    "memorySize",
    "environment",
    "reservedConcurrency",
    "events",
    "httpApi",
    "module",
    "layers",
    "image",
    "url",
    "fileSystemConfig",
    "condition",
}

#: the event types Gatehold serves; every other one is read and listed as ignored
_SERVED_EVENTS = {"http", "httpApi"}

_HTTP_EVENT_KEYS = {
    "path",
    "method",
    "cors",
    "private",
    "authorizer",
    "request",
    "response",
    "integration",
    "async",
    "operationId",
    "connectionType",
    "connectionId",
    "caching",
    "documentation",
    "reqValidatorName",
}
_HTTP_API_EVENT_KEYS = {"method", "path", "authorizer"}

#: plugins whose work Gatehold does itself, or which only act at deploy time
_PLUGINS = {
    "serverless-offline": "Gatehold serves the APIs itself",
    "serverless-python-requirements": "handlers import packages from the Python environment Gatehold runs in",
    "serverless-iam-roles-per-function": "IAM (every function runs with your local permissions)",
    "serverless-prune-plugin": "deployment only",
    "serverless-deployment-bucket": "deployment only",
    "serverless-plugin-log-retention": "deployment only",
    "serverless-plugin-aws-alerts": "deployment only",
    "serverless-plugin-tracing": "X-Ray tracing",
    "serverless-plugin-warmup": "instances stay warm locally anyway",
    "serverless-stack-termination-protection": "deployment only",
    "serverless-plugin-split-stacks": "deployment only",
    "serverless-plugin-common-excludes": "deployment packaging",
    "serverless-plugin-include-dependencies": "deployment packaging",
    "serverless-webpack": "a Node.js build step",
    "serverless-esbuild": "a Node.js build step",
    "serverless-plugin-typescript": "a Node.js build step",
    "serverless-bundle": "a Node.js build step",
    "serverless-dotenv-plugin": "not run (.env values reach ${env:…} only with useDotenv: true)",
    "serverless-wsgi": "not run (the wsgi_handler module it generates at package time must exist locally)",
    "serverless-domain-manager": "custom domains (the APIs are served at Gatehold's URL)",
    "serverless-api-gateway-caching": "API Gateway caching (responses are not cached locally)",
    "serverless-export-env": "a development helper",
}

#: the default ``cors: true`` headers of REST (validate.js getCors) and HTTP APIs (http-api.js)
_CORS_HEADERS = [
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
    "X-Amz-User-Agent",
    "X-Amzn-Trace-Id",
]
_HTTP_API_METHODS = ["GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "DELETE"]
_REST_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}
#: lib/plugins/aws/package/compile/events/api-gateway/lib/hack/update-stage.js
_REST_ACCESS_LOG = (
    "requestId: $context.requestId, ip: $context.identity.sourceIp, caller: $context.identity.caller,"
    " user: $context.identity.user, requestTime: $context.requestTime, httpMethod: $context.httpMethod,"
    " resourcePath: $context.resourcePath, status: $context.status, protocol: $context.protocol,"
    " responseLength: $context.responseLength"
)
#: http-api.js resolveConfiguration
_HTTP_ACCESS_LOG = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
    },
    separators=(",", ":"),
)
_COGNITO_ARN = re.compile(r"^arn:[a-zA-Z-]*:cognito-idp:")
_LAMBDA_ARN = re.compile(r"^arn:[a-zA-Z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$")
_STAGE_NAME = re.compile(r"^[-_a-zA-Z0-9]+$")


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def import_serverless(doc: Document, ctx: ImportContext) -> None:
    """Import a whole ``serverless.yml`` (``gatehold up -c serverless.yml``)."""
    service = _Service.read(doc, ctx)
    if service is None:
        return
    service.top_level()
    service.provider_settings()
    service.functions()
    rest = _RestApi(service)
    http = _HttpApi(service)
    for fn in service.fns.values():
        for event, at in service.events(fn):
            kind = next(iter(event))
            if kind == "http":
                rest.event(fn, event["http"], (*at, "http"))
            else:
                http.event(fn, event["httpApi"], (*at, "httpApi"))
    if http.routes:
        http.provider_authorizers()
    service.resources(rest if rest.routes else None)
    api_count = int(bool(rest.routes)) + int(bool(http.routes))
    if rest.routes:
        rest.write(api_count)
    elif service.cfg.has(("provider", "apiGateway")):
        ctx.ignore(ctx.ref(("provider", "apiGateway")), "no function has http events: no REST API is created")
    if http.routes:
        http.write(api_count, clash=rest.name if rest.routes else None)
    elif service.cfg.has(("provider", "httpApi")):
        ctx.ignore(ctx.ref(("provider", "httpApi")), "no function has httpApi events: no HTTP API is created")
    service.authorizer_audiences(
        [a["function"] for a, _ in rest.authorizers.values()]
        + [a["function"] for a, _ in http.authorizers.values() if a["type"] == "REQUEST"]
    )
    service.gatehold_expects()


# --------------------------------------------------------------------------------------------------
# variables: ${source:address, fallback}
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """One source of a variable: ``type(params):address``, or a literal fallback (``type`` None)."""

    type: str | None
    params: tuple[_Template, ...] = ()
    address: _Template | None = None
    literal: Any = None


@dataclass(frozen=True)
class _Variable:
    sources: tuple[_Source, ...]
    text: str


_Template = tuple["str | _Variable", ...]


class _SyntaxProblem(Exception):
    pass


_TYPE_START = re.compile(r"[a-z][a-zA-Z0-9.]*")
_IS_TYPE = re.compile(r"[a-z][a-zA-Z0-9]*")
_LITERAL_RUN = re.compile(r"[a-zA-Z0-9.]+")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _parse_literal(text: str, *, fallback_to_text: bool = False) -> Any:
    """A bare literal source or parameter, as ``parse.js`` parseLiteralSource reads it."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text == "null":
        return None
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if fallback_to_text:
        return text
    raise _SyntaxProblem(f"invalid literal {text!r} (quote strings: '{text}')")


class _Parser:
    """The variable syntax of ``lib/configuration/variables/parse.js``: ``${type:address}``,
    ``${type(param, …):address}``, fallbacks after commas (other variables, quoted strings, numbers,
    ``true`` / ``false`` / ``null``), variables nested in addresses and parameters. ``${…}`` that does
    not start with ``lowercase-type:`` or ``type(`` (``${AWS::Region}``, ``${stageVariables.x}``) is
    not a variable and stays as written."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)

    def template(self) -> _Template:
        s, n = self.s, self.n
        out: list[str | _Variable] = []
        buf: list[str] = []
        i = 0
        while i < n:
            c = s[i]
            if c == "\\" and i + 1 < n:
                buf.append(s[i : i + 2])
                i += 2
                continue
            if c == "$" and s.startswith("${", i):
                var, end = self.variable(i)
                if var is not None:
                    if buf:
                        out.append("".join(buf))
                        buf = []
                    out.append(var)
                    i = end
                    continue
                buf.append("${")
                i += 2
                continue
            buf.append(c)
            i += 1
        if buf:
            out.append("".join(buf))
        return tuple(out)

    def skip(self, i: int) -> int:
        while i < self.n and self.s[i] == " ":
            i += 1
        return i

    def at(self, i: int) -> str:
        if i >= self.n:
            raise _SyntaxProblem("missing closing '}'")
        return self.s[i]

    def variable(self, start: int) -> tuple[_Variable | None, int]:
        s = self.s
        m = _TYPE_START.match(s, start + 2)
        if m is None or m.end() >= self.n or s[m.end()] not in ":(":
            return None, start
        sources: list[_Source] = []
        source, i = self.typed_source(m.group(), m.end())
        sources.append(source)
        while True:
            i = self.skip(i)
            c = self.at(i)
            if c == "}":
                return _Variable(tuple(sources), s[start : i + 1]), i + 1
            if c != ",":
                raise _SyntaxProblem(f"unexpected {c!r} at index {i}")
            i = self.skip(i + 1)
            c = self.at(i)
            if c in "'\"":
                value, i = self.string(i)
                i = self.skip(i)
                if self.at(i) != "}":
                    raise _SyntaxProblem("a quoted fallback must be the last source")
                sources.append(_Source(None, literal=value))
                continue
            run = _LITERAL_RUN.match(s, i)
            if run is None:
                raise _SyntaxProblem(f"invalid source at index {i}")
            j = self.skip(run.end())
            c = self.at(j)
            if c in ":(":
                if not _IS_TYPE.fullmatch(run.group()):
                    raise _SyntaxProblem(f"invalid source type {run.group()!r}")
                source, i = self.typed_source(run.group(), j)
                sources.append(source)
            elif c == "}":
                sources.append(_Source(None, literal=_parse_literal(run.group())))
                i = j
            else:
                raise _SyntaxProblem(f"invalid source at index {i}")

    def typed_source(self, type_: str, i: int) -> tuple[_Source, int]:
        params: tuple[_Template, ...] = ()
        address: _Template | None = None
        if self.s[i] == "(":
            params, i = self.params(i + 1)
            i = self.skip(i)
            if self.at(i) == ":":
                address, i = self.address(i + 1)
        else:
            address, i = self.address(i + 1)
        return _Source(type_, params, address), i

    def string(self, i: int) -> tuple[str, int]:
        quote = self.s[i]
        j = i + 1
        while True:
            c = self.at(j)
            if c == "\\" and quote == '"':
                j += 2
                continue
            if c == quote:
                break
            j += 1
        raw = self.s[i : j + 1]
        if quote == "'":
            return raw[1:-1], j + 1
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise _SyntaxProblem(f"invalid string {raw}: {exc}") from None
        return str(value), j + 1

    def expression(self, i: int, stops: str) -> tuple[_Template, int]:
        """Text up to one of ``stops`` (at this nesting level), with nested variables."""
        out: list[str | _Variable] = []
        buf: list[str] = []
        while True:
            c = self.at(i)
            if c in stops:
                break
            if c == "$" and self.s.startswith("${", i):
                var, end = self.variable(i)
                if var is None:
                    raise _SyntaxProblem(f"invalid variable type at index {i + 2}")
                if buf:
                    out.append("".join(buf))
                    buf = []
                out.append(var)
                i = end
                continue
            if c == ":" and stops == ",}":
                raise _SyntaxProblem(f"invalid address at index {i} (':' in an address)")
            buf.append(c)
            i += 1
        text = "".join(buf)
        if text:
            out.append(text)
        # trim spaces at both ends, as the framework trims the address
        if out and isinstance(out[0], str):
            out[0] = out[0].lstrip()
        if out and isinstance(out[-1], str):
            out[-1] = out[-1].rstrip()
        return tuple(p for p in out if p != ""), i

    def address(self, i: int) -> tuple[_Template | None, int]:
        i = self.skip(i)
        c = self.at(i)
        if c in ",}":
            return None, i
        if c in "'\"":
            value, i = self.string(i)
            return (value,), i
        return self.expression(i, ",}")

    def params(self, i: int) -> tuple[tuple[_Template, ...], int]:
        out: list[_Template] = []
        while True:
            i = self.skip(i)
            c = self.at(i)
            if c == ")":
                return tuple(out), i + 1
            if c == ",":
                out.append(())
                i += 1
                continue
            if c in "'\"":
                value, i = self.string(i)
                out.append((value,))
            else:
                expr, i = self.expression(i, ",)")
                out.append(expr)
            i = self.skip(i)
            if self.at(i) == ",":
                i += 1
            elif self.at(i) != ")":
                raise _SyntaxProblem(f"invalid parameter at index {i}")


def _has_variables(text: str) -> bool:
    return "${" in text


class _Failed(Exception):
    """A value whose resolution failed (the error is recorded where the variable is written)."""


class _NotFound(Exception):
    pass


class _VariableError(Exception):
    def __init__(self, at: KeyPath, message: str) -> None:
        super().__init__(message)
        self.at = at
        self.message = message


class _Unresolvable(Exception):
    """A source Gatehold cannot read (SSM, CloudFormation outputs, S3 …): ``key`` is what
    ``--value 'KEY=VALUE'`` supplies."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(why)
        self.key = key
        self.why = why


FAILED: Any = object()
_MAX_DEPTH = 10


def _js_string(value: Any) -> str | None:
    """How the framework writes a value into the middle of a string (``type/string/coerce``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class _Variables:
    """The document with its variables resolved on demand (each value once, cycles detected).

    Every value Gatehold reads goes through :meth:`get`; a problem is recorded once, at the line and
    key path of the value that holds the variable, and the value reads as :data:`FAILED`."""

    def __init__(self, doc: Document, ctx: ImportContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self.memo: dict[KeyPath, Any] = {}
        self.stack: list[KeyPath] = []
        self.files: dict[Path, Any] = {}
        self.reported: set[tuple[KeyPath, str]] = set()
        self.dotenv: dict[str, str] = {}
        self.stage: str | None = None
        self.region: str = "us-east-1"
        self.instance_id = secrets.token_hex(4)
        self.noted: set[str] = set()

    # -- reading the resolved document --------------------------------------------------------------

    def get(self, path: KeyPath, default: Any = None) -> Any:
        try:
            return self.resolved(path)
        except _NotFound:
            return default
        except _Failed:
            return FAILED

    def keys(self, path: KeyPath) -> list[Any]:
        """The keys of the mapping at ``path``, without resolving the values below them."""
        try:
            node, _ = self.node(path)
        except _NotFound:
            return []
        except _Failed:
            return []
        if isinstance(node, str) and _has_variables(node):
            value = self.get(path)
            return list(value) if isinstance(value, dict) else []
        return list(node) if isinstance(node, dict) else []

    def has(self, path: KeyPath) -> bool:
        """Whether ``path`` holds a value (resolving only the variables above it)."""
        try:
            node, _ = self.node(path)
        except (_NotFound, _Failed):
            return False
        return node is not None

    def length(self, path: KeyPath) -> int:
        try:
            node, _ = self.node(path)
        except (_NotFound, _Failed):
            return 0
        if isinstance(node, str) and _has_variables(node):
            value = self.get(path)
            return len(value) if isinstance(value, list) else 0
        return len(node) if isinstance(node, list) else 0

    def node(self, path: KeyPath) -> tuple[Any, bool]:
        """The node at ``path`` as written, or as resolved when a variable above it was resolved
        (then ``True``)."""
        node: Any = self.doc.data
        resolved = False
        for i, key in enumerate(path):
            if not resolved and isinstance(node, str) and _has_variables(node):
                node = self.resolved(path[:i])
                resolved = True
            node = _child(node, key)
        return node, resolved

    def resolved(self, path: KeyPath) -> Any:
        if path in self.memo:
            value = self.memo[path]
            if value is FAILED:
                raise _Failed
            return value
        if path in self.stack:
            cycle = [*self.stack[self.stack.index(path) :], path]
            raise _VariableError(path, "variable cycle: " + " → ".join(dotted(p) or "(root)" for p in cycle))
        node, already = self.node(path)
        self.stack.append(path)
        try:
            value = node if already else self.resolve_node(node, path)
        except _VariableError as exc:
            self.report(exc.at, exc.message)
            self.memo[path] = FAILED
            raise _Failed from None
        except _Failed:
            self.memo[path] = FAILED
            raise
        finally:
            self.stack.pop()
        self.memo[path] = value
        return value

    def resolve_node(self, node: Any, path: KeyPath) -> Any:
        if isinstance(node, str):
            return self.string(node, path) if _has_variables(node) else node
        if isinstance(node, dict | list):
            # every child, so that every problem below is reported, not only the first
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            out: dict[Any, Any] = {}
            failed = False
            for key in keys:
                try:
                    out[key] = self.resolved((*path, key))
                except _Failed:
                    failed = True
            if failed:
                raise _Failed
            return out if isinstance(node, dict) else list(out.values())
        return node

    def report(self, at: KeyPath, message: str) -> None:
        if (at, message) not in self.reported:
            self.reported.add((at, message))
            self.ctx.error(self.ctx.ref(at), message)

    # -- strings ------------------------------------------------------------------------------------

    def string(self, text: str, at: KeyPath, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _VariableError(at, f"variables nest more than {_MAX_DEPTH} levels deep in {text!r}")
        try:
            parts = _Parser(text).template()
        except _SyntaxProblem as exc:
            raise _VariableError(at, f"invalid variable syntax in {text!r}: {exc}") from None
        if not any(isinstance(p, _Variable) for p in parts):
            return text
        if len(parts) == 1 and isinstance(parts[0], _Variable):
            value = self.variable(parts[0], at)
            # a value from one source is read again for variables (resolve.js), a file's for all
            return self.tree(value, at, depth + 1)
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = self.variable(part, at)
            piece = _js_string(value)
            if piece is None:
                raise _VariableError(
                    at, f"{part.text} resolves to {_describe(value)}, which cannot be part of a string"
                )
            out.append(piece)
        return "".join(out)

    def tree(self, value: Any, at: KeyPath, depth: int) -> Any:
        if isinstance(value, str):
            return self.string(value, at, depth) if _has_variables(value) else value
        if isinstance(value, dict):
            return {k: self.tree(v, at, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v, at, depth) for v in value]
        return value

    def template(self, parts: _Template, at: KeyPath) -> Any:
        """An address or parameter: text with nested variables."""
        if len(parts) == 1 and isinstance(parts[0], _Variable):
            return self.variable(parts[0], at)
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = self.variable(part, at)
            piece = _js_string(value)
            if piece is None:
                raise _VariableError(at, f"{part.text} resolves to {_describe(value)} inside an address")
            out.append(piece)
        return "".join(out)

    # -- one variable: its sources in order ---------------------------------------------------------

    def variable(self, var: _Variable, at: KeyPath) -> Any:
        last: tuple[str, str] | None = None
        for i, source in enumerate(var.sources):
            if source.type is None:
                return source.literal
            try:
                value = self.source(source, at)
            except _Unresolvable as exc:
                if i + 1 < len(var.sources):
                    note = f"{exc.key} is not read locally ({exc.why}); the fallback in {var.text} is used"
                    if note not in self.noted:
                        self.noted.add(note)
                        self.ctx.note(self.ctx.ref(at), f"{note} (or pass --value {_value_hint(exc.key)})")
                    continue
                raise _VariableError(
                    at,
                    f"{var.text}: {exc.why}; give the value with --value {_value_hint(exc.key)}",
                ) from None
            except _NotFound as exc:
                last = (str(exc), _source_key(source, self, at))
                continue
            if value is not None:
                return value
            last = ("it has no value", _source_key(source, self, at))
        why, key = last or ("it has no value", "")
        hint = (
            f"; give the value with --value {_value_hint(key)}" if key and not key.startswith("self:") else ""
        )
        raise _VariableError(at, f"{var.text}: {why}{hint}")

    def source(self, source: _Source, at: KeyPath) -> Any:
        type_ = source.type or ""
        params = [self.template(p, at) if p else None for p in source.params]
        address = self.template(source.address, at) if source.address is not None else None
        if address is not None and not isinstance(address, str):
            address = _js_string(address)
        key = _key(type_, params, address)
        values = self.ctx.options.values
        if type_ != "self" and key in values:
            return values[key]
        if type_ == "self":
            return self.self_(address or "")
        if type_ == "opt":
            return self.opt(address)
        if type_ == "env":
            return self.env(address)
        if type_ == "sls":
            if address == "stage":
                return self.stage
            if address == "instanceId":
                return self.instance_id
            raise _Unresolvable(key, f"sls:{address} is not known locally")
        if type_ == "aws":
            if address == "region":
                return self.region
            if address == "accountId":
                return self.ctx.account_id
            raise _Unresolvable(key, f"aws:{address} needs an AWS account")
        if type_ == "file":
            return self.file(params, address, at, key)
        if type_ == "strToBool":
            return _str_to_bool(params[0] if params else None, at)
        if type_ == "param":
            return self.param(address or "", key)
        if type_ in ("ssm", "cf", "s3", "secretsmanager", "terraform", "vault", "doppler", "kms"):
            raise _Unresolvable(key, f"{type_} values are read from AWS or another service at deploy time")
        raise _Unresolvable(key, f"'{type_}' is not a variable source Gatehold knows")

    def self_(self, address: str) -> Any:
        path: KeyPath = ()
        try:
            for part in address.split(".") if address else []:
                node, _ = self.node(path)
                step: str | int = int(part) if isinstance(node, list) and part.isdigit() else part
                path = (*path, step)
            return self.resolved(path)
        except _NotFound:
            # the framework gave provider.stage and provider.region their defaults before v3
            # resolved variables; ${opt:stage, self:provider.stage} is common in older files
            if path == ("provider", "stage"):
                return "dev"
            if path == ("provider", "region"):
                return "us-east-1"
            raise _NotFound(f"{address or '(root)'} is not defined in this file") from None

    def opt(self, address: str | None) -> Any:
        options: dict[str, Any] = {}
        if self.ctx.options.stage:
            options["stage"] = self.ctx.options.stage
        for key, value in self.ctx.options.values.items():
            if key.startswith("opt:"):
                options[key[4:]] = value
        if address is None:
            return options
        if address in options:
            return options[address]
        flag = "--stage" if address == "stage" else f"--value 'opt:{address}=VALUE'"
        raise _NotFound(f"no {address} option was given ({flag})")

    def env(self, address: str | None) -> Any:
        if address is None:
            return {**self.dotenv, **os.environ}
        value = os.environ.get(address) or self.dotenv.get(address)
        if not value:
            raise _NotFound(f"environment variable {address} is not set")
        return value

    def file(self, params: list[Any], address: str | None, at: KeyPath, key: str) -> Any:
        if not params or not isinstance(params[0], str) or not params[0]:
            raise _VariableError(at, "${file(…)} needs a path")
        relative = params[0]
        target = (self.ctx.base_dir / relative).resolve()
        suffix = target.suffix.lower()
        if suffix in (".js", ".cjs", ".mjs", ".ts"):
            raise _Unresolvable(key, f"{relative} is JavaScript, which Gatehold does not run")
        if target not in self.files:
            self.files[target] = self.read_file(target, relative, at)
        content = self.files[target]
        if content is None:
            raise _NotFound(f"{relative} does not exist")
        if not address:
            return content
        node = content
        for part in address.split("."):
            try:
                node = _child(node, part)
            except _NotFound:
                raise _NotFound(f"{relative} has no {address}") from None
        return node

    def read_file(self, target: Path, relative: str, at: KeyPath) -> Any:
        if not target.is_file():
            return None
        if target not in self.ctx.files:
            self.ctx.files.append(target)
        if target.suffix.lower() in (".yml", ".yaml", ".json", ".tfstate"):
            try:
                return read_document(target).data
            except ConfigError as exc:
                raise _VariableError(at, f"cannot read {relative}: {exc.problems[0]}") from None
        try:
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _VariableError(at, f"cannot read {relative}: {exc}") from None

    def param(self, name: str, key: str) -> Any:
        stage = self.stage or "dev"
        for path in (("params", stage, name), ("stages", stage, "params", name)):
            value = self.get(path)
            if value is not None and value is not FAILED:
                return value
        for path in (("params", "default", name), ("stages", "default", "params", name)):
            value = self.get(path)
            if value is not None and value is not FAILED:
                return value
        raise _NotFound(f"parameter {name} is not defined for stage {stage} (params: or stages:)")


def _value_hint(key: str) -> str:
    return shell_quoted(f"{key}=VALUE")


class _Quiet:
    """An :class:`ImportContext` that keeps problems and notes to itself (the template built for
    intrinsics resolves what it can; what it cannot matters only where a used value refers to it)."""

    def __init__(self, ctx: ImportContext) -> None:
        self._ctx = ctx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def error(self, src: SourceRef, message: str) -> None:
        return None

    def refuse(self, src: SourceRef, why: str) -> None:
        return None

    def note(self, src: SourceRef, what: str) -> None:
        return None


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        raise _NotFound
    if isinstance(node, list):
        index = key if isinstance(key, int) else int(key) if isinstance(key, str) and key.isdigit() else -1
        if 0 <= index < len(node):
            return node[index]
    raise _NotFound


def _key(type_: str, params: list[Any], address: str | None) -> str:
    text = type_
    if params:
        text += "(" + ",".join("" if p is None else str(_js_string(p)) for p in params) + ")"
    if address is not None:
        text += ":" + address
    return text


def _source_key(source: _Source, variables: _Variables, at: KeyPath) -> str:
    try:
        params = [variables.template(p, at) if p else None for p in source.params]
        address = variables.template(source.address, at) if source.address is not None else None
    except (_VariableError, _Failed, _NotFound, _Unresolvable):
        return ""
    return _key(source.type or "", params, None if address is None else str(address))


def _str_to_bool(value: Any, at: KeyPath) -> bool:
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise _VariableError(at, f"strToBool expects 'true', 'false', '0' or '1', not {value!r}")


def _dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as dotenv reads them (``export``, quotes, ``#`` comments)."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value.find(value[0], 1) > 0:
            quote = value[0]
            value = value[1 : value.find(quote, 1)]
            if quote == '"':
                value = value.replace("\\n", "\n")
        else:
            value = value.split(" #", 1)[0].rstrip()
        out[name.strip()] = value
    return out


# --------------------------------------------------------------------------------------------------
# the service: names, stage, functions
# --------------------------------------------------------------------------------------------------


@dataclass
class _Function:
    key: str  # the key under functions:
    name: str  # the Lambda function name: the model's function key
    at: KeyPath
    runs: bool = True  # written to the model (not refused)
    environment: dict[str, str] = field(default_factory=dict)
    aliased: bool = False  # an environment value points at an --issuer-alias issuer


@dataclass
class _Service:
    doc: Document
    ctx: ImportContext
    cfg: _Variables
    name: str
    stage: str
    region: str
    fns: dict[str, _Function] = field(default_factory=dict)
    noted: set[tuple[SourceRef, str]] = field(default_factory=set)
    _intrinsics: Resolver | None = field(default=None, init=False)

    @classmethod
    def read(cls, doc: Document, ctx: ImportContext) -> _Service | None:
        cfg = _Variables(doc, ctx)
        provider = doc.get(("provider",))
        # v1 wrote ``provider: aws``
        provider_name = cfg.get(("provider",)) if isinstance(provider, str) else cfg.get(("provider", "name"))
        if provider_name is FAILED:
            return None
        if provider_name != "aws":
            ctx.refuse(
                ctx.ref(("provider", "name")),
                f"provider {provider_name!r}: Gatehold runs AWS services only (provider.name: aws)",
            )
            return None
        # the stage first: ${sls:stage}, ${param:…} and .env.<stage> depend on it
        stage = ctx.options.stage or cfg.get(("provider", "stage")) or "dev"
        if stage is FAILED:
            return None
        stage = str(stage)
        region = ctx.options.values.get("opt:region") or cfg.get(("provider", "region")) or "us-east-1"
        cfg.stage = stage
        cfg.region = str(region) if region is not FAILED else "us-east-1"
        if cls._wants_dotenv(cfg):
            cfg.memo.clear()
            for candidate in (ctx.base_dir / f".env.{stage}", ctx.base_dir / ".env"):
                if candidate.is_file():
                    cfg.dotenv = _dotenv(candidate)
                    ctx.files.append(candidate.resolve())
                    ctx.note(ctx.ref(("useDotenv",)), f"environment variables read from {candidate.name}")
                    break
        service = cfg.get(("service",))
        if isinstance(service, dict):  # v1: service: {name: …}
            service = service.get("name")
        if service is FAILED:
            return None
        if not isinstance(service, str) or not service:
            ctx.error(ctx.ref(("service",)), "service must name the service (a string)")
            return None
        return cls(doc, ctx, cfg, service, stage, cfg.region)

    @staticmethod
    def _wants_dotenv(cfg: _Variables) -> bool:
        if cfg.get(("useDotenv",)) is True:
            return True
        version = cfg.get(("frameworkVersion",))
        return isinstance(version, str | int) and str(version).lstrip("^~>=v ").startswith("4")

    def ref(self, path: KeyPath) -> SourceRef:
        return self.ctx.ref(path)

    def note_once(self, src: SourceRef, what: str) -> None:
        """A note about a provider-wide setting, said once rather than once per function."""
        if (src, what) not in self.noted:
            self.noted.add((src, what))
            self.ctx.note(src, what)

    # -- top level ----------------------------------------------------------------------------------

    def top_level(self) -> None:
        ctx = self.ctx
        for key in self.cfg.keys(()):
            if key in _TOP_USED:
                continue
            if key in _TOP_IGNORED:
                if key not in ("custom", "params", "stages", "useDotenv"):
                    ctx.ignore(self.ref((key,)), f"no local meaning: {_TOP_IGNORED[key]}")
                continue
            ctx.ignore(
                self.ref((key,)), "not a serverless.yml property Gatehold knows (a plugin's?): not applied"
            )
        self.plugins()
        if self.cfg.keys(("custom", "serverless-offline")):
            ctx.ignore(
                self.ref(("custom", "serverless-offline")),
                "serverless-offline settings: Gatehold's ports and URLs come from gatehold up"
                " (REST APIs keep the stage as the first path segment, as on AWS)",
            )

    def plugins(self) -> None:
        if not self.cfg.has(("plugins",)):
            return
        at: KeyPath = ("plugins",)
        if isinstance(self.cfg.get(("plugins",)), dict):  # plugins: {localPath: …, modules: […]}
            at = ("plugins", "modules")
        names = self.cfg.get(at)
        if not isinstance(names, list):
            return
        for i, name in enumerate(names):
            where = self.ref((*at, i))
            if not isinstance(name, str):
                continue
            why = _PLUGINS.get(name)
            if name == "serverless-domain-manager":
                self.ctx.refuse(where, f"plugin {name}: custom domains are not served")
            elif why is not None:
                self.ctx.ignore(where, f"plugin {name}: {why}")
            else:
                self.ctx.note(where, f"plugin {name} is not run by Gatehold")

    # -- provider -----------------------------------------------------------------------------------

    def provider_settings(self) -> None:
        ctx, cfg = self.ctx, self.cfg
        for key in cfg.keys(("provider",)):
            at: KeyPath = ("provider", key)
            if key in _PROVIDER_USED:
                continue
            why = _PROVIDER_IGNORED.get(key)
            if why:
                ctx.ignore(self.ref(at), f"no local meaning: {why}")
            else:
                ctx.ignore(self.ref(at), "not a provider property Gatehold knows (a plugin's?): not applied")
        if cfg.keys(("provider", "layers")) or cfg.length(("provider", "layers")):
            ctx.refuse(
                self.ref(("provider", "layers")),
                "Lambda layers are not mounted: the handlers' imports must come from your environment",
            )
        endpoint = cfg.get(("provider", "endpointType"))
        if isinstance(endpoint, str) and endpoint.upper() == "PRIVATE":
            ctx.refuse(
                self.ref(("provider", "endpointType")),
                "a PRIVATE REST API is reachable only through a VPC endpoint; Gatehold serves it on its URL",
            )
        elif isinstance(endpoint, str):
            ctx.ignore(
                self.ref(("provider", "endpointType")), f"endpointType {endpoint}: served on Gatehold's URL"
            )
        if cfg.get(("provider", "vpcEndpointIds")) not in (None, FAILED):
            ctx.refuse(self.ref(("provider", "vpcEndpointIds")), "VPC endpoints are not reproduced")
        for key in cfg.keys(("provider", "logs")):
            if key not in ("restApi", "httpApi"):
                ctx.ignore(self.ref(("provider", "logs", key)), "no local meaning: CloudWatch logs")
        if cfg.has(("provider", "resourcePolicy")):
            ctx.refuse(
                self.ref(("provider", "resourcePolicy")),
                "resource policies (IP and VPC allow / deny lists) are not evaluated by Gatehold",
            )

    # -- functions ----------------------------------------------------------------------------------

    def functions(self) -> None:
        ctx, cfg = self.ctx, self.cfg
        # functions: a mapping, or a list of mappings (files of functions) the framework merges
        places: list[KeyPath] = [("functions",)]
        if cfg.length(("functions",)):
            places = [("functions", i) for i in range(cfg.length(("functions",)))]
        found = [(key, (*place, key)) for place in places for key in cfg.keys(place)]
        if not found:
            ctx.note(self.ref(()), "no functions: nothing to serve")
        for key, at in found:
            if key in self.fns:
                ctx.error(self.ref(at), f"function {key!r} is defined twice")
                continue
            name = cfg.get((*at, "name"))
            lambda_name = name if isinstance(name, str) and name else f"{self.name}-{self.stage}-{key}"
            self.fns[key] = _Function(str(key), lambda_name, at)
        taken: dict[str, str] = {}
        for fn in self.fns.values():
            if fn.name in taken:
                ctx.error(
                    self.ref((*fn.at, "name")),
                    f"functions {taken[fn.name]!r} and {fn.key!r} are both Lambda function {fn.name!r}",
                )
            taken[fn.name] = fn.key
        for fn in self.fns.values():
            self.function(fn)

    def function(self, fn: _Function) -> None:
        ctx, cfg = self.ctx, self.cfg
        at = fn.at
        for key in cfg.keys(at):
            if key in _FUNCTION_USED:
                continue
            why = _FUNCTION_IGNORED.get(key)
            message = (
                f"no local meaning: {why}"
                if why
                else "not a function property Gatehold knows (a plugin's?): not applied"
            )
            ctx.ignore(self.ref((*at, key)), message)
        refused = False
        for key, why in (
            ("image", "container images are not run: Gatehold runs handlers from source"),
            (
                "layers",
                "Lambda layers are not mounted: the handler's imports must come from your environment",
            ),
            ("url", "Lambda function URLs are not served (only http and httpApi events are)"),
            ("fileSystemConfig", "EFS file systems are not mounted"),
            ("condition", "a CloudFormation condition decides whether this function exists"),
        ):
            if cfg.has((*at, key)):
                ctx.refuse(self.ref((*at, key)), why)
                refused = refused or key == "image"
        handler = cfg.get((*at, "handler"))
        if handler is FAILED:
            fn.runs = False
            return
        if refused or handler is None:
            if handler is None and not refused:
                ctx.error(self.ref(at), "a function needs a handler ('module.function')")
            fn.runs = False
            return
        if not isinstance(handler, str):
            ctx.error(self.ref((*at, "handler")), "handler must be a string ('module.function')")
            fn.runs = False
            return
        code_dir = ctx.base_dir
        module = cfg.get((*at, "module"))
        if isinstance(module, str) and module:
            code_dir = (ctx.base_dir / module).resolve()
            ctx.note(self.ref((*at, "module")), f"the handler is read from {module}/ (module:)")
        out: dict[str, Any] = {"handler": handler, "code_path": str(code_dir)}
        runtime = self.runtime(fn, handler, code_dir)
        if runtime is not None:
            out["runtime"] = runtime
        timeout = self.setting(fn, "timeout", 6)
        memory = self.setting(fn, "memorySize", 1024)
        if timeout is not FAILED:
            out["timeout"] = timeout
        if memory is not FAILED:
            out["memory_size"] = memory
        out["environment"] = fn.environment = self.environment(fn)
        reserved = cfg.get((*at, "reservedConcurrency"))
        if reserved == 0:
            ctx.refuse(
                self.ref((*at, "reservedConcurrency")),
                "reservedConcurrency 0 throttles every invocation;"
                " Gatehold's reserved concurrency is 1 or more",
            )
        elif reserved is not None and reserved is not FAILED:
            out["reserved_concurrency"] = reserved
        model: KeyPath = ("functions", fn.name)
        ctx.put(model, out, self.ref(at))
        for key, model_key in (
            ("handler", "handler"),
            ("runtime", "runtime"),
            ("timeout", "timeout"),
            ("memorySize", "memory_size"),
            ("environment", "environment"),
            ("reservedConcurrency", "reserved_concurrency"),
        ):
            if cfg.doc.get((*at, key)) is not None:
                ctx.at((*model, model_key), self.ref((*at, key)))
            elif key in ("runtime", "timeout", "memorySize", "environment") and (
                cfg.doc.get(("provider", key)) is not None
            ):
                ctx.at((*model, model_key), self.ref(("provider", key)))

    def setting(self, fn: _Function, key: str, default: Any) -> Any:
        value = self.cfg.get((*fn.at, key))
        if value is None:
            value = self.cfg.get(("provider", key))
        if value is None:
            return default
        if isinstance(value, str) and _NUMBER.match(value.strip()):
            return float(value) if key == "timeout" else int(float(value))
        return value

    def runtime(self, fn: _Function, handler: str, code_dir: Path) -> str | None:
        ctx = self.ctx
        runtime = self.cfg.get((*fn.at, "runtime"))
        at: KeyPath = (*fn.at, "runtime")
        if runtime is None:
            runtime = self.cfg.get(("provider", "runtime"))
            at = ("provider", "runtime")
        if runtime is FAILED:
            return None
        if runtime is None:
            module = handler.rsplit(".", 1)[0]
            if (code_dir / f"{module}.py").is_file():
                ctx.note(self.ref(fn.at), f"no runtime given: {module}.py is Python")
                return "python"
            ctx.note(self.ref(fn.at), "no runtime given: serverless v4's default nodejs20.x")
            return "nodejs20.x"
        if not isinstance(runtime, str):
            ctx.error(self.ref(at), "runtime must be a string such as python3.12")
            return None
        if runtime in PYTHON_RUNTIMES:
            return runtime
        if runtime in ("python3.6", "python3.7"):
            self.note_once(self.ref(at), f"{runtime} (retired by Lambda) runs on Gatehold's Python")
            return "python"
        if runtime.startswith("nodejs"):
            return runtime
        where = self.ref(at)
        if (where, runtime) not in self.noted:  # a provider-wide runtime is refused once
            self.noted.add((where, runtime))
            ctx.refuse(where, f"runtime {runtime}: Gatehold runs Python and Node.js handlers")
        return None

    def environment(self, fn: _Function) -> dict[str, str]:
        out: dict[str, str] = {}
        for base in (("provider", "environment"), (*fn.at, "environment")):
            for name in self.cfg.keys(base):
                at: KeyPath = (*base, name)
                value = self.cfg.get(at)
                if value is FAILED:
                    continue
                text = self.scalar(value, at, what=f"environment variable {name}")
                if text is None:
                    out.pop(str(name), None)
                    continue
                aliased = self.ctx.alias_url(text)
                if aliased != text:
                    fn.aliased = True
                    self.note_once(self.ref(at), f"{text} → {aliased} (--issuer-alias)")
                out[str(name)] = aliased
        return out

    def scalar(self, value: Any, at: KeyPath, *, what: str) -> str | None:
        """A string value as CloudFormation writes it, looking intrinsics up in ``--value``."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return _js_string(value)
        if isinstance(value, dict):
            found = self.intrinsic(value, at, what=what)
            return found
        if value is None:
            self.ctx.error(self.ref(at), f"{what} has no value")
            return None
        self.ctx.error(self.ref(at), f"{what} must be a string, not {_describe(value)}")
        return None

    def intrinsic(self, value: dict[str, Any], at: KeyPath, *, what: str) -> str | None:
        """A CloudFormation value (``!Ref OrdersTable``, ``!GetAtt Queue.Arn``, ``!Join`` …) as the
        shared resolver (:mod:`gatehold.importers.intrinsics`) evaluates it against the template the
        framework would deploy; it reports what it cannot resolve at ``at``."""
        resolved = self.intrinsics().resolve(value, at, self.doc)
        if resolved is NO_VALUE:
            return None
        text = _js_string(resolved)
        if text is None:
            self.ctx.error(self.ref(at), f"{what} must be a string, not {_describe(resolved)}")
        return text

    def intrinsics(self) -> Resolver:
        """The template ``serverless deploy`` would deploy, as far as intrinsics read it: the
        resources under ``resources:`` (their variables resolved where they can be, quietly: an
        unresolvable one only matters if a value Gatehold uses refers to it), a
        ``{Key}LambdaFunction`` per function and ``ApiGatewayRestApi``; the stack is
        ``{service}-{stage}``."""
        if self._intrinsics is not None:
            return self._intrinsics
        quiet = _Variables(self.doc, cast(ImportContext, _Quiet(self.ctx)))
        quiet.stage, quiet.region, quiet.dotenv = self.cfg.stage, self.cfg.region, self.cfg.dotenv
        blocks: list[KeyPath] = [("resources",)]
        if quiet.length(("resources",)):
            blocks = [("resources", i) for i in range(quiet.length(("resources",)))]
        template: dict[str, Any] = {"Resources": {}}
        for block in blocks:
            for logical in quiet.keys((*block, "Resources")):
                at: KeyPath = (*block, "Resources", logical)
                body = {key: quiet.get((*at, key)) for key in quiet.keys(at) if key != "Properties"}
                body["Properties"] = {
                    key: value
                    for key in quiet.keys((*at, "Properties"))
                    if (value := quiet.get((*at, "Properties", key))) is not FAILED
                }
                template["Resources"][logical] = body
            for section in ("Conditions", "Mappings"):
                value = quiet.get((*block, section))
                if isinstance(value, dict):
                    template.setdefault(section, {}).update(value)
        for fn in self.fns.values():
            template["Resources"].setdefault(
                _lambda_logical_id(fn.key),
                {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": fn.name}},
            )
        self._intrinsics = Resolver(
            Document(self.doc.file, template, self.doc.lines),
            self.ctx,
            region=self.region,
            account_id=self.ctx.account_id,
            overrides={"AWS::StackName": f"{self.name}-{self.stage}"},
            values=self.ctx.options.values,
            base_dir=self.ctx.base_dir,
            read=self.ctx.read,
        )
        return self._intrinsics

    # -- events -------------------------------------------------------------------------------------

    def events(self, fn: _Function) -> Iterator[tuple[dict[str, Any], KeyPath]]:
        """The http and httpApi events of ``fn`` (others are listed as ignored)."""
        at: KeyPath = (*fn.at, "events")
        events = self.cfg.get(at)
        if events is None or events is FAILED:
            return
        if not isinstance(events, list):
            self.ctx.error(self.ref(at), "events must be a list")
            return
        for i, event in enumerate(events):
            where: KeyPath = (*at, i)
            if not isinstance(event, dict) or len(event) != 1:
                self.ctx.error(
                    self.ref(where), "an event is a mapping with one key, its type (http, httpApi …)"
                )
                continue
            kind = next(iter(event))
            if kind not in _SERVED_EVENTS:
                self.ctx.ignore(
                    self.ref(where),
                    f"{kind} events are not served locally (only http and httpApi events are)",
                )
                continue
            if not fn.runs:
                self.ctx.ignore(self.ref(where), f"not served: function {fn.key!r} is not run")
                continue
            yield event, where

    def function_for(self, value: Any, at: KeyPath, *, what: str) -> tuple[str, str] | None:
        """(model function key, serverless name) for a function named in this file or by its ARN."""
        if isinstance(value, str) and ":" not in value:
            fn = self.fns.get(value)
            if fn is None:
                self.ctx.error(self.ref(at), f"{what}: function {value!r} is not defined in functions")
                return None
            return fn.name, fn.key
        lambda_name: str | None = None
        if isinstance(value, str):
            m = _LAMBDA_ARN.match(value)
            lambda_name = m.group(1) if m else None
            if lambda_name is None:
                self.ctx.error(self.ref(at), f"{what}: {value!r} is not a Lambda function ARN")
                return None
        elif isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
            target = value["Fn::GetAtt"]
            logical = target[0] if isinstance(target, list) and target else str(target).split(".")[0]
            for fn in self.fns.values():
                if _lambda_logical_id(fn.key) == logical:
                    return fn.name, fn.key
            self.ctx.refuse(self.ref(at), f"{what}: {logical} is not a function of this file")
            return None
        else:
            resolved = self.intrinsics().resolve(value, at, self.doc)
            if resolved is NO_VALUE:
                return None
            if not isinstance(resolved, str):
                self.ctx.error(self.ref(at), f"{what}: {_describe(resolved)} is not a Lambda function ARN")
                return None
            return self.function_for(resolved, at, what=what)
        for fn in self.fns.values():
            if fn.name == lambda_name:
                return fn.name, fn.key
        self.ctx.refuse(
            self.ref(at),
            f"{what}: Lambda function {lambda_name} is not defined in this file, so it cannot run locally",
        )
        return None

    # -- tokens for Lambda authorizers ---------------------------------------------------------------

    def authorizer_audiences(self, functions: list[str]) -> None:
        """A Lambda authorizer that checks tokens of an aliased issuer (its environment names the
        issuer ``--issuer-alias`` rewrote, as Auth0's samples do with ``TOKEN_ISSUER`` / ``JWKS_URI``)
        expects the audience its ``…AUDIENCE`` variable names: that API is created in the local
        tenant (``ctx.local_audiences``), with ``gatehold-m2m`` granted it, so ``gatehold token``
        mints tokens it accepts."""
        ctx = self.ctx
        if ctx.local_issuer is None:
            return
        wanted: dict[str, SourceRef] = {}
        for fn in self.fns.values():
            if fn.name not in functions or not fn.aliased:
                continue
            for name, value in fn.environment.items():
                if name.upper().endswith("AUDIENCE") and value:
                    wanted.setdefault(value, self.ref((*fn.at, "environment", name)))
        for audience, where in wanted.items():
            ctx.local_audiences.setdefault(audience, (set(), where))

    def gatehold_expects(self) -> None:
        """``custom.gatehold.expects: {AuthorizerName: …}``: what Lambda authorizers check, for
        ``gatehold token --route`` (``custom`` is the framework's free-form section; a property of
        its own on a function is a configuration error under ``configValidationMode: error``).
        Variables resolve; an aliased issuer becomes the local one, as in the functions' environment."""
        ctx, at = self.ctx, ("custom", "gatehold")
        block = self.cfg.get(at)
        if block is None or block is FAILED:
            return
        if not isinstance(block, dict):
            ctx.error(self.ref(at), "custom.gatehold must be a mapping (expects: …)")
            return
        for key in block:
            if key != "expects":
                ctx.error(
                    self.ref((*at, key)), f"{key} is not a Gatehold setting (custom.gatehold.expects is)"
                )
        declared = block.get("expects")
        if declared is None:
            return
        if not isinstance(declared, dict):
            ctx.error(self.ref((*at, "expects")), "custom.gatehold.expects maps authorizer names to expects")
            return
        apis = ctx.data.get("apis", {})
        for name, expects in declared.items():
            where = self.ref((*at, "expects", name))
            named = expects_target(apis, str(name))
            if isinstance(named, str):
                ctx.error(where, named)
                continue
            if isinstance(expects, dict) and isinstance(expects.get("issuer"), str):
                expects = {**expects, "issuer": ctx.alias_issuer(expects["issuer"], where)}
            api_name, auth_name = named
            ctx.put(("apis", api_name, "authorizers", auth_name, "expects"), expects, where)

    # -- resources ----------------------------------------------------------------------------------

    def resources(self, rest: _RestApi | None) -> None:
        ctx, cfg = self.ctx, self.cfg
        if not cfg.has(("resources",)):
            return
        blocks: list[KeyPath] = [("resources",)]
        if cfg.length(("resources",)):  # a list of blocks (files) the framework merges
            blocks = [("resources", i) for i in range(cfg.length(("resources",)))]
        for block in blocks:
            for key in cfg.keys(block):
                at: KeyPath = (*block, key)
                if key == "Resources":
                    for logical in cfg.keys(at):
                        self.resource(rest, (*at, logical), str(logical))
                elif key == "extensions":
                    for logical in cfg.keys(at):
                        where: KeyPath = (*at, logical)
                        if logical.startswith("ApiGateway") or logical.startswith("HttpApi"):
                            ctx.refuse(
                                self.ref(where),
                                f"extensions of the framework's {logical} are not applied by Gatehold",
                            )
                        else:
                            ctx.ignore(
                                self.ref(where),
                                "no local meaning: an extension of a resource Gatehold does not create",
                            )
                else:
                    ctx.ignore(self.ref(at), f"no local meaning: CloudFormation {key}")

    def resource(self, rest: _RestApi | None, at: KeyPath, logical: str) -> None:
        ctx, cfg = self.ctx, self.cfg
        type_ = cfg.get((*at, "Type"))
        if type_ is FAILED:
            return
        if not isinstance(type_, str):
            ctx.error(self.ref(at), "a resource needs a Type")
            return
        if type_ == "AWS::ApiGateway::GatewayResponse":
            if rest is None:
                ctx.error(
                    self.ref(at),
                    "this GatewayResponse belongs to the REST API, which exists only when functions have"
                    " http events",
                )
                return
            rest.gateway_response(at, logical)
        elif type_.startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::")):
            ctx.refuse(
                self.ref((*at, "Type")),
                f"{type_} {logical}: API Gateway resources written by hand are not merged by the"
                " serverless importer (only AWS::ApiGateway::GatewayResponse is)",
            )
        elif type_ == "AWS::Lambda::Permission":
            ctx.ignore(self.ref(at), f"{type_} {logical}: permissions have no local effect")
        else:
            ctx.ignore(self.ref(at), f"{type_} {logical}: not created locally")


_VTL = re.compile(
    r"#(set|if|elseif|else|end|foreach|define|macro|parse|include|evaluate|break|stop)\b|\$(input|util)\."
)


def _static_template(template: Any) -> str | None:
    """A response template Gatehold can serve (``$context.*`` / ``$stageVariables.*`` only), or
    None when it uses VTL (directives, ``$input``, ``$util``)."""
    if isinstance(template, dict):
        template = template.get("application/json", "")
    if not isinstance(template, str) or _VTL.search(template):
        return None
    return template


def _lambda_logical_id(key: str) -> str:
    """naming.js getLambdaLogicalId: ``hello-world_x`` → ``HelloDashworldUnderscorexLambdaFunction``."""
    normalized = key.replace("-", "Dash").replace("_", "Underscore")
    return normalized[:1].upper() + normalized[1:] + "LambdaFunction"


def _authorizer_name_from_arn(arn: str) -> str:
    """naming.js extractAuthorizerNameFromArn: the last ``-`` part of the function name."""
    return arn.split(":")[-1].split("-")[-1]


def _union(*lists: Any) -> list[Any]:
    """lodash ``_.union``: unique values in first-seen order; non-lists are skipped."""
    out: list[Any] = []
    for items in lists:
        if isinstance(items, list):
            for item in items:
                if item not in out:
                    out.append(item)
    return out


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------------------------------
# REST API: http events
# --------------------------------------------------------------------------------------------------


@dataclass
class _Cors:
    """One path's preflight, merged over its events as validate.js does."""

    src: SourceRef
    headers: list[Any] = field(default_factory=list)
    methods: list[Any] = field(default_factory=list)
    origins: list[Any] = field(default_factory=list)
    origin: Any = None
    allow_credentials: bool = False
    max_age: Any = None
    cache_control: Any = None


class _RestApi:
    """The REST API the framework creates for ``http`` events (``ApiGatewayRestApi``)."""

    def __init__(self, service: _Service) -> None:
        self.s = service
        self.ctx = service.ctx
        cfg = service.cfg
        api_name = cfg.get(("provider", "apiName"))
        start_with_service = cfg.get(("provider", "apiGateway", "shouldStartNameWithService")) is True
        if isinstance(api_name, str) and api_name:
            self.name = api_name
        elif start_with_service:
            self.name = f"{service.name}-{service.stage}"
        else:
            self.name = f"{service.stage}-{service.name}"
        self.routes: dict[str, tuple[dict[str, Any], KeyPath]] = {}
        self.authorizers: dict[str, tuple[dict[str, Any], KeyPath]] = {}
        self.cors: dict[str, _Cors] = {}
        self.gateway_responses: dict[str, tuple[dict[str, Any], KeyPath]] = {}

    def ref(self, path: KeyPath) -> SourceRef:
        return self.ctx.ref(path)

    # -- one http event -----------------------------------------------------------------------------

    def event(self, fn: _Function, raw: Any, at: KeyPath) -> None:
        ctx = self.ctx
        if isinstance(raw, str):
            parts = raw.split()
            if len(parts) != 2:
                ctx.error(self.ref(at), f"http: {raw!r} must be 'METHOD path'")
                return
            http: dict[str, Any] = {"method": parts[0], "path": parts[1]}
        elif isinstance(raw, dict):
            http = raw
        else:
            ctx.error(self.ref(at), "an http event is 'METHOD path' or a mapping")
            return
        for key in http:
            if key not in _HTTP_EVENT_KEYS:
                ctx.refuse(self.ref((*at, key)), "not a property of http events")
        method = http.get("method")
        path = http.get("path")
        if not isinstance(method, str) or method.upper() not in _REST_METHODS:
            ctx.error(
                self.ref((*at, "method")), f"method {method!r}: one of {', '.join(sorted(_REST_METHODS))}"
            )
            return
        if not isinstance(path, str):
            ctx.error(self.ref((*at, "path")), "an http event needs a path")
            return
        method = method.upper()
        path = "/" + path.strip("/")
        key = f"{method} {path}"
        if key in self.routes:
            ctx.error(
                self.ref(at),
                f"{key} is defined twice (also at {self.ref(self.routes[key][1])})",
            )
            return
        integration = self.integration(fn, http, at, method)
        if integration is None:
            return
        route: dict[str, Any] = {"integration": integration}
        validation = self.validation(http, at)
        if validation:
            route["request_validation"] = validation
        if http.get("private") is True:
            route["api_key_required"] = True
        elif http.get("private") not in (None, False):
            ctx.error(self.ref((*at, "private")), "private is true or false")
        if http.get("authorizer") is not None:
            name = self.authorizer(http["authorizer"], (*at, "authorizer"))
            if name is None:
                return
            route["authorizer"] = name
        if http.get("cors"):
            self.add_cors(http["cors"], (*at, "cors"), path, method)
        for name in ("operationId", "documentation"):
            if name in http:
                ctx.ignore(self.ref((*at, name)), "no local meaning: API documentation")
        if "caching" in http:
            ctx.ignore(
                self.ref((*at, "caching")),
                "serverless-api-gateway-caching: responses are not cached locally",
            )
        if "reqValidatorName" in http:
            ctx.refuse(self.ref((*at, "reqValidatorName")), "request validators are not applied by Gatehold")
        self.routes[key] = (route, at)

    def integration(
        self, fn: _Function, http: dict[str, Any], at: KeyPath, method: str
    ) -> dict[str, Any] | None:
        ctx = self.ctx
        raw = http.get("integration")
        kind = "AWS_PROXY"
        if http.get("async"):
            ctx.refuse(
                self.ref((*at, "async")),
                "async: true invokes the function asynchronously through a 'lambda' integration,"
                " which Gatehold does not run",
            )
            return None
        if raw is not None:
            if not isinstance(raw, str):
                ctx.error(self.ref((*at, "integration")), "integration is a string (lambda-proxy, http …)")
                return None
            kind = raw.upper().replace("-", "_")
            kind = {"LAMBDA": "AWS", "LAMBDA_PROXY": "AWS_PROXY"}.get(kind, kind)
        request: dict[str, Any] = http["request"] if isinstance(http.get("request"), dict) else {}
        if kind == "AWS":
            ctx.refuse(
                self.ref((*at, "integration")),
                "integration: lambda (non-proxy, VTL mapping templates) is not run by Gatehold; use"
                " lambda-proxy",
            )
            return None
        if kind not in ("AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"):
            ctx.error(
                self.ref((*at, "integration")),
                f"integration {raw!r}: lambda-proxy, lambda, http, http-proxy or mock",
            )
            return None
        if http.get("connectionType") is not None or http.get("connectionId") is not None:
            ctx.refuse(
                self.ref((*at, "connectionType" if "connectionType" in http else "connectionId")),
                "VPC links are not reproduced",
            )
            return None
        parameters = self.request_parameters(request, (*at, "request"), kind)
        for key in request:
            where: KeyPath = (*at, "request", key)
            if key in ("schema", "schemas"):
                continue  # request validation (validation())
            if key == "template":
                if kind in ("HTTP", "MOCK"):
                    continue
                ctx.ignore(
                    self.ref(where),
                    "the framework removes request templates from lambda-proxy integrations",
                )
            elif key in ("passThrough", "contentHandling") and kind in ("HTTP", "MOCK"):
                continue
            elif key not in ("parameters", "uri", "method"):
                ctx.refuse(self.ref(where), "not a request property Gatehold applies")
        if kind == "AWS_PROXY":
            if http.get("response") is not None:
                ctx.ignore(
                    self.ref((*at, "response")),
                    "the framework removes response settings from lambda-proxy integrations",
                )
            return {"type": "lambda", "function": fn.name}
        if kind == "MOCK":
            return self.mock(http, request, at)
        uri = request.get("uri")
        if not isinstance(uri, str):
            where = (*at, "request") if "request" in http else at
            ctx.error(self.ref(where), f"request.uri is needed for the {raw} integration")
            return None
        integration_method = request.get("method") or method
        if kind == "HTTP_PROXY":
            out: dict[str, Any] = {
                "type": "http_proxy",
                "uri": uri,
                "method": str(integration_method).upper(),
            }
            if parameters:
                out["request_parameters"] = parameters
            return out
        return self.http(http, request, at, uri, str(integration_method).upper(), parameters)

    def validation(self, http: dict[str, Any], at: KeyPath) -> dict[str, Any]:
        """request-validator.js: a required parameter (``true``, or ``required`` not false) or a
        ``request.schemas`` entry gives the method the service's validator, which checks both the
        parameters and the body: 400 "Missing required request parameters: [...]" / "Invalid request
        body" after the authorizer (docs/configuration.md, "Request validation")."""
        request = http.get("request")
        if not isinstance(request, dict):
            return {}
        required: list[str] = []
        parameters = request.get("parameters")
        if isinstance(parameters, dict):
            for location, singular in (
                ("querystrings", "querystring"),
                ("headers", "header"),
                ("paths", "path"),
            ):
                entries = parameters.get(location)
                for name, value in entries.items() if isinstance(entries, dict) else ():
                    if value if not isinstance(value, dict) else value.get("required", True):
                        required.append(f"method.request.{singular}.{name}")
        schemas: dict[str, Any] = {}
        for key in ("schemas", "schema"):
            raw = request.get(key)
            if raw is None:
                continue
            if not isinstance(raw, dict):
                self.ctx.error(self.ref((*at, "request", key)), f"{key} maps content types to JSON schemas")
                continue
            for content_type, spec in raw.items():
                schema = self.schema(spec, (*at, "request", key, content_type))
                if schema is not None:
                    schemas[str(content_type)] = schema
        out: dict[str, Any] = {}
        if required:
            out["required_parameters"] = required
        if schemas:
            out["body_schemas"] = schemas
        return out

    def schema(self, spec: Any, at: KeyPath) -> dict[str, Any] | None:
        """A JSON schema, ``{name, description, schema}``, or the name of one under
        ``provider.apiGateway.request.schemas`` (or JSON text)."""
        if isinstance(spec, str):
            shared = self.s.cfg.get(("provider", "apiGateway", "request", "schemas", spec))
            if isinstance(shared, dict):
                spec = shared
            else:
                try:
                    spec = json.loads(spec)
                except ValueError:
                    self.ctx.error(
                        self.ref(at),
                        f"{spec!r} is neither a schema of provider.apiGateway.request.schemas nor JSON",
                    )
                    return None
        if isinstance(spec, dict) and "schema" in spec:
            spec = spec["schema"]
        if isinstance(spec, str):
            try:
                spec = json.loads(spec)
            except ValueError:
                self.ctx.error(self.ref(at), "the schema is not JSON")
                return None
        if not isinstance(spec, dict):
            self.ctx.error(self.ref(at), "a request schema is a JSON schema (a mapping)")
            return None
        return spec

    def request_parameters(self, request: dict[str, Any], at: KeyPath, kind: str) -> dict[str, str]:
        """``request.parameters`` of HTTP integrations: each parameter is mapped to the backend
        (``mappedValue``, else the same method parameter); required ones are validated
        (:meth:`validation`), optional ones only declared."""
        ctx = self.ctx
        parameters = request.get("parameters")
        if parameters is None:
            return {}
        if not isinstance(parameters, dict):
            ctx.error(self.ref((*at, "parameters")), "parameters is a mapping (querystrings, headers, paths)")
            return {}
        mapped: dict[str, str] = {}
        for location in parameters:
            if location not in ("querystrings", "headers", "paths"):
                ctx.error(
                    self.ref((*at, "parameters", location)), "parameters are querystrings, headers or paths"
                )
        for location, singular in (("querystrings", "querystring"), ("headers", "header"), ("paths", "path")):
            entries = parameters.get(location)
            if entries is None:
                continue
            if not isinstance(entries, dict):
                ctx.error(self.ref((*at, "parameters", location)), f"{location} is a mapping of names")
                continue
            for name, value in entries.items():
                where: KeyPath = (*at, "parameters", location, name)
                required = value if not isinstance(value, dict) else value.get("required", True)
                if kind in ("HTTP", "HTTP_PROXY"):
                    source = value.get("mappedValue") if isinstance(value, dict) else None
                    mapped[f"integration.request.{singular}.{name}"] = (
                        str(source) if source else f"method.request.{singular}.{name}"
                    )
                elif not required:
                    ctx.ignore(self.ref(where), f"an optional {singular} only declares it (no local effect)")
        return mapped

    def mock(self, http: dict[str, Any], request: dict[str, Any], at: KeyPath) -> dict[str, Any] | None:
        """A MOCK integration: the status the request template names, the response whose selection
        pattern matches it (else the default one), static headers and a static body."""
        ctx = self.ctx
        status = 200
        template = request.get("template")
        if template is not None:
            text = template.get("application/json") if isinstance(template, dict) else None
            found = re.search(r"statusCode\"?\s*:\s*(\d{3})", text) if isinstance(text, str) else None
            if found is None:
                ctx.refuse(
                    self.ref((*at, "request", "template")),
                    'a mock request template other than {"statusCode": N} is VTL,'
                    " which Gatehold does not run",
                )
                return None
            status = int(found.group(1))
        response = http.get("response")
        if not isinstance(response, dict):
            return {"type": "mock", "status_code": status}
        codes = response.get("statusCodes") or {"200": {"pattern": ""}}
        chosen: tuple[str, dict[str, Any]] | None = None
        for code, spec in codes.items():
            pattern = spec.get("pattern", "") if isinstance(spec, dict) else ""
            if pattern and re.fullmatch(pattern, str(status)):
                chosen = (str(code), spec)
                break
        if chosen is None:
            for code, spec in codes.items():
                if not (spec.get("pattern", "") if isinstance(spec, dict) else ""):
                    chosen = (str(code), spec if isinstance(spec, dict) else {})
                    break
        if chosen is None:
            ctx.refuse(self.ref((*at, "response")), f"no response matches the mock status {status}")
            return None
        code, spec = chosen
        headers = self.static_headers({**(response.get("headers") or {}), **(spec.get("headers") or {})}, at)
        if headers is None:
            return None
        body = _static_template(spec.get("template", response.get("template", "")))
        if body is None:
            ctx.refuse(self.ref((*at, "response")), "a mock response template with VTL directives is not run")
            return None
        return {"type": "mock", "status_code": int(code), "headers": headers, "body": body}

    def static_headers(self, headers: dict[str, Any], at: KeyPath) -> dict[str, str] | None:
        out: dict[str, str] = {}
        for name, value in headers.items():
            if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
                out[str(name)] = value[1:-1]
            else:
                self.ctx.refuse(
                    self.ref((*at, "response", "headers")),
                    f"response header {name}: only static values ('value') are applied",
                )
                return None
        return out

    def http(
        self,
        http: dict[str, Any],
        request: dict[str, Any],
        at: KeyPath,
        uri: str,
        method: str,
        parameters: dict[str, str],
    ) -> dict[str, Any] | None:
        """An HTTP (non-proxy) integration: mapped parameters, the body passed through, responses
        chosen by status code, a response template without VTL as the body; VTL refused."""
        ctx = self.ctx
        if request.get("template") is not None:
            ctx.refuse(
                self.ref((*at, "request", "template")), "request templates (VTL) are not run by Gatehold"
            )
            return None
        response: dict[str, Any] = http["response"] if isinstance(http.get("response"), dict) else {}
        responses: dict[str, Any] = {}
        codes = response.get("statusCodes") or {"200": {"pattern": ""}}
        for code, spec in codes.items():
            spec = spec if isinstance(spec, dict) else {}
            template = spec.get("template", response.get("template"))
            body = _static_template(template) if template is not None else None
            if template is not None and body is None:
                ctx.refuse(self.ref((*at, "response")), "response templates with VTL are not run by Gatehold")
                return None
            headers = {**(response.get("headers") or {}), **(spec.get("headers") or {})}
            selection = spec.get("pattern", "") or "default"
            responses[selection] = {
                "status_code": int(code),
                "headers": {str(k): str(v) for k, v in headers.items()},
            }
            if body is not None:
                responses[selection]["body"] = body
        if "default" not in responses:
            responses["default"] = {"status_code": 200}
        out: dict[str, Any] = {"type": "http", "uri": uri, "method": method, "responses": responses}
        if parameters:
            out["request_parameters"] = parameters
        passthrough = request.get("passThrough")
        if isinstance(passthrough, str):
            out["passthrough_behavior"] = passthrough.lower()
        return out

    # -- CORS: the OPTIONS method the framework adds (cors.js) ---------------------------------------

    def add_cors(self, raw: Any, at: KeyPath, path: str, method: str) -> None:
        settings: dict[str, Any] = {
            "origin": "*",
            "methods": ["OPTIONS"],
            "headers": list(_CORS_HEADERS),
            "allowCredentials": False,
        }
        if isinstance(raw, dict):
            for key in raw:
                if key not in (
                    "origin",
                    "origins",
                    "headers",
                    "methods",
                    "allowCredentials",
                    "maxAge",
                    "cacheControl",
                ):
                    self.ctx.refuse(self.ref((*at, key)), "not a cors property of http events")
            if raw.get("origins"):
                del settings["origin"]
            settings.update(raw)
            settings["methods"] = list(settings.get("methods") or [])
            settings["allowCredentials"] = bool(settings.get("allowCredentials"))
            headers = raw.get("headers")
            settings["headers"] = [headers] if isinstance(headers, str) else headers or list(_CORS_HEADERS)
            if "OPTIONS" not in settings["methods"]:
                settings["methods"].append("OPTIONS")
            if method not in settings["methods"]:
                settings["methods"].append(method)
        elif raw is True:
            settings["methods"].append(method)
        else:
            self.ctx.error(self.ref(at), "cors is true or a mapping")
            return
        cors = self.cors.get(path) or _Cors(src=self.ref(at))
        cors.headers = _union(settings["headers"], cors.headers)
        cors.methods = _union(settings["methods"], cors.methods)
        cors.origins = _union(settings.get("origins"), cors.origins)
        cors.origin = settings.get("origin")
        cors.allow_credentials = cors.allow_credentials or settings["allowCredentials"]
        if settings.get("maxAge"):
            cors.max_age = settings["maxAge"]
        if settings.get("cacheControl"):
            cors.cache_control = settings["cacheControl"]
        self.cors[path] = cors

    def preflight(self, path: str, cors: _Cors) -> dict[str, Any] | None:
        origin = cors.origin
        origins = [o for o in cors.origins if isinstance(o, str)]
        if isinstance(origin, str) and "," in origin:
            origins = [o.strip() for o in origin.split(",")]
        if origins:
            origin = origins[0]
            if len(origins) > 1 or "*" in origins[0]:
                # waived with --ignore, the preflight answers the first origin
                self.ctx.refuse(
                    cors.src,
                    f"cors origins {', '.join(origins)}: the framework echoes the request's Origin with a VTL"
                    " response template; Gatehold's mock answers one static origin",
                )
        headers = {
            "Access-Control-Allow-Origin": str(origin),
            "Access-Control-Allow-Headers": ",".join(str(h) for h in cors.headers),
            "Access-Control-Allow-Methods": ",".join(str(m) for m in cors.methods),
        }
        if cors.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if cors.max_age:
            headers["Access-Control-Max-Age"] = str(cors.max_age)
        if cors.cache_control:
            headers["Cache-Control"] = str(cors.cache_control)
        methods = headers["Access-Control-Allow-Methods"]
        if "ANY" in cors.methods:
            headers["Access-Control-Allow-Methods"] = methods.replace(
                "ANY", "DELETE,GET,HEAD,PATCH,POST,PUT", 1
            )
        return {"integration": {"type": "mock", "status_code": 200, "headers": headers, "body": ""}}

    # -- authorizers --------------------------------------------------------------------------------

    def authorizer(self, raw: Any, at: KeyPath) -> str | None:
        """validate.js getAuthorizer + authorizers.js: a TOKEN or REQUEST Lambda authorizer."""
        ctx, s = self.ctx, self.s
        settings: dict[str, Any] = {}
        function: Any = None
        arn: Any = None
        name: str | None = None
        type_ = "TOKEN"
        if isinstance(raw, str):
            if raw.upper() == "AWS_IAM":
                ctx.refuse(
                    self.ref(at),
                    "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
                )
                return None
            if ":" in raw:
                arn = raw
            else:
                function = raw
            ttl = 300
        elif isinstance(raw, dict):
            kind = str(raw.get("type") or "").upper()
            if raw.get("authorizerId") is not None:
                ctx.refuse(
                    self.ref((*at, "authorizerId")),
                    "an authorizer created outside this service (authorizerId)",
                )
                return None
            if kind == "AWS_IAM":
                ctx.refuse(
                    self.ref(at),
                    "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
                )
                return None
            arn = raw.get("arn")
            if kind == "COGNITO_USER_POOLS" or (isinstance(arn, str) and _COGNITO_ARN.match(arn)):
                ctx.refuse(
                    self.ref(at),
                    "Cognito user pool authorizers are not run locally (use a JWT authorizer on an HTTP API,"
                    " or a Lambda authorizer)",
                )
                return None
            if arn is None:
                function = raw.get("name")
                if not isinstance(function, str):
                    ctx.error(self.ref(at), "an authorizer needs name (a function of this service) or arn")
                    return None
            elif isinstance(raw.get("name"), str):
                name = raw["name"]
            if kind not in ("", "TOKEN", "REQUEST"):
                ctx.error(self.ref((*at, "type")), f"authorizer type {raw.get('type')!r}: token or request")
                return None
            type_ = kind or "TOKEN"
            parsed = raw.get("resultTtlInSeconds")
            try:
                ttl = int(str(parsed).strip()) if parsed is not None else 300
            except ValueError:
                ttl = 300
            source = raw.get("identitySource")
            if source is not None:
                settings["identity_source"] = source
            expression = raw.get("identityValidationExpression")
            if isinstance(expression, str):
                if type_ == "TOKEN":
                    settings["identity_validation_expression"] = expression
                else:
                    ctx.ignore(
                        self.ref((*at, "identityValidationExpression")),
                        "identityValidationExpression applies to TOKEN authorizers only",
                    )
            for key in raw:
                where: KeyPath = (*at, key)
                if key == "scopes":
                    ctx.ignore(self.ref(where), "the framework applies scopes to Cognito authorizers only")
                elif key == "claims":
                    ctx.ignore(self.ref(where), "Cognito claims apply to 'lambda' integrations only")
                elif key == "managedExternally":
                    ctx.ignore(
                        self.ref(where), "no local meaning: it decides who writes the Lambda permission"
                    )
                elif key not in (
                    "name",
                    "arn",
                    "type",
                    "resultTtlInSeconds",
                    "identitySource",
                    "identityValidationExpression",
                ):
                    ctx.refuse(self.ref(where), "not a property of http authorizers")
        else:
            ctx.error(self.ref(at), "authorizer is a function name, an ARN or a mapping")
            return None
        if arn is not None:
            found = s.function_for(arn, (*at, "arn") if isinstance(raw, dict) else at, what="authorizer")
            if found is None:
                return None
            function_key = found[0]
            if name is None:
                name = _authorizer_name_from_arn(arn) if isinstance(arn, str) else found[1]
        else:
            found = s.function_for(
                function, (*at, "name") if isinstance(raw, dict) else at, what="authorizer"
            )
            if found is None:
                return None
            function_key = found[0]
            name = found[1]
        # validate.js: the Authorization header unless a REQUEST authorizer has no cache
        if "identity_source" not in settings and not (type_ == "REQUEST" and ttl == 0):
            settings["identity_source"] = "method.request.header.Authorization"
        authorizer = {"type": type_, "function": function_key, "result_ttl": ttl, **settings}
        previous = self.authorizers.get(name)
        if previous is not None:
            # events naming one authorizer are merged into one resource (lodash _.merge): the last
            # event's settings win, and what it leaves undefined keeps the earlier value
            authorizer = {**previous[0], **authorizer}
            at = previous[1]
        self.authorizers[name] = (authorizer, at)
        return name

    # -- gateway responses from resources: ----------------------------------------------------------

    def gateway_response(self, at: KeyPath, logical: str) -> None:
        ctx, cfg = self.ctx, self.s.cfg
        props: KeyPath = (*at, "Properties")
        api = cfg.get((*props, "RestApiId"))
        if api != {"Ref": "ApiGatewayRestApi"}:
            if api is not FAILED:
                ctx.refuse(
                    self.ref((*props, "RestApiId")),
                    f"{logical} names another REST API than the service's (Ref: ApiGatewayRestApi)",
                )
            return
        response_type = cfg.get((*props, "ResponseType"))
        if not isinstance(response_type, str):
            ctx.error(self.ref(props), "a GatewayResponse needs a ResponseType")
            return
        out: dict[str, Any] = {}
        status = cfg.get((*props, "StatusCode"))
        if isinstance(status, str | int) and str(status).isdigit():
            out["status_code"] = int(status)
        elif status is not None and status is not FAILED:
            ctx.error(self.ref((*props, "StatusCode")), "StatusCode is a number")
        headers: dict[str, str] = {}
        for name in cfg.keys((*props, "ResponseParameters")):
            where: KeyPath = (*props, "ResponseParameters", name)
            value = cfg.get(where)
            if isinstance(value, dict):
                value = self.s.intrinsics().resolve(value, where, self.s.doc)
            if isinstance(value, str):
                headers[str(name)] = value
            elif value is not FAILED and value is not NO_VALUE:
                ctx.error(self.ref(where), f"a header value is a string, not {_describe(value)}")
        if headers:
            out["headers"] = headers
        templates = cfg.get((*props, "ResponseTemplates"))
        if isinstance(templates, dict) and templates:
            template = templates.get("application/json")
            if isinstance(template, str):
                out["template"] = template
            else:
                ctx.refuse(
                    self.ref((*props, "ResponseTemplates")),
                    "only application/json response templates are applied",
                )
        for key in cfg.keys(props):
            if key not in (
                "RestApiId",
                "ResponseType",
                "StatusCode",
                "ResponseParameters",
                "ResponseTemplates",
            ):
                ctx.refuse(self.ref((*props, key)), "not a GatewayResponse property")
        if response_type in self.gateway_responses:
            ctx.error(self.ref(at), f"gateway response {response_type} is defined twice")
            return
        self.gateway_responses[response_type] = (out, props)

    # -- the API ------------------------------------------------------------------------------------

    def write(self, api_count: int) -> None:
        ctx, s, cfg = self.ctx, self.s, self.s.cfg
        base: KeyPath = ("apis", self.name)
        if not _STAGE_NAME.match(s.stage):
            ctx.error(
                self.ref(("provider", "stage")),
                f"stage {s.stage!r}: REST API stage names are letters, digits, '-' and '_'",
            )
        for path, cors in self.cors.items():
            key = f"OPTIONS {path}"
            if key in self.routes:
                ctx.refuse(
                    cors.src,
                    f"cors adds OPTIONS {path}, which an http event also defines (the framework would merge"
                    " both into one method)",
                )
                continue
            route = self.preflight(path, cors)
            if route is not None:
                ctx.put((*base, "routes", key), route, cors.src)
        for key, (route, at) in self.routes.items():
            ctx.put((*base, "routes", key), route, self.ref(at))
            if "authorizer" in route:
                ctx.at((*base, "routes", key, "authorizer"), self.ref((*at, "authorizer")))
        for name, (authorizer, at) in self.authorizers.items():
            authorizer.setdefault("identity_source", [])
            ctx.put((*base, "authorizers", name), authorizer, self.ref(at))
        stage: dict[str, Any] = {}
        access_log = self.access_log()
        if access_log is not None:
            stage["access_log"] = access_log
        ctx.put((*base, "type"), "REST", self.ref(("functions",)))
        ctx.put((*base, "base_path"), ctx.base_path(self.name, api_count), self.ref(("functions",)))
        ctx.put((*base, "stages"), {s.stage: stage}, self.ref(("provider", "stage")))
        gw: KeyPath = ("provider", "apiGateway")
        for key in cfg.keys(gw):
            setting: KeyPath = (*gw, key)
            value = cfg.get(setting)
            if value is FAILED:
                continue
            if key == "binaryMediaTypes":
                ctx.put((*base, "binary_media_types"), _as_list(value), self.ref(setting))
            elif key == "apiKeySourceType":
                ctx.put((*base, "api_key_source"), str(value).upper(), self.ref(setting))
            elif key == "description":
                ctx.put((*base, "description"), str(value), self.ref(setting))
            elif key in ("restApiId", "restApiRootResourceId", "restApiResources"):
                ctx.refuse(
                    self.ref(setting),
                    "an API created outside this service is not known locally",
                )
            elif key in ("apiKeys", "usagePlan", "shouldStartNameWithService", "resourcePolicy"):
                continue
            elif key == "request":
                continue  # schemas that http events' request.schemas name
            elif key in (
                "minimumCompressionSize",
                "metrics",
                "websocketApiId",
                "disableDefaultEndpoint",
                "stage",
            ):
                ctx.ignore(self.ref(setting), "no local effect")
            elif key == "timeoutInMillis":
                ctx.ignore(
                    self.ref(setting),
                    "integrations time out at the function's timeout",
                )
            else:
                ctx.ignore(
                    self.ref(setting),
                    "not an apiGateway property Gatehold knows: not applied",
                )
        if cfg.has((*gw, "resourcePolicy")):
            ctx.refuse(
                self.ref((*gw, "resourcePolicy")),
                "resource policies (IP and VPC allow / deny lists) are not evaluated by Gatehold",
            )
        for kind, (response, at) in self.gateway_responses.items():
            ctx.put((*base, "gateway_responses", kind), response, self.ref(at))
        self.usage_plans()

    def access_log(self) -> dict[str, Any] | None:
        ctx, cfg = self.ctx, self.s.cfg
        at: KeyPath = ("provider", "logs", "restApi")
        logs = cfg.get(at)
        if logs in (None, False, FAILED):
            return None
        log_format = _REST_ACCESS_LOG
        if isinstance(logs, dict):
            if logs.get("accessLogging") is False:
                return None
            if isinstance(logs.get("format"), str):
                log_format = logs["format"]
            for key in logs:
                if key in ("executionLogging", "level", "fullExecutionData", "role", "roleManagedExternally"):
                    ctx.ignore(self.ref((*at, key)), "no local meaning: execution logs are Gatehold's own")
        ctx.note(self.ref(at), "REST access logs are written to standard output")
        return {"format": log_format, "destination": "stdout"}

    def usage_plans(self) -> None:
        """api-keys.js, usage-plan.js, usage-plan-keys.js: keys are names (AWS generates the value
        unless ``value:`` is given); one plan ``default``, or one per entry of a ``usagePlan`` list."""
        ctx, s, cfg = self.ctx, self.s, self.s.cfg
        keys_at: KeyPath = ("provider", "apiGateway", "apiKeys")
        plan_at: KeyPath = ("provider", "apiGateway", "usagePlan")
        if not cfg.has(keys_at) and cfg.has(("provider", "apiKeys")):
            keys_at = ("provider", "apiKeys")  # v1 / v2 location
        if not cfg.has(plan_at) and cfg.has(("provider", "usagePlan")):
            plan_at = ("provider", "usagePlan")
        api_keys = cfg.get(keys_at)
        plan = cfg.get(plan_at)
        if api_keys is FAILED or plan is FAILED or (api_keys is None and plan is None):
            return
        stage_ref = f"{self.name}/{s.stage}"
        plans: dict[str, dict[str, Any]] = {}
        plan_refs: dict[str, KeyPath] = {}
        if isinstance(plan, list):
            for i, entry in enumerate(plan):
                if isinstance(entry, dict) and len(entry) == 1:
                    plan_name, settings = next(iter(entry.items()))
                    plans[str(plan_name)] = self.plan(settings, (*plan_at, i, plan_name))
                    plan_refs[str(plan_name)] = (*plan_at, i, plan_name)
        else:
            plans["default"] = self.plan(plan or {}, plan_at)
            plan_refs["default"] = plan_at if plan is not None else keys_at
        for i, definition in enumerate(_as_list(api_keys)):
            at: KeyPath = (*keys_at, i)
            if isinstance(definition, dict) and len(definition) == 1 and next(iter(definition)) in plans:
                plan_name, group = next(iter(definition.items()))
                for j, key in enumerate(_as_list(group)):
                    self.api_key(key, (*at, plan_name, j), plans[plan_name])
            elif (
                isinstance(definition, dict)
                and len(definition) == 1
                and isinstance(next(iter(definition.values())), list)
            ):
                ctx.error(self.ref(at), f"API key group {next(iter(definition))!r} has no usage plan")
            else:
                self.api_key(definition, at, plans.get("default") or next(iter(plans.values())))
        usage_plans: dict[str, Any] = {}
        for plan_name, settings in plans.items():
            settings["api_stages"] = [stage_ref]
            name = f"{s.name}-{s.stage}" if plan_name == "default" else f"{s.name}-{plan_name}-{s.stage}"
            usage_plans[name] = settings
            ctx.put(("gateway", "usage_plans", name), settings, self.ref(plan_refs[plan_name]))
        if not ctx.standalone and usage_plans:
            ctx.note(self.ref(plan_at), "usage plans join the gateway: section of the importing file")

    def plan(self, settings: Any, at: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {"api_keys": []}
        if not isinstance(settings, dict):
            return out
        quota = settings.get("quota")
        if isinstance(quota, dict):
            out["quota"] = {
                "limit": quota.get("limit"),
                "period": str(quota.get("period", "")).upper(),
                "offset": quota.get("offset", 0) or 0,
            }
        throttle = settings.get("throttle")
        if isinstance(throttle, dict):
            if throttle.get("rateLimit") is None or throttle.get("burstLimit") is None:
                self.ctx.refuse(
                    self.ref((*at, "throttle")),
                    "a usage plan throttle with only one of rateLimit and burstLimit",
                )
            else:
                out["throttling"] = {
                    "rate_limit": throttle["rateLimit"],
                    "burst_limit": throttle["burstLimit"],
                }
        return out

    def api_key(self, definition: Any, at: KeyPath, plan: dict[str, Any]) -> None:
        ctx, s = self.ctx, self.s
        if isinstance(definition, str):
            name, value, enabled = definition, None, True
        elif isinstance(definition, dict) and isinstance(definition.get("name"), str):
            name = definition["name"]
            value = definition.get("value")
            enabled = definition.get("enabled", True) is not False
        else:
            ctx.error(self.ref(at), "an API key is a name or {name, value}")
            return
        if not enabled:
            ctx.ignore(self.ref(at), f"API key {name} is disabled")
            return
        if value is None:
            # API key values are 20 to 128 characters
            value = re.sub(r"[^A-Za-z0-9-]", "-", f"gatehold-{s.name}-{s.stage}-{name}-api-key")[:128]
            ctx.note(
                self.ref(at), f"API key {name}: AWS generates its value at deploy; locally it is {value}"
            )
        plan["api_keys"].append(str(value))


# --------------------------------------------------------------------------------------------------
# HTTP API: httpApi events
# --------------------------------------------------------------------------------------------------


class _HttpApi:
    """The HTTP API the framework creates for ``httpApi`` events (http-api.js)."""

    def __init__(self, service: _Service) -> None:
        self.s = service
        self.ctx = service.ctx
        cfg = service.cfg
        name = cfg.get(("provider", "httpApi", "name"))
        if isinstance(name, str) and name:
            self.name = name
        elif cfg.get(("provider", "httpApi", "shouldStartNameWithService")) is True:
            self.name = f"{service.name}-{service.stage}"
        else:
            self.name = f"{service.stage}-{service.name}"
        self.routes: dict[str, tuple[dict[str, Any], KeyPath]] = {}
        self.authorizers: dict[str, tuple[dict[str, Any], KeyPath]] = {}
        self.methods: list[str] = ["OPTIONS"]
        self.defined = self.read_authorizers()

    def ref(self, path: KeyPath) -> SourceRef:
        return self.ctx.ref(path)

    def read_authorizers(self) -> dict[str, KeyPath]:
        cfg = self.s.cfg
        base: KeyPath = ("provider", "httpApi", "authorizers")
        return {str(name): (*base, name) for name in cfg.keys(base)}

    def event(self, fn: _Function, raw: Any, at: KeyPath) -> None:
        ctx, cfg = self.ctx, self.s.cfg
        authorizer: Any = None
        method: Any
        path: str
        if isinstance(raw, str):
            if raw.strip() == "*":
                method, path = "*", "*"
            else:
                m = re.fullmatch(r"(\S+) (/\S*)", raw.strip())
                if m is None:
                    ctx.error(self.ref(at), f"httpApi: {raw!r} must be '*' or 'METHOD /path'")
                    return
                method, path = m.group(1), m.group(2)
        elif isinstance(raw, dict):
            for key in raw:
                if key not in _HTTP_API_EVENT_KEYS:
                    ctx.refuse(self.ref((*at, key)), "not a property of httpApi events")
            method, authorizer = raw.get("method"), raw.get("authorizer")
            if raw.get("path") is None:
                ctx.error(self.ref(at), "an httpApi event needs a path")
                return
            path = str(raw["path"])
        else:
            ctx.error(self.ref(at), "an httpApi event is '*', 'METHOD /path' or a mapping")
            return
        if path == "*":
            if method not in (None, "*"):
                ctx.error(self.ref((*at, "path")), "path '*' takes no method (or method '*')")
                return
            key = "$default"
            resolved_method = "ANY"
        else:
            if not isinstance(method, str):
                ctx.error(self.ref(at), "an httpApi event needs a method")
                return
            resolved_method = "ANY" if method == "*" else method.upper()
            if resolved_method not in _REST_METHODS:
                ctx.error(self.ref((*at, "method") if isinstance(raw, dict) else at), f"method {method!r}")
                return
            if not path.startswith("/"):
                ctx.error(
                    self.ref((*at, "path") if isinstance(raw, dict) else at),
                    f"path {path!r} must start with '/'",
                )
                return
            key = f"{resolved_method} {path}"
        if key in self.routes:
            ctx.error(self.ref(at), f"route {key} is defined twice (also at {self.ref(self.routes[key][1])})")
            return
        payload = cfg.get((*fn.at, "httpApi", "payload"))
        if payload is None:
            payload = cfg.get(("provider", "httpApi", "payload"))
        route: dict[str, Any] = {
            "integration": {
                "type": "lambda",
                "function": fn.name,
                "payload_format_version": str(payload) if payload not in (None, FAILED) else "2.0",
            }
        }
        if authorizer is not None and not self.route_authorizer(route, authorizer, (*at, "authorizer")):
            return
        self.routes[key] = (route, at)
        if resolved_method == "ANY":
            for verb in _HTTP_API_METHODS:
                if verb not in self.methods:
                    self.methods.append(verb)
        elif resolved_method not in self.methods:
            self.methods.append(resolved_method)

    def route_authorizer(self, route: dict[str, Any], raw: Any, at: KeyPath) -> bool:
        ctx = self.ctx
        spec = raw if isinstance(raw, dict) else {"name": raw}
        name, scopes, type_ = spec.get("name"), spec.get("scopes"), spec.get("type")
        for key in spec:
            if key not in ("name", "scopes", "type", "id"):
                ctx.refuse(self.ref((*at, key)), "not a property of httpApi authorizers")
        if type_ == "aws_iam":
            ctx.refuse(
                self.ref(at),
                "IAM authorization (aws_iam) needs SigV4-signed requests, which Gatehold does not check",
            )
            return False
        if spec.get("id") is not None:
            ctx.refuse(
                self.ref((*at, "id")), "an authorizer of an HTTP API created outside this service (id)"
            )
            return False
        if not isinstance(name, str) or name not in self.defined:
            ctx.error(self.ref(at), f"authorizer {name!r} is not defined in provider.httpApi.authorizers")
            return False
        route["authorizer"] = name
        if scopes is not None:
            listed = [str(x) for x in _as_list(scopes)]
            kind = self.s.cfg.get((*self.defined[name], "type"))
            if kind == "request":
                ctx.refuse(
                    self.ref((*at, "scopes")),
                    "authorization scopes apply to JWT authorizers only (API Gateway)",
                )
                return False
            route["authorization_scopes"] = list(dict.fromkeys(listed))
        return True

    def provider_authorizers(self) -> None:
        for name, at in self.defined.items():
            out = self.authorizer(name, at)
            if out is not None:
                self.authorizers[name] = (out, at)

    def authorizer(self, name: str, at: KeyPath) -> dict[str, Any] | None:
        ctx, s = self.ctx, self.s
        spec = s.cfg.get(at)
        if spec is FAILED:
            return None
        if not isinstance(spec, dict):
            ctx.error(self.ref(at), "an authorizer is a mapping")
            return None
        type_ = str(spec.get("type", "jwt")).lower()
        known = {
            "jwt": {"type", "name", "identitySource", "issuerUrl", "audience"},
            "request": {
                "type",
                "name",
                "identitySource",
                "functionName",
                "functionArn",
                "managedExternally",
                "resultTtlInSeconds",
                "enableSimpleResponses",
                "payloadVersion",
            },
        }
        if type_ not in known:
            ctx.error(self.ref((*at, "type")), f"authorizer type {type_!r}: jwt or request")
            return None
        for key in spec:
            if key not in known[type_]:
                ctx.refuse(self.ref((*at, key)), f"not a property of {type_} authorizers")
        if "name" in spec:
            ctx.ignore(self.ref((*at, "name")), "the authorizer's name in AWS; routes name it by its key")
        sources = spec.get("identitySource")
        if type_ == "jwt":
            issuer = self.cloudformation(spec.get("issuerUrl"), (*at, "issuerUrl"))
            audiences = [
                self.cloudformation(a, (*at, "audience", i))
                for i, a in enumerate(_as_list(spec.get("audience")))
            ]
            if issuer is NO_VALUE or any(a is NO_VALUE for a in audiences):
                return None
            audience = [str(a) for a in audiences]
            if not isinstance(issuer, str):
                ctx.error(self.ref(at), "a JWT authorizer needs issuerUrl")
                return None
            if sources is None:
                sources = "$request.header.Authorization"
                ctx.note(
                    self.ref(at), "no identitySource: $request.header.Authorization (API Gateway's default)"
                )
            if _COGNITO_ARN.match(issuer) or "cognito-idp." in issuer:
                ctx.note(
                    self.ref((*at, "issuerUrl")),
                    "a Cognito user pool issuer: its tokens are checked against its JWKS over the network",
                )
            aliased = ctx.alias_issuer(issuer, self.ref((*at, "issuerUrl")))
            return {
                "type": "JWT",
                "identity_source": _as_list(sources),
                "jwt_configuration": {"issuer": aliased, "audience": audience},
            }
        if (spec.get("functionName") is None) == (spec.get("functionArn") is None):
            ctx.error(self.ref(at), f"authorizer {name}: give functionName or functionArn (one of them)")
            return None
        if spec.get("resultTtlInSeconds") and sources is None:
            ctx.error(
                self.ref((*at, "resultTtlInSeconds")),
                f"authorizer {name}: identitySource is needed when resultTtlInSeconds is not 0",
            )
            return None
        target = spec.get("functionName")
        what_at: KeyPath = (*at, "functionName")
        if target is None:
            target, what_at = spec.get("functionArn"), (*at, "functionArn")
        found = s.function_for(target, what_at, what=f"authorizer {name}")
        if found is None:
            return None
        if spec.get("managedExternally") is not None:
            ctx.ignore(
                self.ref((*at, "managedExternally")),
                "no local meaning: it decides who writes the Lambda permission",
            )
        out: dict[str, Any] = {
            "type": "REQUEST",
            "function": found[0],
            "identity_source": _as_list(sources),
            "result_ttl": int(spec.get("resultTtlInSeconds") or 0),
            "payload_format_version": str(spec.get("payloadVersion") or "2.0"),
        }
        if spec.get("enableSimpleResponses"):
            out["enable_simple_responses"] = True
        return out

    def cloudformation(self, value: Any, at: KeyPath) -> Any:
        """``value``, or what a CloudFormation value in it resolves to (``!Sub …${UserPool}``)."""
        if isinstance(value, dict):
            return self.s.intrinsics().resolve(value, at, self.s.doc)
        return value

    def write(self, api_count: int, clash: str | None) -> None:
        ctx, cfg = self.ctx, self.s.cfg
        where = (
            self.ref(("provider", "httpApi"))
            if cfg.has(("provider", "httpApi"))
            else self.ref(("functions",))
        )
        if clash == self.name:
            renamed = f"{self.name}-httpapi"
            ctx.note(
                where,
                f"the REST and HTTP APIs are both named {self.name}: the HTTP API is {renamed} here",
            )
            self.name = renamed
        base: KeyPath = ("apis", self.name)
        for key, (route, at) in self.routes.items():
            ctx.put((*base, "routes", key), route, self.ref(at))
            if "authorizer" in route:
                ctx.at((*base, "routes", key, "authorizer"), self.ref((*at, "authorizer")))
        if not self.routes:
            ctx.put((*base, "routes"), {}, self.ref(("provider", "httpApi")))
        for name, (authorizer, at) in self.authorizers.items():
            ctx.put((*base, "authorizers", name), authorizer, self.ref(at))
            for key, model_key in (("identitySource", "identity_source"), ("issuerUrl", "jwt_configuration")):
                if cfg.doc.get((*at, key)) is not None:
                    ctx.at((*base, "authorizers", name, model_key), self.ref((*at, key)))
        ctx.put((*base, "type"), "HTTP", where)
        ctx.put((*base, "base_path"), ctx.base_path(self.name, api_count), where)
        stage: dict[str, Any] = {}
        logs = cfg.get(("provider", "logs", "httpApi"))
        if logs not in (None, False, FAILED):
            log_format = logs.get("format") if isinstance(logs, dict) else None
            stage["access_log"] = {"format": log_format or _HTTP_ACCESS_LOG, "destination": "stdout"}
            ctx.note(
                self.ref(("provider", "logs", "httpApi")),
                "HTTP API access logs are written to standard output",
            )
        ctx.put((*base, "stages"), {"$default": stage}, where)
        self.settings(base)

    def settings(self, base: KeyPath) -> None:
        ctx, cfg = self.ctx, self.s.cfg
        at: KeyPath = ("provider", "httpApi")
        for key in cfg.keys(at):
            where: KeyPath = (*at, key)
            if key == "cors":
                cors = self.cors(cfg.get(where), where)
                if cors is not None:
                    ctx.put((*base, "cors"), cors, self.ref(where))
            elif key == "id":
                ctx.refuse(
                    self.ref(where),
                    "an HTTP API created outside this service (httpApi.id) is not known locally",
                )
            elif key in ("metrics", "useProviderTags", "disableDefaultEndpoint"):
                ctx.ignore(self.ref(where), "no local effect")
            elif key not in ("name", "payload", "authorizers", "shouldStartNameWithService"):
                ctx.ignore(self.ref(where), "not an httpApi property Gatehold knows: not applied")

    def cors(self, raw: Any, at: KeyPath) -> dict[str, Any] | None:
        """http-api.js: ``true`` → ``*`` origins, the default headers, OPTIONS and every route's method."""
        if raw in (None, False, FAILED):
            return None
        if raw is True:
            return {
                "allow_origins": ["*"],
                "allow_headers": list(_CORS_HEADERS),
                "allow_methods": self.methods,
            }
        if not isinstance(raw, dict):
            self.ctx.error(self.ref(at), "cors is true or a mapping")
            return None
        out: dict[str, Any] = {
            "allow_origins": [str(o) for o in _as_list(raw.get("allowedOrigins"))] or ["*"],
            "allow_headers": [str(h) for h in _as_list(raw.get("allowedHeaders"))] or list(_CORS_HEADERS),
            "allow_methods": [str(m) for m in _as_list(raw.get("allowedMethods"))] or self.methods,
        }
        if raw.get("allowCredentials"):
            out["allow_credentials"] = True
        if raw.get("exposedResponseHeaders") is not None:
            out["expose_headers"] = [str(h) for h in _as_list(raw["exposedResponseHeaders"])]
        if raw.get("maxAge") is not None:
            out["max_age"] = raw["maxAge"]
        for key in raw:
            if key not in (
                "allowedOrigins",
                "allowedHeaders",
                "allowedMethods",
                "allowCredentials",
                "exposedResponseHeaders",
                "maxAge",
            ):
                self.ctx.refuse(self.ref((*at, key)), "not an httpApi cors property")
        return out
