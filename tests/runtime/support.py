"""Helpers for the runtime tests: a LoadedConfig from a `functions:` mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gatehold.config import LoadedConfig, parse_config

HERE = Path(__file__).parent


def load(functions: dict[str, Any], *, isolation: str = "in-process", **gateway: Any) -> LoadedConfig:
    """A LoadedConfig as if read from tests/runtime/gatehold.yaml (so code_path is relative to here)."""
    text = yaml.safe_dump({"functions": functions, "gateway": {"isolation": isolation, **gateway}})
    config, lines = parse_config(text, file=str(HERE / "gatehold.yaml"))
    return LoadedConfig(config=config, path=HERE / "gatehold.yaml", lines=lines)


def probe(handler: str, **options: Any) -> dict[str, Any]:
    """A function running ``tests/runtime/handlers/rt_probe.<handler>``."""
    return {"handler": f"rt_probe.{handler}", "code_path": "handlers", **options}


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def error_type(result: Any) -> str | None:
    """``errorType`` of an InvocationResult's function error, or None."""
    return None if result.error is None else str(result.error["errorType"])
