"""Load ``module.function`` and call it, as Lambda's Python runtime does (``awslambdaric/bootstrap.py``).

Shared by both isolation modes: the thread sandbox calls these in a pool thread, the worker process
in its main thread. Nothing here knows about asyncio.
"""

from __future__ import annotations

import decimal
import importlib
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from gatehold.runtime import errors
from gatehold.runtime.context import LambdaContext
from gatehold.runtime.errors import LambdaError

Handler = Callable[[Any, LambdaContext], Any]

# Frames of this file are the runtime's own; Lambda strips its bootstrap.py frames the same way.
_RUNTIME_FILES = (str(Path(__file__)),)


class InitError(Exception):
    """The handler could not be loaded; ``error`` is what every invocation then returns."""

    def __init__(self, error: LambdaError) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def add_code_path(code_path: Path | None) -> None:
    """``LAMBDA_TASK_ROOT`` comes first on ``sys.path``."""
    if code_path is not None:
        entry = str(code_path)
        if entry not in sys.path:
            sys.path.insert(0, entry)


def load_handler(handler_name: str) -> Handler:
    """``bootstrap._get_handler``, with its messages and ``Runtime.*`` error types."""
    try:
        modname, fname = handler_name.rsplit(".", 1)
    except ValueError as exc:
        raise InitError(
            errors.make_error(
                f"Bad handler '{handler_name}': {exc}", errors.MALFORMED_HANDLER_NAME, None, None
            )
        ) from None
    if modname.split(".")[0] in sys.builtin_module_names:
        raise InitError(
            errors.make_error(
                f"Cannot use built-in module {modname} as a handler module",
                errors.BUILT_IN_MODULE_CONFLICT,
                None,
                None,
            )
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise InitError(
            errors.make_error(
                f"Unable to import module '{modname}': {exc}", errors.IMPORT_MODULE_ERROR, None, None
            )
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise InitError(
            errors.make_error(
                f"Syntax error in module '{modname}': {exc}", errors.USER_CODE_SYNTAX_ERROR, trace, None
            )
        ) from None
    except Exception as exc:
        raise InitError(
            errors.error_from_exception(exc, exc.__traceback__, "", skip_files=_RUNTIME_FILES)
        ) from None
    try:
        func = getattr(module, fname)
    except AttributeError:
        raise InitError(
            errors.make_error(
                f"Handler '{fname}' missing on module '{modname}'", errors.HANDLER_NOT_FOUND, None, None
            )
        ) from None
    return func  # type: ignore[no-any-return]


def _encode_decimal(obj: Any) -> Any:
    # awslambdaric's Encoder: Decimals are written as their exact text (NaN as NaN).
    if isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return math.nan
        if obj == obj.to_integral_value() and obj.as_tuple().exponent >= 0:  # type: ignore[operator]
            return int(obj)
        return float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(default=_encode_decimal)  # json.dumps(result, default=...) without the set-up
_SCALARS = (str, int, bool, type(None))


def _plain_value(value: Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:  # e.g. a proxy response's headers
        return len(value) <= 32 and all(type(k) is str and type(v) in _SCALARS for k, v in value.items())
    if kind is list:  # e.g. cookies
        return len(value) <= 32 and all(type(v) in _SCALARS for v in value)
    return False


def _plain(result: Any) -> bool:
    """A small result made of exact JSON types only (a proxy response's shape), for which orjson writes
    what ``json.dumps`` writes once parsed back; anything else takes ``json.dumps``."""
    if type(result) is dict:
        if len(result) > 32:
            return False
        for key, value in result.items():  # a loop, not all(genexpr): this runs on every invocation
            if type(key) is not str:
                return False
            if type(value) not in _SCALARS and not _plain_value(value):
                return False
        return True
    return _plain_value(result)


def marshal(result: Any) -> bytes:
    """``LambdaMarshaller.marshal_response``: the JSON (UTF-8), or TypeError/ValueError as Lambda
    raises."""
    if isinstance(result, bytes | bytearray):
        payload = bytes(result)
        json.loads(payload.decode("utf-8"))  # Lambda passes bytes through; API Gateway needs JSON
        return payload
    if _plain(result):
        try:
            return orjson.dumps(result)
        except orjson.JSONEncodeError:  # ints past 64 bits, lone surrogates: json.dumps decides
            pass
    return _ENCODER.encode(result).encode()  # ensure_ascii: plain ASCII


def unmarshal(text: str | bytes) -> Any:
    """Parse a marshalled payload (orjson, falling back to ``json`` for ``NaN``/``Infinity``)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def call_handler(
    handler: Handler, event: Any, context: LambdaContext
) -> tuple[bytes | None, LambdaError | None]:
    """One invocation: ``(payload JSON, None)`` or ``(None, Lambda error payload)``.

    ``SystemExit`` and ``KeyboardInterrupt`` are not caught (the runtime process would exit).
    """
    request_id = context.aws_request_id
    try:
        result = handler(event, context)
    except Exception as exc:
        error = errors.error_from_exception(exc, exc.__traceback__, request_id, skip_files=_RUNTIME_FILES)
        return None, error
    try:
        payload = marshal(result)
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError) as exc:
        return None, errors.marshal_error(exc, request_id)
    if len(payload) > errors.MAX_RESPONSE_BYTES:  # Lambda's 6 MB synchronous response limit
        return None, errors.response_too_large_error()
    return payload, None
