"""The demo single-page app: seed 000's Movies/Devices page, seed 002's unicorn sample app and seed 004's
wish list in one page, logging in with @auth0/auth0-spa-js (from npm, unchanged) against Gatehold's own
identity provider and calling the gateway cross-origin.

    app = create_spa_app(idp_url="http://localhost:9000", gateway_url="http://localhost:8000",
                         spa_url="http://localhost:3000")

``ensure_assets()`` installs the SDK with npm when it is missing; when it cannot (no Node.js, no
network), it returns a message for people and the app serves a page that says so.
"""

from gatehold.spa.app import DEMO_APIS, SpaSettings, create_spa_app
from gatehold.spa.assets import SDK_BUNDLE, assets_problem, ensure_assets

__all__ = ["DEMO_APIS", "SDK_BUNDLE", "SpaSettings", "assets_problem", "create_spa_app", "ensure_assets"]
