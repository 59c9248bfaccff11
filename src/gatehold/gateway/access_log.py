"""Per-stage access logs with API Gateway's ``$context`` variables.

``stages.<s>.access_log`` (``DG:http-api-logging-variables``, ``DG:api-gateway-mapping-template-reference``):

* ``format: json`` — one JSON object per line (the AWS console's JSON format, plus latencies, the
  authorizer's principal and error, and the error message);
* ``format: clf`` — the AWS console's Common Log Format line for the API type;
* any other ``format`` is a template: ``$context.requestId``, ``${context.identity.sourceIp}``,
  ``$context.authorizer.claims.sub`` … compiled once. A template that starts with ``{`` is treated
  as JSON: substituted values are JSON-escaped so each line stays valid JSON.

Missing values render ``-`` as in CloudWatch. ``destination`` is ``stdout``, ``stderr`` or a file
path (appended, one line per request; relative to the configuration file's directory).

Variables: ``accountId apiId domainName domainPrefix extendedRequestId httpMethod
identity.sourceIp identity.userAgent identity.apiKey identity.apiKeyId path protocol requestId
requestTime requestTimeEpoch resourceId resourcePath routeKey stage status responseLatency
responseLength integrationLatency integration.latency integrationStatus integration.status
integrationErrorMessage integration.error error.message error.messageString error.responseType
authorizer.principalId authorizer.error authorizer.claims.<claim> authorizer.<context key>``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gatehold.config.models import AccessLogConfig, GateholdConfig
from gatehold.errors import GatewayError, GatewayResponseType
from gatehold.gateway.context_template import ContextTemplate, ContextValue
from gatehold.gateway.events import clf_time
from gatehold.gateway.model import ApiType, AuthorizerOutcome, CompiledApi, GatewayRequest, RouteMatch
from gatehold.gateway.usage_plans import api_key_id

JSON_FORMAT: Mapping[ApiType, str] = {
    "HTTP": (
        '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
        '"ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",'
        '"requestTime":"$context.requestTime","requestTimeEpoch":"$context.requestTimeEpoch",'
        '"httpMethod":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey",'
        '"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",'
        '"principalId":"$context.authorizer.principalId","authorizerError":"$context.authorizer.error",'
        '"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",'
        '"responseLatency":"$context.responseLatency","errorMessage":"$context.error.message"}'
    ),
    "REST": (
        '{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId",'
        '"ip":"$context.identity.sourceIp","caller":"$context.identity.caller","user":"$context.identity.user",'
        '"userAgent":"$context.identity.userAgent",'
        '"requestTime":"$context.requestTime","requestTimeEpoch":"$context.requestTimeEpoch",'
        '"httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","path":"$context.path",'
        '"status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength",'
        '"principalId":"$context.authorizer.principalId","authorizerError":"$context.authorizer.error",'
        '"integrationStatus":"$context.integrationStatus","integrationLatency":"$context.integrationLatency",'
        '"responseLatency":"$context.responseLatency","errorMessage":"$context.error.message"}'
    ),
}
CLF_FORMAT: Mapping[ApiType, str] = {
    "HTTP": (
        '$context.identity.sourceIp - - [$context.requestTime] "$context.httpMethod $context.routeKey '
        '$context.protocol" $context.status $context.responseLength $context.requestId'
    ),
    "REST": (
        "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "
        '"$context.httpMethod $context.resourcePath $context.protocol" $context.status '
        "$context.responseLength $context.requestId"
    ),
}


@dataclass(slots=True)
class RequestRecord:
    """What the pipeline learns about one request, filled in as it goes; logged when it is answered."""

    request: GatewayRequest
    request_id: str
    match: RouteMatch | None = None
    api: CompiledApi | None = None
    status: int = 0
    response_length: int | None = None
    response_latency_ms: int | None = None
    account_id: str = "123456789012"
    extended_request_id: str | None = None
    integration_latency_ms: int | None = None
    integration_status: int | None = None
    integration_error: str | None = None
    authorizer: AuthorizerOutcome | None = None
    authorizer_error: str | None = None
    error: GatewayError | None = None
    api_key: str | None = None


def _claim(outcome: AuthorizerOutcome | None, name: str) -> ContextValue:
    """``$context.authorizer.claims.<name>``: a REST API JWT authorizer's claim as JSON text (a string
    in quotes, each non-ASCII character as an escape: DG "Pass JWT claims to your integration"); an
    HTTP API's as its value, objects and lists as JSON."""
    if outcome is None or outcome.claims is None:
        return None
    value = outcome.claims.get(name)
    if outcome.claims_json and value is not None:
        return json_text(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, separators=(",", ":"))


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04X}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes one
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"


def json_text(value: object) -> str:
    """Compact JSON, each non-ASCII character written as an escape with upper-case hex (``é`` is
    ``\\u00E9``), as API Gateway writes it."""
    return _NON_ASCII.sub(_escape, json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _authorizer_value(outcome: AuthorizerOutcome | None, name: str) -> ContextValue:
    if outcome is None or outcome.context is None:
        return None
    value = outcome.context.get(name)
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def _stage_of(r: RequestRecord) -> str | None:
    """The stage a request that matched no route was addressed to (REST: first segment; HTTP: a
    named stage's segment, else ``$default``)."""
    if r.api is None:
        return None
    stages = r.api.config.stages
    first = r.request.path.lstrip("/").split("/", 1)[0]
    if first in stages:
        return first
    return "$default" if "$default" in stages else None


def _error_message(r: RequestRecord) -> str | None:
    return r.error.message_text if r.error is not None else None


_AUTHORIZER_ERRORS = frozenset(
    {
        GatewayResponseType.UNAUTHORIZED,
        GatewayResponseType.ACCESS_DENIED,
        GatewayResponseType.EXPIRED_TOKEN,
        GatewayResponseType.AUTHORIZER_CONFIGURATION_ERROR,
        GatewayResponseType.AUTHORIZER_FAILURE,
    }
)


def _authorizer_error(r: RequestRecord) -> str | None:
    """``$context.authorizer.error``: the message of an authorizer refusal or failure."""
    if r.authorizer_error is not None:
        return r.authorizer_error
    if r.error is not None and r.error.type in _AUTHORIZER_ERRORS:
        return r.error.message_text or r.error.type.name
    return None


_GETTERS: dict[str, Callable[[RequestRecord], ContextValue]] = {
    "accountId": lambda r: r.account_id,
    "apiId": lambda r: r.api.api_id if r.api else None,
    "domainName": lambda r: r.request.host.rsplit(":", 1)[0],
    "domainPrefix": lambda r: r.request.host.split(".", 1)[0].rsplit(":", 1)[0],
    "extendedRequestId": lambda r: r.extended_request_id or r.request_id,
    "httpMethod": lambda r: r.request.method,
    "identity.sourceIp": lambda r: r.request.source_ip,
    "identity.userAgent": lambda r: r.request.header("user-agent"),
    "identity.apiKey": lambda r: r.api_key,
    "identity.apiKeyId": lambda r: api_key_id(r.api_key) if r.api_key else None,
    "identity.caller": lambda r: None,
    "identity.user": lambda r: None,
    "path": lambda r: r.match.stage_path if r.match else r.request.path,
    "protocol": lambda r: r.request.protocol,
    "requestId": lambda r: r.request_id,
    "requestTime": lambda r: clf_time(r.request.time_epoch_ms),
    "requestTimeEpoch": lambda r: r.request.time_epoch_ms,
    "resourceId": lambda r: r.match.route.resource_id if r.match else None,
    "resourcePath": lambda r: r.match.route.resource_path if r.match else None,
    "routeKey": lambda r: r.match.route.route_key if r.match else None,
    "stage": lambda r: r.match.stage_name if r.match else _stage_of(r),
    "status": lambda r: r.status,
    "responseLatency": lambda r: r.response_latency_ms,
    "responseLength": lambda r: r.response_length,
    "integrationLatency": lambda r: r.integration_latency_ms,
    "integration.latency": lambda r: r.integration_latency_ms,
    "integrationStatus": lambda r: r.integration_status,
    "integration.status": lambda r: r.integration_status,
    "integration.integrationStatus": lambda r: r.integration_status,
    "integrationErrorMessage": lambda r: r.integration_error,
    "integration.error": lambda r: r.integration_error,
    "error.message": _error_message,
    "error.messageString": lambda r: json.dumps(_error_message(r)) if r.error is not None else None,
    "error.responseType": lambda r: r.error.type.name if r.error is not None else None,
    "authorizer.principalId": lambda r: (
        (r.authorizer.principal_id or _claim(r.authorizer, "sub")) if r.authorizer else None
    ),
    "authorizer.error": _authorizer_error,
    "authorizer.integrationLatency": lambda r: r.authorizer.integration_latency_ms if r.authorizer else None,
    "authorizer.latency": lambda r: r.authorizer.integration_latency_ms if r.authorizer else None,
}


class RecordContext(Mapping[str, ContextValue]):
    """``$context`` for one request, computed lazily: only the variables a format uses are built."""

    __slots__ = ("_record",)

    def __init__(self, record: RequestRecord) -> None:
        self._record = record

    def __getitem__(self, name: str) -> ContextValue:
        getter = _GETTERS.get(name)
        if getter is not None:
            return getter(self._record)
        if name.startswith("authorizer.claims."):
            return _claim(self._record.authorizer, name[len("authorizer.claims.") :])
        if name.startswith("authorizer."):
            return _authorizer_value(self._record.authorizer, name[len("authorizer.") :])
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(_GETTERS)

    def __len__(self) -> int:
        return len(_GETTERS)


def _json_escape(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


_writers: dict[str, tuple[IO[str], threading.Lock]] = {}
_writers_lock = threading.Lock()


def _writer(destination: str) -> tuple[IO[str], threading.Lock]:
    with _writers_lock:
        found = _writers.get(destination)
        if found is None:
            if destination == "stdout":
                stream: IO[str] = sys.stdout
            elif destination == "stderr":
                stream = sys.stderr
            else:
                stream = open(destination, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
            found = _writers[destination] = (stream, threading.Lock())
        return found


class AccessLogger:
    """One stage's access log: a compiled format and a destination."""

    def __init__(self, config: AccessLogConfig, api_type: ApiType, base_dir: Path | None = None) -> None:
        if config.format == "json":
            text = JSON_FORMAT[api_type]
        elif config.format == "clf":
            text = CLF_FORMAT[api_type]
        else:
            text = config.format
        self.template = ContextTemplate.compile(text)
        self._escape = _json_escape if text.lstrip().startswith("{") else None
        destination = config.destination
        if destination not in ("stdout", "stderr") and base_dir is not None:
            destination = str(base_dir / destination)
        self.destination = destination

    def format(self, record: RequestRecord) -> str:
        return self.template.render(RecordContext(record), missing="-", escape=self._escape)

    def write(self, record: RequestRecord) -> None:
        line = self.format(record) + "\n"
        stream, lock = _writer(self.destination)
        with lock:
            stream.write(line)
            if self.destination in ("stdout", "stderr"):
                stream.flush()


class AccessLogs:
    """Every stage's access logger, by ``(api name, stage name)``."""

    def __init__(self, config: GateholdConfig, base_dir: Path | None = None) -> None:
        """``base_dir``: the config file's directory, against which file destinations are resolved."""
        self._loggers: dict[tuple[str, str], AccessLogger] = {}
        for api_name, api in config.apis.items():
            for stage_name, stage in api.stages.items():
                if stage.access_log is not None:
                    logger = AccessLogger(stage.access_log, api.type, base_dir)
                    self._loggers[(api_name, stage_name)] = logger

    def __bool__(self) -> bool:
        return bool(self._loggers)

    def emit(self, record: RequestRecord) -> None:
        """Write ``record`` to its stage's access log (requests addressed to no stage are not logged)."""
        if record.match is not None:
            key = (record.match.api.name, record.match.stage_name)
        elif record.api is not None and (stage := _stage_of(record)) is not None:
            key = (record.api.name, stage)
        else:
            return
        logger = self._loggers.get(key)
        if logger is not None:
            logger.write(record)
