"""Import → export → import gives the same API (issue 11, item 9): `gatehold export openapi` of every
API of the example stack and of the OpenAPI examples, read back through `imports:`, yields the same
routes, integrations, authorizers, CORS, gateway responses and stages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gatehold.cli.common import example_config_path
from gatehold.config.loader import LoadedConfig
from gatehold.exporters import export_openapi, export_sam
from tests.importers.support import EXAMPLES, load


def _functions_only(loaded: LoadedConfig) -> dict[str, Any]:
    return {
        name: fn.model_dump(exclude_defaults=True)
        | {"code_path": str(loaded.base_dir / (fn.code_path or "."))}
        for name, fn in loaded.config.functions.items()
    }


def _reimport(loaded: LoadedConfig, tmp_path: Path, **options: Any) -> LoadedConfig:
    """Each API exported to its own OpenAPI file, imported back beside the same functions."""
    imports = []
    for name, api in loaded.config.apis.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(export_openapi(name, api, loaded.config.gateway), sort_keys=False))
        imports.append({"path": path.name, "api_name": name, "base_path": api.base_path or f"/{name}"})
    wrapper = {"functions": _functions_only(loaded), "imports": imports}
    (tmp_path / "gatehold.yaml").write_text(yaml.safe_dump(wrapper, sort_keys=False))
    return load(tmp_path / "gatehold.yaml", **options)


def _apis(loaded: LoadedConfig) -> dict[str, Any]:
    return {name: api.model_dump() for name, api in loaded.config.apis.items()}


def test_example_stack_round_trips_through_openapi(tmp_path: Path) -> None:
    original = load(example_config_path())
    again = _reimport(original, tmp_path)
    assert _apis(again) == _apis(original)


@pytest.mark.parametrize(
    ("example", "options"),
    [
        pytest.param("openapi-petstore/gatehold.yaml", {}, id="petstore-console-export"),
        pytest.param(
            "openapi-http-jwt/gatehold.yaml",
            {"issuer_aliases": ("https://example-tenant.eu.auth0.com/",)},
            id="http-jwt",
        ),
        pytest.param("openapi-rest-token/gatehold.yaml", {}, id="rest-token"),
    ],
)
def test_openapi_examples_round_trip(tmp_path: Path, example: str, options: dict[str, Any]) -> None:
    original = load(EXAMPLES / example, **options)
    again = _reimport(original, tmp_path, **options)
    assert _apis(again) == _apis(original)


def test_export_command_writes_what_check_accepts(tmp_path: Path) -> None:
    out = tmp_path / "unicorns.yaml"
    exported = subprocess.run(
        [sys.executable, "-m", "gatehold", "export", "openapi", "--api", "unicorns", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    document = yaml.safe_load(out.read_text())
    assert document["openapi"] == "3.0.1"
    assert document["paths"]["/unicorn"]["get"]["security"] == [{"auth0": ["read:unicorn"]}]
    wrapper = tmp_path / "gatehold.yaml"
    wrapper.write_text(
        "functions:\n"
        "  get-unicorn: {handler: gatehold.examples.handlers.unicorns.get_unicorn}\n"
        "  list-all-unicorns: {handler: gatehold.examples.handlers.unicorns.list_all_unicorns}\n"
        "imports:\n  - {path: unicorns.yaml}\n"
    )
    checked = subprocess.run(
        [sys.executable, "-m", "gatehold", "check", "-c", str(wrapper)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "GET http://localhost:8000/unicorns/unicorn" in checked.stdout


def test_several_apis_need_api_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gatehold", "export", "openapi"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "5 APIs; choose one with --api: movies, devices, petstore, unicorns, wishlist" in result.stderr


ALIAS = {"issuer_aliases": ("https://*.auth0.com/",)}


@pytest.mark.parametrize(
    ("template", "options"),
    [
        pytest.param("sam-http-jwt/template.yaml", ALIAS, id="sam-http-jwt"),
        pytest.param("sam-rest-token/template.yaml", ALIAS, id="sam-rest-token"),
        pytest.param("sam-rest-request/template.yaml", ALIAS, id="sam-rest-request"),
        pytest.param("sam-definition-body/template.yaml", ALIAS, id="sam-definition-body"),
        pytest.param("cloudformation-cdk/cdk.out/PetShopStack.template.json", {}, id="cdk-synth"),
    ],
)
def test_templates_round_trip_through_sam(tmp_path: Path, template: str, options: dict[str, Any]) -> None:
    """SAM's own ``Stage`` stage (added without OpenApiVersion) is kept as SAM would add it again."""
    original = load(EXAMPLES / template, **options)
    out = tmp_path / "exported" / "template.yaml"
    out.parent.mkdir()
    out.write_text(yaml.safe_dump(export_sam(original, out_dir=out.parent), sort_keys=False))
    again = load(out, **options)
    assert _apis(again) == _apis(original)
    assert {k: v.model_dump() for k, v in again.config.functions.items()} == {
        k: v.model_dump() for k, v in original.config.functions.items()
    }
    assert again.config.tables == original.config.tables
    if "jwt" in template or "cdk" in template:  # their DynamoDB tables (a SimpleTable, a cdk Table)
        assert len(original.config.tables) == 1
