"""Helpers for the importer tests: load a document as `gatehold up -c` would, start a stack on it,
and get tokens for imported APIs from the local identity provider (client `gatehold-m2m`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gatehold.config import ConfigError, LoadedConfig, load_config
from gatehold.importers import LOCAL_M2M_CLIENT, LOCAL_M2M_SECRET, ImportOptions

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
LOCAL_ISSUER = "http://localhost:9000/"
VARIABLES = {
    "idp_url": "http://localhost:9000",
    "issuer": LOCAL_ISSUER,
    "gateway_url": "http://localhost:8000",
    "spa_url": "http://localhost:3000",
    "data_dir": "/tmp/gatehold-test-data",
}


def load(path: Path, **options: Any) -> LoadedConfig:
    """``load_config`` with ``gatehold up``'s default variables and these import options."""
    return load_config(path, variables=VARIABLES, options=ImportOptions(**options))


def problems(path: Path, **options: Any) -> list[str]:
    """The problems loading ``path`` reports, each as ``file:line: key.path: message``."""
    with pytest.raises(ConfigError) as info:
        load(path, **options)
    return [str(p) for p in info.value.problems]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def m2m_token(idp_url: str, audience: str, scope: str | None = None) -> str:
    """A client-credentials token for an imported API, from the running stack's identity provider."""
    data = {
        "grant_type": "client_credentials",
        "client_id": LOCAL_M2M_CLIENT,
        "client_secret": LOCAL_M2M_SECRET,
        "audience": audience,
    }
    if scope is not None:
        data["scope"] = scope
    response = httpx.post(f"{idp_url}/oauth/token", data=data, timeout=15)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
