"""Structured logging: one JSON object per line on stderr.

Fields given with ``extra={...}`` become top-level keys, so a request log line reads
``{"ts": ..., "level": "info", "logger": "gatehold.access", "msg": "request", "requestId": ...}``.
Secrets never reach a log line: the token and password values are not passed to loggers anywhere.

A hot path logs with :func:`info` instead of ``logger.info``: the same line, built without a
``LogRecord`` (no caller lookup, no ``os.getpid``) and written with the other lines of its event-loop
turn in one ``write`` (≈ 2 µs a line instead of ≈ 23). It falls back to ``logger.info`` whenever
anything but Gatehold's own handler would see the record (a test's capture handler, a filter).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message", "taskName"}
#: lines a handler holds before it writes them without waiting for the end of the loop turn
_PENDING_MAX = 512

_second = -1
_second_text = ""


def timestamp(created: float) -> str:
    """``2026-11-21T08:00:00.123Z`` (UTC, milliseconds) for a ``time.time()`` value."""
    global _second, _second_text
    second = int(created)
    if second != _second:
        _second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second = second
    return f"{_second_text}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ``fields`` end every line (the process's ``service`` name)."""

    def __init__(self, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.fields: dict[str, Any] = dict(fields or {})

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        out.update(self.fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Gatehold's handler: :class:`JsonFormatter` lines on a stream. Lines given to :meth:`add` are
    held until the end of the event-loop turn (or :data:`_PENDING_MAX` of them) and written together;
    any other record, :meth:`flush` and :meth:`close` write the held lines first, so order is kept."""

    def __init__(self, stream: Any = None, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        formatter = JsonFormatter(fields)
        self.setFormatter(formatter)
        self.fields = formatter.fields
        self._pending: list[str] = []

    def add(self, line: str) -> None:
        pending = self._pending
        pending.append(line)
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.write_pending)
            except RuntimeError:  # no event loop in this thread: now
                self.write_pending()
        elif len(pending) >= _PENDING_MAX:
            self.write_pending()

    def write_pending(self) -> None:
        if not self._pending:
            return
        with self.lock:  # type: ignore[union-attr]
            lines, self._pending = self._pending, []
            if lines:
                try:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
                except Exception:  # as logging does: a broken stream never fails the request
                    self.handleError(logging.makeLogRecord({"msg": "access log lines"}))

    def emit(self, record: logging.LogRecord) -> None:
        if self._pending:
            self.write_pending()
        super().emit(record)

    def flush(self) -> None:
        self.write_pending()
        super().flush()


def info(logger: logging.Logger, msg: str, fields: Mapping[str, Any]) -> None:
    """``logger.info(msg, extra=fields)``, the same line, for a hot path (module docstring)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handlers = _only_json_handlers(logger)
    if handlers is None:
        logger.info(msg, extra=dict(fields))
        return
    out: dict[str, Any] = {"ts": timestamp(time.time()), "level": "info", "logger": logger.name, "msg": msg}
    out.update(fields)
    for handler in handlers:
        line = {**out, **handler.fields} if handler.fields else out
        handler.add(orjson.dumps(line, default=str).decode())


def _only_json_handlers(logger: logging.Logger) -> list[JsonHandler] | None:
    """The handlers an INFO record of ``logger`` reaches, when they are all :class:`JsonHandler`\\ s
    without filters and no logger on the way filters; else None (take logging's own path)."""
    found: list[JsonHandler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if type(handler) is not JsonHandler or handler.filters:
                return None
            if handler.level <= logging.INFO:
                found.append(handler)
        if not current.propagate:
            break
        current = current.parent
    return found


def configure_logging(
    level: str = "info", stream: Any = None, fields: Mapping[str, Any] | None = None
) -> None:
    """JSON lines on ``stream`` (stderr) at ``level``; ``fields`` are added to every line."""
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, JsonHandler):
            old.write_pending()
    root.handlers[:] = [JsonHandler(stream, fields)]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.error", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
