"""The typed values that travel down the request pipeline.

``GatewayRequest`` (what came in) → ``RouteMatch`` (which API, stage and route) →
``AuthorizerOutcome`` (who the caller is) → integration → ``GatewayResponse`` (what goes out).
Every pipeline step takes and returns these; none of them does IO itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gatehold import clock as shared_clock
from gatehold.config.models import ApiConfig, RouteConfig, StageConfig

ApiType = Literal["REST", "HTTP"]


@dataclass(slots=True)
class GatewayRequest:
    """One HTTP request as the gateway received it, below the API's base path.

    ``path`` is the path after the API mapping's base path, percent-encoding kept, e.g. for
    ``GET /petstore/test/pets/1`` on base path ``/petstore`` it is ``/test/pets/1``.
    ``headers`` keep the client's casing and order (duplicates kept).
    """

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    request_id: str = ""
    # the stack's clock (gatehold.clock.wall: time.time itself unless --test-clock)
    time_epoch_ms: int = field(default_factory=lambda: int(shared_clock.wall() * 1000))
    host: str = "localhost"
    scheme: str = "http"
    server_port: int = 80
    api_key: str | None = None  # set by the usage-plan step: identity.apiKey / apiKeyId in events
    # the lowercase view of ``headers`` that HTTP API events and header identity sources read, built
    # once per request by gatehold.gateway.events.header_view (not a constructor argument)
    header_view: Any = field(default=None, init=False, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        lname = name.lower()
        value = None
        for k, v in self.headers:
            if k.lower() == lname:
                value = v
        return value


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    """A REST method or an HTTP API route.

    ``route_key`` is ``"GET /pets/{petId}"`` or ``"$default"``; ``resource_path`` is the resource
    template (``"/pets/{petId}"``, ``"/{proxy+}"``, ``"/"``; ``"$default"`` for the default route).
    """

    api_name: str
    route_key: str
    method: str  # concrete verb, or "ANY"
    resource_path: str
    resource_id: str
    config: RouteConfig


@dataclass(frozen=True, slots=True)
class CompiledApi:
    name: str
    api_id: str
    type: ApiType
    base_path: str
    config: ApiConfig


@dataclass(slots=True)
class RouteMatch:
    """The outcome of routing: API, stage and route, and the path values that matched.

    ``path`` is the request path without the stage (REST ``path``, trailing slash kept);
    ``stage_path`` is the path with the stage prefix as AWS reports it (REST
    ``requestContext.path``, HTTP ``rawPath``: with the stage for a named stage, without it for
    ``$default``).
    """

    api: CompiledApi
    stage_name: str
    stage: StageConfig
    route: CompiledRoute
    path: str
    stage_path: str
    path_parameters: dict[str, str] | None

    def method_arn(self, method: str, *, region: str, account_id: str) -> str:
        """``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}``
        (docs/aws-reference.md §1.3).

        The path is the actual request path, parameters substituted, without its leading slash;
        the root resource ends in ``/``. HTTP API ``$default`` routes use ``$default`` as the path.
        """
        if self.route.route_key == "$default":
            resource = "$default"
            verb = method
        else:
            resource = self.path.lstrip("/")
            if resource.endswith("/"):
                resource = resource.rstrip("/")
            verb = method
        return (
            f"arn:aws:execute-api:{region}:{account_id}:{self.api.api_id}/{self.stage_name}/{verb}/{resource}"
        )


@dataclass(slots=True)
class AuthorizerOutcome:
    """Who the caller is, as an authorizer established it. Shaped into events by gatehold.gateway.events.

    * ``kind == "jwt"``: ``claims`` (raw JSON values) and ``scopes`` (the token's scopes when the
      route has authorization scopes, else None).
    * ``kind == "lambda"``: ``principal_id``, ``context`` (raw JSON values as the authorizer returned
      them), ``usage_identifier_key``, ``integration_latency_ms`` (0 on a cache hit).
    """

    kind: Literal["jwt", "lambda"]
    principal_id: str | None = None
    context: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    scopes: list[str] | None = None
    usage_identifier_key: str | None = None
    integration_latency_ms: int = 0
    # jwt: ``claims`` stringified as HTTP APIs pass them on (§3.3), when the authorizer computed them
    # once per verified token; None means gatehold.gateway.events derives them from ``claims``
    event_claims: dict[str, str] | None = None
    # jwt: a REST API's JWT authorizer passes each claim on with its JSON type (a Lambda proxy event)
    # or as JSON text (access logs), not stringified as HTTP APIs do (DG "Pass JWT claims to your
    # integration")
    claims_json: bool = False


_SCALARS = (str, int, float, bool)


@dataclass(slots=True)
class TraceStep:
    step: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DecisionTrace:
    """Why the gateway decided what it did: logged as JSON, optionally sent as a header.

    ``evidence`` holds what a step had in hand that ``gatehold explain`` shows and the log line does
    not (the cached entry, the function's result, the identity values, the time checked against),
    as references, never copied or rendered on the request path (:mod:`gatehold.gateway.explain`).
    """

    steps: list[TraceStep] = field(default_factory=list)
    evidence: dict[str, Any] | None = None

    def add(self, step: str, outcome: str, **detail: Any) -> None:
        self.steps.append(TraceStep(step, outcome, detail))

    def note(self, **evidence: Any) -> None:
        """Keep ``evidence`` for ``gatehold explain`` (not logged, not in :meth:`summary`)."""
        if self.evidence is None:
            self.evidence = evidence
        else:
            self.evidence.update(evidence)

    def as_list(self) -> list[dict[str, Any]]:
        return [{"step": s.step, "outcome": s.outcome, **s.detail} for s in self.steps]

    def summary(self) -> str:
        """One line for a response header: ``step=outcome;step=outcome(detail=…)``."""
        parts = []
        for s in self.steps:
            # a list and a tuple of types: on every request's log line, cheaper than a generator
            # and a ``str | int`` union
            extra = ",".join([f"{k}={v}" for k, v in s.detail.items() if isinstance(v, _SCALARS)])
            parts.append(f"{s.step}={s.outcome}({extra})" if extra else f"{s.step}={s.outcome}")
        return "; ".join(parts)


@dataclass(slots=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
