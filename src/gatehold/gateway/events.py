"""Lambda event builders: pure functions from (request, route match, authorizer outcome) to events.

* :func:`proxy_event_v1` — Lambda proxy payload format 1.0 (REST APIs, and HTTP APIs with
  ``payload_format_version: "1.0"``), docs/aws-reference.md §2.1, §2.2, §3.6 last bullet.
* :func:`proxy_event_v2` — payload format 2.0 (HTTP APIs), §3.6, §3.3.
* :func:`token_authorizer_event`, :func:`request_authorizer_event_v1`,
  :func:`request_authorizer_event_v2` — the authorizer input events of §1.3, §1.4 and §3.5.

Nothing here does IO; the request time comes from ``request.time_epoch_ms``.

Choices where the reference is silent (each noted in the code below):

* HTTP API bodies (both payload formats) are UTF-8 text only for ``text/*``, ``application/json``,
  ``application/xml`` and ``application/javascript``; every other content type, a missing one and
  ``application/x-www-form-urlencoded`` included, is base64 (HTTP APIs have no ``binaryMediaTypes``).
  AWS documents only "if the content type is binary"; this split was checked against live AWS by
  ministackorg/ministack#766. A "text" body that is not valid UTF-8 is base64 too (never lossy).
* HTTP API payload 1.0 ``path`` carries the stage prefix for a named stage, like ``rawPath``
  (observed: dougmoscrop/serverless-http#143, jeremydaly/lambda-api#136,
  aws/serverless-java-container#401); ``requestContext.resourceId`` is the route key
  (``"ANY /{proxy+}"``, a recorded 1.0 event) and there is no ``deploymentId`` (DG 1.0 example).
  On the ``$default`` route, ``resource`` and ``resourcePath`` are the request path (without the
  stage) and ``resourceId`` is null: AWS's 1.0 example is that route (its 2.0 twin has routeKey
  ``$default`` and the same path).
* Payload 1.0 ``requestContext.authorizer`` is absent when the route has no authorizer, for HTTP
  APIs too (the DG 1.0 example's ``{"claims": null, "scopes": null}`` is read as illustrative, like
  its 2.0 example that shows ``jwt`` and ``lambda`` at once).
* Payload 1.0 header names are kept as the client sent them (``tEsT-HEADeR``) when the server
  provides them (:mod:`gatehold.gateway.http_protocol`), else lowercase; names that differ only in
  case stay separate keys.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import os
import random
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from gatehold.gateway.model import AuthorizerOutcome, GatewayRequest, RouteMatch

# ASGI scope extension with the client's header names (gatehold.gateway.http_protocol).
RAW_HEADER_NAMES = "gatehold.raw_header_names"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Not forwarded in payload 1.0 events (§2.1 last header bullet).
_V1_DROPPED_HEADERS = frozenset({"content-length", "connection"})
# HTTP API request bodies delivered as text (module docstring; ministackorg/ministack#766).
_TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml"})

_clf_cache: tuple[int, str] = (-1, "")


def clf_time(epoch_ms: int) -> str:
    """``dd/MMM/yyyy:HH:mm:ss +0000`` (requestTime / time), e.g. ``04/Mar/2020:19:15:17 +0000``."""
    global _clf_cache
    second = epoch_ms // 1000
    cached_second, text = _clf_cache
    if cached_second == second:
        return text
    t = time.gmtime(second)
    text = (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}"
        f":{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )
    _clf_cache = (second, text)
    return text


@lru_cache(maxsize=256)
def deployment_id(api_id: str) -> str:
    """A stable 6-character deployment id per API (``requestContext.deploymentId``)."""
    return _short_hash("deployment:" + api_id, 6)


def _short_hash(text: str, length: int) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:length])


# Request and trace ids need uniqueness, not secrecy: a PRNG avoids a getrandom() syscall per request.
_prng = random.Random()
_random_bits = _prng.getrandbits  # bits.to_bytes().hex(): ~2x faster than formatting an int as hex
_URLSAFE = bytes.maketrans(b"+/", b"-_")
os.register_at_fork(after_in_child=_prng.seed)  # forked workers must not repeat each other's ids
_UUID_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid4_text() -> str:
    """A version-4 UUID as text, like ``str(uuid.uuid4())`` (REST ``requestId``, Lambda request ids)."""
    h = _random_bits(128).to_bytes(16, "big").hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


rest_request_id = uuid4_text  # REST ``requestId``, ``x-amzn-RequestId``


def http_api_request_id() -> str:
    """A short base64-ish request id like ``LV7fzho-PHcEJPw=`` (HTTP API ``requestId``, §3.6)."""
    # base64.urlsafe_b64encode, without its two Python-level calls
    return (
        binascii.b2a_base64(_random_bits(88).to_bytes(11, "big"), newline=False)
        .translate(_URLSAFE)
        .decode("ascii")
    )


_extended_cache: tuple[str, str] = ("", "")


def extended_request_id(request_id: str) -> str:
    """REST ``extendedRequestId`` / ``x-amz-apigw-id``: 11 bytes as 16 URL-safe base64 characters
    ending in one ``=`` (AWS's shape, e.g. ``IlhNQH2ZIAMF2zg=``), derived from the request id so
    every place that needs it agrees without passing it (the event, then the response header:
    the last one is remembered)."""
    global _extended_cache
    if _extended_cache[0] == request_id:
        return _extended_cache[1]
    try:
        data = bytes.fromhex(
            request_id[:8] + request_id[9:13] + request_id[14:18] + request_id[19:23] + request_id[24:26]
        )
    except ValueError:
        data = b""
    if len(data) != 11:
        data = hashlib.sha256(request_id.encode()).digest()[:11]
    extended = base64.urlsafe_b64encode(data).decode("ascii")
    _extended_cache = (request_id, extended)
    return extended


_domains: dict[str, tuple[str, str]] = {}


def _domain(host: str) -> tuple[str, str]:
    # domainName = the Host without its port, domainPrefix its first label (on AWS the host is
    # {api}.execute-api.{region}.amazonaws.com); remembered per Host (a handful per deployment)
    found = _domains.get(host)
    if found is not None:
        return found
    name = host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host
    found = (name, name.split(".", 1)[0])
    if len(_domains) >= 256:
        _domains.clear()
    _domains[host] = found
    return found


# ------------------------------------------------------------------------------------------------
# request parts
# ------------------------------------------------------------------------------------------------


def _v1_headers(request: GatewayRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``headers`` (last value wins) and ``multiValueHeaders`` (all values), client casing kept."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name.lower() in _V1_DROPPED_HEADERS:
            continue
        single[name] = value
        values = multi.get(name)
        if values is None:
            multi[name] = [value]
        else:
            values.append(value)
    return single, multi


def _v1_query(query_string: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """URL-decoded query parameters: last value wins / all values in order; ``None`` when absent."""
    if not query_string:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    plain = "%" not in query_string and "+" not in query_string  # nothing to decode
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if not plain:
            name = unquote_plus(name)
            value = unquote_plus(value)
        single[name] = value
        multi.setdefault(name, []).append(value)
    if not single:
        return None, None
    return single, multi


def _v2_query(query_string: str) -> dict[str, str] | None:
    """URL-decoded query parameters, duplicates joined with ``,`` (§3.6)."""
    if not query_string:
        return None
    out: dict[str, str] = {}
    plain = "%" not in query_string and "+" not in query_string  # nothing to decode
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if not plain:
            name = unquote_plus(name)
            value = unquote_plus(value)
        prior = out.get(name)
        out[name] = value if prior is None else f"{prior},{value}"
    return out or None


class HeaderView:
    """A request's headers as HTTP APIs read them (§3.6): lowercase names with repeats joined by
    ``,`` (the 2.0 event's ``headers``), ``Cookie`` headers split on ``; `` into ``cookies`` and left
    out of ``headers`` (that absence is UNVERIFIED), and the last ``User-Agent`` value.

    Built once per request (:func:`header_view`; :func:`add_forwarding_headers` builds it in its own
    pass) and shared by the header identity sources and the event builders, which copy it into
    events. It stays valid while ``request.headers`` is the same list with the same length (the
    pipeline never changes the headers after :func:`add_forwarding_headers`)."""

    __slots__ = ("cookies", "headers", "length", "source", "user_agent")

    def __init__(
        self,
        source: list[tuple[str, str]],
        headers: dict[str, str],
        cookies: list[str] | None,
        user_agent: str | None,
    ) -> None:
        self.source = source
        self.length = len(source)
        self.headers = headers
        self.cookies = cookies
        self.user_agent = user_agent


def header_view(request: GatewayRequest) -> HeaderView:
    """The request's :class:`HeaderView`, built on first use."""
    view: HeaderView | None = request.header_view
    source = request.headers
    if view is not None and view.source is source and view.length == len(source):
        return view
    headers: dict[str, str] = {}
    cookies: list[str] | None = None
    user_agent = None
    for name, value in source:
        lname = name.lower()
        if lname == "cookie":
            if cookies is None:
                cookies = []
            cookies.extend(c for c in value.split("; ") if c)
            continue
        if lname == "user-agent":
            user_agent = value  # the last one, as request.header() reads it
        prior = headers.get(lname)
        headers[lname] = value if prior is None else f"{prior},{value}"
    view = request.header_view = HeaderView(source, headers, cookies, user_agent)
    return view


def _v2_headers(request: GatewayRequest) -> tuple[dict[str, str], list[str] | None]:
    """The 2.0 event's ``headers`` and ``cookies`` (:class:`HeaderView`), the event's own copies."""
    view = header_view(request)
    cookies = view.cookies
    return dict(view.headers), (None if cookies is None else list(cookies))


def _body_v1_rest(request: GatewayRequest, binary_media_types: Sequence[str]) -> tuple[str | None, bool]:
    """REST: base64 only when the request's content type is one of ``binary_media_types`` (§2.1)."""
    if not request.body:
        return None, False
    if binary_media_types and media_type_matches(request.header("content-type"), binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", errors="replace"), False


def _body_http_api(request: GatewayRequest) -> tuple[str | None, bool]:
    """HTTP APIs: text content types as UTF-8, anything else base64 (module docstring)."""
    if not request.body:
        return None, False
    if is_text_content_type(request.header("content-type")):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES


def media_type_matches(content_type: str | None, media_types: Sequence[str]) -> bool:
    """Whether ``content_type`` matches one of ``media_types`` (``image/png``, ``image/*``, ``*/*``)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    major = mime.split("/", 1)[0]
    for candidate in media_types:
        c = candidate.lower()
        if c in ("*/*", mime) or (c.endswith("/*") and c[:-2] == major):
            return True
    return False


def _identity(request: GatewayRequest, api_key: str | None) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": request.header("user-agent"),
        "userArn": None,
    }
    if api_key is not None:
        identity["apiKey"] = api_key
        identity["apiKeyId"] = _short_hash("apikey:" + api_key, 10)
    return identity


_FORWARDING_HEADERS = frozenset(
    {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
)


# header name as written → (lowercase name, kind): what add_forwarding_headers' pass needs to know
# about a name, one lookup instead of lower() and three comparisons (bounded: names are the client's)
_PLAIN, _FORWARDING, _COOKIE, _USER_AGENT = 0, 1, 2, 3
_name_kinds: dict[str, tuple[str, int]] = {}


def _name_kind(name: str) -> tuple[str, int]:
    lname = name.lower()
    if lname in _FORWARDING_HEADERS:
        kind = _FORWARDING
    elif lname == "cookie":
        kind = _COOKIE
    elif lname == "user-agent":
        kind = _USER_AGENT
    else:
        kind = _PLAIN
    if len(_name_kinds) >= 1024:
        _name_kinds.clear()
    found = _name_kinds[name] = (lname, kind)
    return found


_trace_prefix: tuple[int, str] = (-1, "")  # X-Amzn-Trace-Id's "Root=1-{epoch seconds}-", per second


def add_forwarding_headers(request: GatewayRequest) -> None:
    """Add ``X-Amzn-Trace-Id`` and ``X-Forwarded-For/-Port/-Proto`` as API Gateway does before
    authorizers and integrations see the request (§2.1, §3.6 examples); replaces client values,
    except that a client ``X-Forwarded-For`` is kept and the source IP appended.

    The same pass builds the request's :class:`HeaderView` (HTTP API events read it)."""
    forwarded_for = None
    replaced = False
    lower: dict[str, str] = {}
    cookies: list[str] | None = None
    user_agent = None
    kinds = _name_kinds
    for name, value in request.headers:  # one pass: forwarding headers to replace, and the view
        lname, kind = kinds.get(name) or _name_kind(name)
        if kind:
            if kind == _FORWARDING:
                replaced = True
                if lname == "x-forwarded-for":
                    forwarded_for = value
                continue
            if kind == _COOKIE:
                if cookies is None:
                    cookies = []
                cookies.extend(c for c in value.split("; ") if c)
                continue
            user_agent = value  # _USER_AGENT
        prior = lower.get(lname)
        lower[lname] = value if prior is None else f"{prior},{value}"
    global _trace_prefix
    sec = request.time_epoch_ms // 1000
    if _trace_prefix[0] != sec:
        _trace_prefix = (sec, f"Root=1-{sec:08x}-")
    trace_id = _trace_prefix[1] + _random_bits(96).to_bytes(12, "big").hex()
    source_ip = request.source_ip
    forwarded = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    port = str(request.server_port)
    scheme = request.scheme
    if replaced:
        request.headers = [(n, v) for n, v in request.headers if n.lower() not in _FORWARDING_HEADERS]
    headers = request.headers
    headers += (
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", forwarded),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", scheme),
    )
    lower["x-amzn-trace-id"] = trace_id
    lower["x-forwarded-for"] = forwarded
    lower["x-forwarded-port"] = port
    lower["x-forwarded-proto"] = scheme
    request.header_view = HeaderView(headers, lower, cookies, user_agent)


# ------------------------------------------------------------------------------------------------
# requestContext, payload 1.0
# ------------------------------------------------------------------------------------------------


def _v1_resource(match: RouteMatch) -> str:
    # the resource template; an HTTP API's $default route has none: the request path (DG 1.0 example)
    route = match.route
    return match.path if route.route_key == "$default" else route.resource_path


def _v1_path(match: RouteMatch) -> str:
    # REST: without the stage (§2.1); HTTP APIs: with it on a named stage (module docstring)
    return match.stage_path if match.api.type == "HTTP" else match.path


def request_context_v1(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    api_key: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``requestContext`` of payload 1.0 (§2.1; REST REQUEST authorizers §1.4), keys in AWS's order.

    ``authorizer`` (absent when None) sits between ``apiId`` and ``deploymentId`` as in the recorded
    event. HTTP APIs (§3.6 last bullet, DG 1.0 example): no ``deploymentId``; ``extendedRequestId``
    is the request id; ``resourceId`` is the route key (compiled in :mod:`~gatehold.gateway.routing`).
    """
    domain_name, domain_prefix = _domain(request.host)
    api = match.api
    is_rest = api.type == "REST"
    context: dict[str, Any] = {"accountId": account_id, "apiId": api.api_id}
    if authorizer is not None:
        context["authorizer"] = authorizer
    if is_rest:
        context["deploymentId"] = deployment_id(api.api_id)
    context["domainName"] = domain_name
    context["domainPrefix"] = domain_prefix
    context["extendedRequestId"] = extended_request_id(request.request_id) if is_rest else request.request_id
    context["httpMethod"] = request.method
    context["identity"] = _identity(request, api_key)
    context["path"] = match.stage_path
    context["protocol"] = request.protocol
    context["requestId"] = request.request_id
    context["requestTime"] = clf_time(request.time_epoch_ms)
    context["requestTimeEpoch"] = request.time_epoch_ms
    route = match.route
    if is_rest or route.route_key != "$default":
        context["resourceId"] = route.resource_id
        context["resourcePath"] = route.resource_path
    else:  # HTTP API $default route: DG 1.0 example (module docstring)
        context["resourceId"] = None
        context["resourcePath"] = match.path
    context["stage"] = match.stage_name
    return context


def proxy_event_v1(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    authorizer: AuthorizerOutcome | None = None,
    binary_media_types: Sequence[str] = (),
    api_key: str | None = None,
) -> dict[str, Any]:
    """Lambda proxy event, payload format 1.0 (§2.1; HTTP APIs add ``version: "1.0"``, §3.6)."""
    headers, multi_headers = _v1_headers(request)
    query, multi_query = _v1_query(request.query_string)
    context = request_context_v1(
        request,
        match,
        account_id=account_id,
        api_key=api_key,
        authorizer=authorizer_context_v1(authorizer) if authorizer is not None else None,
    )
    is_http = match.api.type == "HTTP"
    if is_http:
        body, is_b64 = _body_http_api(request)
    else:
        body, is_b64 = _body_v1_rest(request, binary_media_types)
    event: dict[str, Any] = {}
    if is_http:
        event["version"] = "1.0"
    event["resource"] = _v1_resource(match)
    event["path"] = _v1_path(match)
    event["httpMethod"] = request.method
    event["headers"] = headers
    event["multiValueHeaders"] = multi_headers
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = multi_query
    event["pathParameters"] = match.path_parameters or None
    event["stageVariables"] = match.stage.variables or None
    event["requestContext"] = context
    event["body"] = body
    event["isBase64Encoded"] = is_b64
    return event


# ------------------------------------------------------------------------------------------------
# payload 2.0
# ------------------------------------------------------------------------------------------------


def request_context_v2(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``requestContext`` of payload 2.0 (§3.6), keys in AWS's order; ``authorizer`` absent when None."""
    domain_name, domain_prefix = _domain(request.host)
    context: dict[str, Any] = {"accountId": account_id, "apiId": match.api.api_id}
    if authorizer is not None:
        context["authorizer"] = authorizer
    context["domainName"] = domain_name
    context["domainPrefix"] = domain_prefix
    context["http"] = {
        "method": request.method,
        "path": match.stage_path,
        "protocol": request.protocol,
        "sourceIp": request.source_ip,
        "userAgent": header_view(request).user_agent or "",  # choice: a string even without one
    }
    context["requestId"] = request.request_id
    context["routeKey"] = match.route.route_key
    context["stage"] = match.stage_name
    context["time"] = clf_time(request.time_epoch_ms)
    context["timeEpoch"] = request.time_epoch_ms
    return context


def proxy_event_v2(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    authorizer: AuthorizerOutcome | None = None,
) -> dict[str, Any]:
    """Lambda proxy event, payload format 2.0 (§3.6): absent parts are omitted, never null.

    The same event as :func:`_v2_headers` + :func:`request_context_v2` build, written flat (the
    headers from the request's :class:`HeaderView`): the per-request hot path of every HTTP API
    Lambda route."""
    view = header_view(request)
    route_key = match.route.route_key
    stage_path = match.stage_path
    query_string = request.query_string
    domain_name, domain_prefix = _domain(request.host)
    epoch_ms = request.time_epoch_ms
    context: dict[str, Any] = {"accountId": account_id, "apiId": match.api.api_id}
    if authorizer is not None:
        context["authorizer"] = authorizer_context_v2(authorizer)
    context["domainName"] = domain_name
    context["domainPrefix"] = domain_prefix
    context["http"] = {
        "method": request.method,
        "path": stage_path,
        "protocol": request.protocol,
        "sourceIp": request.source_ip,
        "userAgent": view.user_agent or "",  # choice: a string even without one
    }
    context["requestId"] = request.request_id
    context["routeKey"] = route_key
    context["stage"] = match.stage_name
    context["time"] = _clf_cache[1] if _clf_cache[0] == epoch_ms // 1000 else clf_time(epoch_ms)
    context["timeEpoch"] = epoch_ms
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": stage_path,
        "rawQueryString": query_string,
    }
    if view.cookies:
        event["cookies"] = list(view.cookies)
    event["headers"] = dict(view.headers)  # the event's own copy
    if query_string:
        query = _v2_query(query_string)
        if query is not None:
            event["queryStringParameters"] = query
    event["requestContext"] = context
    if request.body:
        body, is_b64 = _body_http_api(request)
        event["body"] = body
    else:
        is_b64 = False
    path_parameters = match.path_parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = is_b64
    variables = match.stage.variables
    if variables:
        event["stageVariables"] = variables
    return event


# ------------------------------------------------------------------------------------------------
# authorizer results in the integration event
# ------------------------------------------------------------------------------------------------


def stringify_context_value(value: Any) -> Any:
    """REST authorizer context values as the integration sees them: strings (§2.2); null stays null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e16 else repr(value)
    return str(value)


def stringify_claim(value: Any) -> str:
    """A JWT claim as HTTP APIs pass it on (§3.3): ``1787996002`` → ``"1787996002"``,
    ``["a", "b", "c"]`` → ``"[a b c]"``, ``true`` → ``"true"``, ``{"k": "v"}`` → ``"map[k:v]"``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(stringify_claim(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{stringify_claim(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def authorizer_context_v1(outcome: AuthorizerOutcome) -> dict[str, Any]:
    """``requestContext.authorizer`` for payload 1.0 (§2.2; HTTP API 1.0 JWT §3.3).

    Choice (§7.12, undocumented): an HTTP API Lambda authorizer reaches a 1.0 integration in the
    REST shape — context values flattened next to ``principalId`` and ``integrationLatency``."""
    if outcome.kind == "jwt":
        claims = _json_claims(outcome) if outcome.claims_json else _event_claims(outcome)
        return {"claims": claims, "scopes": _copy(outcome.scopes)}
    out: dict[str, Any] = {}
    if outcome.context:
        for key, value in outcome.context.items():
            out[key] = stringify_context_value(value)
    out["principalId"] = outcome.principal_id
    out["integrationLatency"] = outcome.integration_latency_ms
    return out


def authorizer_context_v2(outcome: AuthorizerOutcome) -> dict[str, Any]:
    """``requestContext.authorizer`` for payload 2.0: ``{"jwt": …}`` or ``{"lambda": …}`` (§3.3, §3.5)."""
    if outcome.kind == "jwt":
        return {"jwt": {"claims": _event_claims(outcome) or {}, "scopes": _copy(outcome.scopes)}}
    return {"lambda": outcome.context}


def _event_claims(outcome: AuthorizerOutcome) -> dict[str, str] | None:
    """The JWT claims stringified (§3.3): a copy of the authorizer's per-token dict when it has one
    (an event is the integration's own: a handler that changes it changes nothing else)."""
    precomputed = outcome.event_claims
    if precomputed is not None:
        return dict(precomputed)
    if outcome.claims is None:
        return None
    return {k: stringify_claim(v) for k, v in outcome.claims.items()}


def _json_claims(outcome: AuthorizerOutcome) -> dict[str, Any] | None:
    """A REST API JWT authorizer's claims with their JSON types ("the string "42" and the number 42 stay
    distinct"), copied: the event is the integration's own."""
    claims = outcome.claims
    if claims is None:
        return None
    scalar = (str, int, float, bool)
    return {k: v if v is None or isinstance(v, scalar) else copy.deepcopy(v) for k, v in claims.items()}


def _copy(scopes: list[str] | None) -> list[str] | None:
    return None if scopes is None else list(scopes)


# ------------------------------------------------------------------------------------------------
# authorizer input events
# ------------------------------------------------------------------------------------------------


def token_authorizer_event(token: str, method_arn: str) -> dict[str, Any]:
    """REST TOKEN authorizer input (§1.3): exactly ``type``, ``authorizationToken``, ``methodArn``."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


def request_authorizer_event_v1(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    method_arn: str,
    identity_values: Sequence[str] | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """REST REQUEST authorizer input (§1.4), or an HTTP API payload 1.0 authorizer input (§3.5).

    No ``body``/``isBase64Encoded`` (authorizers never see the body). For HTTP APIs the event adds
    ``version: "1.0"`` and ``identitySource``/``authorizationToken`` = ``identity_values`` joined
    with ``,``.
    """
    headers, multi_headers = _v1_headers(request)
    query, multi_query = _v1_query(request.query_string)
    event: dict[str, Any] = {}
    is_http = match.api.type == "HTTP"
    if is_http:
        event["version"] = "1.0"
    event["type"] = "REQUEST"
    event["methodArn"] = method_arn
    if is_http:
        joined = ",".join(identity_values or ())
        event["identitySource"] = joined
        event["authorizationToken"] = joined
    event["resource"] = _v1_resource(match)
    event["path"] = _v1_path(match)
    event["httpMethod"] = request.method
    event["headers"] = headers
    event["multiValueHeaders"] = multi_headers
    event["queryStringParameters"] = query if query is not None else {}
    event["multiValueQueryStringParameters"] = multi_query if multi_query is not None else {}
    event["pathParameters"] = dict(match.path_parameters or {})
    event["stageVariables"] = dict(match.stage.variables)
    event["requestContext"] = request_context_v1(request, match, account_id=account_id, api_key=api_key)
    return event


def request_authorizer_event_v2(
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    route_arn: str,
    identity_values: Sequence[str] | None = None,
) -> dict[str, Any]:
    """HTTP API payload 2.0 REQUEST authorizer input (§3.5): the 2.0 event without ``body`` plus
    ``type``, ``routeArn`` and ``identitySource`` (the identity values, in configured order)."""
    headers, cookies = _v2_headers(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn,
        "identitySource": list(identity_values or ()),
        "routeKey": match.route.route_key,
        "rawPath": match.stage_path,
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _v2_query(request.query_string)
    if query is not None:
        event["queryStringParameters"] = query
    event["requestContext"] = request_context_v2(request, match, account_id=account_id)
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if match.stage.variables:
        event["stageVariables"] = match.stage.variables
    return event
