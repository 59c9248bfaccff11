"""OpenAPI 3.0 and Swagger 2.0 documents with API Gateway's extensions, read into the model.

What is read, how it maps, what is refused and why: docs/import-openapi.md. In short:

* **The API type.** Swagger 2.0 is always a REST API (HTTP APIs import OpenAPI 3.0 only,
  docs/aws-reference.md §5.2). OpenAPI 3.0 is an HTTP API when the caller says so, or when the
  document uses something only HTTP APIs have (:func:`http_api_markers`:
  ``x-amazon-apigateway-cors``, ``x-amazon-apigateway-importexport-version``, a ``/$default`` path
  or ``isDefaultRoute``, an integration's ``payloadFormatVersion``, a ``jwt`` authorizer, a Lambda
  authorizer's ``authorizerPayloadFormatVersion`` / ``enableSimpleResponses``, shared
  ``components.x-amazon-apigateway-integrations``); otherwise a REST API, as ``aws apigateway
  import-rest-api`` would make it.
* **Stages.** The caller's (``--stage``, an ``imports:`` entry's ``stage``, a SAM ``StageName``)
  when given; else the one path segment of Swagger's ``basePath`` or of the first OpenAPI
  ``servers`` URL (API Gateway exports the stage there: ``"basePath": "/test"``, ``servers[0].url``
  ``…/{basePath}`` with ``default: /test``); else REST ``test``, HTTP ``$default``.
* **Paths and methods** become route keys ``METHOD /path`` (``x-amazon-apigateway-any-method`` →
  ``ANY``; ``/$default`` — SAM writes ``$default`` — or ``isDefaultRoute`` → ``$default``); ``$ref``
  is followed inside the document (path items, operations, parameters, request bodies, schemas,
  security schemes and the HTTP API's shared integrations), a remote ``$ref`` is refused.
* **Integrations** (§5.1): ``aws_proxy`` → a Lambda proxy route whose function is the Lambda
  function name in the ARN (through :meth:`ImportContext.function_key`), ``http_proxy``, ``http``
  with simple mappings, ``mock`` with a static ``{"statusCode": N}``; ``aws`` (service or non-proxy
  Lambda), VPC links, TLS settings and integration subtypes are refused; settings without local
  effect (``credentials``, cache keys) are listed as ignored.
* **Security** (§5.2, §5.3): token / request / jwt authorizers from the security schemes, API keys
  (``api_key`` schemes named ``x-api-key``), IAM (``awsSigv4``) and Cognito refused; operation
  ``security`` overrides the root's, ``security: []`` is open.
* **Request validators** (REST): the route's required parameters and body schemas
  (:class:`~gatehold.config.models.RequestValidationConfig`).

Every piece of the model written records the document's line and key path
(:meth:`ImportContext.put` / :meth:`ImportContext.at`), so a problem found later is reported where
the user wrote it. Sources: AWS developer guide pages ``api-gateway-swagger-extensions-*``,
``http-api-open-api``, ``api-gateway-import-api-basePath``, ``api-gateway-method-request-validation``,
``api-gateway-request-validation-set-up`` (docs/aws-reference.md §5 cites their text).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from gatehold.config.document import Document
from gatehold.config.problems import KeyPath, SourceRef
from gatehold.importers.base import ImportContext

__all__ = [
    "MOCK_CONTENT_HANDLING",
    "http_api_markers",
    "import_api_definition",
    "import_openapi",
    "mock_reads_body",
]

ApiType = Literal["REST", "HTTP"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
AUTHORIZER = "x-amazon-apigateway-authorizer"
AUTHTYPE = "x-amazon-apigateway-authtype"
#: Gatehold's own: what a Lambda authorizer's code requires of a token (``expects``,
#: docs/configuration.md), for `gatehold token --route`; API Gateway ignores it
EXPECTS = "x-gatehold-expects"
VALIDATOR = "x-amazon-apigateway-request-validator"
VALIDATORS = "x-amazon-apigateway-request-validators"
EXT = "x-amazon-apigateway-"
#: the HTTP API's default route as a path: API Gateway's export writes ``/$default``, SAM ``$default``
#: (``OpenApiEditor._DEFAULT_PATH``); both import as the ``$default`` route
_DEFAULT_PATHS = ("/$default", "$default")
#: REST APIs served from a document that names no stage (docs/import-openapi.md, "Stages")
DEFAULT_REST_STAGE = "test"

_LAMBDA_URI = re.compile(
    r"arn:aws[\w-]*:apigateway:[^:]*:lambda:path/[\d-]+/functions/(?P<arn>.+)/invocations"
)
_FUNCTION_ARN = re.compile(
    r"arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:(?P<name>[^:]+)(?::(?P<qualifier>[^:]+))?"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
_VTL_DIRECTIVE = re.compile(
    r"#(?:set|if|elseif|else|end|foreach|break|stop|macro|define|parse|include|evaluate)\b|##|#\*|\$!"
)
_VTL_REFERENCE = re.compile(r"\$\{?([A-Za-z_][\w-]*)")
_PASSTHROUGH_TEMPLATES = frozenset({"", "$input.body", "$input.json('$')", '$input.json("$")'})
_RESPONSE_HEADER_SOURCE = re.compile(r"'[^']*'|integration\.response\.header\.\S+")

# keys read (or deliberately passed over) at each level; any other x-amazon-apigateway-* is refused
_ROOT_EXTENSIONS = {
    "x-amazon-apigateway-cors",
    "x-amazon-apigateway-binary-media-types",
    "x-amazon-apigateway-gateway-responses",
    "x-amazon-apigateway-api-key-source",
    "x-amazon-apigateway-importexport-version",
    VALIDATORS,
    VALIDATOR,
    "x-amazon-apigateway-policy",
    "x-amazon-apigateway-endpoint-configuration",
    "x-amazon-apigateway-minimum-compression-size",
    "x-amazon-apigateway-documentation",
    "x-amazon-apigateway-tag-value",
}
_OPERATION_KEYS = {
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "consumes",
    "produces",
    "parameters",
    "requestBody",
    "responses",
    "schemes",
    "deprecated",
    "security",
    "servers",
    "callbacks",
    "isDefaultRoute",
    INTEGRATION,
    VALIDATOR,
    "x-amazon-apigateway-auth",
}
_INTEGRATION_KEYS = {
    "type",
    "uri",
    "httpMethod",
    "payloadFormatVersion",
    "requestParameters",
    "requestTemplates",
    "responses",
    "passthroughBehavior",
    "timeoutInMillis",
    "connectionType",
    "connectionId",
    "credentials",
    "contentHandling",
    "cacheKeyParameters",
    "cacheNamespace",
    "integrationSubtype",
    "tlsConfig",
    "description",
}
_AUTHORIZER_KEYS = {
    "type",
    "authorizerUri",
    "authorizerCredentials",
    "identitySource",
    "identityValidationExpression",
    "authorizerResultTtlInSeconds",
    "authorizerPayloadFormatVersion",
    "enableSimpleResponses",
    "jwtConfiguration",
    "providerARNs",
}
_CORS_KEYS = {
    "allowOrigins": "allow_origins",
    "allowMethods": "allow_methods",
    "allowHeaders": "allow_headers",
    "exposeHeaders": "expose_headers",
    "maxAge": "max_age",
    "allowCredentials": "allow_credentials",
}


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------


def import_openapi(doc: Document, ctx: ImportContext) -> None:
    """A whole OpenAPI / Swagger document (``gatehold up -c openapi.yaml``): one API, named
    ``--api-name`` / ``imports: api_name``, else after ``info.title`` (``PetStore`` → ``petstore``)."""
    data = doc.data
    info = data.get("info") if isinstance(data.get("info"), Mapping) else {}
    name = ctx.options.api_name or _slug(str(info.get("title") or "")) or _slug(Path(doc.file).stem) or "api"
    reader = _Reader(ctx, data, doc, (), name, None)
    reader.run(base_path=ctx.base_path(name, 1))
    if ctx.standalone:
        # the document names Lambda functions by ARN only: their code is defined elsewhere
        functions = ctx.data.get("functions", {})
        reported: set[str] = set()
        for key, src in reader.functions_used:
            if key not in functions and key not in reported:
                reported.add(key)
                ctx.error(
                    src,
                    f"Lambda function {key!r} has no handler here: an OpenAPI document names functions by"
                    " ARN only; define it under 'functions:' in a gatehold.yaml that imports this"
                    " document (docs/import-openapi.md)",
                )


def import_api_definition(
    ctx: ImportContext,
    definition: Mapping[str, Any],
    *,
    doc: Document,
    at: KeyPath,
    api_name: str,
    api_type: Literal["REST", "HTTP"] | None = None,
) -> None:
    """Write API ``api_name`` from an OpenAPI / Swagger ``definition`` into ``ctx.data["apis"]``.

    Used for whole documents and for definitions inside templates (SAM ``DefinitionBody`` /
    ``DefinitionUri``, CloudFormation ``RestApi.Body``), whose intrinsic functions the caller has
    already resolved. Key path ``p`` of the definition was written at ``doc`` line
    ``doc.line((*at, *p))``. ``api_type`` None: decided from the document (module docstring).

    When the caller has already written ``ctx.data["apis"][api_name]`` (a SAM ``StageName``,
    ``Variables``, ``Cors`` …), what it wrote is kept and the definition adds to it: its stage
    variables resolve ``${stageVariables.x}`` in function names, its stages replace the default.
    Where the API is served (``base_path``) is the caller's to write: it knows how many APIs its
    document has (:meth:`ImportContext.base_path`).
    """
    _Reader(ctx, definition, doc, at, api_name, api_type).run()


def http_api_markers(definition: Mapping[str, Any]) -> list[tuple[KeyPath, str]]:
    """Where an OpenAPI 3.0 definition uses something only HTTP APIs have (empty: a REST API)."""
    found: list[tuple[KeyPath, str]] = []
    for key in ("x-amazon-apigateway-cors", "x-amazon-apigateway-importexport-version"):
        if key in definition:
            found.append(((key,), key))
    components = definition.get("components")
    if isinstance(components, Mapping):
        if "x-amazon-apigateway-integrations" in components:
            found.append((("components", "x-amazon-apigateway-integrations"), "shared integrations"))
        schemes = components.get("securitySchemes")
        for name, scheme in schemes.items() if isinstance(schemes, Mapping) else ():
            auth = scheme.get(AUTHORIZER) if isinstance(scheme, Mapping) else None
            if not isinstance(auth, Mapping):
                continue
            path: KeyPath = ("components", "securitySchemes", name, AUTHORIZER)
            if str(auth.get("type", "")).lower() == "jwt":
                found.append(((*path, "type"), "a jwt authorizer"))
            for key in ("authorizerPayloadFormatVersion", "enableSimpleResponses"):
                if key in auth:
                    found.append(((*path, key), key))
    paths = definition.get("paths")
    for route, item in paths.items() if isinstance(paths, Mapping) else ():
        if route in _DEFAULT_PATHS:
            found.append((("paths", route), f"the {route} path"))
        if not isinstance(item, Mapping):
            continue
        for method, op in item.items():
            if not isinstance(op, Mapping):
                continue
            if op.get("isDefaultRoute"):
                found.append((("paths", route, method, "isDefaultRoute"), "isDefaultRoute"))
            integ = op.get(INTEGRATION)
            if isinstance(integ, Mapping) and "payloadFormatVersion" in integ:
                found.append(
                    (("paths", route, method, INTEGRATION, "payloadFormatVersion"), "payloadFormatVersion")
                )
    return found


# --------------------------------------------------------------------------------------------------
# the reader
# --------------------------------------------------------------------------------------------------


@dataclass
class _Scheme:
    """A security scheme: what referencing it means for a route."""

    kind: Literal["authorizer", "api_key", "refused", "invalid"]
    jwt: bool = False
    why: str = ""


class _Reader:
    """One definition read into ``ctx.data["apis"][api_name]``."""

    def __init__(
        self,
        ctx: ImportContext,
        definition: Mapping[str, Any],
        doc: Document,
        at: KeyPath,
        api_name: str,
        api_type: ApiType | None,
    ) -> None:
        self.ctx = ctx
        self.d = definition
        self.doc = doc
        self.at = at
        self.name = api_name
        self.requested_type = api_type
        self.type: ApiType = "REST"
        self.v3 = False
        self.out: KeyPath = ("apis", api_name)
        self.api: dict[str, Any] = {}
        self.schemes: dict[str, _Scheme] = {}
        self.validators: dict[str, tuple[bool, bool]] = {}
        self.stage_variables: dict[str, dict[str, str]] = {}
        self.functions_used: list[tuple[str, SourceRef]] = []

    # -- helpers ----------------------------------------------------------------------------------

    def src(self, path: KeyPath) -> SourceRef:
        return self.ctx.ref((*self.at, *path), self.doc)

    def mark(self, model_path: KeyPath, path: KeyPath) -> None:
        """Model key path ``model_path`` (below this API) came from definition path ``path``."""
        self.ctx.at((*self.out, *model_path), self.src(path))

    def error(self, path: KeyPath, message: str) -> None:
        self.ctx.error(self.src(path), message)

    def refuse(self, path: KeyPath, why: str) -> None:
        self.ctx.refuse(self.src(path), why)

    def ignore(self, path: KeyPath, why: str) -> None:
        self.ctx.ignore(self.src(path), why)

    def note(self, path: KeyPath, what: str) -> None:
        self.ctx.note(self.src(path), what)

    def resolve(self, node: Any, path: KeyPath) -> tuple[Any, KeyPath]:
        """Follow local ``$ref``s: the value and the definition path where it is written (a remote
        reference is refused and reads as None)."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                self.refuse((*path, "$ref"), _remote_reference(ref))
                return None, path
            if ref in seen:
                self.error((*path, "$ref"), f"reference {ref!r} refers to itself")
                return None, path
            seen.add(ref)
            target = _pointer(ref)
            value = _get(self.d, target)
            if value is None:
                self.error((*path, "$ref"), _missing_reference(ref))
                return None, path
            node, path = value, target
        return node, path

    def extensions(self, obj: Mapping[str, Any], path: KeyPath, known: set[str], where: str) -> None:
        """Refuse API Gateway extensions this importer does not know at ``where``."""
        for key in obj:
            if isinstance(key, str) and key.startswith(EXT) and key not in known:
                self.refuse((*path, key), f"{key} is not an API Gateway extension Gatehold reads on {where}")

    # -- the document ---------------------------------------------------------------------------

    def run(self, base_path: str | None = None) -> None:
        d = self.d
        if "swagger" in d:
            if str(d["swagger"]) != "2.0":
                self.error(("swagger",), f"swagger {d['swagger']!r}: API Gateway imports Swagger 2.0")
                return
        elif "openapi" in d:
            version = str(d["openapi"])
            if not version.startswith("3.0"):
                self.error(
                    ("openapi",),
                    f"openapi {version}: API Gateway imports OpenAPI 3.0.x and Swagger 2.0 documents",
                )
                return
            self.v3 = True
        else:
            self.error((), "not an OpenAPI document: it has neither 'openapi: 3.0.x' nor 'swagger: \"2.0\"'")
            return
        self.type = self.decide_type()
        existing = self.ctx.data.setdefault("apis", {}).get(self.name)
        if isinstance(existing, dict):
            for stage, cfg in (existing.get("stages") or {}).items():
                if isinstance(cfg, Mapping):
                    self.stage_variables[stage] = dict(cfg.get("variables") or {})
        api = self.api
        kept = existing if isinstance(existing, dict) else {}
        api["type"] = self.type
        if "type" not in kept:
            self.mark(("type",), ())
        if base_path is not None:
            api["base_path"] = base_path
        info = d.get("info")
        if (
            isinstance(info, Mapping)
            and isinstance(info.get("description"), str)
            and "description" not in kept
        ):
            api["description"] = info["description"]
            self.mark(("description",), ("info", "description"))
        if not kept.get("stages"):
            api["stages"] = self.stages()
        self.root_extensions()
        self.read_schemes()
        self.read_validators()
        api["routes"] = {}
        self.mark(("routes",), ("paths",))
        self.paths()
        if isinstance(existing, dict):
            _merge(existing, api)
        else:
            self.ctx.put(self.out, api, self.src(()))

    def decide_type(self) -> ApiType:
        markers = http_api_markers(self.d) if self.v3 else []
        if self.requested_type is not None:
            if self.requested_type == "HTTP" and not self.v3:
                self.error(("swagger",), "HTTP APIs import OpenAPI 3.0 only: this is a Swagger 2.0 document")
            return self.requested_type
        if markers:
            path, why = markers[0]
            self.note(path, f"read as an HTTP API: {why} exists only in HTTP APIs")
            return "HTTP"
        return "REST"

    def stages(self) -> dict[str, Any]:
        """The caller's stage, else the document's (``basePath`` / ``servers``), else the default."""
        explicit = self.ctx.options.stage
        if explicit:
            return {explicit: {}}
        found = self.document_stage()
        if found is not None:
            return {found: {}}
        default = DEFAULT_REST_STAGE if self.type == "REST" else "$default"
        if self.type == "REST":
            self.note((), f"no stage in the document: the REST API is served on stage {default!r} (--stage)")
        return {default: {}}

    def document_stage(self) -> str | None:
        if not self.v3:
            base = self.d.get("basePath")
            at: KeyPath = ("basePath",)
            path = base if isinstance(base, str) else ""
        else:
            servers = self.d.get("servers")
            if not isinstance(servers, list) or not servers or not isinstance(servers[0], Mapping):
                return None
            at = ("servers", 0, "url")
            url = str(servers[0].get("url", ""))
            variables = servers[0].get("variables")
            for var, spec in variables.items() if isinstance(variables, Mapping) else ():
                default = spec.get("default", "") if isinstance(spec, Mapping) else ""
                url = url.replace("{" + str(var) + "}", str(default))
            path = urlparse(url).path if "://" in url else url
            if len(servers) > 1:
                self.note(("servers",), "several servers: the stage is read from the first")
        segments = [s for s in path.split("/") if s]
        if not segments:
            return None
        path = "/" + "/".join(segments)
        if len(segments) == 1 and _STAGE_NAME.fullmatch(segments[0]):
            self.note(at, f"stage {segments[0]!r} read from {path!r}")
            return segments[0]
        self.note(at, f"{path!r} is not one stage name: ignored, as API Gateway's import ignores basePath")
        return None

    # -- root extensions --------------------------------------------------------------------------

    def root_extensions(self) -> None:
        d, api, rest = self.d, self.api, self.type == "REST"
        self.extensions(d, (), _ROOT_EXTENSIONS, "the document root")
        if "x-amazon-apigateway-cors" in d:
            if rest:
                self.refuse(
                    ("x-amazon-apigateway-cors",),
                    "x-amazon-apigateway-cors configures HTTP APIs only: REST APIs answer CORS with OPTIONS"
                    " methods (mock integrations)",
                )
            else:
                self.cors(d["x-amazon-apigateway-cors"])
        if "x-amazon-apigateway-binary-media-types" in d:
            types = d["x-amazon-apigateway-binary-media-types"]
            if rest:
                api["binary_media_types"] = types
                self.mark(("binary_media_types",), ("x-amazon-apigateway-binary-media-types",))
            else:
                self.ignore(
                    ("x-amazon-apigateway-binary-media-types",),
                    "HTTP APIs have no binary media types (Lambda proxy bodies follow isBase64Encoded)",
                )
        if "x-amazon-apigateway-api-key-source" in d:
            source = d["x-amazon-apigateway-api-key-source"]
            if rest:
                api["api_key_source"] = str(source).upper()
                self.mark(("api_key_source",), ("x-amazon-apigateway-api-key-source",))
            else:
                self.ignore(("x-amazon-apigateway-api-key-source",), "HTTP APIs have no API keys")
        if "x-amazon-apigateway-gateway-responses" in d:
            if rest:
                self.gateway_responses(d["x-amazon-apigateway-gateway-responses"])
            else:
                self.refuse(
                    ("x-amazon-apigateway-gateway-responses",),
                    "gateway responses are customised in REST APIs only",
                )
        if "x-amazon-apigateway-policy" in d:
            self.refuse(
                ("x-amazon-apigateway-policy",),
                "resource policies (source IPs, VPC endpoints, accounts) are not evaluated by Gatehold",
            )
        endpoint = d.get("x-amazon-apigateway-endpoint-configuration")
        if isinstance(endpoint, Mapping):
            at: KeyPath = ("x-amazon-apigateway-endpoint-configuration",)
            if "disableExecuteApiEndpoint" in endpoint:
                api["disable_execute_api_endpoint"] = endpoint["disableExecuteApiEndpoint"]
                self.mark(("disable_execute_api_endpoint",), (*at, "disableExecuteApiEndpoint"))
            if endpoint.get("vpcEndpointIds"):
                self.refuse(
                    (*at, "vpcEndpointIds"), "private APIs (VPC endpoints) are not served by Gatehold"
                )
        if "x-amazon-apigateway-minimum-compression-size" in d:
            self.ignore(
                ("x-amazon-apigateway-minimum-compression-size",),
                "responses are sent uncompressed (the same content to any HTTP client)",
            )

    def cors(self, raw: Any) -> None:
        at: KeyPath = ("x-amazon-apigateway-cors",)
        raw, at = self.resolve(raw, at)
        if not isinstance(raw, Mapping):
            self.error(at, "x-amazon-apigateway-cors must be an object")
            return
        out: dict[str, Any] = {}
        for key, value in raw.items():
            target = _CORS_KEYS.get(key)
            if target is None:
                self.refuse((*at, key), f"unknown x-amazon-apigateway-cors property {key!r}")
                continue
            out[target] = value
            self.mark(("cors", target), (*at, key))
        self.api["cors"] = out
        self.mark(("cors",), at)

    def gateway_responses(self, raw: Any) -> None:
        at: KeyPath = ("x-amazon-apigateway-gateway-responses",)
        if not isinstance(raw, Mapping):
            self.error(at, "x-amazon-apigateway-gateway-responses must be an object")
            return
        out: dict[str, Any] = {}
        for type_name, response in raw.items():
            r_at: KeyPath = (*at, type_name)
            response, r_at = self.resolve(response, r_at)
            if not isinstance(response, Mapping):
                self.error(r_at, "a gateway response must be an object")
                continue
            entry: dict[str, Any] = {}
            for key, value in response.items():
                if key == "statusCode":
                    entry["status_code"] = _int(value)
                    self.mark(("gateway_responses", type_name, "status_code"), (*r_at, key))
                elif key == "responseParameters" and isinstance(value, Mapping):
                    headers: dict[str, Any] = {}
                    for target, source in value.items():
                        if not str(target).startswith("gatewayresponse.header."):
                            self.refuse(
                                (*r_at, key, target),
                                f"{target}: gateway responses map headers only (gatewayresponse.header.NAME)",
                            )
                            continue
                        headers[str(target)[len("gatewayresponse.header.") :]] = source
                    entry["headers"] = headers
                    self.mark(("gateway_responses", type_name, "headers"), (*r_at, key))
                elif key == "responseTemplates" and isinstance(value, Mapping):
                    chosen = self.pick_template(value, (*r_at, key))
                    if chosen is not None:
                        entry["template"] = chosen
                        self.mark(("gateway_responses", type_name, "template"), (*r_at, key))
                elif key != "defaultResponse":
                    self.refuse((*r_at, key), f"unknown gateway response property {key!r}")
            out[type_name] = entry
            self.mark(("gateway_responses", type_name), r_at)
        self.api["gateway_responses"] = out
        self.mark(("gateway_responses",), at)

    def pick_template(self, templates: Mapping[str, Any], at: KeyPath) -> str | None:
        """Response templates by content type → the one body the model keeps: application/json,
        else the first, as API Gateway picks for a request without a matching Accept header."""
        if not templates:
            return None
        key = "application/json" if "application/json" in templates else next(iter(templates))
        if len(templates) > 1:
            self.note(at, f"several templates: {key!r} is used for every request (as with no Accept header)")
        text = templates[key]
        text = "" if text is None else str(text)
        problem = _template_problem(text)
        if problem is not None:
            self.refuse((*at, key), f"template {key!r} {problem}: real VTL is not run by Gatehold")
            return None
        return text

    # -- security schemes -----------------------------------------------------------------------

    def read_schemes(self) -> None:
        if self.v3:
            components = self.d.get("components")
            raw = components.get("securitySchemes") if isinstance(components, Mapping) else None
            base: KeyPath = ("components", "securitySchemes")
        else:
            raw = self.d.get("securityDefinitions")
            base = ("securityDefinitions",)
        if raw is None:
            return
        if not isinstance(raw, Mapping):
            self.error(base, "security schemes must be an object")
            return
        for name, scheme in raw.items():
            at: KeyPath = (*base, name)
            scheme, at = self.resolve(scheme, at)
            if not isinstance(scheme, Mapping):
                self.error(at, "a security scheme must be an object")
                self.schemes[name] = _Scheme("invalid")
                continue
            self.schemes[name] = self.scheme(str(name), scheme, at)

    def scheme(self, name: str, scheme: Mapping[str, Any], at: KeyPath) -> _Scheme:
        self.extensions(scheme, at, {AUTHORIZER, AUTHTYPE}, "a security scheme")
        authtype = str(scheme.get(AUTHTYPE, ""))
        auth = scheme.get(AUTHORIZER)
        if auth is None:
            if authtype.lower().startswith("aws"):
                return _Scheme(
                    "refused", why=f"{AUTHTYPE} {authtype}: IAM (SigV4) authorization is not supported"
                )
            if authtype.lower() == "cognito_user_pools":
                return _Scheme("refused", why="Cognito user pool authorizers are not supported")
            kind = scheme.get("type")
            if (
                kind == "apiKey"
                and str(scheme.get("name", "")).lower() == "x-api-key"
                and scheme.get("in") == "header"
            ):
                return _Scheme("api_key")
            return _Scheme(
                "refused",
                why=f"security scheme {name!r} ({kind}) has no x-amazon-apigateway-authorizer: API Gateway"
                " does not act on it and leaves the method open; pass --ignore to run the method open",
            )
        auth, a_at = self.resolve(auth, (*at, AUTHORIZER))
        if not isinstance(auth, Mapping):
            self.error(a_at, "x-amazon-apigateway-authorizer must be an object")
            return _Scheme("invalid")
        for key in auth:
            if key not in _AUTHORIZER_KEYS and not str(key).startswith("x-"):
                self.refuse((*a_at, key), f"unknown x-amazon-apigateway-authorizer property {key!r}")
        kind = str(auth.get("type", "")).lower()
        if kind == "cognito_user_pools":
            return _Scheme("refused", why="Cognito user pool authorizers are not supported")
        if kind not in ("token", "request", "jwt"):
            self.error((*a_at, "type"), f"authorizer type {auth.get('type')!r} is not token, request, jwt")
            return _Scheme("invalid")
        errors = len(self.ctx.problems)
        config = self.authorizer(name, kind, scheme, auth, at, a_at)
        if config is None:
            if len(self.ctx.problems) > errors:
                return _Scheme("invalid")  # reported where it is wrong
            return _Scheme(
                "refused",
                why=f"authorizer {name!r} was not imported (its refusal was ignored): the method would"
                " run without it",
            )
        if EXPECTS in scheme:
            if kind == "jwt":
                self.refuse(
                    (*at, EXPECTS), f"{EXPECTS} is for Lambda authorizers (a JWT authorizer's is its own)"
                )
            else:
                expects = scheme[EXPECTS]
                if isinstance(expects, Mapping) and isinstance(expects.get("issuer"), str):
                    # an Auth0 issuer the function checks is the local one under --issuer-alias
                    src = self.src((*at, EXPECTS, "issuer"))
                    expects = {**expects, "issuer": self.ctx.alias_issuer(expects["issuer"], src)}
                config["expects"] = expects
                self.mark(("authorizers", name, "expects"), (*at, EXPECTS))
        self.api.setdefault("authorizers", {})[name] = config
        self.mark(("authorizers", name), a_at)
        self.mark(("authorizers",), a_at)
        return _Scheme("authorizer", jwt=kind == "jwt")

    def authorizer(
        self,
        name: str,
        kind: str,
        scheme: Mapping[str, Any],
        auth: Mapping[str, Any],
        at: KeyPath,
        a_at: KeyPath,
    ) -> dict[str, Any] | None:
        rest = self.type == "REST"
        out: dict[str, Any] = {}

        def put(key: str, value: Any, src: str) -> None:
            out[key] = value
            self.mark(("authorizers", name, key), (*a_at, src))

        if "authorizerCredentials" in auth:
            self.ignore(
                (*a_at, "authorizerCredentials"),
                "the IAM role API Gateway assumes to invoke the authorizer: no IAM locally",
            )
        if "authorizerResultTtlInSeconds" in auth:
            put("result_ttl", _int(auth["authorizerResultTtlInSeconds"]), "authorizerResultTtlInSeconds")
        sources = _sources(auth.get("identitySource"))
        if kind == "jwt":
            if rest:
                self.refuse((*a_at, "type"), "jwt authorizers in OpenAPI are for HTTP APIs only")
                return None
            out["type"] = "JWT"
            self.mark(("authorizers", name, "type"), (*a_at, "type"))
            jwt = auth.get("jwtConfiguration")
            jwt = jwt if isinstance(jwt, Mapping) else {}
            issuer = jwt.get("issuer")
            if not issuer:
                issuer = self.discovered_issuer(scheme, at)
                if issuer is None:
                    return None
            issuer = self.ctx.alias_issuer(str(issuer), self.src((*a_at, "jwtConfiguration", "issuer")))
            audience = jwt.get("audience", [])
            audiences = [audience] if isinstance(audience, str) else audience
            out["jwt_configuration"] = {"issuer": issuer, "audience": audiences}
            self.mark(("authorizers", name, "jwt_configuration"), (*a_at, "jwtConfiguration"))
            out["identity_source"] = sources or ["$request.header.Authorization"]
            self.mark(("authorizers", name, "identity_source"), (*a_at, "identitySource"))
            return out
        uri = auth.get("authorizerUri")
        if not isinstance(uri, str):
            self.error(
                (*a_at, "authorizerUri"), f"a {kind} authorizer needs authorizerUri (its Lambda function)"
            )
            return None
        function = self.function(uri, (*a_at, "authorizerUri"))
        if function is None:
            return None
        put("function", function, "authorizerUri")
        if kind == "token":
            if not rest:
                self.error((*a_at, "type"), "HTTP APIs have no token authorizers (use request)")
                return None
            out["type"] = "TOKEN"
            header = scheme.get("name")
            if scheme.get("type") != "apiKey" or scheme.get("in") != "header" or not header:
                self.error(
                    at, "a token authorizer's scheme is type apiKey, in header, with the token header as name"
                )
                return None
            out["identity_source"] = [f"method.request.header.{header}"]
            self.mark(("authorizers", name, "identity_source"), (*at, "name"))
            if sources and sources != out["identity_source"]:
                self.note(
                    (*a_at, "identitySource"),
                    f"a token authorizer reads the header the scheme names ({header}), not identitySource",
                )
            if "identityValidationExpression" in auth:
                put(
                    "identity_validation_expression",
                    auth["identityValidationExpression"],
                    "identityValidationExpression",
                )
            return out
        out["type"] = "REQUEST"
        self.mark(("authorizers", name, "type"), (*a_at, "type"))
        out["identity_source"] = sources
        self.mark(("authorizers", name, "identity_source"), (*a_at, "identitySource"))
        ttl = out.get("result_ttl")
        if not sources and (ttl is None or ttl > 0) and rest:
            self.error(
                (*a_at, "identitySource"),
                "a request authorizer with caching (authorizerResultTtlInSeconds, default 300)"
                " needs identitySource",
            )
            return None
        if "identityValidationExpression" in auth:
            if rest:
                self.ignore(
                    (*a_at, "identityValidationExpression"),
                    "identityValidationExpression applies to token authorizers only (API Gateway ignores it)",
                )
            else:
                self.refuse(
                    (*a_at, "identityValidationExpression"), "identityValidationExpression is REST-only"
                )
        if rest:
            for key in ("authorizerPayloadFormatVersion", "enableSimpleResponses"):
                if key in auth:
                    self.refuse((*a_at, key), f"{key} applies to HTTP API authorizers only")
            return out
        version = auth.get("authorizerPayloadFormatVersion")
        if version is None:
            version = "2.0"
            self.note(a_at, "no authorizerPayloadFormatVersion: payload format 2.0")
        put("payload_format_version", str(version), "authorizerPayloadFormatVersion")
        if "enableSimpleResponses" in auth:
            put("enable_simple_responses", auth["enableSimpleResponses"], "enableSimpleResponses")
        return out

    def discovered_issuer(self, scheme: Mapping[str, Any], at: KeyPath) -> str | None:
        """An ``openIdConnect`` scheme's issuer, read from its discovery URL (no network)."""
        url = scheme.get("openIdConnectUrl")
        suffix = "/.well-known/openid-configuration"
        if scheme.get("type") == "openIdConnect" and isinstance(url, str) and url.endswith(suffix):
            issuer = url[: -len(suffix)]
            self.note(
                (*at, "openIdConnectUrl"),
                f"issuer {issuer} read from openIdConnectUrl (tokens' iss must be exactly this)",
            )
            return issuer
        self.error(
            at,
            "a jwt authorizer needs jwtConfiguration.issuer (or an openIdConnect scheme whose"
            " openIdConnectUrl ends in /.well-known/openid-configuration)",
        )
        return None

    # -- request validators -----------------------------------------------------------------------

    def read_validators(self) -> None:
        raw = self.d.get(VALIDATORS)
        if raw is None:
            if VALIDATOR in self.d:
                self.error((VALIDATOR,), f"names a validator, but the document has no {VALIDATORS}")
            return
        if self.type == "HTTP":
            self.refuse((VALIDATORS,), "request validation exists in REST APIs only")
            return
        if not isinstance(raw, Mapping):
            self.error((VALIDATORS,), f"{VALIDATORS} must be an object")
            return
        for name, spec in raw.items():
            at: KeyPath = (VALIDATORS, name)
            if not isinstance(spec, Mapping):
                self.error(at, "a request validator must be an object")
                continue
            for key in spec:
                if key not in ("validateRequestBody", "validateRequestParameters"):
                    self.refuse((*at, key), f"unknown request validator property {key!r}")
            self.validators[str(name)] = (
                spec.get("validateRequestParameters") is True,
                spec.get("validateRequestBody") is True,
            )
        default = self.d.get(VALIDATOR)
        if default is not None and str(default) not in self.validators:
            self.error((VALIDATOR,), _unknown_validator(default))

    # -- paths and operations ---------------------------------------------------------------------

    def paths(self) -> None:
        paths = self.d.get("paths")
        if paths is None:
            self.error((), "the document has no paths")
            return
        if not isinstance(paths, Mapping):
            self.error(("paths",), "paths must be an object")
            return
        for route_path, item in paths.items():
            at: KeyPath = ("paths", route_path)
            if not isinstance(route_path, str) or not (
                route_path.startswith("/") or route_path in _DEFAULT_PATHS
            ):
                self.error(at, f"path {route_path!r} must start with '/'")
                continue
            item, at = self.resolve(item, at)
            if item is None:
                continue
            if not isinstance(item, Mapping):
                self.error(at, "a path item must be an object")
                continue
            raw_shared = item.get("parameters")
            shared: list[Any] = raw_shared if isinstance(raw_shared, list) else []
            for key, op in item.items():
                if key in ("parameters", "summary", "description", "servers", "$ref"):
                    continue
                lower = str(key).lower()
                if lower in _METHODS:
                    method = lower.upper()
                elif key == ANY_METHOD:
                    method = "ANY"
                elif lower == "trace":
                    self.refuse((*at, key), "API Gateway has no TRACE methods")
                    continue
                elif str(key).startswith(EXT):
                    self.refuse((*at, key), f"{key} is not an API Gateway extension Gatehold reads on a path")
                    continue
                elif str(key).startswith("x-"):
                    continue
                else:
                    self.refuse((*at, key), f"{key!r} is not an OpenAPI path item key")
                    continue
                self.operation(route_path, method, op, (*at, key), shared, (*at, "parameters"))

    def operation(
        self, route_path: str, method: str, op: Any, at: KeyPath, shared: list[Any], shared_at: KeyPath
    ) -> None:
        op, at = self.resolve(op, at)
        if op is None:
            return
        if not isinstance(op, Mapping):
            self.error(at, "an operation must be an object")
            return
        key = f"{method} {route_path}"
        if route_path in _DEFAULT_PATHS or op.get("isDefaultRoute") is True:
            if self.type == "REST":
                self.error(at, "the $default route exists in HTTP APIs only")
                return
            key = "$default"
        self.extensions(op, at, _OPERATION_KEYS, "an operation")
        for name in op:
            if name not in _OPERATION_KEYS and not str(name).startswith("x-"):
                self.refuse((*at, name), f"{name!r} is not an OpenAPI operation key")
        if INTEGRATION not in op:
            self.refuse(
                at,
                f"{key} has no x-amazon-apigateway-integration: API Gateway cannot deploy a method"
                " without one",
            )
            return
        integration = self.integration(op[INTEGRATION], (*at, INTEGRATION), key)
        if integration is None:
            return
        route: dict[str, Any] = {"integration": integration}
        routes: dict[str, Any] = self.api["routes"]
        if key in routes:
            self.error(at, f"route {key!r} is defined twice")
            return
        routes[key] = route
        self.mark(("routes", key), at)
        self.security(route, key, op, at)
        validation = self.validation(key, op, at, shared, shared_at)
        if validation is not None:
            route["request_validation"] = validation

    # -- security of one operation ------------------------------------------------------------

    def security(self, route: dict[str, Any], key: str, op: Mapping[str, Any], at: KeyPath) -> None:
        auth_ext = op.get("x-amazon-apigateway-auth")
        if isinstance(auth_ext, Mapping):
            kind = str(auth_ext.get("type", "")).upper()
            if kind == "AWS_IAM":
                self.refuse((*at, "x-amazon-apigateway-auth"), "IAM (SigV4) authorization is not supported")
            elif kind != "NONE":
                self.refuse(
                    (*at, "x-amazon-apigateway-auth"), f"authorization type {kind!r} is not supported"
                )
        if "security" in op:
            requirements, s_at = op["security"], (*at, "security")
        elif "security" in self.d:
            requirements, s_at = self.d["security"], ("security",)
        else:
            return
        if not isinstance(requirements, list):
            self.error(s_at, "security must be a list of requirement objects")
            return
        if self.type == "HTTP" and len(requirements) > 1:
            self.error(s_at, "HTTP APIs allow one security requirement per operation")
            return
        for i, requirement in enumerate(requirements):
            if not isinstance(requirement, Mapping):
                self.error((*s_at, i), "a security requirement must be an object")
                continue
            for scheme_name, scopes in requirement.items():
                self.requirement(route, key, str(scheme_name), scopes, (*s_at, i, scheme_name))

    def requirement(self, route: dict[str, Any], key: str, name: str, scopes: Any, at: KeyPath) -> None:
        scheme = self.schemes.get(name)
        if scheme is None and name == "api_key":
            # AWS's own samples require api_key without defining it (request validation sample)
            scheme = _Scheme("api_key")
            self.note(at, "api_key is not defined: read as API Gateway's API key (the x-api-key header)")
        if scheme is None:
            self.error(at, f"names security scheme {name!r}, which is not defined")
            return
        if scheme.kind == "invalid":
            return  # the scheme's own problem is reported where it is written
        if scheme.kind == "refused":
            self.refuse(at, scheme.why)
            return
        if scheme.kind == "api_key":
            if self.type == "HTTP":
                self.refuse(at, "API keys exist in REST APIs only")
                return
            route["api_key_required"] = True
            self.mark(("routes", key, "api_key_required"), at)
            return
        if route.get("authorizer") not in (None, name):
            self.refuse(at, f"a method has one authorizer: it already uses {route['authorizer']!r}")
            return
        route["authorizer"] = name
        self.mark(("routes", key, "authorizer"), at)
        scope_list = scopes if isinstance(scopes, list) else []
        if not scope_list:
            return
        if scheme.jwt:
            route["authorization_scopes"] = [str(s) for s in scope_list]
            self.mark(("routes", key, "authorization_scopes"), at)
        elif self.type == "REST":
            self.ignore(at, "scopes apply to JWT and Cognito authorizers: API Gateway ignores them here")
        else:
            self.refuse(at, "authorization scopes need a JWT authorizer")

    # -- integrations -----------------------------------------------------------------------------

    def integration(self, raw: Any, at: KeyPath, route_key: str) -> dict[str, Any] | None:
        raw, at = self.resolve(raw, at)
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.error(at, "x-amazon-apigateway-integration must be an object")
            return None
        for key in raw:
            if key not in _INTEGRATION_KEYS and not str(key).startswith("x-"):
                self.refuse((*at, key), f"unknown x-amazon-apigateway-integration property {key!r}")
        kind = str(raw.get("type", "")).lower()
        rest = self.type == "REST"
        if kind == "aws":
            uri = str(raw.get("uri", ""))
            what = (
                "non-proxy Lambda integrations (type aws, with mapping templates)"
                if ":lambda:path/" in uri
                else ("AWS service integrations (type aws)")
            )
            self.refuse((*at, "type"), f"{what} are not supported; use aws_proxy")
            return None
        if kind not in ("aws_proxy", "http_proxy", "http", "mock"):
            self.error(
                (*at, "type"),
                f"integration type {raw.get('type')!r} is not aws_proxy, http_proxy, http or mock",
            )
            return None
        if not rest and kind in ("http", "mock"):
            self.refuse(
                (*at, "type"), f"HTTP APIs support aws_proxy and http_proxy integrations only, not {kind}"
            )
            return None
        self.common_settings(raw, at, kind)
        out: dict[str, Any] | None
        if kind == "aws_proxy":
            out = self.lambda_proxy(raw, at)
        elif kind == "http_proxy":
            out = self.http_proxy(raw, at)
        elif kind == "http":
            out = self.http(raw, at)
        else:
            out = self.mock(raw, at)
        if out is None:
            return None
        if "timeoutInMillis" in raw:
            out["timeout_ms"] = _int(raw["timeoutInMillis"])
            self.mark(("routes", route_key, "integration", "timeout_ms"), (*at, "timeoutInMillis"))
        self.mark(("routes", route_key, "integration"), at)
        return out

    def common_settings(self, raw: Mapping[str, Any], at: KeyPath, kind: str) -> None:
        """Settings every integration type may carry: refused, ignored (no local effect) or silent."""
        proxy = kind in ("aws_proxy", "http_proxy")
        connection = str(raw.get("connectionType", "INTERNET")).upper()
        if connection == "VPC_LINK" or "connectionId" in raw:
            self.refuse((*at, "connectionType"), "VPC links (private integrations) are not supported")
        if "tlsConfig" in raw:
            self.refuse((*at, "tlsConfig"), "tlsConfig (backend certificate checks) is not supported")
        if "integrationSubtype" in raw:
            self.refuse(
                (*at, "integrationSubtype"), "AWS service integrations (integrationSubtype) are not supported"
            )
        if "credentials" in raw:
            self.ignore(
                (*at, "credentials"), "the IAM role API Gateway assumes for the integration: no IAM locally"
            )
        for key in ("cacheKeyParameters", "cacheNamespace"):
            if raw.get(key):
                self.ignore(
                    (*at, key),
                    "no API cache locally: every request reaches the integration, as with caching off",
                )
        handling = raw.get("contentHandling")
        if handling is not None:
            if proxy:
                self.ignore(
                    (*at, "contentHandling"),
                    "proxy integrations pass bodies as they are (binary as isBase64Encoded)",
                )
            elif kind == "mock" and not mock_reads_body(raw.get("requestTemplates")):
                self.ignore((*at, "contentHandling"), MOCK_CONTENT_HANDLING)
            else:
                self.refuse(
                    (*at, "contentHandling"),
                    _content_handling(handling),
                )
        if proxy:
            behavior = str(raw.get("passthroughBehavior", "when_no_match")).lower()
            if behavior != "when_no_match":
                self.ignore(
                    (*at, "passthroughBehavior"), "passthroughBehavior has no effect on proxy integrations"
                )
            if raw.get("requestTemplates"):
                self.ignore((*at, "requestTemplates"), "mapping templates do not apply to proxy integrations")
            responses = raw.get("responses")
            if responses and not _only_default_200(responses):
                self.ignore((*at, "responses"), "integration responses do not apply to proxy integrations")

    def lambda_proxy(self, raw: Mapping[str, Any], at: KeyPath) -> dict[str, Any] | None:
        uri = raw.get("uri")
        if not isinstance(uri, str):
            self.error((*at, "uri"), "a Lambda proxy integration needs uri (the function's invocation ARN)")
            return None
        method = str(raw.get("httpMethod", "POST")).upper()
        if method != "POST":
            self.error(
                (*at, "httpMethod"), f"Lambda is invoked with POST, not {method} (API Gateway fails the call)"
            )
            return None
        function = self.function(uri, (*at, "uri"))
        if function is None:
            return None
        out: dict[str, Any] = {"type": "aws_proxy", "function": function}
        version = raw.get("payloadFormatVersion")
        if self.type == "HTTP":
            if version is None:
                version = "2.0"
                self.note(at, "no payloadFormatVersion: payload format 2.0")
            out["payload_format_version"] = str(version)
        elif version is not None and str(version) != "1.0":
            self.error((*at, "payloadFormatVersion"), "REST Lambda proxy integrations use payload format 1.0")
            return None
        if raw.get("requestParameters"):
            if self.type == "HTTP":
                self.refuse((*at, "requestParameters"), "HTTP API parameter mapping is not supported")
            else:
                self.ignore(
                    (*at, "requestParameters"), "request parameters do not apply to Lambda proxy integrations"
                )
        return out

    def function(self, uri: str, at: KeyPath) -> str | None:
        """The model's function for a Lambda invocation URI (or, in HTTP APIs, a function ARN)."""
        m = _LAMBDA_URI.fullmatch(uri)
        if m is not None:
            arn = m.group("arn")
        elif self.type == "HTTP" or at[-1] == "authorizerUri":
            arn = uri
        else:
            arn = ""
        f = _FUNCTION_ARN.fullmatch(arn)
        if f is None:
            self.error(
                at,
                f"{uri!r} is not a Lambda function's invocation URI (arn:aws:apigateway:REGION:lambda:path/"
                "2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations)",
            )
            return None
        name, qualifier = f.group("name"), f.group("qualifier")
        if qualifier:
            self.note(at, f"qualifier :{qualifier} read: Gatehold runs the function's current code")
        if "${stageVariables." in name:
            resolved = self.stage_function(name, at)
            if resolved is None:
                return None
            name = resolved
        if "${" in name:
            self.error(at, f"function name {name!r} has a placeholder that cannot be resolved here")
            return None
        key = self.ctx.function_key(name)
        self.functions_used.append((key, self.src(at)))
        return key

    def stage_function(self, name: str, at: KeyPath) -> str | None:
        """``${stageVariables.x}`` in a function name, resolved with every stage's variables."""
        resolved: dict[str, str] = {}
        missing: list[str] = []
        stages = self.stage_variables or {stage: {} for stage in self.api.get("stages", {})}
        for stage, variables in stages.items():
            text = name
            for var in _STAGE_VARIABLE.findall(name):
                if var not in variables:
                    missing.append(f"{var} (stage {stage})")
                    continue
                text = text.replace("${stageVariables." + var + "}", variables[var])
            resolved[stage] = text
        if missing:
            self.refuse(
                at,
                f"function name {name!r} uses stage variables no stage defines: {', '.join(missing)}",
            )
            return None
        names = set(resolved.values())
        if len(names) > 1:
            self.refuse(
                at,
                f"function name {name!r} names a different function on each stage"
                f" ({', '.join(sorted(names))}): Gatehold routes a method to one function",
            )
            return None
        value = names.pop()
        self.note(at, f"{name} resolved with the stage variables: {value}")
        return value

    def http_proxy(self, raw: Mapping[str, Any], at: KeyPath) -> dict[str, Any] | None:
        uri = raw.get("uri")
        if not isinstance(uri, str) or not uri:
            self.error((*at, "uri"), "an HTTP proxy integration needs uri (the backend URL)")
            return None
        out: dict[str, Any] = {
            "type": "http_proxy",
            "uri": uri,
            "method": str(raw.get("httpMethod", "ANY")).upper(),
        }
        version = raw.get("payloadFormatVersion")
        if version is not None and str(version) != "1.0":
            self.error((*at, "payloadFormatVersion"), "HTTP proxy integrations use payload format 1.0")
        params = raw.get("requestParameters")
        if params:
            if self.type == "HTTP":
                self.refuse((*at, "requestParameters"), "HTTP API parameter mapping is not supported")
            elif isinstance(params, Mapping):
                out["request_parameters"] = dict(params)
        return out

    def http(self, raw: Mapping[str, Any], at: KeyPath) -> dict[str, Any] | None:
        uri = raw.get("uri")
        method = raw.get("httpMethod")
        if not isinstance(uri, str) or not uri:
            self.error((*at, "uri"), "an HTTP integration needs uri (the backend URL)")
            return None
        if not isinstance(method, str):
            self.error((*at, "httpMethod"), "an HTTP integration needs httpMethod")
            return None
        out: dict[str, Any] = {"type": "http", "uri": uri, "method": method.upper()}
        params = raw.get("requestParameters")
        if isinstance(params, Mapping) and params:
            out["request_parameters"] = dict(params)
        behavior = str(raw.get("passthroughBehavior", "when_no_match")).lower()
        out["passthrough_behavior"] = behavior
        templates = raw.get("requestTemplates")
        if isinstance(templates, Mapping):
            for content_type, text in templates.items():
                if str(text if text is not None else "").strip() not in _PASSTHROUGH_TEMPLATES:
                    self.refuse(
                        (*at, "requestTemplates", content_type),
                        f"request mapping template {content_type!r} transforms the body: only passthrough"
                        " ($input.body, $input.json('$')) is supported",
                    )
        responses = raw.get("responses")
        mapped: dict[str, Any] = {}
        if isinstance(responses, Mapping):
            for pattern, response in responses.items():
                entry = self.http_response(str(pattern), response, (*at, "responses", pattern))
                if entry is not None:
                    mapped[str(pattern)] = entry
        else:
            self.note(at, "no responses: API Gateway answers 500 (no default output mapping)")
        out["responses"] = mapped
        return out

    def http_response(self, pattern: str, response: Any, at: KeyPath) -> dict[str, Any] | None:
        response, at = self.resolve(response, at)
        if not isinstance(response, Mapping):
            self.error(at, "an integration response must be an object")
            return None
        if pattern != "default":
            try:
                re.compile(pattern)
            except re.error as exc:
                self.error(at, f"{pattern!r} is not a regular expression: {exc}")
                return None
        status = _int(response.get("statusCode", 200))
        headers: dict[str, str] = {}
        for target, source in (response.get("responseParameters") or {}).items():
            if not str(target).startswith("method.response.header."):
                self.refuse((*at, "responseParameters", target), _not_a_header(target))
                continue
            if not isinstance(source, str) or not _RESPONSE_HEADER_SOURCE.fullmatch(source.strip()):
                self.refuse(
                    (*at, "responseParameters", target),
                    f"{source!r}: a response header is mapped from a 'static' value or"
                    " integration.response.header.NAME only",
                )
                continue
            headers[str(target)[len("method.response.header.") :]] = source.strip()
        entry: dict[str, Any] = {"status_code": status, "headers": headers}
        templates = response.get("responseTemplates")
        if isinstance(templates, Mapping) and templates:
            key = "application/json" if "application/json" in templates else next(iter(templates))
            text = str(templates[key] if templates[key] is not None else "")
            if text.strip() not in _PASSTHROUGH_TEMPLATES:
                body = self.pick_template(templates, (*at, "responseTemplates"))
                if body is not None:
                    entry["body"] = body
        if response.get("contentHandling"):
            self.refuse((*at, "contentHandling"), _content_handling(response["contentHandling"]))
        return entry

    def mock(self, raw: Mapping[str, Any], at: KeyPath) -> dict[str, Any] | None:
        templates = raw.get("requestTemplates")
        if not isinstance(templates, Mapping) or not templates:
            self.refuse(
                (*at, "requestTemplates"),
                'a mock integration without a requestTemplates {"statusCode": N} answers 500 on API Gateway',
            )
            return None
        statuses: set[int] = set()
        for content_type, text in templates.items():
            status = _mock_status(text)
            if status is None:
                self.refuse(
                    (*at, "requestTemplates", content_type),
                    f'mock request template {content_type!r} is not a static {{"statusCode": N}} (no VTL)',
                )
                return None
            statuses.add(status)
        if len(statuses) > 1:
            self.refuse(
                (*at, "requestTemplates"),
                "mock request templates choose different status codes by content type",
            )
            return None
        status = statuses.pop()
        responses = raw.get("responses")
        selected: tuple[Mapping[str, Any], KeyPath] | None = None
        default: tuple[Mapping[str, Any], KeyPath] | None = None
        for pattern, response in responses.items() if isinstance(responses, Mapping) else ():
            response, r_at = self.resolve(response, (*at, "responses", pattern))
            if not isinstance(response, Mapping):
                continue
            if pattern == "default":
                default = (response, r_at)
            elif selected is None and re.fullmatch(str(pattern), str(status)):
                selected = (response, r_at)
        chosen = selected or default
        if chosen is None:
            self.refuse(
                (*at, "responses"),
                f"no integration response for the mock's status {status}: API Gateway answers 500",
            )
            return None
        response, r_at = chosen
        out: dict[str, Any] = {"type": "mock", "status_code": _int(response.get("statusCode", 200))}
        headers: dict[str, str] = {}
        for target, source in (response.get("responseParameters") or {}).items():
            p_at = (*r_at, "responseParameters", target)
            if not str(target).startswith("method.response.header."):
                self.refuse(p_at, _not_a_header(target))
                continue
            text = str(source).strip()
            if len(text) >= 2 and text[0] == text[-1] == "'":
                headers[str(target)[len("method.response.header.") :]] = text[1:-1]
            elif text.startswith("integration.response."):
                self.note(
                    p_at, f"{text}: a mock integration's response has no headers or body, so none is sent"
                )
            else:
                self.refuse(p_at, f"{text!r}: a mock response header is a 'static' value")
        out["headers"] = headers
        templates_out = response.get("responseTemplates")
        if isinstance(templates_out, Mapping):
            body = self.pick_template(templates_out, (*r_at, "responseTemplates"))
            if body is not None:
                out["body"] = body
        return out

    # -- request validation -----------------------------------------------------------------------

    def validation(
        self, key: str, op: Mapping[str, Any], at: KeyPath, shared: list[Any], shared_at: KeyPath
    ) -> dict[str, Any] | None:
        name = op.get(VALIDATOR, self.d.get(VALIDATOR))
        if name is None:
            return None
        v_at: KeyPath = (*at, VALIDATOR) if VALIDATOR in op else (VALIDATOR,)
        if self.type == "HTTP":
            if VALIDATOR in op:
                self.refuse(v_at, "request validation exists in REST APIs only")
            return None
        if str(name) not in self.validators:
            if VALIDATOR in op:
                self.error(v_at, _unknown_validator(name))
            return None
        parameters, body = self.validators[str(name)]
        out: dict[str, Any] = {}
        params = self.parameters(shared, shared_at, op.get("parameters"), (*at, "parameters"))
        if parameters:
            required = sorted(
                f"method.request.{_WHERE[p['in']]}.{p['name']}"
                for p, _ in params.values()
                if p.get("required") is True and p.get("in") in _WHERE
            )
            if required:
                out["required_parameters"] = required
        if body:
            schemas = self.body_schemas(op, at, params)
            if schemas:
                out["body_schemas"] = schemas
        if not out:
            return None
        self.mark(("routes", key, "request_validation"), v_at)
        return out

    def parameters(
        self, shared: list[Any], shared_at: KeyPath, own: Any, own_at: KeyPath
    ) -> dict[tuple[str, str], tuple[Mapping[str, Any], KeyPath]]:
        """Path-level then operation-level parameters (the operation's win), ``$ref``s followed."""
        out: dict[tuple[str, str], tuple[Mapping[str, Any], KeyPath]] = {}
        for items, base in ((shared, shared_at), (own if isinstance(own, list) else [], own_at)):
            for i, param in enumerate(items):
                param, p_at = self.resolve(param, (*base, i))
                if isinstance(param, Mapping) and "name" in param and "in" in param:
                    out[(str(param["in"]), str(param["name"]))] = (param, p_at)
        return out

    def body_schemas(
        self,
        op: Mapping[str, Any],
        at: KeyPath,
        params: Mapping[tuple[str, str], tuple[Mapping[str, Any], KeyPath]],
    ) -> dict[str, Any]:
        """Content type → self-contained JSON schema (its ``$ref``s gathered under ``definitions``)."""
        out: dict[str, Any] = {}
        if self.v3:
            body, b_at = self.resolve(op.get("requestBody"), (*at, "requestBody"))
            content = body.get("content") if isinstance(body, Mapping) else None
            for content_type, media in content.items() if isinstance(content, Mapping) else ():
                schema = media.get("schema") if isinstance(media, Mapping) else None
                if isinstance(schema, Mapping):
                    out[str(content_type)] = self.schema(schema, (*b_at, "content", content_type, "schema"))
            return out
        for (where, _), (param, p_at) in params.items():
            if where == "body" and isinstance(param.get("schema"), Mapping):
                consumes = op.get("consumes") or self.d.get("consumes") or ["application/json"]
                schema = self.schema(param["schema"], (*p_at, "schema"))
                for content_type in consumes:
                    out[str(content_type)] = schema
        return out

    def schema(self, schema: Mapping[str, Any], at: KeyPath) -> dict[str, Any]:
        """A copy of ``schema`` whose local ``$ref``s point into its own ``definitions``."""
        definitions: dict[str, Any] = {}
        pending: list[str] = []

        def rewrite(node: Any, path: KeyPath) -> Any:
            if isinstance(node, Mapping):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    if not ref.startswith("#"):
                        self.refuse((*path, "$ref"), _remote_reference(ref))
                        return {}
                    name = ref.rsplit("/", 1)[-1]
                    if name not in definitions and name not in pending:
                        pending.append(name)
                        target = _get(self.d, _pointer(ref))
                        if target is None:
                            self.error((*path, "$ref"), _missing_reference(ref))
                            definitions[name] = {}
                        else:
                            definitions[name] = rewrite(target, _pointer(ref))
                    return {"$ref": f"#/definitions/{name}"}
                return {k: rewrite(v, (*path, k)) for k, v in node.items()}
            if isinstance(node, list):
                return [rewrite(v, (*path, i)) for i, v in enumerate(node)]
            return copy.deepcopy(node)

        out: dict[str, Any] = rewrite(schema, at)
        if definitions:
            out = {**out, "definitions": {**dict(out.get("definitions") or {}), **definitions}}
        return out


_WHERE = {"query": "querystring", "header": "header", "path": "path"}


# --------------------------------------------------------------------------------------------------
# small pure helpers
# --------------------------------------------------------------------------------------------------


def _remote_reference(ref: object) -> str:
    return (
        f"reference {ref!r} points outside this document: only '#/…' references are read"
        " (bundle the document first, for example with 'redocly bundle')"
    )


def _missing_reference(ref: str) -> str:
    return f"reference {ref!r} names nothing in this document"


def _unknown_validator(name: object) -> str:
    return f"names request validator {name!r}, which {VALIDATORS} does not define"


#: why a mock's contentHandling has no effect (the console writes CONVERT_TO_TEXT on its CORS mocks)
MOCK_CONTENT_HANDLING = (
    "it converts the request body for the mock's request template, which does not read the body"
)


def mock_reads_body(templates: Any) -> bool:
    """Whether a mock integration's request templates read the request body (``$input``), the only
    thing ``contentHandling`` converts before a mock answers."""
    texts = templates.values() if isinstance(templates, Mapping) else [templates]
    return any("$input" in str(text) for text in texts if text is not None)


def _content_handling(value: object) -> str:
    return f"contentHandling {value} (binary conversion) is not supported"


def _not_a_header(target: object) -> str:
    return f"{target}: only method response headers (method.response.header.NAME) are mapped"


def _slug(text: str) -> str:
    """``PetStore`` → ``petstore``; ``My API (v2)`` → ``my-api-v2``."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")


def _pointer(ref: str) -> KeyPath:
    """``#/components/schemas/Pet`` → ``("components", "schemas", "Pet")`` (RFC 6901 escapes)."""
    parts = ref[1:].split("/")[1:] if ref.startswith("#/") else []
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in parts)


def _get(data: Any, path: KeyPath) -> Any:
    node = data
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, str) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _int(value: Any) -> Any:
    """``"200"`` → 200 (API Gateway writes status codes and TTLs as strings); anything else as is,
    for the schema to report."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _sources(value: Any) -> list[str]:
    """``"method.request.header.A, method.request.querystring.b"`` → two sources (trimmed)."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def _only_default_200(responses: Any) -> bool:
    """``{"default": {"statusCode": "200"}}``: what exports write on proxy integrations."""
    if not isinstance(responses, Mapping) or set(responses) != {"default"}:
        return False
    entry = responses["default"]
    return (
        isinstance(entry, Mapping) and set(entry) <= {"statusCode"} and str(entry.get("statusCode")) == "200"
    )


def _template_problem(text: str) -> str | None:
    """None when ``text`` needs only ``$context.*`` / ``$stageVariables.*`` substitution."""
    if _VTL_DIRECTIVE.search(text):
        return "uses VTL directives (#set, #if, #foreach, $!…)"
    for m in _VTL_REFERENCE.finditer(text):
        if m.group(1) not in ("context", "stageVariables"):
            return f"uses ${m.group(1)} (only $context.* and $stageVariables.* are substituted)"
    return None


def _mock_status(text: Any) -> int | None:
    """``'{"statusCode": 200}'`` → 200; None for anything but a static JSON object with one."""
    if not isinstance(text, str) or _template_problem(text) is not None or "$" in text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    status = value.get("statusCode") if isinstance(value, dict) else None
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _merge(existing: dict[str, Any], api: Mapping[str, Any]) -> None:
    """The caller's API keeps what it wrote; the definition adds the rest (maps merged by key)."""
    for key, value in api.items():
        if isinstance(value, dict) and isinstance(existing.get(key), dict):
            for sub, item in value.items():
                existing[key].setdefault(sub, item)
        else:
            existing.setdefault(key, value)
