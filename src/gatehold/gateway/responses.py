"""Lambda proxy results → HTTP responses (docs/aws-reference.md §2.3, §3.7), and the integration errors.

Payload 1.0 (REST, and HTTP APIs with payload 1.0), §2.3: the result must be an object whose keys
are among ``statusCode, headers, multiValueHeaders, body, isBase64Encoded`` and not empty;
``statusCode`` an integer or a numeric string (absent → 200); ``headers`` an object (or null) of
scalars; ``multiValueHeaders`` an object of lists. ``multiValueHeaders`` come first and ``headers``
are merged in case-insensitively under the multi-value casing, each value its own header line.
No content type → ``application/json``. The body is base64-decoded only when ``isBase64Encoded``
and (REST) the request's first ``Accept`` value matches ``binaryMediaTypes``.

Payload 2.0, §3.7: an object with ``statusCode`` is a structured response (``cookies`` become
``set-cookie`` lines; ``multiValueHeaders`` is not part of 2.0 and is not read, as AWS answered in
aws/serverless-java-container#377); any other JSON value is inferred: 200, ``content-type:
application/json``, body = the value as the Python runtime serialises it (a string as-is; numbers,
``null`` and arrays too — §7.15, read from "returns valid JSON and doesn't return a statusCode").
A structured response without a content type also gets ``application/json`` (UNVERIFIED; the
REST rule of §2.3).

Failures: REST 502 ``{"message": "Internal server error"}``; HTTP APIs 500 (rendered by
:mod:`gatehold.gateway.gateway_responses`); integration timeouts REST 504 / HTTP 503.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.events import media_type_matches
from gatehold.gateway.model import ApiType, GatewayResponse

_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
REST_INTEGRATION_FAILURE_BODY = b'{"message": "Internal server error"}'
REST_INTEGRATION_TIMEOUT_BODY = b'{"message": "Endpoint request timed out"}'


def integration_failure(api_type: ApiType, reason: str) -> GatewayError:
    """REST 502 ``{"message": "Internal server error"}`` (note the space); HTTP 500 (§2.3, §3.7).

    REST uses 502 as observed for Lambda-proxy failures, not the 504 the INTEGRATION_FAILURE table
    documents (§7.10)."""
    if api_type == "REST":
        return GatewayError(
            GatewayResponseType.INTEGRATION_FAILURE,
            body=REST_INTEGRATION_FAILURE_BODY,
            status=502,
            reason=reason,
        )
    return GatewayError(GatewayResponseType.INTEGRATION_FAILURE, status=500, reason=reason)


def integration_timeout(api_type: ApiType, reason: str = "integration timed out") -> GatewayError:
    """REST 504 ``{"message": "Endpoint request timed out"}``; HTTP 503 Service Unavailable (§2.3, §3.8)."""
    if api_type == "REST":
        return GatewayError(
            GatewayResponseType.INTEGRATION_TIMEOUT,
            body=REST_INTEGRATION_TIMEOUT_BODY,
            status=504,
            reason=reason,
        )
    return GatewayError(GatewayResponseType.INTEGRATION_TIMEOUT, status=503, reason=reason)


def _scalar(value: Any) -> str | None:
    """A header value as API Gateway writes it: ``true`` for a boolean, numbers as JSON numbers."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise ValueError("header values must be strings, numbers or booleans")


def _status(value: Any) -> int:
    if value is None:
        return 200
    if isinstance(value, bool):
        raise ValueError("statusCode must be an integer")
    if isinstance(value, int):
        status = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().isdigit()
    ):
        status = int(value)
    else:
        raise ValueError("statusCode must be an integer")
    if not 100 <= status <= 599:
        raise ValueError("statusCode out of range")
    return status


def _body_bytes(body: Any, is_base64: Any, decode: bool) -> bytes:
    # choice: a number is serialised like a string body; an object or array body is malformed
    if body is None:
        return b""
    if isinstance(body, bool) or not isinstance(body, str | int | float):
        raise ValueError("body must be a string")
    text = body if isinstance(body, str) else json.dumps(body)
    if is_base64 not in (None, True, False):
        raise ValueError("isBase64Encoded must be a boolean")
    if is_base64 and decode:
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError("body is not valid base64") from exc
    return text.encode("utf-8")


def _merge_headers_v1(headers: Any, multi: Any) -> list[tuple[str, str]]:
    """``multiValueHeaders`` then ``headers``, merged case-insensitively (multi casing wins).

    Choice: one header line per value rather than one ``a, b`` line — the same to HTTP clients
    (RFC 9110 §5.3), and the only correct form for ``Set-Cookie``."""
    if headers is not None and not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    if multi is not None and not isinstance(multi, dict):
        raise ValueError("multiValueHeaders must be an object")
    out: list[tuple[str, str]] = []
    casing: dict[str, str] = {}
    if multi:
        for name, values in multi.items():
            if not isinstance(name, str):
                raise ValueError("header names must be strings")
            if values is None:
                continue
            if not isinstance(values, list):
                raise ValueError("multiValueHeaders values must be lists")
            casing.setdefault(name.lower(), name)
            for value in values:
                text = _scalar(value)
                if text is not None:
                    out.append((name, text))
    if headers:
        for name, value in headers.items():
            text = _scalar(value)
            if text is not None:
                key = str(name)
                out.append((casing.get(key.lower()) or key, text))
    return out


def _has_content_type(headers: Sequence[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" for name, _ in headers)


def map_response_v1(
    result: Any,
    *,
    api_type: ApiType,
    accept: str | None = None,
    binary_media_types: Sequence[str] = (),
) -> GatewayResponse:
    """A payload 1.0 Lambda result → response, or the integration-failure GatewayError (§2.3)."""
    if type(result) is dict and len(result) == 2:  # the common shape: statusCode + a string body
        status = result.get("statusCode")
        body = result.get("body")
        if type(status) is int and type(body) is str and 100 <= status <= 599:
            return GatewayResponse(status, [("Content-Type", "application/json")], body.encode("utf-8"))
    try:
        if not isinstance(result, dict) or not result:
            raise ValueError("the result is not a non-empty object")
        for key in result:
            if key not in _V1_KEYS:
                raise ValueError(f"unknown key {key!r}")
        status = _status(result.get("statusCode"))
        headers = _merge_headers_v1(result.get("headers"), result.get("multiValueHeaders"))
        if api_type == "REST":
            first_accept = accept.split(",", 1)[0] if accept else None
            decode = bool(binary_media_types) and media_type_matches(first_accept, binary_media_types)
        else:
            decode = True  # HTTP APIs have no binaryMediaTypes: isBase64Encoded is always honoured
        body = _body_bytes(result.get("body"), result.get("isBase64Encoded"), decode)
    except ValueError as exc:
        raise integration_failure(api_type, f"malformed Lambda proxy response: {exc}") from None
    if not _has_content_type(headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(status, headers, body)


def map_response_v2(result: Any) -> GatewayResponse:
    """A payload 2.0 Lambda result → response: structured or inferred (§3.7)."""
    if type(result) is dict and len(result) == 2:  # the common shape: statusCode + a string body
        status = result.get("statusCode")
        body = result.get("body")
        if type(status) is int and type(body) is str and 100 <= status <= 599:
            return GatewayResponse(status, [("content-type", "application/json")], body.encode("utf-8"))
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result.encode("utf-8") if isinstance(result, str) else json.dumps(result).encode("utf-8")
        return GatewayResponse(200, [("content-type", "application/json")], body)
    try:
        status = _status(result["statusCode"])
        raw_headers = result.get("headers")
        if raw_headers is not None and not isinstance(raw_headers, dict):
            raise ValueError("headers must be an object")
        headers: list[tuple[str, str]] = []
        for name, value in (raw_headers or {}).items():
            text = _scalar(value)
            if text is not None:
                headers.append((name, text))
        cookies = result.get("cookies")
        if cookies is not None:
            if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
                raise ValueError("cookies must be a list of strings")
            headers.extend(("set-cookie", c) for c in cookies)
        body = _body_bytes(result.get("body"), result.get("isBase64Encoded"), True)
    except ValueError as exc:
        raise integration_failure("HTTP", f"malformed Lambda proxy response: {exc}") from None
    if not _has_content_type(headers):
        headers.append(("content-type", "application/json"))
    return GatewayResponse(status, headers, body)
