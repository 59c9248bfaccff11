"""Lambda's function-error payloads, byte for byte as the Python runtime reports them.

The Python runtime interface client (``awslambdaric/bootstrap.py``) answers a failed invocation with
``{"errorMessage", "errorType", "requestId", "stackTrace"}``; ``stackTrace`` is
``traceback.format_list`` of the frames below the runtime's own. Errors raised by the runtime itself
use ``Runtime.*`` types (``lambda_runtime_exception.py``); errors raised by the platform use
``Sandbox.Timedout`` (the function exceeded its ``Timeout``) and ``Runtime.ExitError`` (the runtime
process died). All functions here are pure: the clock and the request id are arguments.
"""

from __future__ import annotations

import signal
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final

LambdaError = dict[str, Any]

MARSHAL_ERROR: Final = "Runtime.MarshalError"
IMPORT_MODULE_ERROR: Final = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND: Final = "Runtime.HandlerNotFound"
USER_CODE_SYNTAX_ERROR: Final = "Runtime.UserCodeSyntaxError"
MALFORMED_HANDLER_NAME: Final = "Runtime.MalformedHandlerName"
BUILT_IN_MODULE_CONFLICT: Final = "Runtime.BuiltInModuleConflict"
EXIT_ERROR: Final = "Runtime.ExitError"
OUT_OF_MEMORY: Final = "Runtime.OutOfMemory"
TIMED_OUT: Final = "Sandbox.Timedout"
RESPONSE_TOO_LARGE: Final = "Function.ResponseSizeTooLarge"
TOO_MANY_REQUESTS: Final = "TooManyRequestsException"
#: Lambda's synchronous response payload limit ("6 MB"), in bytes, as its error message gives it
MAX_RESPONSE_BYTES: Final = 6291556

# Go's syscall.Signal names, which Lambda's init process prints ("signal: killed").
_SIGNAL_NAMES: Final = {
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
}


def make_error(
    message: str, error_type: str, stack_trace: list[str] | None, request_id: str | None
) -> LambdaError:
    """``bootstrap.make_error``: the four keys, empty values where Lambda puts them."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def error_from_exception(
    exc: BaseException, tb: TracebackType | None, request_id: str, *, skip_files: tuple[str, ...] = ()
) -> LambdaError:
    """An unhandled handler exception: ``str(exc)``, the class name, and the user's frames.

    Frames from files ending in any of ``skip_files`` are dropped from the top of the stack, as the
    runtime drops its own ``bootstrap.py`` frames.
    """
    frames = traceback.extract_tb(tb)
    start = 0
    while skip_files and start < len(frames) and frames[start].filename.endswith(skip_files):
        start += 1
    stack = traceback.format_list(frames[start:])
    return make_error(str(exc), type(exc).__name__, stack, request_id)


def marshal_error(exc: BaseException, request_id: str) -> LambdaError:
    """A return value ``json`` cannot encode: "Unable to marshal response: Object of type set is …"."""
    return make_error(f"Unable to marshal response: {exc}", MARSHAL_ERROR, None, request_id)


def timeout_error(request_id: str, elapsed_s: float, now: datetime) -> LambdaError:
    """The function ran past its ``Timeout``.

    The message is the one Lambda prints and returns: ``"2020-11-10T05:46:57.874Z
    160788cd-… Task timed out after 3.07 seconds"``; the type is the platform's ``Sandbox.Timedout``.
    """
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return {
        "errorMessage": f"{stamp} {request_id} Task timed out after {elapsed_s:.2f} seconds",
        "errorType": TIMED_OUT,
    }


def exit_error(request_id: str, returncode: int | None, error_type: str = EXIT_ERROR) -> LambdaError:
    """The runtime process exited mid-invocation (``os._exit``, ``sys.exit``, a segfault, a kill).

    Lambda: ``"RequestId: … Error: Runtime exited with error: exit status 1"`` or ``… signal: killed``,
    and ``"… Error: Runtime exited without providing a reason"`` for an exit status of 0.
    """
    if not returncode:
        reason = "Runtime exited without providing a reason"
    elif returncode < 0:
        try:
            sig: int | str = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
        except ValueError:
            sig = f"signal {-returncode}"
        reason = f"Runtime exited with error: signal: {sig}"
    else:
        reason = f"Runtime exited with error: exit status {returncode}"
    return {"errorMessage": f"RequestId: {request_id} Error: {reason}", "errorType": error_type}


def out_of_memory_error(request_id: str) -> LambdaError:
    """The execution environment used more than the function's ``MemorySize`` and was killed: the
    kernel's SIGKILL as Lambda reports it today, ``Runtime.OutOfMemory`` with
    ``"RequestId: … Error: Runtime exited with error: signal: killed"`` (earlier Lambda reported the
    same message as a ``Runtime.ExitError``)."""
    return exit_error(request_id, -signal.SIGKILL, OUT_OF_MEMORY)


def response_too_large_error() -> LambdaError:
    """A result over Lambda's 6 MB synchronous response limit (``Function.ResponseSizeTooLarge``)."""
    return {
        "errorMessage": "Response payload size exceeded maximum allowed payload size"
        f" ({MAX_RESPONSE_BYTES} bytes).",
        "errorType": RESPONSE_TOO_LARGE,
    }


def throttled_error(reserved: bool) -> LambdaError:
    """Lambda's Invoke API refusing an invocation past the function's concurrency: HTTP 429
    ``TooManyRequestsException`` ``{"Reason", "Type": "User", "message": "Rate Exceeded."}``, the reason
    ``ReservedFunctionConcurrentInvocationLimitExceeded`` when the function has reserved concurrency,
    else ``ConcurrentInvocationLimitExceeded`` (the account's)."""
    return {
        "errorType": TOO_MANY_REQUESTS,
        "errorMessage": "Rate Exceeded.",
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"
        if reserved
        else "ConcurrentInvocationLimitExceeded",
        "Type": "User",
    }


def utcnow() -> datetime:
    return datetime.now(UTC)
