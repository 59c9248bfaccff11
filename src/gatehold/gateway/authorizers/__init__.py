"""Authorizers, exactly as API Gateway runs them, each explaining its decision in the trace.

``build_authorizers(loaded, invoker, http_client)`` compiles every ``apis.*.authorizers`` entry once
(identity sources parsed, regexes compiled, JWKS caches shared per issuer) and refuses configuration
it cannot honour with a file:line:key message. The gateway pipeline then calls, for every request::

    outcome = await authorizers.authorize(request, match, trace)   # None: the route is open

which returns the caller's identity or raises :class:`~gatehold.errors.GatewayError` (401 / 403 / 500
with AWS's bytes).

================  ===========================  ==============================================
config ``type``   API                          module
================  ===========================  ==============================================
TOKEN, REQUEST    REST                         :mod:`.lambda_` (IAM policy, result cache)
REQUEST           HTTP (payload 1.0 / 2.0)     :mod:`.lambda_` (policy or simple responses)
JWT               HTTP (``jwt_configuration``)  :mod:`.jwt_http`
JWT               REST (``issuers``)           :mod:`.jwt_rest`
================  ===========================  ==============================================
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, cast

import httpx

from gatehold import clock as shared_clock
from gatehold.config.loader import ConfigError, ConfigProblem, LoadedConfig
from gatehold.config.models import ApiConfig, AuthorizerConfig, GatewaySettings
from gatehold.gateway.authorizers.identity import IdentitySource, parse_identity_source
from gatehold.gateway.authorizers.jwt_http import HTTP_JWT_ALGORITHMS, HttpJwtAuthorizer
from gatehold.gateway.authorizers.jwt_rest import RestJwtAuthorizer
from gatehold.gateway.authorizers.lambda_ import LambdaAuthorizer
from gatehold.gateway.model import AuthorizerOutcome, DecisionTrace, GatewayRequest, RouteMatch
from gatehold.jose import ClaimsExpectations, JwksKeySource, JwtVerifier
from gatehold.jose.keys import ASYMMETRIC_ALGORITHMS
from gatehold.runtime.contract import Invoker

__all__ = ["Authorizer", "AuthorizerSet", "build_authorizers", "check_authorizers"]


class Authorizer(Protocol):
    name: str

    async def authorize(
        self, request: GatewayRequest, match: RouteMatch, trace: DecisionTrace
    ) -> AuthorizerOutcome: ...


class AuthorizerSet:
    def __init__(
        self, authorizers: dict[tuple[str, str], Authorizer], jwks: dict[tuple[object, ...], JwksKeySource]
    ):
        self.authorizers = authorizers
        self.jwks_sources = jwks

    def get(self, api_name: str, authorizer_name: str) -> Authorizer:
        return self.authorizers[(api_name, authorizer_name)]

    async def authorize(
        self, request: GatewayRequest, match: RouteMatch, trace: DecisionTrace
    ) -> AuthorizerOutcome | None:
        name = match.route.config.authorizer
        if name is None:
            return None
        return await self.authorizers[(match.api.name, name)].authorize(request, match, trace)


def _sources(api: ApiConfig, auth: AuthorizerConfig) -> list[IdentitySource]:
    default = "method.request.header.Authorization" if api.type == "REST" else "$request.header.Authorization"
    expressions = auth.identity_source if auth.identity_source is not None else [default]
    return [parse_identity_source(e, api.type) for e in expressions]


class _Builder:
    def __init__(
        self,
        settings: GatewaySettings,
        invoker: Invoker,
        http_client: httpx.AsyncClient,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.invoker = invoker
        self.http = http_client
        self.clock = clock
        self.wall_clock = wall_clock
        self.jwks: dict[tuple[object, ...], JwksKeySource] = {}

    def key_source(self, issuer: str, jwks_uri: str | None, algorithms: tuple[str, ...]) -> JwksKeySource:
        key = (issuer, jwks_uri, algorithms)
        if key not in self.jwks:
            self.jwks[key] = JwksKeySource(
                self.http,
                issuer=issuer,
                jwks_uri=jwks_uri,
                allowed_algorithms=algorithms,
                ttl=self.settings.jwks_cache_ttl,
                min_refetch_interval=self.settings.jwks_min_refetch_interval,
                refetch_on_unknown_kid=self.settings.jwks_refetch == "on-unknown-kid",
                clock=self.clock,
            )
        return self.jwks[key]

    def verifier(
        self, issuer: str, audiences: list[str], jwks_uri: str | None, algs: tuple[str, ...]
    ) -> JwtVerifier:
        expected = ClaimsExpectations(issuer, frozenset(audiences), leeway=float(self.settings.clock_skew))
        return JwtVerifier(self.key_source(issuer, jwks_uri, algs), expected, clock=self.wall_clock)

    def build(self, api_name: str, api: ApiConfig, name: str, auth: AuthorizerConfig) -> Authorizer:
        sources = _sources(api, auth)
        if auth.type in ("TOKEN", "REQUEST"):
            return self.lambda_authorizer(api_name, api, name, auth, sources)
        if len(sources) != 1 or sources[0].part not in ("header", "querystring"):
            raise ValueError("a JWT authorizer has exactly one identity source, a header or query string")
        if auth.identity_validation_expression is not None:
            raise ValueError("identity_validation_expression applies to TOKEN authorizers only")
        account_id = self.settings.account_id
        if api.type == "HTTP":
            assert auth.jwt_configuration is not None
            if auth.allowed_algorithms is not None and not set(auth.allowed_algorithms) <= set(
                HTTP_JWT_ALGORITHMS
            ):
                raise ValueError("HTTP API JWT authorizers support only RSA algorithms (RS256, RS384, RS512)")
            algs = tuple(auth.allowed_algorithms or HTTP_JWT_ALGORITHMS)
            jwt = auth.jwt_configuration
            verifier = self.verifier(jwt.issuer, jwt.audience, auth.jwks_uri, algs)
            return HttpJwtAuthorizer(
                name=name, identity_source=sources[0], verifier=verifier, account_id=account_id
            )
        assert auth.issuers is not None
        algs = tuple(auth.allowed_algorithms or ("RS256",))
        for alg in algs:
            if alg not in ASYMMETRIC_ALGORITHMS:
                raise ValueError(
                    f"allowed_algorithms: {alg!r} is not supported "
                    f"(one of {', '.join(ASYMMETRIC_ALGORITHMS)}); "
                    "keys come from the issuer's JWKS, which never holds shared secrets"
                )
        verifiers: dict[str, JwtVerifier] = {}
        for entry in auth.issuers:
            if entry.issuer in verifiers:
                raise ValueError(f"issuer {entry.issuer!r} is listed twice")
            verifiers[entry.issuer] = self.verifier(entry.issuer, entry.audiences, entry.jwks_uri, algs)
        return RestJwtAuthorizer(
            name=name,
            identity_source=sources[0],
            verifiers=verifiers,
            required_claims=auth.required_claims,
            account_id=account_id,
        )

    def lambda_authorizer(
        self, api_name: str, api: ApiConfig, name: str, auth: AuthorizerConfig, sources: list[IdentitySource]
    ) -> LambdaAuthorizer:
        if auth.type == "TOKEN" and (len(sources) != 1 or sources[0].part != "header"):
            raise ValueError("a TOKEN authorizer's identity source is one header: method.request.header.NAME")
        validation = None
        if auth.identity_validation_expression is not None:
            if auth.type != "TOKEN":
                raise ValueError(
                    "identity_validation_expression applies to TOKEN authorizers only (as on AWS)"
                )
            try:
                validation = re.compile(auth.identity_validation_expression)
            except re.error as exc:
                raise ValueError(f"identity_validation_expression is not a valid regex: {exc}") from None
        ttl = auth.result_ttl if auth.result_ttl is not None else 300
        if ttl > 0 and not sources:
            raise ValueError("result caching (result_ttl > 0) needs at least one identity source")
        if auth.allowed_algorithms or auth.issuers or auth.jwt_configuration or auth.required_claims:
            raise ValueError("JWT settings apply to JWT authorizers only")
        for key, route in api.routes.items():
            if route.authorizer == name and route.authorization_scopes:
                raise ValueError(f"route {key!r}: authorization_scopes apply to JWT authorizers only")
        return LambdaAuthorizer(
            name=name,
            api_name=api_name,
            api_type=api.type,
            config=auth,
            identity_sources=sources,
            validation=validation,
            invoker=self.invoker,
            settings=self.settings,
            clock=self.clock,
        )


def build_authorizers(
    loaded: LoadedConfig,
    invoker: Invoker,
    http_client: httpx.AsyncClient,
    *,
    clock: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> AuthorizerSet:
    """Compile every authorizer of every API; :class:`ConfigError` lists all that cannot be honoured.

    ``clock`` drives cache TTLs and JWKS refetch intervals, ``wall_clock`` the token time claims; by
    default this process's (:mod:`gatehold.clock`: the system's, or the stack's ``--test-clock``).
    """
    config = loaded.config
    builder = _Builder(
        config.gateway,
        invoker,
        http_client,
        clock if clock is not None else shared_clock.mono,
        wall_clock if wall_clock is not None else shared_clock.wall,
    )
    authorizers: dict[tuple[str, str], Authorizer] = {}
    problems: list[ConfigProblem] = []
    for api_name, api in config.apis.items():
        for name, auth in api.authorizers.items():
            try:
                authorizers[(api_name, name)] = builder.build(api_name, api, name, auth)
            except ValueError as exc:
                # where the user wrote it: gatehold.yaml's key, or the template's property
                problems.append(loaded.problem(("apis", api_name, "authorizers", name), str(exc)))
    if problems:
        raise ConfigError(problems)
    return AuthorizerSet(authorizers, builder.jwks)


class _NoInvoker:
    async def invoke(
        self, function_name: str, event: Any, *, request_id: str, deadline_s: float | None = None
    ) -> Any:
        raise RuntimeError("check_authorizers never invokes")

    async def aclose(self) -> None:
        pass


def check_authorizers(loaded: LoadedConfig) -> None:
    """Refuse authorizer configuration the gateway cannot honour, without any IO (for ``gatehold
    check``): raises the same :class:`ConfigError` as :func:`build_authorizers`."""
    build_authorizers(loaded, _NoInvoker(), cast(httpx.AsyncClient, None))
