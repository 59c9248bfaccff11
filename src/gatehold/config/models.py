"""Typed configuration: the whole of `gatehold.yaml`, validated once at load.

Three top sections: ``functions`` (Lambda handlers), ``apis`` (the gateway) and ``tenant`` (the
identity provider), plus ``gateway`` for process-wide gateway settings and ``tables`` (DynamoDB
tables for the handlers). Names follow the AWS and
Auth0 documents in snake_case (``identity_source``, ``result_ttl``, ``client_grants``). Every model
forbids unknown keys, so a typo is an error that names the file, line and key path
(see :mod:`gatehold.config.loader`), never a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gatehold.config.expressions import GATEWAY_RESPONSE_TYPES, parse_header_source, validate_origin_pattern

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ROUTE_KEY = re.compile(r"^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^\s]*)$")
_PATH_PART = re.compile(r"^(\{[A-Za-z0-9_.-]+\+?\}|[^{}]+)$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------------------------
# functions: Lambda handlers
# --------------------------------------------------------------------------------------------------


#: Lambda's Python runtimes; every one runs on the Python Gatehold runs on (a mismatch is warned about)
PYTHON_RUNTIMES = (
    "python",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
)
#: Lambda's Node.js runtimes Gatehold runs (on the installed node; a major version mismatch is warned about)
NODE_RUNTIMES = ("nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x")


class FunctionConfig(Model):
    """One Lambda function, ``handler`` written as Lambda writes it: ``module.function`` (a module in
    a folder may be written ``folder/module.function``, as Lambda accepts)."""

    handler: str
    code_path: str | None = Field(
        default=None,
        description="directory added to sys.path to import the handler module (relative to the config file)",
    )
    runtime: str = Field(
        default="python", description="python, python3.8 … python3.14; nodejs18.x … nodejs24.x"
    )
    timeout: float = Field(default=3.0, gt=0, le=900, description="seconds, as Lambda's Timeout")
    memory_size: int = Field(default=128, ge=128, le=10240, description="MB, as Lambda's MemorySize")
    environment: dict[str, str] = Field(default_factory=dict)
    isolation: Literal["process", "in-process", "thread"] | None = Field(
        default=None,
        description="override of gateway.isolation for this function ('thread': the former name of"
        " in-process, deprecated)",
    )
    reserved_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="most invocations in flight, as Lambda's ReservedConcurrentExecutions (more are"
        " throttled: TooManyRequestsException); also the most execution environments",
    )

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, v: str) -> str:
        if v in PYTHON_RUNTIMES or re.fullmatch(r"nodejs\d+\.x", v):
            return v
        listed = ", ".join(PYTHON_RUNTIMES[1:])
        raise ValueError(
            f"runtime {v!r} is not one Gatehold runs: Lambda's Python runtimes ({listed}),"
            f" 'python' for this machine's, or its Node.js runtimes ({', '.join(NODE_RUNTIMES)})"
        )

    @field_validator("handler")
    @classmethod
    def _handler_shape(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w-]*(?:[./][A-Za-z_][\w-]*)*\.[A-Za-z_$][\w$]*", v):
            raise ValueError(
                "handler must be 'module.function' (for example 'app.lambda_handler' or 'src/app.handler')"
            )
        return v


# --------------------------------------------------------------------------------------------------
# apis: the gateway
# --------------------------------------------------------------------------------------------------


class ThrottleConfig(Model):
    """Token bucket: ``rate_limit`` requests/s steady state, ``burst_limit`` bucket size."""

    rate_limit: float = Field(ge=0)
    burst_limit: int = Field(ge=0)


class AccessLogConfig(Model):
    format: str = Field(
        default="json",
        description="'json', 'clf', or a template with $context variables (API Gateway's format syntax)",
    )
    destination: str = Field(default="stdout", description="'stdout', 'stderr' or a file path")


class StageConfig(Model):
    variables: dict[str, str] = Field(default_factory=dict)
    throttling: ThrottleConfig | None = None
    route_throttling: dict[str, ThrottleConfig] = Field(
        default_factory=dict, description="per route key (HTTP) or 'METHOD /path' (REST) overrides"
    )
    access_log: AccessLogConfig | None = None
    description: str | None = None

    @field_validator("variables")
    @classmethod
    def _variables_limits(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > 100:
            raise ValueError("a stage has at most 100 variables")
        for key, value in v.items():
            if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", key):
                raise ValueError(f"stage variable name {key!r} must be 1-64 characters of [A-Za-z0-9_]")
            if len(value) > 512:
                raise ValueError(f"stage variable {key!r} is longer than 512 characters")
        return v


class LambdaIntegration(Model):
    """Lambda proxy integration (``AWS_PROXY``)."""

    type: Literal["lambda", "aws_proxy", "AWS_PROXY"]
    function: str
    payload_format_version: Literal["1.0", "2.0"] | None = Field(
        default=None, description="HTTP APIs: '2.0' (default) or '1.0'; REST APIs are always 1.0"
    )
    timeout_ms: int | None = Field(default=None, ge=50, le=30000)

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "lambda"  # one spelling of the type, whichever AWS spelling was written


class HttpProxyIntegration(Model):
    """HTTP proxy integration (``HTTP_PROXY``): ``uri`` may use ``{param}`` and ``${stageVariables.x}``."""

    type: Literal["http_proxy", "HTTP_PROXY"]
    uri: str
    method: str = Field(default="ANY", description="integration HTTP method; ANY forwards the request's")
    timeout_ms: int | None = Field(default=None, ge=50, le=30000)
    request_parameters: dict[str, str] = Field(default_factory=dict)
    response_headers: dict[str, str] = Field(
        default_factory=dict, description="static headers added to the method response"
    )

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "http_proxy"  # one spelling of the type, whichever AWS spelling was written


class IntegrationResponseConfig(Model):
    """One entry of a non-proxy integration's ``responses``, chosen by matching its key (a regex,
    or ``default``) against the backend's status code."""

    status_code: int = Field(ge=100, le=599)
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="method response header -> \"'static'\" or integration.response.header.NAME",
    )
    body: str | None = Field(
        default=None,
        description="replaces the backend's body (a response template using only $context.* and"
        " $stageVariables.*); None passes the backend's body through",
    )


class HttpIntegration(Model):
    """HTTP (non-proxy) integration with simple mappings, as AWS's example PetStore API uses: only the
    mapped request parameters reach the backend, the body passes through, and the method response's
    status and headers come from ``responses``."""

    type: Literal["http", "HTTP"]
    uri: str
    method: str = Field(description="the integration's HTTP method (httpMethod)")
    request_parameters: dict[str, str] = Field(default_factory=dict)
    passthrough_behavior: Literal["when_no_match", "when_no_templates", "never"] = "when_no_match"
    responses: dict[str, IntegrationResponseConfig] = Field(
        default_factory=lambda: {"default": IntegrationResponseConfig(status_code=200)}
    )
    timeout_ms: int | None = Field(default=None, ge=50, le=30000)

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "http"  # one spelling of the type, whichever AWS spelling was written


class MockIntegration(Model):
    """Mock integration: a static response; ``body`` may use ``$context.*`` and ``$stageVariables.*``."""

    type: Literal["mock", "MOCK"]
    status_code: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""

    @field_validator("type")
    @classmethod
    def _canonical_type(cls, v: str) -> str:
        return "mock"  # one spelling of the type, whichever AWS spelling was written


Integration = Annotated[
    LambdaIntegration | HttpProxyIntegration | HttpIntegration | MockIntegration, Field(discriminator="type")
]


class RequestValidationConfig(Model):
    """REST request validation (``x-amazon-apigateway-request-validator``): after the authorizer and
    the API key check, a request missing a required parameter is answered 400
    ``BAD_REQUEST_PARAMETERS``, a body its content type's JSON schema (draft 4) refuses 400
    ``BAD_REQUEST_BODY`` (docs/configuration.md, "Request validation")."""

    required_parameters: list[str] = Field(
        default_factory=list,
        description="method.request.{querystring,header,path}.NAME that must be present and not blank",
    )
    body_schemas: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="content type (or '$default') -> JSON schema (draft 4) the body must match",
    )

    @field_validator("required_parameters")
    @classmethod
    def _parameter_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"method\.request\.(querystring|header|path)\.[^\s]+", name):
                raise ValueError(f"{name!r} must be method.request.{{querystring,header,path}}.NAME")
        return v

    @field_validator("body_schemas")
    @classmethod
    def _schemas(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from jsonschema import Draft4Validator
        from jsonschema.exceptions import SchemaError

        for content_type, schema in v.items():
            try:
                Draft4Validator.check_schema(schema)
            except SchemaError as exc:
                raise ValueError(
                    f"body_schemas[{content_type!r}] is not a JSON schema: {exc.message}"
                ) from None
        return v


class RouteConfig(Model):
    """A REST method or an HTTP API route, keyed by ``METHOD /path`` (or ``$default``)."""

    integration: Integration
    authorizer: str | None = Field(default=None, description="name of an authorizer of this API")
    authorization_scopes: list[str] = Field(default_factory=list)
    api_key_required: bool = False
    request_validation: RequestValidationConfig | None = Field(
        default=None, description="REST: required parameters and body schemas checked before the integration"
    )

    @field_validator("authorization_scopes")
    @classmethod
    def _scopes_limit(cls, v: list[str]) -> list[str]:
        if len(v) > 10:
            raise ValueError("a route has at most 10 authorization scopes")
        return v


class JwtConfiguration(Model):
    """HTTP API JWT authorizer: ``issuer`` and ``audience`` as in ``jwtConfiguration``."""

    issuer: str
    audience: list[str] = Field(min_length=1, max_length=50)


class RestJwtIssuer(Model):
    """REST API JWT authorizer issuer entry: audiences are per issuer."""

    issuer: str
    audiences: list[str] = Field(min_length=1)
    jwks_uri: str | None = Field(default=None, description="skip discovery and use this JWKS URL")


class AuthorizerExpectations(Model):
    """What a Lambda authorizer's own code requires of a bearer token, declared by the user (the
    gateway never reads it): ``gatehold token --route`` and :mod:`gatehold.testing.tokens` mint from
    it a token that passes and one per failure mode, with the response each one gets.

    ``invalid_token`` and ``missing_scope`` say how the function refuses: ``401`` when it raises
    ``Unauthorized`` (API Gateway answers 401), ``403`` when it returns a ``Deny`` policy (an
    explicit deny; HTTP APIs: ``isAuthorized: false`` or a deny, 403 ``Forbidden``).
    """

    issuer: str | None = Field(default=None, description="the iss it requires (omitted: not checked)")
    audience: str = Field(description="the aud it requires")
    scopes: list[str] = Field(
        default_factory=list, description="the scopes it requires (the passing token has exactly these)"
    )
    algorithm: Literal["RS256", "HS256", "HS384", "HS512"] = Field(
        default="RS256", description="RS256: the issuer's JWKS, by kid; HS*: a shared secret"
    )
    secret_env: str | None = Field(
        default=None, description="HS*: the variable of the function's environment holding the secret"
    )
    invalid_token: Literal[401, 403] = 401
    missing_scope: Literal[401, 403] = 403

    @model_validator(mode="after")
    def _secret(self) -> AuthorizerExpectations:
        if self.algorithm.startswith("HS") and not self.secret_env:
            raise ValueError(
                f"algorithm {self.algorithm} needs secret_env (where the function reads the secret)"
            )
        if self.algorithm == "RS256" and self.secret_env:
            raise ValueError("secret_env applies to HS256/HS384/HS512 only")
        return self


class AuthorizerConfig(Model):
    """One authorizer.

    * REST APIs: ``type`` ``TOKEN`` / ``REQUEST`` (Lambda) or ``JWT`` (AWS's REST JWT authorizer with
      ``issuers``, ``allowed_algorithms``, ``required_claims``).
    * HTTP APIs: ``type`` ``JWT`` (``jwt_configuration``) or ``REQUEST`` (Lambda, payload 1.0 or 2.0,
      ``enable_simple_responses``).
    """

    type: Literal["TOKEN", "REQUEST", "JWT"]
    function: str | None = Field(default=None, description="Lambda function for TOKEN/REQUEST")
    identity_source: list[str] | None = Field(
        default=None,
        description="mapping expressions; a string is split on ','. Defaults to the Authorization header",
    )
    identity_validation_expression: str | None = None
    result_ttl: int | None = Field(
        default=None, ge=0, le=3600, description="authorizerResultTtlInSeconds (default 300)"
    )
    payload_format_version: Literal["1.0", "2.0"] | None = None
    enable_simple_responses: bool = False
    jwt_configuration: JwtConfiguration | None = None
    issuers: list[RestJwtIssuer] | None = None
    allowed_algorithms: list[str] | None = None
    required_claims: dict[str, Any] | list[str] | None = None
    jwks_uri: str | None = Field(default=None, description="HTTP JWT: skip OIDC discovery")
    expects: AuthorizerExpectations | None = Field(
        default=None, description="TOKEN/REQUEST: what the function requires of a token (for gatehold token)"
    )

    @field_validator("identity_source", mode="before")
    @classmethod
    def _split_sources(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [part.strip() for part in v.split(",") if part.strip()]
        return v

    @field_validator("allowed_algorithms")
    @classmethod
    def _no_none_alg(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for alg in v:
                if alg.lower() == "none":
                    raise ValueError("'none' can never be an allowed signing algorithm")
        return v

    @model_validator(mode="after")
    def _shape(self) -> AuthorizerConfig:
        if self.type in ("TOKEN", "REQUEST") and not self.function:
            raise ValueError(f"a {self.type} authorizer needs 'function'")
        if self.type == "TOKEN" and self.identity_source and len(self.identity_source) != 1:
            raise ValueError("a TOKEN authorizer has exactly one identity source (a header)")
        if self.type == "JWT" and not (self.jwt_configuration or self.issuers):
            raise ValueError("a JWT authorizer needs 'jwt_configuration' (HTTP API) or 'issuers' (REST API)")
        if self.type == "JWT" and self.expects is not None:
            raise ValueError("expects applies to Lambda authorizers (a JWT authorizer's checks are its own)")
        if self.enable_simple_responses and self.payload_format_version != "2.0":
            raise ValueError("enable_simple_responses needs payload_format_version '2.0'")
        return self


class CorsConfig(Model):
    """HTTP API CORS configuration (``allowOrigins`` …)."""

    allow_origins: list[str] = Field(default_factory=list)
    allow_methods: list[str] = Field(default_factory=list)
    allow_headers: list[str] = Field(default_factory=list)
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int | None = Field(default=None, ge=0, le=86400)
    allow_credentials: bool = False

    @field_validator("allow_origins")
    @classmethod
    def _origin_patterns(cls, v: list[str]) -> list[str]:
        for origin in v:
            validate_origin_pattern(origin)
        return v

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> CorsConfig:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError(
                "allow_credentials cannot be true with allow_origins '*'"
                " (API Gateway refuses this configuration)"
            )
        return self


class GatewayResponseConfig(Model):
    """REST gateway response customisation (``x-amazon-apigateway-gateway-responses``)."""

    status_code: int | None = Field(default=None, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict, description="static values or $context variables")
    template: str | None = Field(default=None, description="body; $context.error.messageString etc.")

    @field_validator("headers")
    @classmethod
    def _header_sources(cls, v: dict[str, str]) -> dict[str, str]:
        for value in v.values():
            parse_header_source(value)
        return v


class ApiConfig(Model):
    type: Literal["REST", "HTTP"]
    base_path: str | None = Field(default=None, description="API mapping; defaults to '/<api name>'")
    api_id: str | None = Field(default=None, description="defaults to a stable id derived from the name")
    description: str | None = None
    stages: dict[str, StageConfig] = Field(default_factory=lambda: {"$default": StageConfig()})
    routes: dict[str, RouteConfig]
    authorizers: dict[str, AuthorizerConfig] = Field(default_factory=dict)
    cors: CorsConfig | None = None
    binary_media_types: list[str] = Field(default_factory=list)
    api_key_source: Literal["HEADER", "AUTHORIZER"] = "HEADER"
    gateway_responses: dict[str, GatewayResponseConfig] = Field(default_factory=dict)
    disable_execute_api_endpoint: bool = False

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.startswith("/"):
            raise ValueError("base_path must start with '/'")
        return v.rstrip("/") or "/"

    @field_validator("gateway_responses")
    @classmethod
    def _response_types(cls, v: dict[str, GatewayResponseConfig]) -> dict[str, GatewayResponseConfig]:
        for response_type in v:
            if response_type not in GATEWAY_RESPONSE_TYPES:
                raise ValueError(f"unknown gateway response type {response_type!r}")
        return v

    @field_validator("routes")
    @classmethod
    def _route_keys(cls, v: dict[str, RouteConfig]) -> dict[str, RouteConfig]:
        for key in v:
            if key == "$default":
                continue
            m = _ROUTE_KEY.match(key)
            if not m:
                raise ValueError(
                    f"route key {key!r} must be 'METHOD /path' with METHOD one of ANY"
                    f" {' '.join(HTTP_METHODS)}, or '$default'"
                )
            segments = [s for s in m.group(2).split("/") if s]
            for i, seg in enumerate(segments):
                if not _PATH_PART.match(seg):
                    raise ValueError(f"route key {key!r}: bad path segment {seg!r}")
                if seg.endswith("+}") and i != len(segments) - 1:
                    raise ValueError(f"route key {key!r}: a greedy {seg} must be the last segment")
        return v


class UsagePlanConfig(Model):
    """REST usage plan: API keys, throttle and quota for a set of API stages."""

    api_stages: list[str] = Field(description="'<api name>/<stage>' entries")
    api_keys: list[str] = Field(default_factory=list, description="key values")
    throttling: ThrottleConfig | None = None
    quota: QuotaConfig | None = None


class QuotaConfig(Model):
    limit: int = Field(ge=0)
    period: Literal["DAY", "WEEK", "MONTH"]
    offset: int = 0

    @model_validator(mode="after")
    def _offset_range(self) -> QuotaConfig:
        top = {"DAY": 0, "WEEK": 6, "MONTH": 27}[self.period]
        if not 0 <= self.offset <= top:
            raise ValueError(f"a {self.period} quota's offset is between 0 and {top}")
        return self


class GatewaySettings(Model):
    """Process-wide gateway settings (account, region, defaults)."""

    account_id: str = Field(default="123456789012", pattern=r"^\d{12}$")
    region: str = "us-east-1"
    isolation: Literal["process", "in-process", "thread"] = Field(
        default="process",
        description="default Lambda isolation: process (each function in execution environments of"
        " its own, AWS's semantics) or in-process (trusted handlers: a crash there ends the gateway);"
        " see docs/runtime.md",
    )
    throttling: ThrottleConfig = Field(
        default_factory=lambda: ThrottleConfig(rate_limit=10000, burst_limit=5000),
        description="account-level default, as AWS's 10,000 rps / 5,000 burst",
    )
    debug_headers: bool = Field(
        default=False, description="add the authorizer decision trace as an x-gatehold-trace header"
    )
    explicit_deny_message: str = "User is not authorized to access this resource with an explicit deny"
    deny_message_key: Literal["Message", "message"] = "Message"
    usage_plans: dict[str, UsagePlanConfig] = Field(default_factory=dict)
    jwks_cache_ttl: int = Field(default=3600, ge=0, le=7200)
    jwks_min_refetch_interval: float = Field(default=10.0, ge=0)
    jwks_refetch: Literal["on-unknown-kid", "ttl-only"] = Field(
        default="on-unknown-kid",
        description="on-unknown-kid (AWS's REST JWT authorizer page: a token signed with a key not seen"
        " yet fetches the key set again, at most once per jwks_min_refetch_interval) or ttl-only (the key"
        " set is fetched again only once jwks_cache_ttl has passed: a rotated-in key is refused until"
        " then, as users report of HTTP APIs)",
    )
    clock_skew: int = Field(default=0, ge=0, le=300, description="JWT leeway in seconds (AWS: none)")
    upstreams: dict[str, str] = Field(
        default_factory=dict,
        description="URL prefix -> replacement, applied to http and http_proxy integration URIs at load"
        " (point an imported document's backend at a local service)",
    )

    @field_validator("upstreams")
    @classmethod
    def _upstream_urls(cls, v: dict[str, str]) -> dict[str, str]:
        for prefix, replacement in v.items():
            for url in (prefix, replacement):
                if not re.match(r"https?://[^/?#\s]+", url):
                    raise ValueError(f"upstreams: {url!r} must be an http:// or https:// URL")
        return v


# --------------------------------------------------------------------------------------------------
# tenant: the identity provider (Auth0's model)
# --------------------------------------------------------------------------------------------------


class PermissionConfig(Model):
    value: str
    description: str = ""


class ResourceServerConfig(Model):
    """An Auth0 API: ``identifier`` is the audience."""

    identifier: str
    name: str | None = None
    signing_alg: Literal["RS256", "HS256"] = "RS256"
    signing_secret: str | None = Field(default=None, description="HS256 only; at least 32 bytes")
    token_lifetime: int = Field(default=86400, ge=60, le=2592000)
    token_lifetime_for_web: int | None = Field(default=7200, ge=60, le=2592000)
    permissions: list[PermissionConfig | str] = Field(default_factory=list)
    enforce_policies: bool = Field(default=False, description="RBAC on/off")
    token_dialect: Literal["access_token", "access_token_authz"] = Field(
        default="access_token", description="'access_token_authz' adds the permissions claim"
    )
    allow_offline_access: bool = False
    skip_consent_for_verifiable_first_party_clients: bool = True

    @model_validator(mode="after")
    def _secret(self) -> ResourceServerConfig:
        if self.signing_alg == "HS256":
            if not self.signing_secret or len(self.signing_secret.encode()) < 32:
                raise ValueError("HS256 APIs need a signing_secret of at least 32 bytes (RFC 7518 §3.2)")
        elif self.signing_secret is not None:
            raise ValueError("signing_secret applies to HS256 APIs only")
        return self


class RefreshTokenConfig(Model):
    rotation_type: Literal["rotating", "non-rotating"] = "rotating"
    expiration_type: Literal["expiring", "non-expiring"] = "expiring"
    token_lifetime: int = Field(default=2592000, ge=60, description="absolute lifetime, seconds")
    idle_token_lifetime: int = Field(default=1296000, ge=60, description="inactivity lifetime, seconds")
    leeway: int = Field(default=0, ge=0, le=60, description="reuse interval, seconds")


class ApplicationConfig(Model):
    """An Auth0 application (client)."""

    name: str | None = None
    app_type: Literal["spa", "regular_web", "non_interactive", "native"]
    client_secret: str | None = Field(default=None, description="confidential clients; stored hashed")
    callbacks: list[str] = Field(default_factory=list)
    allowed_logout_urls: list[str] = Field(default_factory=list)
    web_origins: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    grant_types: (
        list[Literal["authorization_code", "refresh_token", "client_credentials", "implicit"]] | None
    ) = None
    refresh_token: RefreshTokenConfig = Field(default_factory=RefreshTokenConfig)
    id_token_lifetime: int = Field(default=36000, ge=60)
    connections: list[str] | None = Field(default=None, description="enabled connections (default all)")

    @model_validator(mode="after")
    def _secret_by_type(self) -> ApplicationConfig:
        if self.app_type in ("spa", "native") and self.client_secret:
            raise ValueError(f"{self.app_type} applications are public clients and have no client_secret")
        if self.app_type in ("regular_web", "non_interactive") and not self.client_secret:
            raise ValueError(f"{self.app_type} applications need a client_secret")
        return self


class ClientGrantConfig(Model):
    client_id: str
    audience: str
    scope: list[str] = Field(default_factory=list)


class ConnectionConfig(Model):
    name: str
    strategy: Literal["auth0", "oauth2", "social"] = "auth0"
    display_name: str | None = None


class RoleConfig(Model):
    description: str = ""
    permissions: dict[str, list[str]] = Field(
        default_factory=dict, description="API identifier -> permission values"
    )


class UserConfig(Model):
    email: str
    password: str
    connection: str = "Username-Password-Authentication"
    name: str | None = None
    email_verified: bool = True
    roles: list[str] = Field(default_factory=list)
    app_metadata: dict[str, Any] = Field(default_factory=dict)
    user_metadata: dict[str, Any] = Field(default_factory=dict)
    blocked: bool = False


class HooksConfig(Model):
    """Python callables ``module.function`` run like Auth0 Actions."""

    post_login: list[str] = Field(default_factory=list)
    credentials_exchange: list[str] = Field(default_factory=list)
    code_path: str | None = None


class TenantConfig(Model):
    name: str = "gatehold"
    friendly_name: str | None = None
    session_lifetime: int = Field(default=259200, ge=60, description="login session, seconds")
    idle_session_lifetime: int = Field(default=86400, ge=60)
    authorization_code_lifetime: int = Field(default=60, ge=5, le=600)
    apis: list[ResourceServerConfig] = Field(default_factory=list)
    applications: dict[str, ApplicationConfig] = Field(default_factory=dict)
    client_grants: list[ClientGrantConfig] = Field(default_factory=list)
    connections: list[ConnectionConfig] = Field(
        default_factory=lambda: [ConnectionConfig(name="Username-Password-Authentication")]
    )
    roles: dict[str, RoleConfig] = Field(default_factory=dict)
    users: list[UserConfig] = Field(default_factory=list)
    hooks: HooksConfig = Field(default_factory=HooksConfig)


# --------------------------------------------------------------------------------------------------
# tables: DynamoDB tables for the handlers (docs/dynamodb.md)
# --------------------------------------------------------------------------------------------------

#: DynamoDB's rules for table and index names (CreateTable: 3-255 of a-z A-Z 0-9 _ - .)
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
#: the most indexes DynamoDB lets a table have
MAX_GLOBAL_INDEXES = 20
MAX_LOCAL_INDEXES = 5


class KeyAttributeConfig(Model):
    """A key attribute: its name and its scalar type (``S`` string, ``N`` number, ``B`` binary).
    Written ``{name: id, type: S}``, or just ``id`` for a string key."""

    name: str = Field(min_length=1, max_length=255)
    type: Literal["S", "N", "B"] = "S"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


#: an index's projection: ALL, KEYS_ONLY, or the non-key attributes it includes (INCLUDE)
Projection = Literal["ALL", "KEYS_ONLY"] | list[str]


def _check_projection(projection: Any) -> Any:
    """One clear message for a projection that is none of its three shapes."""
    if isinstance(projection, list):
        if not projection or len(projection) > 100 or not all(isinstance(a, str) for a in projection):
            raise ValueError("an INCLUDE projection lists 1 to 100 non-key attribute names")
        if len(set(projection)) != len(projection):
            raise ValueError("a projection lists an attribute twice")
    elif projection not in ("ALL", "KEYS_ONLY"):
        raise ValueError("projection is ALL, KEYS_ONLY or a list of non-key attributes (INCLUDE)")
    return projection


class GlobalIndexConfig(Model):
    """A global secondary index: a key of its own, any attributes of the table's items."""

    partition_key: KeyAttributeConfig
    sort_key: KeyAttributeConfig | None = None
    projection: Projection = Field(
        default="ALL", description="ALL, KEYS_ONLY, or the list of non-key attributes (INCLUDE)"
    )

    @field_validator("projection", mode="before")
    @classmethod
    def _projection(cls, v: Any) -> Any:
        return _check_projection(v)


class LocalIndexConfig(Model):
    """A local secondary index: the table's partition key with another sort key."""

    sort_key: KeyAttributeConfig
    projection: Projection = Field(
        default="ALL", description="ALL, KEYS_ONLY, or the list of non-key attributes (INCLUDE)"
    )

    @field_validator("projection", mode="before")
    @classmethod
    def _projection(cls, v: Any) -> Any:
        return _check_projection(v)


class TableConfig(Model):
    """A DynamoDB table, keyed by its name under ``tables:``; created by ``gatehold up`` in the local
    DynamoDB endpoint every function reaches (docs/dynamodb.md)."""

    partition_key: KeyAttributeConfig = Field(description="the hash key (KeySchema HASH)")
    sort_key: KeyAttributeConfig | None = Field(default=None, description="the range key (KeySchema RANGE)")
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = Field(
        default="PAY_PER_REQUEST", description="accepted; no local effect (nothing is throttled or billed)"
    )
    global_secondary_indexes: dict[str, GlobalIndexConfig] = Field(default_factory=dict)
    local_secondary_indexes: dict[str, LocalIndexConfig] = Field(default_factory=dict)
    time_to_live: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="the TTL attribute; accepted, expired items are not deleted locally (AWS deletes"
        " them within days, with no deadline)",
    )

    @model_validator(mode="after")
    def _indexes(self) -> TableConfig:
        if len(self.global_secondary_indexes) > MAX_GLOBAL_INDEXES:
            raise ValueError(f"a table has at most {MAX_GLOBAL_INDEXES} global secondary indexes")
        if len(self.local_secondary_indexes) > MAX_LOCAL_INDEXES:
            raise ValueError(f"a table has at most {MAX_LOCAL_INDEXES} local secondary indexes")
        if self.local_secondary_indexes and self.sort_key is None:
            raise ValueError("local secondary indexes need a table with a sort_key (DynamoDB refuses them)")
        names = [*self.global_secondary_indexes, *self.local_secondary_indexes]
        for name in names:
            if not _TABLE_NAME.fullmatch(name):
                raise ValueError(f"index name {name!r} must be 3-255 characters of a-z A-Z 0-9 _ - .")
        if len(set(names)) != len(names):
            raise ValueError("a global and a local secondary index have the same name")
        types: dict[str, str] = {}
        for key in self.key_attributes():
            if types.setdefault(key.name, key.type) != key.type:
                raise ValueError(
                    f"attribute {key.name!r} is a key of type {types[key.name]} and of type {key.type}"
                )
        for name, lsi in self.local_secondary_indexes.items():
            if lsi.sort_key.name == (self.sort_key.name if self.sort_key else None):
                raise ValueError(f"local index {name!r} has the table's own sort key")
        return self

    def key_attributes(self) -> list[KeyAttributeConfig]:
        """Every key attribute of the table and its indexes (AttributeDefinitions), table first."""
        keys = [self.partition_key, *([self.sort_key] if self.sort_key else [])]
        for gsi in self.global_secondary_indexes.values():
            keys += [gsi.partition_key, *([gsi.sort_key] if gsi.sort_key else [])]
        keys += [lsi.sort_key for lsi in self.local_secondary_indexes.values()]
        return keys


# --------------------------------------------------------------------------------------------------
# the file
# --------------------------------------------------------------------------------------------------


class SpaConfig(Model):
    """The demo single-page app: served by ``gatehold up`` only when this section is present."""

    client_id: str = Field(description="a tenant application of app_type spa")


class ImportConfig(Model):
    """A SAM or CloudFormation template, an OpenAPI or Swagger document or a serverless.yml whose APIs
    and functions join this file's (docs/importing.md)."""

    path: str = Field(description="relative to this file")
    format: Literal["auto", "sam", "cloudformation", "openapi", "serverless"] = "auto"
    parameter_overrides: dict[str, str] = Field(
        default_factory=dict, description="template Parameters, as sam local start-api --parameter-overrides"
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="source key paths (glob patterns) to accept without local effect instead of refusing",
    )
    issuer_aliases: list[str] = Field(
        default_factory=list, description="issuers (glob patterns) served by the local identity provider"
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        description="values for what cannot be resolved locally, by reference ('ssm:/path', 'cf:stack.out')",
    )
    stage: str | None = Field(
        default=None, description="serverless.yml: --stage; OpenAPI: the stage to serve the API on"
    )
    api_name: str | None = Field(default=None, description="OpenAPI: the API's name (default: info.title)")
    base_path: str | None = Field(default=None, description="OpenAPI: the API mapping")
    expects: dict[str, AuthorizerExpectations] = Field(
        default_factory=dict,
        description="Lambda authorizers' expects, by authorizer name (or Api.Authorizer), for gatehold token",
    )


class GateholdConfig(Model):
    functions: dict[str, FunctionConfig] = Field(default_factory=dict)
    apis: dict[str, ApiConfig] = Field(default_factory=dict)
    tenant: TenantConfig = Field(default_factory=TenantConfig)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    spa: SpaConfig | None = None
    imports: list[ImportConfig] = Field(default_factory=list)
    tables: dict[str, TableConfig] = Field(
        default_factory=dict, description="DynamoDB tables, by name: gatehold up serves them to the handlers"
    )

    @field_validator("tables")
    @classmethod
    def _table_names(cls, v: dict[str, TableConfig]) -> dict[str, TableConfig]:
        for name in v:
            if not _TABLE_NAME.fullmatch(name):
                raise ValueError(f"table name {name!r} must be 3-255 characters of a-z A-Z 0-9 _ - .")
        return v


UsagePlanConfig.model_rebuild()
