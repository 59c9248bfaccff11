"""Export one API of the effective model as OpenAPI 3.0 with API Gateway's extensions.

The document is what API Gateway's own export (``aws apigateway get-export --export-type oas30
--parameters extensions='apigateway'``, ``aws apigatewayv2 export-api --output-type YAML
--specification OAS30``) writes, so it imports into Gatehold, API Gateway and SAM's
``DefinitionBody`` alike:

* each route under ``paths`` (``ANY`` as ``x-amazon-apigateway-any-method``, the HTTP ``$default``
  route as ``/$default`` with ``isDefaultRoute``), its path parameters declared;
* ``x-amazon-apigateway-integration`` per operation: ``aws_proxy`` to
  ``arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:REGION:ACCOUNT:function:NAME/invocations``,
  ``http_proxy``, ``http`` with its ``responses``, ``mock`` with its request template and response;
* authorizers as ``components.securitySchemes`` with ``x-amazon-apigateway-authorizer``
  (TOKEN: an ``apiKey`` scheme naming the header; REQUEST: ``identitySource``; HTTP JWT: ``jwt`` with
  ``jwtConfiguration``), attached per operation with the route's scopes;
* the API's CORS (``x-amazon-apigateway-cors``), binary media types, API key source and gateway
  responses; request validation as ``x-amazon-apigateway-request-validators`` and models.

Stages are not part of an API definition (API Gateway's export has one ``servers`` entry for the
stage exported): stage variables and throttling travel in the SAM export, not here. What cannot be
written (REST JWT authorizers with several issuers, which API Gateway defines outside OpenAPI) is a
:class:`ValueError` naming it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gatehold.config.models import (
    ApiConfig,
    AuthorizerConfig,
    GatewaySettings,
    HttpIntegration,
    HttpProxyIntegration,
    LambdaIntegration,
    MockIntegration,
    RouteConfig,
)

_PARAM = re.compile(r"\{([^}+]+)\+?\}")


def lambda_uri(function: str, settings: GatewaySettings) -> str:
    region, account = settings.region, settings.account_id
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
        f"arn:aws:lambda:{region}:{account}:function:{function}/invocations"
    )


def _quoted(value: str) -> str:
    return value if len(value) >= 2 and value[0] == value[-1] == "'" else f"'{value}'"


def integration(route: RouteConfig, api: ApiConfig, settings: GatewaySettings) -> dict[str, Any]:
    integ = route.integration
    if isinstance(integ, LambdaIntegration):
        out: dict[str, Any] = {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": lambda_uri(integ.function, settings),
        }
        if api.type == "HTTP":
            out["payloadFormatVersion"] = integ.payload_format_version or "2.0"
        elif integ.payload_format_version:
            out["payloadFormatVersion"] = integ.payload_format_version
        if integ.timeout_ms is not None:
            out["timeoutInMillis"] = integ.timeout_ms
        return out
    if isinstance(integ, HttpProxyIntegration):
        out = {"type": "http_proxy", "httpMethod": integ.method, "uri": integ.uri}
        if api.type == "HTTP":
            out["payloadFormatVersion"] = "1.0"
        if integ.request_parameters:
            out["requestParameters"] = dict(integ.request_parameters)
        if integ.response_headers:
            out["responses"] = {
                "default": {
                    "statusCode": "200",
                    "responseParameters": {
                        f"method.response.header.{name}": _quoted(value)
                        for name, value in integ.response_headers.items()
                    },
                }
            }
        if integ.timeout_ms is not None:
            out["timeoutInMillis"] = integ.timeout_ms
        return out
    if isinstance(integ, HttpIntegration):
        out = {
            "type": "http",
            "httpMethod": integ.method,
            "uri": integ.uri,
            "passthroughBehavior": integ.passthrough_behavior,
            "responses": {
                pattern: {
                    "statusCode": str(response.status_code),
                    **(
                        {
                            "responseParameters": {
                                f"method.response.header.{name}": source
                                for name, source in response.headers.items()
                            }
                        }
                        if response.headers
                        else {}
                    ),
                }
                for pattern, response in integ.responses.items()
            },
        }
        if integ.request_parameters:
            out["requestParameters"] = dict(integ.request_parameters)
        if integ.timeout_ms is not None:
            out["timeoutInMillis"] = integ.timeout_ms
        return out
    assert isinstance(integ, MockIntegration)
    content_type = next(
        (v for k, v in integ.headers.items() if k.lower() == "content-type"), "application/json"
    )
    response: dict[str, Any] = {"statusCode": str(integ.status_code)}
    if integ.headers:  # Content-Type too, as the console's PetStore export writes it
        response["responseParameters"] = {
            f"method.response.header.{name}": _quoted(value) for name, value in integ.headers.items()
        }
    if integ.body:
        response["responseTemplates"] = {content_type: integ.body}
    return {
        "type": "mock",
        "requestTemplates": {"application/json": json.dumps({"statusCode": integ.status_code})},
        "passthroughBehavior": "when_no_match",
        "responses": {"default": response},
    }


def security_scheme(
    name: str, auth: AuthorizerConfig, api: ApiConfig, settings: GatewaySettings
) -> dict[str, Any]:
    rest = api.type == "REST"
    if auth.type == "JWT":
        if auth.jwt_configuration is None:
            raise ValueError(
                f"authorizer {name!r}: REST JWT authorizers (issuers) have no OpenAPI form in API Gateway's"
                " extensions; use the SAM export"
            )
        authorizer: dict[str, Any] = {
            "type": "jwt",
            "jwtConfiguration": {
                "issuer": auth.jwt_configuration.issuer,
                "audience": list(auth.jwt_configuration.audience),
            },
            "identitySource": ",".join(auth.identity_source or ["$request.header.Authorization"]),
        }
        return {"type": "oauth2", "flows": {}, "x-amazon-apigateway-authorizer": authorizer}
    assert auth.function is not None
    authorizer = {"type": auth.type.lower(), "authorizerUri": lambda_uri(auth.function, settings)}
    if auth.result_ttl is not None:
        authorizer["authorizerResultTtlInSeconds"] = auth.result_ttl
    header = "Authorization"
    if auth.type == "TOKEN":
        if auth.identity_source:
            header = auth.identity_source[0].rsplit(".", 1)[-1]
        if auth.identity_validation_expression:
            authorizer["identityValidationExpression"] = auth.identity_validation_expression
    else:
        default = "method.request.header.Authorization" if rest else "$request.header.Authorization"
        authorizer["identitySource"] = ", ".join(auth.identity_source or [default])
        header = "Unused"
        if not rest:
            authorizer["authorizerPayloadFormatVersion"] = auth.payload_format_version or "2.0"
            if auth.enable_simple_responses:
                authorizer["enableSimpleResponses"] = True
    scheme: dict[str, Any] = {"type": "apiKey", "name": header, "in": "header"}
    if rest:
        scheme["x-amazon-apigateway-authtype"] = "custom"
    scheme["x-amazon-apigateway-authorizer"] = authorizer
    if auth.expects is not None:
        # Gatehold's own (API Gateway ignores it): what the function requires of a token
        scheme["x-gatehold-expects"] = auth.expects.model_dump(exclude_defaults=True)
    return scheme


def _components_schema(schema: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
    """A stored body schema (self-contained: its models under ``definitions``) as OpenAPI 3 writes
    it: the models under ``components.schemas``, referenced as ``#/components/schemas/NAME``."""
    definitions = schema.get("definitions")
    body = {k: v for k, v in schema.items() if k != "definitions"}
    if isinstance(definitions, dict):
        for name, model in definitions.items():
            models.setdefault(name, _rewrite_refs(model))
    rewritten: dict[str, Any] = _rewrite_refs(body)
    return rewritten


def _rewrite_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                "#/components/schemas/" + v.removeprefix("#/definitions/")
                if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/")
                else _rewrite_refs(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_refs(v) for v in value]
    return value


def export_openapi(
    name: str, api: ApiConfig, settings: GatewaySettings, *, stage: str | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.0 document of API ``name``."""
    stage_name = stage or next(iter(api.stages), "$default")
    doc: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": name, "version": "1.0"},
    }
    if api.description:
        doc["info"]["description"] = api.description
    if api.type == "REST" or stage_name != "$default":
        doc["servers"] = [
            {
                "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{basePath}",
                "variables": {"basePath": {"default": stage_name}},
            }
        ]
    paths: dict[str, dict[str, Any]] = {}
    schemes: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for aname, auth in api.authorizers.items():
        schemes[aname] = security_scheme(aname, auth, api, settings)
    if any(r.api_key_required for r in api.routes.values()):
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
    for key, route in api.routes.items():
        if key == "$default":
            path, method = "/$default", "x-amazon-apigateway-any-method"
        else:
            verb, _, path = key.partition(" ")
            method = "x-amazon-apigateway-any-method" if verb == "ANY" else verb.lower()
        operation: dict[str, Any] = {}
        if key == "$default":
            operation["isDefaultRoute"] = True
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _PARAM.findall(path)
        ]
        validation = route.request_validation
        if validation is not None:
            for expression in validation.required_parameters:
                where, _, pname = expression.removeprefix("method.request.").partition(".")
                if where == "path":
                    continue
                params.append(
                    {
                        "name": pname,
                        "in": "query" if where == "querystring" else "header",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                )
            if validation.body_schemas:
                operation["requestBody"] = {
                    "content": {
                        ct: {"schema": _components_schema(schema, models)}
                        for ct, schema in validation.body_schemas.items()
                    },
                    "required": True,
                }
            kinds = (bool(validation.required_parameters), bool(validation.body_schemas))
            vname = {(True, True): "all", (True, False): "params-only", (False, True): "body-only"}.get(kinds)
            if vname:
                validators[vname] = {
                    "validateRequestParameters": kinds[0],
                    "validateRequestBody": kinds[1],
                }
                operation["x-amazon-apigateway-request-validator"] = vname
        if params:
            operation["parameters"] = params
        security: list[dict[str, list[str]]] = []
        if route.authorizer is not None:
            security.append({route.authorizer: list(route.authorization_scopes)})
        if route.api_key_required:
            security.append({"api_key": []})
        if security:
            operation["security"] = security
        operation["responses"] = {}
        operation["x-amazon-apigateway-integration"] = integration(route, api, settings)
        paths.setdefault(path, {})[method] = operation
    doc["paths"] = paths
    if schemes or models:
        doc["components"] = {}
        if schemes:
            doc["components"]["securitySchemes"] = schemes
        if models:
            doc["components"]["schemas"] = models
    if validators:
        doc["x-amazon-apigateway-request-validators"] = validators
    if api.cors is not None:
        cors = api.cors
        doc["x-amazon-apigateway-cors"] = {
            k: v
            for k, v in {
                "allowOrigins": cors.allow_origins,
                "allowMethods": cors.allow_methods,
                "allowHeaders": cors.allow_headers,
                "exposeHeaders": cors.expose_headers,
                "maxAge": cors.max_age,
                "allowCredentials": cors.allow_credentials or None,
            }.items()
            if v not in (None, [])
        }
    if api.binary_media_types:
        doc["x-amazon-apigateway-binary-media-types"] = list(api.binary_media_types)
    if api.type == "REST" and api.api_key_source != "HEADER":
        doc["x-amazon-apigateway-api-key-source"] = api.api_key_source
    if api.gateway_responses:
        doc["x-amazon-apigateway-gateway-responses"] = {
            rtype: {
                **({"statusCode": str(r.status_code)} if r.status_code is not None else {}),
                **(
                    {"responseParameters": {f"gatewayresponse.header.{k}": v for k, v in r.headers.items()}}
                    if r.headers
                    else {}
                ),
                **({"responseTemplates": {"application/json": r.template}} if r.template is not None else {}),
            }
            for rtype, r in api.gateway_responses.items()
        }
    return doc
