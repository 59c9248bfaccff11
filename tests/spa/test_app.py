"""`gatehold.spa.create_spa_app` served by uvicorn on loopback, over HTTP, and `ensure_assets`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gatehold import spa
from gatehold.spa import SDK_BUNDLE, assets, create_spa_app, ensure_assets
from tests.spa.conftest import ServedApp
from tests.stackctl import free_port

IDP = "http://localhost:9000"
GATEWAY = "http://localhost:8000"


@pytest.fixture
def served(spa_assets: None, serve_spa: Callable[..., ServedApp]) -> ServedApp:
    return serve_spa(idp_url=IDP, gateway_url=GATEWAY)


@pytest.fixture
def no_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a bundle path that does not exist (as on a machine where npm never ran)."""
    missing = tmp_path / "node_modules" / "auth0-spa-js.production.js"
    monkeypatch.setattr(assets, "SDK_BUNDLE", missing)
    monkeypatch.setattr(spa.app, "SDK_BUNDLE", missing)
    return missing


@pytest.mark.parametrize(
    ("path", "content_type", "contains"),
    [
        pytest.param("/", "text/html", b"Gatehold demo app", id="index"),
        pytest.param("/callback", "text/html", b'<script src="/app.js"', id="callback-serves-index"),
        pytest.param("/app.js", "javascript", b"getTokenSilently", id="app-js"),
        pytest.param("/styles.css", "text/css", b"data-state", id="styles"),
        pytest.param(
            "/vendor/auth0-spa-js.production.js", "javascript", b"createAuth0Client", id="sdk-bundle"
        ),
    ],
)
def test_serves_page_files(served: ServedApp, path: str, content_type: str, contains: bytes) -> None:
    resp = httpx.get(served.url + path)
    assert resp.status_code == 200
    assert content_type in resp.headers["content-type"]
    assert contains in resp.content


def test_sdk_bundle_is_npm_file_unchanged(served: ServedApp) -> None:
    resp = httpx.get(served.url + "/vendor/auth0-spa-js.production.js")
    assert resp.content == SDK_BUNDLE.read_bytes()
    lock = json.loads((SDK_BUNDLE.parents[4] / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@auth0/auth0-spa-js"]["version"]
    installed = json.loads((SDK_BUNDLE.parents[1] / "package.json").read_text())["version"]
    assert pinned.startswith("2.")
    assert installed == pinned


def test_config_json_names_urls_and_audiences(served: ServedApp) -> None:
    config = httpx.get(served.url + "/config.json").json()
    assert config["domain"] == IDP  # no trailing slash: auth0-spa-js appends "/" for the issuer
    assert config["clientId"] == "demo-spa"
    assert config["redirectUri"] == served.url + "/callback"
    assert config["spaUrl"] == served.url
    assert config["gatewayUrl"] == GATEWAY
    assert config["sdkProblem"] is None
    assert {api["audience"]: api["scope"] for api in config["apis"]} == {
        "https://StreamingResourceServer": "read:Movies read:Devices",
        "https://unicorns-api": "read:unicorn list:unicorns",
        "https://auth0-jwt-authorizer": "",
    }
    paths = {call["id"]: call["path"] for api in config["apis"] for call in api["calls"]}
    assert paths == {
        "movie": "/movies/beta/movie",
        "device": "/devices/beta/device",
        "get-unicorn": "/unicorns/unicorn",
        "list-unicorns": "/unicorns/unicorns",
        "list-wishes": "/wishlist/default/wish-list-service",
        "add-wish": "/wishlist/default/wish-list-service",
    }


def test_trailing_slashes_are_dropped() -> None:
    app = create_spa_app(idp_url=IDP + "/", gateway_url=GATEWAY + "/", spa_url="http://localhost:3000/")
    port = free_port()
    with ServedApp(app, port) as served:
        config = httpx.get(served.url + "/config.json").json()
    assert (config["domain"], config["gatewayUrl"], config["redirectUri"]) == (
        IDP,
        GATEWAY,
        "http://localhost:3000/callback",
    )


def test_page_may_talk_only_to_itself_the_idp_and_the_gateway(served: ServedApp) -> None:
    csp = httpx.get(served.url + "/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["connect-src"] == f"'self' {IDP} {GATEWAY}"
    assert directives["frame-src"] == IDP
    assert directives["script-src"] == "'self'"


def test_unknown_path_is_404(served: ServedApp) -> None:
    assert httpx.get(served.url + "/nope").status_code == 404


def test_missing_bundle_is_explained(no_bundle: Path, serve_spa: Callable[..., ServedApp]) -> None:
    served = serve_spa(idp_url=IDP, gateway_url=GATEWAY)
    page = httpx.get(served.url + "/")
    assert page.status_code == 200
    assert b'id="sdk-problem" class="problem" role="alert"' in page.content
    bundle = httpx.get(served.url + "/vendor/auth0-spa-js.production.js")
    assert bundle.status_code == 503
    assert "auth0-spa-js" in bundle.text
    assert httpx.get(served.url + "/config.json").json()["sdkProblem"] == bundle.text


def test_ensure_assets_without_node_says_so(no_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(no_bundle.parent))  # no node, no npm
    problem = ensure_assets()
    assert problem is not None
    assert problem.startswith("Node.js is not installed")
    assert "scripts/install-browser" in problem


def test_ensure_assets_is_a_no_op_when_installed(spa_assets: None) -> None:
    assert ensure_assets() is None
    assert SDK_BUNDLE.is_file()


@pytest.mark.slow
def test_ensure_assets_installs_from_the_lockfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh checkout (no node_modules): ensure_assets runs `npm ci` and the bundle appears."""
    import shutil

    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(assets.SPA_DIR / name, tmp_path / name)
    bundle = tmp_path / SDK_BUNDLE.relative_to(assets.SPA_DIR)
    monkeypatch.setattr(assets, "SPA_DIR", tmp_path)
    monkeypatch.setattr(assets, "SDK_BUNDLE", bundle)
    assert ensure_assets() is None
    assert bundle.read_bytes() == SDK_BUNDLE.read_bytes()
    assert ensure_assets() is None  # idempotent
