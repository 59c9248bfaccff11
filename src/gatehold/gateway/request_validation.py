"""REST request validation (``x-amazon-apigateway-request-validator``), compiled once per route.

AWS developer guide, ``api-gateway-method-request-validation``: API Gateway checks, "before
proceeding with the integration request",

* that "the required request parameters in the URI, query string, and headers of an incoming
  request are included and not blank" (existence only, no type or format) → 400
  ``BAD_REQUEST_PARAMETERS`` ``{"message":"Missing required request parameters: [a, b]"}``;
* that "the applicable request payload adheres to the configured JSON schema request of the method
  for a given content type. If no matching content type is found, request validation is not
  performed. To use the same model regardless of the content type, set the content type … to
  ``$default``" → 400 ``BAD_REQUEST_BODY`` ``{"message":"Invalid request body"}``. A body that is
  not JSON (an empty one included) fails: "Request body does not match model schema for content
  type application/json: [Unknown error parsing request body]" (console test transcripts).

Where in the pipeline: after the authorizer and the API key check, before the integration. AWS
documents only "before … the integration request"; the authorizer first is what LocalStack's
handler chain does (route → authorizer → API key → method request → integration) and what the
execution logs show (the authorizer's lines come before the method request's): [EMU], UNVERIFIED
against AWS itself. The missing names are listed in the order of their mapping expressions
(``method.request.header.*`` before ``path`` before ``querystring``, each alphabetical), as
LocalStack sorts them [EMU]; parameters are checked before the body.

Schemas are JSON Schema draft 4 (the draft API Gateway models use), validated with
:mod:`jsonschema`'s :class:`~jsonschema.Draft4Validator`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import parse_qsl

from jsonschema import Draft4Validator

from gatehold.config.models import ApiConfig, RequestValidationConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.model import GatewayRequest, RouteMatch

__all__ = ["RequestValidator", "build_request_validators"]


class RequestValidator:
    """One route's checks: ``validate(request, match)`` returns, or raises AWS's 400."""

    __slots__ = ("_headers", "_paths", "_queries", "_schemas")

    def __init__(self, config: RequestValidationConfig) -> None:
        self._headers: list[str] = []
        self._paths: list[str] = []
        self._queries: list[str] = []
        for expression in sorted(config.required_parameters):
            _, _, part, name = expression.split(".", 3)
            {"header": self._headers, "path": self._paths, "querystring": self._queries}[part].append(name)
        self._schemas: dict[str, Draft4Validator] = {
            content_type.lower(): Draft4Validator(schema)
            for content_type, schema in config.body_schemas.items()
        }

    def validate(self, request: GatewayRequest, match: RouteMatch) -> None:
        missing = self.missing_parameters(request, match)
        if missing:
            raise GatewayError(
                GatewayResponseType.BAD_REQUEST_PARAMETERS,
                message=f"Missing required request parameters: [{', '.join(missing)}]",
                reason="request validation: parameters",
            )
        validator = self._schema_for(request.header("content-type"))
        if validator is not None and not _body_matches(validator, request.body):
            raise GatewayError(GatewayResponseType.BAD_REQUEST_BODY, reason="request validation: body")

    def missing_parameters(self, request: GatewayRequest, match: RouteMatch) -> list[str]:
        """The required parameters that are absent or blank, in AWS's order."""
        missing: list[str] = []
        for name in self._headers:
            if not (request.header(name) or "").strip():
                missing.append(name)
        params = match.path_parameters or {}
        missing.extend(name for name in self._paths if not params.get(name, "").strip())
        if self._queries:
            present = {k for k, v in parse_qsl(request.query_string, keep_blank_values=True) if v.strip()}
            missing.extend(name for name in self._queries if name not in present)
        return missing

    def _schema_for(self, content_type: str | None) -> Draft4Validator | None:
        if not self._schemas:
            return None
        media = (content_type or "").split(";", 1)[0].strip().lower()
        return self._schemas.get(media) or self._schemas.get("$default")


def _body_matches(validator: Draft4Validator, body: bytes) -> bool:
    try:
        instance = json.loads(body)
    except ValueError:  # empty or not JSON: "Unknown error parsing request body"
        return False
    return bool(validator.is_valid(instance))


def build_request_validators(apis: Mapping[str, ApiConfig]) -> dict[tuple[str, str], RequestValidator] | None:
    """``(api name, route key) → validator`` for every route that validates; None when none does
    (the pipeline then skips the step). Route keys are normalised as the router writes them."""
    out: dict[tuple[str, str], RequestValidator] = {}
    for api_name, api in apis.items():
        for key, route in api.routes.items():
            if route.request_validation is not None:
                out[(api_name, _normalised(key))] = RequestValidator(route.request_validation)
    return out or None


def _normalised(route_key: str) -> str:
    if route_key == "$default":
        return route_key
    method, _, path = route_key.partition(" ")
    trimmed = path.strip("/")
    return f"{method} /{trimmed}"
