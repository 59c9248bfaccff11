"""HTTP API CORS, answered by the gateway (docs/aws-reference.md §4.4, §7.9).

* Preflight — ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method`` — is answered 204
  before any authorizer or integration runs, "even if there isn't an OPTIONS route configured".
  Precedence (§7.9, our reading of the two documented sentences): the gateway answers every
  preflight **unless the request resolves to the ``$default`` route**, which "catches requests for
  all methods … including OPTIONS requests" and is routed normally, authorizer included (add an
  ``OPTIONS /{proxy+}`` route without authorization to let preflights through, as AWS advises).
* Every other response — integration responses and gateway errors alike — gets the configured
  ``Access-Control-Allow-Origin`` / ``-Allow-Credentials`` / ``-Expose-Headers`` when the request
  carries an allowed ``Origin``; CORS headers returned by the backend are dropped ("API Gateway
  ignores CORS headers returned from your backend integration").
* Origins: exact (``https://app.example.com``), ``*`` (all; answered ``*``), ``https://*`` /
  ``http://*`` (any origin of that scheme; the origin is echoed with ``Vary: Origin``).
  ``allow_credentials`` with ``*`` is refused when the configuration is loaded.
* ``allow_methods`` / ``allow_headers`` containing ``*`` echo the preflight's requested method /
  headers (a literal ``*`` would not cover ``Authorization`` in browsers, Fetch §3.2.5).

REST APIs have no CORS configuration: CORS is an ``OPTIONS`` mock method plus headers returned by
integrations and gateway responses, exactly as the user configures them (§4.4 last bullet).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from gatehold.config.expressions import SCHEME_WILDCARDS, validate_origin_pattern
from gatehold.config.models import CorsConfig
from gatehold.errors import GatewayError
from gatehold.gateway.model import GatewayRequest, GatewayResponse, RouteMatch


class Router(Protocol):
    def match(self, method: str, path: str) -> RouteMatch: ...


class HasHeaders(Protocol):
    headers: list[tuple[str, str]]


_R = TypeVar("_R", bound=HasHeaders)


class CorsHandler:
    """One API's CORS configuration, compiled: :meth:`preflight` then :meth:`apply`."""

    def __init__(self, cors: CorsConfig) -> None:
        for origin in cors.allow_origins:
            validate_origin_pattern(origin)
        self.config = cors
        self._any_origin = "*" in cors.allow_origins
        self._schemes = tuple(o[: -len("*")] for o in cors.allow_origins if o in SCHEME_WILDCARDS)
        self._exact = frozenset(o.lower() for o in cors.allow_origins if "*" not in o)
        self._credentials = "true" if cors.allow_credentials else None
        self._expose = ",".join(cors.expose_headers) or None
        self._methods_any = "*" in cors.allow_methods
        self._methods = ",".join(m.upper() for m in cors.allow_methods) or None
        self._headers_any = "*" in cors.allow_headers
        self._headers = ",".join(h.lower() for h in cors.allow_headers) or None
        self._max_age = str(cors.max_age) if cors.max_age is not None else None

    def allow_origin(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``origin``, or None when not allowed."""
        if self._any_origin:
            return "*"
        lowered = origin.lower()
        if lowered in self._exact or lowered.startswith(self._schemes):
            return origin
        return None

    @staticmethod
    def is_preflight(request: GatewayRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and request.header("origin") is not None
            and request.header("access-control-request-method") is not None
        )

    def preflight(self, request: GatewayRequest, router: Router | None = None) -> GatewayResponse | None:
        """The 204 answer to a CORS preflight, or None when the request is not one the gateway answers.

        With ``router``, a preflight that routes to ``$default`` is left to the pipeline (module
        docstring); a preflight that matches no route at all is still answered.
        """
        if not self.is_preflight(request):
            return None
        if router is not None and self._routes_to_default(request, router):
            return None
        headers: list[tuple[str, str]] = []
        origin = request.header("origin") or ""
        allowed = self.allow_origin(origin)
        if allowed is not None:
            headers.append(("Access-Control-Allow-Origin", allowed))
            if allowed != "*":
                headers.append(("Vary", "Origin"))
            if self._credentials:
                headers.append(("Access-Control-Allow-Credentials", self._credentials))
            if self._methods_any:
                requested = (request.header("access-control-request-method") or "").strip()
                headers.append(("Access-Control-Allow-Methods", requested or "*"))
            elif self._methods:
                headers.append(("Access-Control-Allow-Methods", self._methods))
            if self._headers_any:
                requested_headers = (request.header("access-control-request-headers") or "").strip()
                headers.append(("Access-Control-Allow-Headers", requested_headers or "*"))
            elif self._headers:
                headers.append(("Access-Control-Allow-Headers", self._headers))
            if self._max_age is not None:
                headers.append(("Access-Control-Max-Age", self._max_age))
        return GatewayResponse(204, headers, b"")

    @staticmethod
    def _routes_to_default(request: GatewayRequest, router: Router) -> bool:
        try:
            return router.match(request.method, request.path).route.route_key == "$default"
        except GatewayError:
            return False

    def apply(self, request: GatewayRequest, response: _R) -> _R:
        """Replace the response's CORS headers with the configured ones (in place; returned)."""
        kept = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        origin = request.header("origin")
        allowed = self.allow_origin(origin) if origin is not None else None
        if allowed is not None:
            kept.append(("Access-Control-Allow-Origin", allowed))
            if allowed != "*" and not any(k.lower() == "vary" for k, _ in kept):
                kept.append(("Vary", "Origin"))
            if self._credentials:
                kept.append(("Access-Control-Allow-Credentials", self._credentials))
            if self._expose:
                kept.append(("Access-Control-Expose-Headers", self._expose))
        response.headers[:] = kept
        return response
